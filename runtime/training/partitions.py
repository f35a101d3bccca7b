"""Parquet partitions under a feature-group prefix, discovered by directory (`key=value` levels).

A builder writes `<prefix>/feature_spec_version=<v>/dt=<YYYY-MM-DD>/mini_batch_id=<id>/part-*.parquet`
(the partition keys come from its spec). Discovery walks the `key=value` directories, descends only
into the `dt=` folders a filter accepts and the `feature_spec_version=` folder asked for, and lists
the Parquet files below each leaf. Partition values are returned with each file so they can be added
as columns (Spark keeps them out of the files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.storage import LocalStorage, S3Storage, Storage, as_dir, parse_s3_uri


@dataclass(frozen=True)
class PartitionFile:
    uri: str
    values: dict[str, str] = field(default_factory=dict)

    @property
    def dt(self) -> str | None:
        return self.values.get("dt")


def _key_value(dir_uri: str) -> tuple[str, str] | None:
    name = dir_uri.rstrip("/").rsplit("/", 1)[-1]
    key, sep, value = name.partition("=")
    return (key, value) if sep and key else None


def list_objects(storage: Storage, uri: str) -> list[str]:
    """Every object (file) directly under or below `uri`, sorted."""
    if isinstance(storage, LocalStorage):
        root = storage.local_path(uri)
        if not root.is_dir():
            return []
        return sorted(as_dir(uri) + p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    if isinstance(storage, S3Storage):
        loc = parse_s3_uri(as_dir(uri))
        paginator = storage.client.get_paginator("list_objects_v2")
        keys = [
            obj["Key"]
            for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.key)
            for obj in page.get("Contents", [])
            if not obj["Key"].endswith("/")
        ]
        return sorted(f"s3://{loc.bucket}/{k}" for k in keys)
    raise TypeError(f"unsupported storage {type(storage).__name__}")


def discover(
    storage: Storage,
    prefix: str,
    *,
    feature_spec_version: str | None,
    accept_dt: Callable[[str], bool],
) -> list[PartitionFile]:
    """The Parquet files of the accepted `dt=` partitions (and the version asked for), sorted by URI."""
    found: list[PartitionFile] = []

    def walk(uri: str, values: dict[str, str]) -> None:
        partition_dirs = [(d, kv) for d in storage.list_dirs(uri) if (kv := _key_value(d))]
        if not partition_dirs:
            if "dt" in values:
                found.extend(
                    PartitionFile(f, dict(values))
                    for f in list_objects(storage, uri)
                    if f.endswith(".parquet") and "/_" not in f[len(uri) :] and "/." not in f[len(uri) :]
                )
            return
        for child, (key, value) in partition_dirs:
            if key == "dt" and not accept_dt(value):
                continue
            if key == "feature_spec_version" and feature_spec_version and value != feature_spec_version:
                continue
            walk(child, {**values, key: value})

    walk(as_dir(prefix), {})
    return sorted(found, key=lambda f: f.uri)
