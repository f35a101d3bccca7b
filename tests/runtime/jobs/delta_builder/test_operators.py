"""Each delta operator on a small role-level frame, expected rows computed by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from runtime.errors import SpecError
from runtime.jobs.delta_builder.operators import OPERATORS, apply_operators
from runtime.jobs.delta_builder.spec import OperatorSpec
from runtime.operator_catalog import OPERATOR_CATALOG

pytestmark = pytest.mark.spark


def test_registry_matches_catalog() -> None:
    assert set(OPERATORS) == set(OPERATOR_CATALOG)


@pytest.fixture(scope="module")
def frame(spark: Any) -> Any:
    rows = [
        ("a", "10.0.0.1", "10.0.0.1", 8080, 10, 0, False, False, datetime(2025, 1, 15, 10, 7, 59)),
        ("b", "10.0.0.1", "52.1.2.3", 443, 100, 900, True, False, datetime(2025, 1, 15, 10, 8, 0)),
        ("c", "192.168.1.9", "172.16.5.5", 1433, 0, 0, False, True, datetime(2025, 1, 15, 10, 59, 59)),
        ("d", "10.0.0.2", "8.8.8.8", 53, 40, 60, True, True, datetime(2025, 1, 15, 23, 52, 0)),
        ("d", "10.0.0.2", "8.8.8.8", 53, 40, 60, True, True, datetime(2025, 1, 15, 23, 52, 0)),
        ("e", "10.0.0.3", "1.1.1.1", 50000, 5, 5, False, False, datetime(2025, 1, 16, 0, 1, 0)),
    ]
    schema = (
        "id string, host_ip string, peer_ip string, peer_port int, bytes_sent long, bytes_recv long, "
        "host_is_vdi boolean, peer_is_vdi boolean, event_start timestamp"
    )
    return spark.createDataFrame(rows, schema).cache()


def ids(result: Any) -> list[str]:
    return sorted(row["id"] for row in result.collect())


def run(frame: Any, type_: str, **params: Any) -> Any:
    return apply_operators(frame, [OperatorSpec(type_, params)])


def test_drop_self_traffic(frame: Any) -> None:
    assert ids(run(frame, "drop_self_traffic")) == ["b", "c", "d", "d", "e"]


def test_filter_ports(frame: Any) -> None:
    assert ids(run(frame, "filter_ports", include=[53, "1000-9000"])) == ["a", "c", "d", "d"]
    assert ids(run(frame, "filter_ports", include=["0-65535"], exclude=[443, "50000-50010"])) == ["a", "c", "d", "d"]


def test_window_bucket_default_and_offset(frame: Any) -> None:
    result = {r["id"]: (r["window_label"], r["window_end"]) for r in run(frame, "window_bucket").collect()}
    assert result["a"] == ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, 15))
    assert result["b"] == ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, 15))
    assert result["c"] == ("2025-01-15T10:45:00Z", datetime(2025, 1, 15, 11, 0))
    shifted = {r["id"]: r["window_label"] for r in run(frame, "window_bucket", minutes=15, offset_minutes=8).collect()}
    assert shifted == {
        "a": "2025-01-15T09:53:00Z",
        "b": "2025-01-15T10:08:00Z",
        "c": "2025-01-15T10:53:00Z",
        "d": "2025-01-15T23:38:00Z",
        "e": "2025-01-15T23:53:00Z",
    }
    hourly = {r["id"]: r["window_label"] for r in run(frame, "window_bucket", minutes=60).collect()}
    assert hourly["e"] == "2025-01-16T00:00:00Z" and hourly["c"] == "2025-01-15T10:00:00Z"


def test_vdi_filter(frame: Any) -> None:
    assert ids(run(frame, "vdi_filter", keep="non_vdi")) == ["a", "c", "e"]
    assert ids(run(frame, "vdi_filter", keep="vdi", side="peer")) == ["c", "d", "d"]
    assert ids(run(frame, "vdi_filter", keep="non_vdi", side="either")) == ["a", "e"]


def test_port_class(frame: Any) -> None:
    result = {
        r["id"]: r["peer_port_class"]
        for r in run(frame, "port_class", classes=[{"name": "dns", "ports": [53]}]).collect()
    }
    assert result == {"a": "registered", "b": "well_known", "c": "registered", "d": "dns", "e": "dynamic"}
    no_iana = {
        r["id"]: r["peer_port_class"]
        for r in run(
            frame,
            "port_class",
            classes=[{"name": "web", "ports": [443, "8000-8099"]}],
            iana_fallback=False,
            default_class="other",
        ).collect()
    }
    assert no_iana == {"a": "web", "b": "web", "c": "other", "d": "other", "e": "other"}


def test_ip_scope(frame: Any) -> None:
    result = {r["id"]: (r["host_is_internal"], r["peer_is_internal"]) for r in run(frame, "ip_scope").collect()}
    assert result == {"a": (True, True), "b": (True, False), "c": (True, True), "d": (True, False), "e": (True, False)}
    narrow = {r["id"]: r["peer_is_internal"] for r in run(frame, "ip_scope", internal_cidrs=["8.8.8.0/24"]).collect()}
    assert narrow["d"] is True and narrow["c"] is False


def test_min_bytes_and_dedupe(frame: Any) -> None:
    assert ids(run(frame, "min_bytes", min_total_bytes=10)) == ["a", "b", "d", "d", "e"]
    assert ids(run(frame, "dedupe")) == ["a", "b", "c", "d", "e"]
    assert ids(run(frame, "dedupe", keys=["host_ip"])) == ["a", "c", "d", "e"] or ids(
        run(frame, "dedupe", keys=["host_ip"])
    ) == ["b", "c", "d", "e"]


def test_operators_chain_in_order(frame: Any) -> None:
    chain = [
        OperatorSpec("drop_self_traffic"),
        OperatorSpec("filter_ports", {"exclude": [53]}),
        OperatorSpec("window_bucket", {"minutes": 30}),
    ]
    result = apply_operators(frame, chain)
    assert ids(result) == ["b", "c", "e"] and "window_label" in result.columns


def test_bad_params_and_unknown_columns_are_spec_errors(frame: Any) -> None:
    with pytest.raises(SpecError, match=r"operators\[0\].params.minutes"):
        run(frame, "window_bucket", minutes=7)
    with pytest.raises(SpecError, match=r"dedupe.keys \['nope'\] are not columns"):
        run(frame, "dedupe", keys=["nope"])
