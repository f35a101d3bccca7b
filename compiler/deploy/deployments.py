"""The deployments log: what each publish applied, and the build it applied, kept so it can be applied again.

Where: the environment's artifacts bucket (`buckets.artifacts`), under `ndrc/deployments/<env>/`. S3 rather
than a DynamoDB table because a deployment has to keep its whole build (the runtime archive alone is far over
DynamoDB's 400 KB item limit), the bucket already holds what publish uploads, and S3 needs no new table to
provision. Layout:

    records/<UTC time>-<manifest sha256[:12]>.json   one per publish that wrote something (sorted by name = time)
    builds/<manifest sha256>/manifest.json             the build's manifest, byte for byte
    blobs/<sha256>                                      every artifact file, content-addressed (uploaded once)

A record names the plan (sha256 of its JSON document), the build (its manifest's sha256), the git commit of
the workspace (if any, and whether it had uncommitted changes), who (the STS caller ARN and $USER), when, the
outcome counts, and `published`: the id and content hash of every resource of the build that was deployed as
built once the publish finished. `plan` uses the latest record to tell "deleted outside ndrc" from "new".
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from compiler.deploy.aws import Aws, error_code, translated
from compiler.deploy.desired import MANIFEST
from compiler.errors import UsageError

RECORD_FORMAT = "ndrc-deployment"
RECORD_VERSION = 1
LOG_ROOT = "ndrc/deployments"
MIN_HASH_PREFIX = 8
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


@dataclass
class DeploymentRecord:
    environment: str
    account_id: str
    region: str
    applied_at: str
    who: dict[str, str]
    git: dict[str, Any] | None
    plan_sha256: str
    manifest_sha256: str
    ok: bool
    counts: dict[str, int]
    published: dict[str, str] = field(default_factory=dict)  # resource id -> content sha256, as deployed after
    rollback_of: str | None = None  # set when `publish --rollback` re-applied an earlier build
    key: str = ""  # where the record is (not stored in it)

    def to_json(self) -> dict[str, Any]:
        document = {"format": RECORD_FORMAT, "version": RECORD_VERSION, **asdict(self)}
        document.pop("key")
        return document

    @classmethod
    def from_json(cls, document: Any, key: str) -> DeploymentRecord:
        if not isinstance(document, dict) or (document.get("format"), document.get("version")) != (
            RECORD_FORMAT,
            RECORD_VERSION,
        ):
            raise UsageError(f"{key}: not an {RECORD_FORMAT} v{RECORD_VERSION} record")
        names = {f for f in cls.__dataclass_fields__ if f != "key"}
        try:
            return cls(**{name: document[name] for name in names if name in document}, key=key)
        except TypeError as problem:
            raise UsageError(f"{key}: malformed deployment record ({problem})") from None


def who(aws: Aws) -> dict[str, str]:
    """The caller as AWS knows it and as the machine knows it."""
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return {"arn": aws.identity()["arn"], "user": user}


def utc_stamp(now: datetime | None = None) -> tuple[str, str]:
    """(ISO time for people, compact time that sorts as text for the record's key)."""
    moment = now or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), moment.strftime("%Y%m%dT%H%M%S%fZ")


def plan_sha256(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UsageError(f"the recorded build names an unsafe path {path!r}; refusing it")
    return relative


class DeploymentLog:
    """The log of one environment in its artifacts bucket."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        env = aws.environment
        self.bucket = str(env.get("buckets.artifacts") or "")
        self.prefix = f"{LOG_ROOT}/{env.name}/"

    @property
    def available(self) -> bool:
        return bool(self.bucket)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _require(self) -> None:
        if not self.available:
            raise UsageError(
                f"environment {self.aws.environment.name!r} has no buckets.artifacts in ndrc.yaml, "
                "so it has no deployments log"
            )

    def _s3(self) -> Any:
        return self.aws.client("s3")

    def _keys(self, under: str) -> list[str]:
        keys: list[str] = []
        paginator = self._s3().get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
                keys.extend(str(entry["Key"]) for entry in page.get("Contents", []))
        except ClientError as problem:
            if error_code(problem) in MISSING_CODES:
                return []
            raise
        return sorted(keys)

    def _get(self, key: str) -> bytes | None:
        try:
            return bytes(self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as problem:
            if error_code(problem) in MISSING_CODES:
                return None
            raise

    def _read_record(self, key: str) -> DeploymentRecord:
        data = self._get(key)
        if data is None:
            raise UsageError(f"{self.where}: record {key} vanished while reading")
        try:
            document = json.loads(data)
        except ValueError:
            raise UsageError(f"s3://{self.bucket}/{key}: not JSON") from None
        return DeploymentRecord.from_json(document, key)

    def records(self, limit: int | None = None) -> list[DeploymentRecord]:
        """Recorded deployments, newest first (at most `limit`)."""
        self._require()
        with translated(f"read the deployments log {self.where}"):
            keys = list(reversed(self._keys("records/")))
            return [self._read_record(key) for key in (keys[:limit] if limit is not None else keys)]

    def latest(self) -> DeploymentRecord | None:
        """The newest record, or None (no log, an empty log, or no bucket yet)."""
        if not self.available:
            return None
        with translated(f"read the deployments log {self.where}"):
            keys = self._keys("records/")
            return self._read_record(keys[-1]) if keys else None

    def _put_once(self, key: str, data: bytes) -> None:
        client = self._s3()
        try:
            client.head_object(Bucket=self.bucket, Key=key)
            return
        except ClientError as problem:
            if error_code(problem) not in MISSING_CODES:
                raise
        client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def record(self, record: DeploymentRecord, build_dir: Path, now: datetime | None = None) -> DeploymentRecord:
        """Keep the build (manifest + every artifact, content-addressed), then write the record. The record goes
        last: a record always names a build that is there to re-apply."""
        self._require()
        applied_at, stamp = utc_stamp(now)
        record.applied_at = applied_at
        manifest_bytes = (build_dir / MANIFEST).read_bytes()
        if hashlib.sha256(manifest_bytes).hexdigest() != record.manifest_sha256:
            raise UsageError(f"{build_dir / MANIFEST} changed during the publish; the deployment is not recorded")
        manifest = json.loads(manifest_bytes)
        with translated(f"write the deployments log {self.where}"):
            for entry in manifest.get("artifacts", []):
                path = build_dir / _safe_relative(str(entry["path"]))
                data = path.read_bytes() if path.is_file() else b""
                if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                    raise UsageError(f"{path} changed during the publish; the deployment is not recorded")
                self._put_once(f"{self.prefix}blobs/{entry['sha256']}", data)
            self._put_once(f"{self.prefix}builds/{record.manifest_sha256}/{MANIFEST}", manifest_bytes)
            record.key = f"{self.prefix}records/{stamp}-{record.manifest_sha256[:12]}.json"
            body = json.dumps(record.to_json(), indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
            self._s3().put_object(Bucket=self.bucket, Key=record.key, Body=body, ContentType="application/json")
        return record

    def resolve(self, manifest_hash: str) -> str:
        """The full manifest sha256 of a recorded build from its hash or a unique prefix (>= 8 hex digits)."""
        self._require()
        wanted = manifest_hash.strip().lower()
        if len(wanted) < MIN_HASH_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
            raise UsageError(
                f"--rollback {manifest_hash!r}: give a build manifest sha256 (or at least "
                f"{MIN_HASH_PREFIX} hex digits of one), as `ndrc history` lists them"
            )
        with translated(f"read the deployments log {self.where}"):
            keys = self._keys(f"builds/{wanted}")
        found = sorted({key[len(self.prefix + "builds/") :].split("/", 1)[0] for key in keys})
        if not found:
            raise UsageError(
                f"--rollback {manifest_hash}: no recorded build of environment "
                f"{self.aws.environment.name!r} has that manifest hash (see `ndrc history`)"
            )
        if len(found) > 1:
            raise UsageError(f"--rollback {manifest_hash}: ambiguous, matches {', '.join(h[:16] for h in found)}")
        return found[0]

    def fetch_build(self, manifest_sha: str, destination: Path) -> Path:
        """Download a recorded build into `destination` (a folder laid out as `ndrc compile` writes it), every
        file checked against the hash that names it."""
        self._require()
        with translated(f"read the deployments log {self.where}"):
            manifest_bytes = self._get(f"{self.prefix}builds/{manifest_sha}/{MANIFEST}")
            if manifest_bytes is None or hashlib.sha256(manifest_bytes).hexdigest() != manifest_sha:
                raise UsageError(f"the recorded build {manifest_sha[:16]} is missing or damaged in {self.where}")
            manifest = json.loads(manifest_bytes)
            destination.mkdir(parents=True, exist_ok=True)
            for entry in manifest.get("artifacts", []):
                relative = _safe_relative(str(entry["path"]))
                data = self._get(f"{self.prefix}blobs/{entry['sha256']}")
                if data is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    raise UsageError(
                        f"the recorded build {manifest_sha[:16]}: artifact {relative} is missing or "
                        f"damaged in {self.where}"
                    )
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        (destination / MANIFEST).write_bytes(manifest_bytes)
        return destination
