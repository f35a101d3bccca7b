"""Synthetic Palo Alto traffic: flattened PAN-OS TRAFFIC logs as `.json.gz` in the batch layout.

`python -m devtools.traffic s3://ndr-ingestion-local --storage-root .ndrc/local/s3 --rows-per-batch 100000`
writes `<bucket>/<vendor>/<org1>/<org2>/<project>/YYYY/MM/dd/<mini_batch_id>/part-NNNNN.json.gz`.
Same seed, same bytes (per file seeds, so worker count does not change the output).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from runtime.orchestration.window import iso_z, to_utc
from runtime.storage import LocalStorage, Storage, join, storage_from_env

PALOALTO_FIELD_MAPPING: dict[str, str] = {
    "source_ip": "src",
    "destination_ip": "dst",
    "source_port": "sport",
    "destination_port": "dport",
    "source_bytes": "bytes_sent",
    "destination_bytes": "bytes_received",
    "event_start": "start",
    "event_end": "time_generated",
    "source_hostname": "src_host",
    "destination_hostname": "dst_host",
}
# (port, proto, app, weight)
SERVICES: tuple[tuple[int, str, str, int], ...] = (
    (443, "tcp", "ssl", 40),
    (80, "tcp", "web-browsing", 10),
    (53, "udp", "dns", 14),
    (22, "tcp", "ssh", 3),
    (3389, "tcp", "ms-rdp", 2),
    (445, "tcp", "ms-ds-smb", 5),
    (389, "tcp", "ldap", 4),
    (88, "tcp", "kerberos", 4),
    (123, "udp", "ntp", 3),
    (8080, "tcp", "web-browsing", 3),
    (1433, "tcp", "mssql-db", 2),
    (5432, "tcp", "postgres", 1),
    (3306, "tcp", "mysql", 1),
    (0, "tcp", "incomplete", 8),
)
MALFORMED_KINDS: tuple[str, ...] = ("bad_ip", "negative_duration", "null_bytes", "null_port", "negative_bytes")
END_REASONS = ("tcp-fin", "tcp-rst-from-client", "aged-out", "tcp-fin", "tcp-fin")
BATCH_MINUTES = 15


@dataclass(frozen=True)
class TrafficOptions:
    org1: str = "acme"
    org2: str = "finance"
    project_name: str = "ndr-demo"
    vendor_prefix: str = "paloalto"
    hosts: int = 50
    malformed_ratio: float = 0.01
    seed: int = 0


@dataclass
class GeneratedBatch:
    mini_batch_id: str
    mini_batch_s3_prefix: str
    batch_end_ts_iso: str
    rows: int = 0
    files: list[str] = field(default_factory=list)
    malformed: Counter[str] = field(default_factory=Counter)


def _hosts(options: TrafficOptions) -> list[tuple[str, str]]:
    rng = random.Random(f"{options.seed}:hosts")
    hosts = []
    for index in range(options.hosts):
        kind = "vdi" if index % 5 == 0 else "wks"
        hosts.append(
            (f"10.{10 + index // 250}.{index % 250}.{rng.randint(2, 254)}", f"{kind}-{options.org2}-{index:04d}")
        )
    return hosts


def _servers(options: TrafficOptions) -> list[tuple[str, str]]:
    rng = random.Random(f"{options.seed}:servers")
    internal = [(f"10.0.{i}.{rng.randint(2, 254)}", f"srv-{options.org2}-{i:03d}") for i in range(20)]
    external = [
        (
            f"{rng.choice([13, 20, 34, 52, 104, 142, 151, 172, 185])}.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "",
        )
        for _ in range(200)
    ]
    return internal + external


def _record(
    rng: random.Random,
    batch_end: datetime,
    hosts: list[tuple[str, str]],
    servers: list[tuple[str, str]],
    malformed: str | None,
    session_id: int,
) -> dict[str, object]:
    src, src_host = rng.choice(hosts)
    dst, dst_host = rng.choice(servers) if rng.random() < 0.9 else rng.choice(hosts)
    port, proto, app, _ = rng.choices(SERVICES, weights=[s[3] for s in SERVICES])[0]
    port = port or rng.randint(1024, 65535)
    start = batch_end - timedelta(seconds=rng.randint(1, BATCH_MINUTES * 60))
    elapsed = min(int(rng.expovariate(1 / 30)), 3600)
    sent, received = int(rng.lognormvariate(7, 1.6)), int(rng.lognormvariate(8, 2.0))
    internal_dst = dst.startswith("10.")
    record: dict[str, object] = {
        "receive_time": iso_z(start + timedelta(seconds=elapsed + 1)),
        "serial": "013201001234",
        "type": "TRAFFIC",
        "subtype": "end",
        "time_generated": iso_z(start + timedelta(seconds=elapsed)),
        "src": src,
        "dst": dst,
        "natsrc": "" if internal_dst else "203.0.113.10",
        "natdst": "",
        "rule": "allow-internal" if internal_dst else "allow-outbound",
        "srcuser": f"{src_host.split('-')[0]}\\user",
        "app": app,
        "vsys": "vsys1",
        "from": "trust",
        "to": "trust" if internal_dst else "untrust",
        "inbound_if": "ethernet1/2",
        "outbound_if": "ethernet1/2" if internal_dst else "ethernet1/1",
        "sessionid": session_id,
        "repeatcnt": 1,
        "sport": rng.randint(49152, 65535),
        "dport": port,
        "proto": proto,
        "action": "allow",
        "bytes": sent + received,
        "bytes_sent": sent,
        "bytes_received": received,
        "packets": 2 + (sent + received) // 1200,
        "start": iso_z(start),
        "elapsed": elapsed,
        "category": "any" if internal_dst else "computer-and-internet-info",
        "session_end_reason": rng.choice(END_REASONS),
        "src_host": src_host,
        "dst_host": dst_host,
        "device_name": "pa-fw-01",
    }
    if malformed == "bad_ip":
        record["src" if rng.random() < 0.5 else "dst"] = rng.choice(["999.10.1.1", "10.0.0", "not-an-ip", ""])
    elif malformed == "negative_duration":
        record["time_generated"] = iso_z(start - timedelta(seconds=rng.randint(1, 600)))
    elif malformed == "null_bytes":
        record["bytes_sent" if rng.random() < 0.5 else "bytes_received"] = None
    elif malformed == "null_port":
        record["dport"] = None
    elif malformed == "negative_bytes":
        record["bytes_received"] = -rng.randint(1, 5000)
    return record


def _file_bytes(
    options: TrafficOptions, batch_end_iso: str, batch_index: int, file_index: int, rows: int
) -> tuple[bytes, Counter[str]]:
    rng = random.Random(f"{options.seed}:{batch_index}:{file_index}")
    hosts, servers, batch_end = _hosts(options), _servers(options), to_utc(batch_end_iso)
    kinds: Counter[str] = Counter()
    lines = []
    for row in range(rows):
        malformed = rng.choice(MALFORMED_KINDS) if rng.random() < options.malformed_ratio else None
        if malformed:
            kinds[malformed] += 1
        record = _record(
            rng, batch_end, hosts, servers, malformed, batch_index * 10_000_000 + file_index * 1_000_000 + row
        )
        lines.append(json.dumps(record, separators=(",", ":")))
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=6, mtime=0), kinds


def batch_id(options: TrafficOptions, index: int) -> str:
    return hashlib.sha256(f"{options.seed}:{options.project_name}:{index}".encode()).hexdigest()[:32]


def generate_traffic(
    bucket_uri: str,
    *,
    start: datetime | str = "2025-01-15T10:08:00Z",
    batches: int = 1,
    rows_per_batch: int = 1000,
    files_per_batch: int = 1,
    options: TrafficOptions | None = None,
    storage: Storage | None = None,
    workers: int = 1,
) -> list[GeneratedBatch]:
    """Write `batches` mini-batches 15 minutes apart; local files get the batch end as mtime."""
    options = options or TrafficOptions()
    storage = storage or storage_from_env()
    if batches < 1 or rows_per_batch < 0 or files_per_batch < 1 or options.hosts < 1:
        raise ValueError("batches, files_per_batch and hosts must be >= 1 and rows_per_batch >= 0")
    if not 0 <= options.malformed_ratio <= 1:
        raise ValueError("malformed_ratio must be between 0 and 1")
    first_end = to_utc(start)
    jobs = []
    generated: list[GeneratedBatch] = []
    for index in range(batches):
        end = first_end + timedelta(minutes=BATCH_MINUTES * index, seconds=41)
        base = f"{options.vendor_prefix}/{options.org1}/{options.org2}/{options.project_name}".lstrip("/")
        prefix = join(bucket_uri, base, f"{end:%Y/%m/%d}", batch_id(options, index)) + "/"
        generated.append(GeneratedBatch(batch_id(options, index), prefix, iso_z(end)))
        for file_index in range(files_per_batch):
            rows = rows_per_batch // files_per_batch + (1 if file_index < rows_per_batch % files_per_batch else 0)
            jobs.append((index, file_index, rows))
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else _Inline() as pool:
        results = pool.map(
            _file_bytes, *zip(*[(options, generated[i].batch_end_ts_iso, i, f, r) for i, f, r in jobs], strict=True)
        )
        for (index, file_index, rows), (data, kinds) in zip(jobs, results, strict=True):
            batch = generated[index]
            uri = f"{batch.mini_batch_s3_prefix}part-{file_index:05d}.json.gz"
            storage.write_bytes(uri, data)
            if isinstance(storage, LocalStorage):
                stamp = to_utc(batch.batch_end_ts_iso).timestamp()
                os.utime(storage.local_path(uri), (stamp, stamp))
            batch.rows += rows
            batch.files.append(uri)
            batch.malformed.update(kinds)
    return generated


def _plain(problem: Exception) -> str:
    if isinstance(problem, NoCredentialsError):
        return "no AWS credentials (configure a profile or role)"
    if isinstance(problem, OSError) and problem.strerror:
        return f"{problem.strerror}: {problem.filename}" if problem.filename else problem.strerror
    return str(problem)


class _Inline:
    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, *iterables):  # type: ignore[no-untyped-def]
        return map(fn, *iterables)


SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _bounded_int(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {low}")
        return value

    return parse


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _timestamp(text: str) -> str:
    try:
        to_utc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time such as 2025-01-15T10:08:00Z") from None
    return text


def _segment(optional: bool = False) -> Callable[[str], str]:
    """One folder name of the batch key: letters, digits, `_.-`, not starting with a dot (no `..`, no `/`)."""

    def parse(text: str) -> str:
        if (optional and text == "") or SEGMENT.fullmatch(text):
            return text
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder name (letters, digits, _.- ; no '/' or '..')")

    return parse


def _writable_root(text: str) -> str | None:
    """Why files cannot be written under `text` (created if missing), or None when they can."""
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as problem:
        return f"cannot write under --storage-root {text}: {problem.strerror or problem}"
    return None


TRAFFIC_DEFAULTS = {"start": "2025-01-15T10:08:00Z", "rows_per_batch": 1000, "hosts": 50, "malformed_ratio": 0.01}
WORLD_DEFAULTS = {"start": "2025-01-01T00:08:00Z", "rows_per_batch": 400, "hosts": 60, "malformed_ratio": 0.0}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.traffic", description=__doc__.splitlines()[0])
    parser.add_argument("bucket_uri", help="s3://<ingestion-bucket>")
    parser.add_argument("--storage-root", help="local directory standing in for buckets (else real S3)")
    parser.add_argument(
        "--start",
        type=_timestamp,
        help="first batch end (ISO-8601; default 2025-01-15T10:08:00Z, world 2025-01-01T00:08:00Z)",
    )
    parser.add_argument("--batches", type=_bounded_int(1), default=1)
    parser.add_argument("--rows-per-batch", type=_bounded_int(0), help="default 1000 (world: 400)")
    parser.add_argument("--files-per-batch", type=_bounded_int(1), default=1)
    parser.add_argument("--hosts", type=_bounded_int(1), help="default 50 (world: 60 machines, VDI included)")
    parser.add_argument("--malformed-ratio", type=_ratio, help="default 0.01 (world: 0)")
    parser.add_argument("--seed", type=_bounded_int(0), default=0)
    parser.add_argument("--org1", type=_segment(), default="acme")
    parser.add_argument("--org2", type=_segment(), default="finance")
    parser.add_argument("--project-name", type=_segment(), default="ndr-demo")
    parser.add_argument("--vendor-prefix", type=_segment(optional=True), default="paloalto")
    parser.add_argument("--workers", type=_bounded_int(1), default=os.cpu_count() or 1)
    world = parser.add_argument_group(
        "world (--days N): N days of batches, DHCP churn, a VDI pool, one anomaly, and the machine inventory "
        "(needs --storage-root; --batches is ignored)"
    )
    world.add_argument("--days", type=_bounded_int(1), help="generate the synthetic world over this many days")
    world.add_argument("--batches-per-day", type=_bounded_int(1), default=4, help="must divide 96 (default 4)")
    world.add_argument("--vdi-share", type=_ratio, default=0.2)
    world.add_argument("--churn-share", type=_ratio, default=0.15, help="share of workstations changing IP once")
    world.add_argument("--retired", type=_bounded_int(0), default=3, help="decommissioned machines (inventory only)")
    world.add_argument("--anomaly-day", type=_bounded_int(0), help="day index of the anomaly (default: days - 2)")
    world.add_argument(
        "--anomaly-batch", type=_bounded_int(0), help="batch index within that day (default: the middle one)"
    )
    world.add_argument("--anomaly-sessions", type=_bounded_int(1), default=400)
    world.add_argument("--inventory-cluster", default="globex-itam-prod")
    world.add_argument("--inventory-database", default="itam")
    world.add_argument("--inventory-schema", default="itam")
    world.add_argument("--inventory-table", default="machine_inventory")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.bucket_uri.startswith("s3://") or not SEGMENT.fullmatch(args.bucket_uri[5:].rstrip("/")):
        parser.error(f"{args.bucket_uri!r} is not a bucket URI (s3://<bucket>)")
    unwritable = _writable_root(args.storage_root) if args.storage_root else None
    if unwritable:
        parser.error(unwritable)  # checked last: nothing is created unless every other option is valid
    defaults = WORLD_DEFAULTS if args.days is not None else TRAFFIC_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    options = TrafficOptions(
        args.org1, args.org2, args.project_name, args.vendor_prefix, args.hosts, args.malformed_ratio, args.seed
    )
    if args.days is not None:
        return _world_main(parser, args, options)
    try:
        batches = generate_traffic(
            args.bucket_uri,
            start=args.start,
            batches=args.batches,
            rows_per_batch=args.rows_per_batch,
            files_per_batch=args.files_per_batch,
            options=options,
            storage=storage_from_env(args.storage_root),
            workers=args.workers,
        )
    except (OSError, ValueError, BotoCoreError, ClientError) as problem:
        sys.stderr.write(f"{parser.prog}: error: cannot write the traffic: {_plain(problem)}\n")
        return 2
    for batch in batches:
        sys.stdout.write(
            json.dumps(
                {
                    "mini_batch_id": batch.mini_batch_id,
                    "mini_batch_s3_prefix": batch.mini_batch_s3_prefix,
                    "batch_end_ts_iso": batch.batch_end_ts_iso,
                    "rows": batch.rows,
                    "files": len(batch.files),
                    "malformed": dict(batch.malformed),
                }
            )
            + "\n"
        )
    return 0


def _world_main(parser: argparse.ArgumentParser, args: argparse.Namespace, options: TrafficOptions) -> int:
    from devtools.world import InventoryLocation, WorldOptions, generate_world

    storage = storage_from_env(args.storage_root)
    if not isinstance(storage, LocalStorage):
        parser.error("--days writes the inventory for the local Redshift stand-in: pass --storage-root")
    world_options = WorldOptions(
        traffic=options,
        start=args.start,
        days=args.days,
        batches_per_day=args.batches_per_day,
        rows_per_batch=args.rows_per_batch,
        vdi_share=args.vdi_share,
        churn_share=args.churn_share,
        retired=args.retired,
        anomaly_day=args.anomaly_day,
        anomaly_batch=args.anomaly_batch,
        anomaly_sessions=args.anomaly_sessions,
    )
    location = InventoryLocation(
        args.inventory_cluster, args.inventory_database, args.inventory_schema, args.inventory_table
    )
    try:
        run = generate_world(args.bucket_uri, world_options, storage=storage, inventory=location, workers=args.workers)
    except ValueError as problem:
        parser.error(str(problem))
    summary = json.loads(run.manifest_path.read_text(encoding="utf-8"))
    summary["rows"] = sum(batch.rows for batch in run.batches)
    summary["manifest"] = str(run.manifest_path)
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
