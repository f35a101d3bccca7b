"""The one place that builds boto3 clients for an environment: endpoint, region, adaptive retries, user agent.

Credentials come from boto3's usual chain; for an emulator environment (an endpoint on loopback) fixed
throwaway credentials are used instead, so `local` works on a machine without any AWS setup and real
credentials are never sent anywhere. Nothing here prints or logs credential values.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from compiler import __version__
from compiler.errors import AwsError, UsageError
from compiler.model import EnvironmentConfig

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
EMULATOR_KEY = "testing"
CREDENTIAL_ERRORS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)


def is_emulator(environment: EnvironmentConfig) -> bool:
    """True when the environment talks to an endpoint on this machine (the embedded emulator)."""
    endpoint = environment.endpoint_url
    return bool(endpoint) and urlparse(endpoint).hostname in LOOPBACK_HOSTS


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def client_config(pool_size: int) -> Config:
    return Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        user_agent_extra=f"ndrc/{__version__}",
        max_pool_connections=pool_size,
        connect_timeout=5,
        read_timeout=60,
    )


IDENTITY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    user_agent_extra=f"ndrc/{__version__}",
    connect_timeout=3,
    read_timeout=10,
)


def build_session(environment: EnvironmentConfig) -> boto3.session.Session:
    if is_emulator(environment):
        key = os.environ.get("AWS_ACCESS_KEY_ID") or EMULATOR_KEY
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or EMULATOR_KEY
        return boto3.session.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=environment.region
        )
    return boto3.session.Session(region_name=environment.region)


class Aws:
    """Clients of one environment, created lazily, shared by threads; counts every API call it makes."""

    def __init__(
        self, environment: EnvironmentConfig, session: boto3.session.Session | None = None, pool_size: int = 32
    ) -> None:
        self.environment = environment
        self.session = session or build_session(environment)
        self.pool_size = pool_size
        self.calls: Counter[str] = Counter()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._identity: dict[str, str] | None = None
        self.session.events.register("before-call.*.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(
                    service,
                    region_name=self.environment.region,
                    endpoint_url=self.environment.endpoint_url,
                    config=client_config(self.pool_size),
                )
            return self._clients[service]

    def identity(self) -> dict[str, str]:
        """STS GetCallerIdentity (once): the account and ARN of the credentials in use."""
        if self._identity is None:
            # The first call of every command: tried twice at most, so a wrong or unreachable endpoint fails fast.
            sts = self.session.client(
                "sts",
                region_name=self.environment.region,
                endpoint_url=self.environment.endpoint_url,
                config=IDENTITY_CONFIG,
            )
            with translated(f"check the account of environment {self.environment.name!r}"):
                reply = sts.get_caller_identity()
            self._identity = {"account": str(reply["Account"]), "arn": str(reply["Arn"])}
        return self._identity

    def check_account(self) -> str:
        """Refuse credentials of another account than the one `ndrc.yaml` declares for the environment."""
        account = self.identity()["account"]
        declared = self.environment.account_id
        if declared and str(declared) != account:
            raise UsageError(
                f"the credentials belong to AWS account {account}, but environment "
                f"{self.environment.name!r} is declared for account {declared} in ndrc.yaml; refusing"
            )
        return account


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn credential and connection failures into one-line errors (exit 2); others into AwsError."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise UsageError(f"no usable AWS credentials to {action}; configure a profile or role") from None
    except EndpointConnectionError as problem:
        endpoint = problem.kwargs.get("endpoint_url", "")
        raise UsageError(f"cannot reach the AWS endpoint {endpoint} to {action}".replace("  ", " ")) from None
    except ClientError as problem:
        if error_code(problem) in CREDENTIAL_ERRORS or error_code(problem).startswith("AccessDenied"):
            raise UsageError(f"AWS refused the credentials to {action}: {error_code(problem)}") from None
        raise AwsError(f"AWS call failed to {action}: {problem}") from None
    except BotoCoreError as problem:
        raise AwsError(f"AWS call failed to {action}: {problem}") from None
