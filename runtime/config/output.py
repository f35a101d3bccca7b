"""The output block shared by the builders: prefix, format, partition keys and write mode."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.config.payload import PayloadReader

WRITE_MODES = ("overwrite_partitions", "overwrite", "append")
DEFAULT_PARTITION_KEYS: tuple[str, ...] = ("feature_spec_version", "dt", "mini_batch_id")


@dataclass(frozen=True)
class OutputSpec:
    """Where and how a builder writes; `overwrite` means replace this batch's partitions only."""

    s3_prefix: str
    format: str = "parquet"
    partition_keys: tuple[str, ...] = DEFAULT_PARTITION_KEYS
    write_mode: str = "overwrite_partitions"

    @property
    def idempotent(self) -> bool:
        return self.write_mode != "append"

    @classmethod
    def read(cls, r: PayloadReader, path: str) -> OutputSpec:
        fmt = r.string(f"{path}.format", "parquet").lower()
        if fmt != "parquet":
            raise r.fail(f"{path}.format", f"must be parquet (got {fmt!r})")
        keys = r.strings(f"{path}.partition_keys", DEFAULT_PARTITION_KEYS)
        if len(set(keys)) != len(keys):
            raise r.fail(f"{path}.partition_keys", f"must not repeat a key (got {list(keys)})")
        mode = r.string(f"{path}.write_mode", "overwrite_partitions").lower()
        if mode not in WRITE_MODES:
            raise r.fail(f"{path}.write_mode", f"must be one of {', '.join(WRITE_MODES)} (got {mode!r})")
        return cls(r.string(f"{path}.s3_prefix"), fmt, tuple(keys), mode)
