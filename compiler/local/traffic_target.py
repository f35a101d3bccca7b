"""Where `ndrc gen-traffic` may write: the local storage root freely; anything else only on purpose.

An environment with `local_storage_root` gets its synthetic traffic as local files. Any other environment
would have it written into its real ingestion bucket (and so fed to the live pipelines): that needs the
explicit `--allow-remote` and passes the same account check as publish (the credentials must belong to the
`account_id` that `ndrc.yaml` declares for the environment).
"""

from __future__ import annotations

from compiler.deploy.aws import Aws
from compiler.errors import UsageError
from compiler.model import EnvironmentConfig


def check_traffic_target(environment: EnvironmentConfig, *, allow_remote: bool, aws: Aws | None = None) -> str | None:
    """None for a local environment; else the checked account id, or UsageError."""
    if environment.settings.get("local_storage_root"):
        return None
    bucket = environment.get("buckets.ingestion")
    if not allow_remote:
        raise UsageError(
            f"environment {environment.name!r} is not local: gen-traffic would write synthetic traffic into its "
            f"ingestion bucket s3://{bucket}, which the live pipelines read; pass --allow-remote to do that on "
            "purpose"
        )
    if not bucket:
        raise UsageError(f"environment {environment.name!r} has no buckets.ingestion in ndrc.yaml")
    return (aws or Aws(environment)).check_account()
