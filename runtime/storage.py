"""One storage layer for `s3://` URIs: real S3 on AWS, a local directory tree in the `local` environment.

Locally, `s3://<bucket>/<key>` lives at `<root>/<bucket>/<key>` (root from `--storage-root` or
`NDRC_LOCAL_STORAGE_ROOT`), served by fsspec's `DirFileSystem`; Spark gets `file://` URIs. On AWS
the same calls go to S3 through boto3 with delimiter listings, and Spark gets the `s3://` URI as is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from runtime.contract import STORAGE_ROOT_ENV
from runtime.errors import StorageError

_SCHEMES = ("s3://", "s3a://")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    size: int
    last_modified: datetime


def parse_s3_uri(uri: str) -> S3Location:
    for scheme in _SCHEMES:
        if uri.startswith(scheme):
            bucket, _, key = uri[len(scheme) :].partition("/")
            if not bucket:
                break
            return S3Location(bucket, key)
    raise StorageError(f"not an s3:// URI: {uri!r} (expected s3://<bucket>/<key>)")


def as_dir(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def join(uri: str, *parts: str) -> str:
    out = uri.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out


class Storage(Protocol):
    def spark_uri(self, uri: str) -> str: ...
    def list_dirs(self, uri: str) -> list[str]: ...
    def first_object(self, uri: str) -> ObjectInfo | None: ...
    def list_objects(self, uri: str) -> list[ObjectInfo]: ...
    def delete_prefix(self, uri: str) -> int: ...
    def read_bytes(self, uri: str) -> bytes: ...
    def write_bytes(self, uri: str, data: bytes) -> None: ...
    def exists(self, uri: str) -> bool: ...


class LocalStorage:
    """`s3://bucket/key` mapped to `<root>/bucket/key` through fsspec."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        from fsspec.implementations.dirfs import DirFileSystem
        from fsspec.implementations.local import LocalFileSystem

        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.fs = DirFileSystem(path=str(self.root), fs=LocalFileSystem(auto_mkdir=True))

    def _rel(self, uri: str) -> str:
        loc = parse_s3_uri(uri)
        return f"{loc.bucket}/{loc.key}".rstrip("/")

    def _uri(self, rel: str, is_dir: bool = False) -> str:
        return "s3://" + rel.strip("/") + ("/" if is_dir else "")

    def local_path(self, uri: str) -> Path:
        return self.root / self._rel(uri)

    def spark_uri(self, uri: str) -> str:
        # Not Path.as_uri(): Hadoop does not decode percent-escapes, so a space in the root or a `=`/`+`
        # in a batch id would name another path. Hadoop's Path quotes the plain path itself.
        path = "file://" + str(self.local_path(uri))
        return path + "/" if uri.endswith("/") and not path.endswith("/") else path

    def list_dirs(self, uri: str) -> list[str]:
        rel = self._rel(uri)
        if not self.fs.isdir(rel):
            return []
        entries = self.fs.ls(rel, detail=True)
        return sorted(self._uri(e["name"], True) for e in entries if e["type"] == "directory")

    def first_object(self, uri: str) -> ObjectInfo | None:
        rel = self._rel(uri)
        return self._first_below(rel) if self.fs.isdir(rel) else None

    def _first_below(self, rel: str) -> ObjectInfo | None:
        for entry in sorted(self.fs.ls(rel, detail=True), key=lambda e: e["name"]):
            if entry["type"] == "file":
                mtime = datetime.fromtimestamp(float(entry["mtime"]), tz=UTC)
                return ObjectInfo(self._uri(entry["name"]), int(entry["size"]), mtime)
            if entry["type"] == "directory" and (found := self._first_below(entry["name"])):
                return found
        return None

    def list_objects(self, uri: str) -> list[ObjectInfo]:
        """Every file below the folder `uri`, sorted by URI."""
        rel = self._rel(uri)
        if not self.fs.isdir(rel):
            return []
        found = self.fs.find(rel, detail=True)
        return sorted(
            (
                ObjectInfo(self._uri(name), int(e["size"]), datetime.fromtimestamp(float(e["mtime"]), tz=UTC))
                for name, e in found.items()
                if e["type"] == "file"
            ),
            key=lambda info: info.uri,
        )

    def delete_prefix(self, uri: str) -> int:
        """Remove the folder `uri` and everything below it; the number of files removed."""
        rel = self._rel(uri)
        if not self.fs.isdir(rel):
            return 0
        count = len(self.list_objects(as_dir(uri)))
        self.fs.rm(rel, recursive=True)
        # like S3, where a prefix with no objects does not exist: no empty `dt=` folder is left behind
        parent = (self.root / rel).parent
        bucket = self.root / rel.split("/", 1)[0]
        while parent != bucket and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
        return count

    def read_bytes(self, uri: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._rel(uri)))
        except FileNotFoundError as err:
            raise StorageError(f"{uri} does not exist (local storage root {self.root})") from err

    def write_bytes(self, uri: str, data: bytes) -> None:
        self.fs.pipe_file(self._rel(uri), data)

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self._rel(uri)))


class S3Storage:
    """Real S3 (or an emulator at AWS_ENDPOINT_URL) through boto3."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def spark_uri(self, uri: str) -> str:
        return uri

    def _pages(self, uri: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        loc = parse_s3_uri(uri)
        paginator = self.client.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=loc.bucket, Prefix=loc.key, **kwargs)

    def list_dirs(self, uri: str) -> list[str]:
        loc = parse_s3_uri(as_dir(uri))
        found = [
            f"s3://{loc.bucket}/{p['Prefix']}"
            for page in self._pages(as_dir(uri), Delimiter="/")
            for p in page.get("CommonPrefixes", [])
        ]
        return sorted(found)

    def first_object(self, uri: str) -> ObjectInfo | None:
        loc = parse_s3_uri(uri)
        response = self.client.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=10)
        for obj in response.get("Contents", []):
            if obj["Key"].endswith("/"):
                continue  # a zero-byte "folder" marker, not a batch file
            modified = obj["LastModified"].astimezone(UTC)
            return ObjectInfo(f"s3://{loc.bucket}/{obj['Key']}", int(obj["Size"]), modified)
        return None

    def list_objects(self, uri: str) -> list[ObjectInfo]:
        """Every object below the folder `uri` (folder markers left out), sorted by URI."""
        loc = parse_s3_uri(as_dir(uri))
        return sorted(
            (
                ObjectInfo(f"s3://{loc.bucket}/{obj['Key']}", int(obj["Size"]), obj["LastModified"].astimezone(UTC))
                for page in self._pages(as_dir(uri))
                for obj in page.get("Contents", [])
                if not obj["Key"].endswith("/")
            ),
            key=lambda info: info.uri,
        )

    def delete_prefix(self, uri: str) -> int:
        """Delete every object below the folder `uri` (DeleteObjects, 1,000 keys a request)."""
        loc = parse_s3_uri(as_dir(uri))
        keys = [obj["Key"] for page in self._pages(as_dir(uri)) for obj in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            response = self.client.delete_objects(Bucket=loc.bucket, Delete={"Objects": chunk, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageError(f"cannot delete s3://{loc.bucket}/{first['Key']}: {first.get('Message')}")
        return sum(not key.endswith("/") for key in keys)

    def read_bytes(self, uri: str) -> bytes:
        loc = parse_s3_uri(uri)
        try:
            return bytes(self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read())
        except self.client.exceptions.NoSuchKey as err:
            raise StorageError(f"{uri} does not exist") from err

    def write_bytes(self, uri: str, data: bytes) -> None:
        loc = parse_s3_uri(uri)
        self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data)

    def exists(self, uri: str) -> bool:
        loc = parse_s3_uri(uri)
        response = self.client.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1)
        return bool(response.get("KeyCount", 0))


def storage_from_env(root: str | os.PathLike[str] | None = None) -> Storage:
    """Local storage when a root is given (argument, then NDRC_LOCAL_STORAGE_ROOT), else S3."""
    chosen = root if root is not None else os.environ.get(STORAGE_ROOT_ENV) or None
    return LocalStorage(chosen) if chosen else S3Storage()
