"""The demo's traffic: a few hours of Palo Alto batches per project from the synthetic world
(`devtools.world`), split into three phases around a UTC midnight, and the inventory each project's
`machine_inventory_unload` query reads from the local Redshift stand-in.

    history (the day before)  | FG-B baseline at 00:00 | training batches | live batches (one injected host)

History lies before midnight so the FG-B baseline of the next day has it; training batches follow the
baseline, so their FG-C rows have deviations to learn from; live batches come last, replayed through the
entry wiring once a model serves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devtools.traffic import GeneratedBatch, TrafficOptions, batch_id
from devtools.world import InventoryLocation, World, WorldOptions, build_world, world_file_bytes, write_inventory_table
from runtime.orchestration.window import iso_z, to_utc
from runtime.storage import LocalStorage, join

BATCH_MINUTES = 30
BATCHES_PER_DAY = 24 * 60 // BATCH_MINUTES
BASELINE_DAY = datetime(2025, 1, 15, tzinfo=UTC)  # inside if_training's window for REFERENCE (Oct 2024 - Jan 2025)
TRAINING_REFERENCE = "2025-03-01T00:00:00Z"  # if_training: 4 months of lookback ending 1 month before this
HOSTS = 12
ROWS_PER_BATCH = 150


@dataclass(frozen=True)
class Phases:
    history: int
    training: int
    live: int

    @property
    def total(self) -> int:
        return self.history + self.training + self.live


def phases(hours: int, live: int | None = None) -> Phases:
    """`hours` of 30-minute batches: a third history (at least the 2 windows FG-B's support needs), a third
    live (at least 1), the rest training (at least 1); `live` batches instead when given (more hours)."""
    count = hours * 60 // BATCH_MINUTES
    history, live_count = max(2, count // 3), max(1, count // 3)
    shape = Phases(history, max(1, count - history - live_count), live_count)
    return shape if live is None else Phases(shape.history, shape.training, max(1, live))


@dataclass
class ProjectTraffic:
    project: str
    bucket_uri: str
    options: WorldOptions
    batches: list[GeneratedBatch]
    phases: Phases
    injected_ip: str | None
    written: set[int] = field(default_factory=set)

    @property
    def world(self) -> World:
        return build_world(self.options)

    def phase(self, name: str) -> list[GeneratedBatch]:
        p = self.phases
        bounds = {
            "history": (0, p.history),
            "training": (p.history, p.history + p.training),
            "live": (p.history + p.training, p.total),
        }[name]
        return self.batches[bounds[0] : bounds[1]]

    def key(self, batch: GeneratedBatch) -> str:
        """The object key under the ingestion bucket (what the producer's S3 event names)."""
        return f"{batch.mini_batch_s3_prefix.removeprefix(self.bucket_uri + '/')}part-00000.json.gz"


def plan_traffic(
    project: str, org1: str, org2: str, bucket_uri: str, seed: int, hours: int, inject: bool, live: int | None = None
) -> ProjectTraffic:
    """The project's batches (nothing written yet); the injected host bursts in the first live batch."""
    shape = phases(hours, live)
    first_end = BASELINE_DAY + timedelta(minutes=8) - timedelta(minutes=BATCH_MINUTES * shape.history)
    traffic = TrafficOptions(org1=org1, org2=org2, project_name=project, hosts=HOSTS, malformed_ratio=0.0, seed=seed)
    options = WorldOptions(
        traffic=traffic,
        start=iso_z(first_end),
        days=1,
        batches_per_day=BATCHES_PER_DAY,
        rows_per_batch=ROWS_PER_BATCH,
        anomaly_day=0,
        anomaly_batch=shape.history + shape.training,
        anomaly_sessions=400 if inject else 0,
    )
    world = build_world(options)
    base = f"{traffic.vendor_prefix}/{org1}/{org2}/{project}"
    batches = []
    for index in range(shape.total):
        end = world.batch_ends[index]
        prefix = join(bucket_uri, base, f"{end:%Y/%m/%d}", batch_id(traffic, index)) + "/"
        batches.append(GeneratedBatch(batch_id(traffic, index), prefix, iso_z(end), rows=ROWS_PER_BATCH))
    return ProjectTraffic(project, bucket_uri, options, batches, shape, world.anomaly.ip if inject else None)


def write_batch(storage: LocalStorage, traffic: ProjectTraffic, batch: GeneratedBatch) -> str:
    """Write one batch's file as the producer would (modified time = the batch end); returns its URI."""
    index = traffic.batches.index(batch)
    data, _ = world_file_bytes(traffic.options, index, 0, traffic.options.rows_per_batch)
    uri = f"{batch.mini_batch_s3_prefix}part-00000.json.gz"
    storage.write_bytes(uri, data)
    stamp = to_utc(batch.batch_end_ts_iso).timestamp()
    os.utime(storage.local_path(uri), (stamp, stamp))
    batch.files = [uri]
    traffic.written.add(index)
    return uri


def _itam(world: World, root: Path) -> None:
    """ndr-prod's unload reads `itam.machine_inventory` on cluster globex-itam-prod (the world's own layout)."""
    write_inventory_table(world, InventoryLocation(cluster_identifier="globex-itam-prod").table_dir(root))


def _cmdb(world: World, root: Path) -> None:
    """ndr-acme-prod's unload joins `cmdb.hosts` with `cmdb.sites` (finance hosts in service) on acme-cmdb."""
    import duckdb

    sites = sorted({str(row["site"]) for row in world.inventory_rows()})
    folder = root / "_redshift" / "acme-cmdb" / "cmdb" / "cmdb"
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("CREATE TABLE sites (site_id INTEGER, site_code VARCHAR, org_unit VARCHAR)")
        connection.executemany("INSERT INTO sites VALUES (?, ?, 'finance')", list(enumerate(sites)))
        connection.execute(
            "CREATE TABLE hosts (ip_address VARCHAR, fqdn VARCHAR, site_id INTEGER, lifecycle_state VARCHAR)"
        )
        rows = [
            (
                row["ip_address"],
                row["hostname"],
                sites.index(str(row["site"])),
                "in_service" if row["is_active"] else "retired",
            )
            for row in world.inventory_rows()
            if row["ip_address"]
        ]
        connection.executemany("INSERT INTO hosts VALUES (?, ?, ?, ?)", rows)
        for table in ("sites", "hosts"):
            (folder / table).mkdir(parents=True, exist_ok=True)
            target = (folder / table / "part-00000.parquet").as_posix()
            connection.execute(f"COPY {table} TO '{target}' (FORMAT PARQUET)")
    finally:
        connection.close()


# The demo knows the two sample projects' inventory sources (the Redshift stand-in each unload query reads).
INVENTORY_WRITERS: dict[str, Callable[[World, Path], None]] = {"ndr-prod": _itam, "ndr-acme-prod": _cmdb}
SAMPLE_PROJECTS = tuple(INVENTORY_WRITERS)


def write_inventory(root: Path, traffic: ProjectTraffic) -> None:
    INVENTORY_WRITERS[traffic.project](traffic.world, root)
