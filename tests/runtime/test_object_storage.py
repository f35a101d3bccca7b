"""The storage layer: s3:// URIs on a local directory tree (fsspec) and on S3 in the emulator."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from runtime.errors import StorageError
from runtime.storage import LocalStorage, S3Storage, parse_s3_uri, storage_from_env


def test_uri_parsing() -> None:
    assert parse_s3_uri("s3://b/k/x.json").key == "k/x.json"
    assert parse_s3_uri("s3a://b").bucket == "b"
    with pytest.raises(StorageError, match="not an s3:// URI"):
        parse_s3_uri("/tmp/x")


def test_local_storage_maps_bucket_and_key_under_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes("s3://bkt/a/2025/01/15/b2/f1.json.gz", b"x")
    storage.write_bytes("s3://bkt/a/2025/01/15/b1/z.json.gz", b"yy")
    storage.write_bytes("s3://bkt/a/2025/01/15/b1/sub/a.json.gz", b"z")
    assert (tmp_path / "bkt/a/2025/01/15/b1/z.json.gz").read_bytes() == b"yy"
    assert storage.list_dirs("s3://bkt/a/2025/01/15/") == ["s3://bkt/a/2025/01/15/b1/", "s3://bkt/a/2025/01/15/b2/"]
    assert storage.list_dirs("s3://bkt/missing/") == []
    first = storage.first_object("s3://bkt/a/2025/01/15/b1/")
    assert first is not None and first.uri == "s3://bkt/a/2025/01/15/b1/sub/a.json.gz" and first.size == 1
    assert storage.spark_uri("s3://bkt/a/") == (tmp_path / "bkt/a").as_uri() + "/"
    assert storage.exists("s3://bkt/a/2025/01/15/b1/z.json.gz")
    with pytest.raises(StorageError, match="does not exist"):
        storage.read_bytes("s3://bkt/nope.json")


def test_storage_from_env_prefers_argument_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDRC_LOCAL_STORAGE_ROOT", str(tmp_path / "env"))
    chosen = storage_from_env()
    assert isinstance(chosen, LocalStorage) and chosen.root == (tmp_path / "env").resolve()
    explicit = storage_from_env(tmp_path / "arg")
    assert isinstance(explicit, LocalStorage) and explicit.root == (tmp_path / "arg").resolve()


@pytest.mark.emulator
def test_s3_storage_against_the_emulator(aws_env: str) -> None:
    client = boto3.client("s3")
    client.create_bucket(Bucket="store-test")
    storage = S3Storage(client)
    storage.write_bytes("s3://store-test/p/2025/01/15/b1/f.json.gz", b"abc")
    storage.write_bytes("s3://store-test/p/2025/01/15/b2/f.json.gz", b"abcd")
    client.put_object(Bucket="store-test", Key="p/2025/01/15/b3/", Body=b"")  # a folder marker
    assert storage.list_dirs("s3://store-test/p/2025/01/15") == [
        "s3://store-test/p/2025/01/15/b1/",
        "s3://store-test/p/2025/01/15/b2/",
        "s3://store-test/p/2025/01/15/b3/",
    ]
    first = storage.first_object("s3://store-test/p/2025/01/15/b2/")
    assert first is not None and first.size == 4 and first.last_modified.tzinfo is not None
    assert storage.first_object("s3://store-test/p/2025/01/15/b3/") is None
    assert storage.read_bytes("s3://store-test/p/2025/01/15/b1/f.json.gz") == b"abc"
    assert storage.spark_uri("s3://store-test/p/") == "s3://store-test/p/"
    with pytest.raises(StorageError, match="does not exist"):
        storage.read_bytes("s3://store-test/none")
