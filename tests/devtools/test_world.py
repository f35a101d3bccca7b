"""The synthetic world: traffic and inventory agree (DHCP churn, VDI leases), the anomaly is there, and
the same seed gives the same bytes."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from devtools.traffic import TrafficOptions, main
from devtools.world import InventoryLocation, WorldOptions, build_world, generate_world
from runtime.orchestration import parse_batch_key
from runtime.storage import LocalStorage, parse_s3_uri

SMALL = WorldOptions(
    traffic=TrafficOptions(hosts=20, malformed_ratio=0.0, seed=7, project_name="ndr-world"),
    days=6,
    batches_per_day=4,
    rows_per_batch=120,
    churn_share=0.3,
    anomaly_day=4,
    anomaly_batch=1,
    anomaly_sessions=60,
)


@pytest.fixture(scope="module")
def world_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    storage = LocalStorage(tmp_path_factory.mktemp("world") / "s3")
    return storage, generate_world("s3://ingest", SMALL, storage=storage, workers=1)


def traffic_rows(storage: LocalStorage, uri: str) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(storage.read_bytes(uri)).splitlines()]


def inventory(path: Path) -> list[dict]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    frame = connection.execute(f"SELECT * FROM read_parquet('{path}') ORDER BY hostname, lease_start").fetchall()
    names = [d[0] for d in connection.description]
    return [dict(zip(names, row, strict=True)) for row in frame]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_batches_follow_the_batch_layout_and_the_day_grid(world_run) -> None:  # type: ignore[no-untyped-def]
    storage, run = world_run
    assert len(run.batches) == 24
    assert [b.batch_end_ts_iso for b in run.batches[:5]] == [
        "2025-01-01T00:08:41Z",
        "2025-01-01T06:08:41Z",
        "2025-01-01T12:08:41Z",
        "2025-01-01T18:08:41Z",
        "2025-01-02T00:08:41Z",
    ]
    for batch in run.batches:
        key = parse_batch_key(parse_s3_uri(batch.files[0]).key, bucket="ingest")
        assert (key.project_name, key.mini_batch_s3_prefix) == ("ndr-world", batch.mini_batch_s3_prefix)
        info = storage.first_object(batch.mini_batch_s3_prefix)
        assert info is not None and info.last_modified == at(batch.batch_end_ts_iso)


def test_every_flow_is_explained_by_the_lease_covering_its_start(world_run) -> None:  # type: ignore[no-untyped-def]
    storage, run = world_run
    leases = defaultdict(list)
    for row in inventory(run.inventory_path):
        if row["ip_address"]:
            leases[(row["ip_address"], row["hostname"])].append((row["lease_start"], row["lease_end"], row["status"]))
    checked = 0
    for batch in run.batches:
        for row in traffic_rows(storage, batch.files[0]):
            start = at(row["start"])
            for ip, name in ((row["src"], row["src_host"]), (row["dst"], row["dst_host"])):
                if not name:
                    continue  # servers and external peers are not inventory machines
                covering = [
                    s
                    for s in leases[(ip, name)]
                    if s[0] <= start and (s[1] is None or start < s[1]) and s[2] != "retired"
                ]
                assert len(covering) == 1, (ip, name, row["start"])
                checked += 1
    assert checked > 24 * 120


def test_dhcp_churn_moves_a_machine_to_a_new_address_seen_in_traffic(world_run) -> None:  # type: ignore[no-untyped-def]
    storage, run = world_run
    world = run.world
    assert len(world.churned) == round(16 * 0.3)
    rows = inventory(run.inventory_path)
    seen = defaultdict(set)
    for batch in run.batches:
        for row in traffic_rows(storage, batch.files[0]):
            seen[row["src_host"]].add(row["src"])
    for name in world.churned:
        history = [r for r in rows if r["hostname"] == name]
        assert [r["status"] for r in history] == ["expired", "active"]
        assert history[0]["lease_end"] == history[1]["lease_start"]
        assert history[0]["ip_address"] != history[1]["ip_address"]
        assert {history[0]["ip_address"], history[1]["ip_address"]} == seen[name]
    stable = [r for r in rows if r["machine_kind"] == "workstation" and r["status"] == "active"]
    assert all(len(seen[r["hostname"]]) == 1 for r in stable if r["hostname"] not in world.churned)


def test_vdi_machines_are_named_vdi_and_lease_a_new_address_every_day(world_run) -> None:  # type: ignore[no-untyped-def]
    _, run = world_run
    rows = inventory(run.inventory_path)
    vdi = [r for r in rows if r["machine_kind"] == "vdi"]
    assert {r["hostname"] for r in vdi} == set(run.world.vdi_machines) and len(run.world.vdi_machines) == 4
    assert all(name.startswith("VDI-FINANCE-") for name in run.world.vdi_machines)
    for name in run.world.vdi_machines:
        history = [r for r in vdi if r["hostname"] == name]
        assert len(history) == 6 and [r["status"] for r in history] == ["expired"] * 5 + ["active"]
    by_day = defaultdict(set)
    for r in vdi:
        by_day[r["lease_start"]].add(r["ip_address"])
    assert all(len(ips) == 4 for ips in by_day.values())  # no two desktops share an address on a day
    assert not any(r["hostname"].startswith("VDI-") for r in rows if r["machine_kind"] == "workstation")


def test_the_anomaly_is_one_burst_of_new_peers_ports_and_bytes(world_run) -> None:  # type: ignore[no-untyped-def]
    storage, run = world_run
    anomaly = run.world.anomaly
    assert anomaly.batch_index == 4 * 4 + 1 and anomaly.machine not in run.world.churned
    usual_peers: set[str] = set()
    per_batch = []
    for index, batch in enumerate(run.batches):
        rows = [r for r in traffic_rows(storage, batch.files[0]) if r["src"] == anomaly.ip]
        if index != anomaly.batch_index:
            usual_peers |= {r["dst"] for r in rows}
        per_batch.append(
            (
                len(rows),
                len({r["dst"] for r in rows}),
                len({r["dport"] for r in rows}),
                sum(r["bytes_sent"] for r in rows),
            )
        )
    burst = per_batch[anomaly.batch_index]
    others = [p for i, p in enumerate(per_batch) if i != anomaly.batch_index]
    assert burst[0] >= 60 and all(burst[k] > 5 * max(p[k] for p in others) for k in range(4))
    assert not set(anomaly.peers) & usual_peers
    manifest = json.loads(run.manifest_path.read_text())
    assert manifest["anomaly"]["machine"] == anomaly.machine and manifest["anomaly"]["ip"] == anomaly.ip
    assert manifest["anomaly"]["batch_end_ts_iso"] == run.batches[anomaly.batch_index].batch_end_ts_iso


def test_retired_machines_are_in_the_inventory_only(world_run) -> None:  # type: ignore[no-untyped-def]
    storage, run = world_run
    retired = [r for r in inventory(run.inventory_path) if r["status"] == "retired"]
    assert len(retired) == 3 and all(r["decommissioned_at"] is not None for r in retired)
    assert any(r["ip_address"] is None for r in retired)
    names = {r["src_host"] for b in run.batches for r in traffic_rows(storage, b.files[0])}
    assert not names & {r["hostname"] for r in retired}
    assert datetime(2025, 1, 1, tzinfo=UTC) > max(r["decommissioned_at"] for r in retired)


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    options = WorldOptions(traffic=TrafficOptions(hosts=10, seed=3), days=2, batches_per_day=2, rows_per_batch=50)
    one, two = LocalStorage(tmp_path / "a"), LocalStorage(tmp_path / "b")
    first = generate_world("s3://i", options, storage=one, workers=1)
    second = generate_world("s3://i", options, storage=two, workers=2)
    assert [one.read_bytes(b.files[0]) for b in first.batches] == [two.read_bytes(b.files[0]) for b in second.batches]
    assert inventory(first.inventory_path) == inventory(second.inventory_path)
    other = build_world(WorldOptions(traffic=TrafficOptions(hosts=10, seed=4), days=2, batches_per_day=2))
    assert other.leases != first.world.leases


def test_cli_world_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["s3://ingest", "--storage-root", str(tmp_path), "--days", "2", "--batches-per-day", "2", "--workers", "1"]
    assert main([*argv, "--rows-per-batch", "10", "--hosts", "12", "--inventory-table", "hosts"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["batches"] == 4 and summary["rows"] == 4 * 10 + 400
    assert (
        Path(summary["inventory_table"]) == InventoryLocation(table="hosts").table_dir(tmp_path) / "part-00000.parquet"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["s3://ingest", "--storage-root", str(tmp_path), "--days", "2", "--batches-per-day", "5"])
    assert exit_.value.code == 2 and "batches_per_day must divide 96" in capsys.readouterr().err
