"""A synthetic 30-day world: traffic batches and the machine inventory that explains them.

One deterministic `World` (from `WorldOptions`, same seed = same bytes) holds:
- a stable population of workstations (`WKS-<ORG2>-NNNN`), some of which change IP once mid-period
  (DHCP churn), and a pool of non-persistent VDI machines (`VDI-<ORG2>-NNNN`) that get a new IP from a
  shared pool every day;
- the internal servers of `devtools.traffic` (static addresses);
- a few retired machines that are in the inventory only (decommissioned before the period);
- one anomalous workstation: in one chosen batch it opens a burst of sessions to many never-seen external
  peers on many ports with large byte counts, on top of its usual traffic.

Every traffic row's source is the lease that covers the event start: a lease changes only at a batch end,
and a batch's events start in the 15 minutes before its end, so a batch never straddles a change. The
inventory table is one row per lease (the DHCP history): the lease current at the end of the period is
`status = 'active'`, earlier ones `expired`, retired machines `retired`. It is written as Parquet where the
local `machine_inventory_unload` reads its Redshift stand-in:
`<root>/_redshift/<cluster>/<database>/<schema>/<table>/part-00000.parquet`.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from devtools.traffic import (
    BATCH_MINUTES,
    MALFORMED_KINDS,
    GeneratedBatch,
    TrafficOptions,
    _Inline,
    _record,
    _servers,
    batch_id,
)
from runtime.jobs.machine_inventory_unload.local_engine import LOCAL_WAREHOUSE_DIR
from runtime.orchestration.window import iso_z, to_utc
from runtime.storage import LocalStorage, join

SITES = ("HQ", "BRANCH-A", "BRANCH-B")
BURST_PEER_FIRST_OCTETS = (45, 62, 91, 146, 193)  # outside the usual server ranges of devtools.traffic


@dataclass(frozen=True)
class WorldOptions:
    traffic: TrafficOptions = field(default_factory=lambda: TrafficOptions(hosts=60, malformed_ratio=0.0))
    start: str = "2025-01-01T00:08:00Z"
    """The first batch end (without the generator's +41 s); batches follow every 24 h / batches_per_day."""
    days: int = 30
    batches_per_day: int = 4
    rows_per_batch: int = 400
    vdi_share: float = 0.2
    churn_share: float = 0.15
    retired: int = 3
    anomaly_day: int | None = None
    """Day index of the anomaly (default: two days before the end, so baselines have history)."""
    anomaly_batch: int | None = None
    """Batch index within the anomaly day (default: the middle batch of the day)."""
    anomaly_sessions: int = 400

    def check(self) -> None:
        if self.days < 1 or self.rows_per_batch < 0 or self.traffic.hosts < 2:
            raise ValueError("days must be >= 1, rows_per_batch >= 0 and hosts >= 2")
        if self.batches_per_day < 1 or (24 * 60) % (self.batches_per_day * BATCH_MINUTES):
            raise ValueError("batches_per_day must divide 96 (batches sit on the 15-minute grid)")
        if not (0 <= self.vdi_share < 1 and 0 <= self.churn_share <= 1):
            raise ValueError("vdi_share must be in [0, 1) and churn_share in [0, 1]")
        if not 0 <= self.anomaly_batch_index < self.batches_per_day or not 0 <= self.anomaly_day_index < self.days:
            raise ValueError("the anomaly must fall inside the generated days and batches")

    @property
    def anomaly_day_index(self) -> int:
        return self.anomaly_day if self.anomaly_day is not None else max(self.days - 2, 0)

    @property
    def anomaly_batch_index(self) -> int:
        return self.anomaly_batch if self.anomaly_batch is not None else self.batches_per_day // 2

    @property
    def batch_count(self) -> int:
        return self.days * self.batches_per_day


@dataclass(frozen=True)
class Lease:
    machine: str
    kind: str
    site: str
    ip: str | None
    start: datetime
    end: datetime | None  # exclusive; None = current
    status: str
    decommissioned_at: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class Anomaly:
    machine: str
    ip: str
    batch_index: int
    batch_end_ts_iso: str
    peers: tuple[str, ...]
    ports: tuple[int, ...]


@dataclass(frozen=True)
class World:
    options: WorldOptions
    batch_ends: tuple[datetime, ...]
    leases: tuple[Lease, ...]
    churned: tuple[str, ...]
    vdi_machines: tuple[str, ...]
    anomaly: Anomaly
    _by_batch: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict, compare=False, repr=False)

    def hosts_for_batch(self, index: int) -> tuple[tuple[str, str], ...]:
        """(ip, machine name) of every live machine during batch `index`, sorted by name."""
        if index not in self._by_batch:
            moment = self.batch_ends[index] - timedelta(seconds=1)
            live = sorted(
                (lease.machine, lease.ip)
                for lease in self.leases
                if lease.ip and lease.kind != "server" and lease.status != "retired" and lease.covers(moment)
            )
            self._by_batch[index] = tuple((ip, name) for name, ip in live if ip)
        return self._by_batch[index]

    def inventory_rows(self) -> list[dict[str, object]]:
        return [
            {
                "ip_address": lease.ip,
                "hostname": lease.machine,
                "status": lease.status,
                "is_active": lease.status == "active",
                "machine_kind": lease.kind,
                "site": lease.site,
                "lease_start": lease.start,
                "lease_end": lease.end,
                "decommissioned_at": lease.decommissioned_at,
            }
            for lease in sorted(self.leases, key=lambda lease: (lease.machine, lease.start))
        ]

    def manifest(self) -> dict[str, object]:
        return {
            "days": self.options.days,
            "batches": len(self.batch_ends),
            "first_batch_end_ts_iso": iso_z(self.batch_ends[0]),
            "last_batch_end_ts_iso": iso_z(self.batch_ends[-1]),
            "machines": len({lease.machine for lease in self.leases}),
            "vdi_machines": list(self.vdi_machines),
            "churned": list(self.churned),
            "anomaly": {
                "machine": self.anomaly.machine,
                "ip": self.anomaly.ip,
                "batch_index": self.anomaly.batch_index,
                "batch_end_ts_iso": self.anomaly.batch_end_ts_iso,
                "sessions": len(self.anomaly.peers),
                "distinct_peers": len(set(self.anomaly.peers)),
                "distinct_ports": len(set(self.anomaly.ports)),
            },
        }


@lru_cache(maxsize=4)
def build_world(options: WorldOptions) -> World:
    """The world for `options`: same options, same world (everything drawn from `traffic.seed`)."""
    options.check()
    seed, org2 = options.traffic.seed, options.traffic.org2.upper()
    rng = random.Random(f"{seed}:world")
    step = timedelta(minutes=24 * 60 // options.batches_per_day)
    first = to_utc(options.start)
    batch_ends = tuple(first + step * i + timedelta(seconds=41) for i in range(options.batch_count))
    origin = batch_ends[0] - timedelta(days=1)  # leases in force before the first batch
    hosts = options.traffic.hosts
    n_vdi = round(hosts * options.vdi_share)
    workstations = [f"WKS-{org2}-{i:04d}" for i in range(hosts - n_vdi)]
    vdi = tuple(f"VDI-{org2}-{i:04d}" for i in range(n_vdi))
    fresh = _address_pool(rng, "10.20", len(workstations) * 2 + 8)
    leases: list[Lease] = []
    anomalous = workstations[rng.randrange(len(workstations))]
    candidates = [name for name in workstations if name != anomalous]
    churned = tuple(sorted(rng.sample(candidates, round(len(workstations) * options.churn_share))))
    margin = min(3 * options.batches_per_day, len(batch_ends) // 3)
    for name in workstations:
        site = SITES[int(name[-4:]) % len(SITES)]
        ip = next(fresh)
        if name in churned and len(batch_ends) > 2 * margin + 1:
            change = batch_ends[rng.randrange(margin, len(batch_ends) - margin)]
            leases.append(Lease(name, "workstation", site, ip, origin, change, "expired"))
            leases.append(Lease(name, "workstation", site, next(fresh), change, None, "active"))
        else:
            leases.append(Lease(name, "workstation", site, ip, origin, None, "active"))
    leases += _vdi_leases(vdi, batch_ends, options.batches_per_day, origin, rng)
    for ip, name in _servers(options.traffic):
        if name:  # internal servers are inventory machines too; public peers are not
            leases.append(Lease(name, "server", "DC", ip, origin, None, "active"))
    for index in range(options.retired):
        gone = origin - timedelta(days=rng.randint(10, 200))
        last_ip = None if index % 2 else f"10.99.{index // 250}.{index % 250 + 1}"
        name = f"WKS-{org2}-{9000 + index:04d}"
        born = gone - timedelta(days=400)
        leases.append(Lease(name, "workstation", SITES[index % 3], last_ip, born, gone, "retired", gone))
    anomaly_index = options.anomaly_day_index * options.batches_per_day + options.anomaly_batch_index
    anomaly_ip = next(lease.ip for lease in leases if lease.machine == anomalous and lease.ip)
    burst = random.Random(f"{seed}:world:anomaly")
    peers = tuple(_burst_peer(burst) for _ in range(options.anomaly_sessions))
    ports = tuple(burst.randint(1, 65535) for _ in range(options.anomaly_sessions))
    anomaly = Anomaly(anomalous, anomaly_ip, anomaly_index, iso_z(batch_ends[anomaly_index]), peers, ports)
    return World(options, batch_ends, tuple(leases), churned, vdi, anomaly)


def _burst_peer(rng: random.Random) -> str:
    first = rng.choice(BURST_PEER_FIRST_OCTETS)
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _address_pool(rng: random.Random, prefix: str, size: int) -> Iterator[str]:
    """`size` distinct addresses `<prefix>.x.y`, in a seeded order, handed out once each."""
    addresses = [f"{prefix}.{i // 250}.{i % 250 + 2}" for i in range(size)]
    rng.shuffle(addresses)
    return iter(addresses)


def _vdi_leases(
    machines: Sequence[str], batch_ends: Sequence[datetime], per_day: int, origin: datetime, rng: random.Random
) -> list[Lease]:
    """Non-persistent desktops: a new lease from the shared pool every day (at the day's first batch end)."""
    if not machines:
        return []
    pool_size = len(machines) + max(4, len(machines) // 4)
    pool = [f"10.50.{i // 250}.{i % 250 + 2}" for i in range(pool_size)]
    shift = rng.randrange(1, pool_size)
    days = len(batch_ends) // per_day
    boundaries = [origin, *(batch_ends[day * per_day - 1] for day in range(1, days))]
    leases = []
    for position, name in enumerate(machines):
        for day, begin in enumerate(boundaries):
            end = boundaries[day + 1] if day + 1 < len(boundaries) else None
            ip = pool[(position + day * shift) % pool_size]
            leases.append(Lease(name, "vdi", "VDI-POOL", ip, begin, end, "active" if end is None else "expired"))
    return leases


def world_file_bytes(options: WorldOptions, batch_index: int, file_index: int, rows: int) -> tuple[bytes, Counter[str]]:
    """One `.json.gz` file of batch `batch_index`; the anomaly's burst rides in file 0 of its batch."""
    world = build_world(options)
    rng = random.Random(f"{options.traffic.seed}:world:{batch_index}:{file_index}")
    hosts, servers = list(world.hosts_for_batch(batch_index)), _servers(options.traffic)
    batch_end = world.batch_ends[batch_index]
    base_id = batch_index * 10_000_000 + file_index * 1_000_000
    lines = []
    kinds: Counter[str] = Counter()
    for row in range(rows):
        malformed = None
        if rng.random() < options.traffic.malformed_ratio:
            malformed = rng.choice(MALFORMED_KINDS)
            kinds[malformed] += 1
        lines.append(
            json.dumps(_record(rng, batch_end, hosts, servers, malformed, base_id + row), separators=(",", ":"))
        )
    if batch_index == world.anomaly.batch_index and file_index == 0:
        lines += [json.dumps(record, separators=(",", ":")) for record in _burst(world, rng, base_id + rows)]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=6, mtime=0), kinds


def _burst(world: World, rng: random.Random, first_session: int) -> list[dict[str, object]]:
    anomaly, end = world.anomaly, world.batch_ends[world.anomaly.batch_index]
    host = [(anomaly.ip, anomaly.machine)]
    records = []
    for offset, (peer, port) in enumerate(zip(anomaly.peers, anomaly.ports, strict=True)):
        record = _record(rng, end, host, [(peer, "")], None, first_session + offset)
        sent, received = rng.randint(20_000_000, 80_000_000), rng.randint(2_000, 40_000)
        record.update(
            dst=peer, dst_host="", dport=port, app="unknown-tcp", proto="tcp", to="untrust", natsrc="203.0.113.10",
            outbound_if="ethernet1/1", rule="allow-outbound", bytes_sent=sent, bytes_received=received,
            bytes=sent + received, packets=2 + (sent + received) // 1200,
        )  # fmt: skip
        records.append(record)
    return records


def write_inventory_table(world: World, table_dir: Path) -> Path:
    """The inventory as one Parquet file (typed: timestamps UTC, the active flag a boolean)."""
    import duckdb

    table_dir.mkdir(parents=True, exist_ok=True)
    target = table_dir / "part-00000.parquet"
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            "CREATE TABLE inventory (ip_address VARCHAR, hostname VARCHAR, status VARCHAR, is_active BOOLEAN, "
            "machine_kind VARCHAR, site VARCHAR, lease_start TIMESTAMPTZ, lease_end TIMESTAMPTZ, "
            "decommissioned_at TIMESTAMPTZ)"
        )
        rows = [tuple(row.values()) for row in world.inventory_rows()]
        connection.executemany("INSERT INTO inventory VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        connection.execute(f"COPY inventory TO '{target.as_posix()}' (FORMAT PARQUET)")
    finally:
        connection.close()
    return target


@dataclass(frozen=True)
class InventoryLocation:
    """Where the local Redshift stand-in holds the table; the defaults match specs/ndr-prod's unload spec."""

    cluster_identifier: str = "globex-itam-prod"
    database: str = "itam"
    schema: str = "itam"
    table: str = "machine_inventory"

    def table_dir(self, root: Path) -> Path:
        return root / LOCAL_WAREHOUSE_DIR / self.cluster_identifier / self.database / self.schema / self.table


@dataclass
class WorldRun:
    world: World
    batches: list[GeneratedBatch]
    inventory_path: Path
    manifest_path: Path


def generate_world(
    bucket_uri: str,
    options: WorldOptions | None = None,
    *,
    storage: LocalStorage,
    inventory: InventoryLocation | None = None,
    workers: int = 1,
) -> WorldRun:
    """Write every batch of the world (batch layout of `devtools.traffic`), its inventory and a manifest
    (`<root>/_world/<project>/manifest.json`: VDI machines, churned machines, the anomaly)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    options = options or WorldOptions()
    inventory = inventory or InventoryLocation()
    world = build_world(options)
    traffic = options.traffic
    base = f"{traffic.vendor_prefix}/{traffic.org1}/{traffic.org2}/{traffic.project_name}".lstrip("/")
    batches = []
    for index, end in enumerate(world.batch_ends):
        prefix = join(bucket_uri, base, f"{end:%Y/%m/%d}", batch_id(traffic, index)) + "/"
        batches.append(GeneratedBatch(batch_id(traffic, index), prefix, iso_z(end)))
    count = len(batches)
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else _Inline() as pool:
        results = pool.map(
            world_file_bytes, [options] * count, range(count), [0] * count, [options.rows_per_batch] * count
        )
        for batch, (data, malformed) in zip(batches, results, strict=True):
            uri = f"{batch.mini_batch_s3_prefix}part-00000.json.gz"
            storage.write_bytes(uri, data)
            stamp = to_utc(batch.batch_end_ts_iso).timestamp()
            os.utime(storage.local_path(uri), (stamp, stamp))
            batch.rows = options.rows_per_batch + (
                len(world.anomaly.peers) if batch is batches[world.anomaly.batch_index] else 0
            )
            batch.files.append(uri)
            batch.malformed.update(malformed)
    table = write_inventory_table(world, inventory.table_dir(storage.root))
    manifest_path = storage.root / "_world" / traffic.project_name / "manifest.json"
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {**world.manifest(), "inventory_table": str(table), "bucket_uri": bucket_uri}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return WorldRun(world, batches, table, manifest_path)
