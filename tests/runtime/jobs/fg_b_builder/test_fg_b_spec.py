"""The fg_b_builder / fg_c_builder specs: defaults, exact numbers, located errors; the machine-mapping prefix."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from runtime.config import load_job_spec
from runtime.errors import RuntimeJobError, SpecError
from runtime.jobs.fg_b_builder import machine_mapping_prefix
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.fg_c_builder.spec import DEFAULT_TRANSFORMS, FgCJobSpec
from runtime.jobs.job import JobContext
from runtime.storage import LocalStorage

BASE_B: dict[str, Any] = {"fg_a_input": {"s3_prefix": "s3://f/fg_a/"}, "fg_b_output": {"s3_prefix": "s3://f/fg_b/"}}
BASE_C: dict[str, Any] = {
    "fg_a_input": {"s3_prefix": "s3://f/fg_a/"},
    "fg_b_input": {"s3_prefix": "s3://f/fg_b/host/"},
    "fg_c_output": {"s3_prefix": "s3://f/fg_c/"},
}


def fg_b(**extra: Any) -> FgBJobSpec:
    return FgBJobSpec.from_payload({**BASE_B, **extra}, "item", project_name="p", job_name="fg_b_builder", version="v1")


def fg_c(**extra: Any) -> FgCJobSpec:
    return FgCJobSpec.from_payload({**BASE_C, **extra}, "item", project_name="p", job_name="fg_c_builder", version="v1")


def test_fg_b_defaults_and_horizon_windows() -> None:
    spec = fg_b(safety_gaps={"7d": "1d"})
    assert spec.horizons == ("7d", "30d") and spec.support_min == 1 and spec.capping.method == "none"
    assert spec.output.partition_keys == ("feature_spec_version", "baseline_horizon", "dt")
    from runtime.jobs.fg_b_builder.builder import plan_run

    run = plan_run(spec, datetime(2025, 1, 31, 0, 30, tzinfo=UTC), "v1")
    seven, thirty = run.windows
    assert (seven.end, seven.end - seven.start) == (datetime(2025, 1, 30, 0, 30), timedelta(days=7))
    assert (thirty.start, thirty.end) == (datetime(2025, 1, 1, 0, 30), datetime(2025, 1, 31, 0, 30))
    assert run.days() == ("2025-01-01", "2025-01-31") and run.mini_batch_id == "baseline-2025-01-31"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"safety_gaps": {"1d": "1h"}}, r"spec.safety_gaps.1d names no horizon"),
        ({"fg_b_output": {"s3_prefix": "s3://f/b/", "partition_keys": ["feature_spec_version"]}}, "must include dt"),
        ({"support_min": 0}, r"spec.support_min must be an integer of at least 1"),
        ({"anomaly_capping": {"method": "quantile", "quantile": 0.4}}, r"quantile must be in \(0.5, 1\]"),
        ({"anomaly_capping": {"method": "winsor"}}, "must be one of quantile, zscore, mad, none"),
        ({"join_keys": ["window_label"]}, "must include host_ip"),
        ({"horizons": ["7x"]}, "is not a horizon"),
    ],
)
def test_fg_b_errors_are_located(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        fg_b(**extra)


def test_fg_b_capping_numbers_stay_exact() -> None:
    spec = fg_b(anomaly_capping={"method": "quantile", "quantile": Decimal("0.995")}, support_min=Decimal("96"))
    assert spec.capping.quantile == Decimal("0.995") and spec.support_min == 96
    assert fg_b(anomaly_capping={"method": "mad", "z_max": 4.5}).capping.z_max == Decimal("4.5")


def test_fg_b_machine_mapping_prefix_spellings() -> None:
    explicit = fg_b(ip_machine_mapping={"s3_prefix_key": "s3://f/inventory/"}).machine_mapping
    assert explicit is not None and explicit.s3_prefix == "s3://f/inventory/"
    named = fg_b(ip_machine_mapping={"s3_prefix_key": "inventory_prefix", "ip_column": "ip"}).machine_mapping
    assert named is not None and (named.s3_prefix, named.project_key, named.ip_column) == (
        None,
        "inventory_prefix",
        "ip",
    )
    assert fg_b(
        non_persistent_machine_prefixes=["VDI-"], enrichment={"vdi_hostname_prefixes": ["CTX-", "VDI-"]}
    ).non_persistent_prefixes == ("VDI-", "CTX-")


@pytest.mark.emulator
def test_fg_b_resolves_the_prefix_from_project_parameters(params_table: str, ddb_put: Any, tmp_path: Any) -> None:
    ddb_put(
        params_table,
        {
            "project_name": "p",
            "job_name": "project_parameters#v1",
            "spec": {"ip_machine_mapping_s3_prefix": "s3://f/inventory/"},
        },
    )
    ddb_put(
        params_table,
        {
            "project_name": "p",
            "job_name": "fg_b_builder#v1",
            "spec": {**BASE_B, "ip_machine_mapping": {}, "eps_unused": Decimal("0.1")},
        },
    )
    spec = load_job_spec("p", "fg_b_builder", "v1", table_name=params_table)
    assert isinstance(spec, FgBJobSpec)
    context = JobContext(LocalStorage(tmp_path), None, params_table)
    args = argparse.Namespace(project_name="p", feature_spec_version="v1")
    assert machine_mapping_prefix(args, context, spec) == "s3://f/inventory/"
    other = fg_b(ip_machine_mapping={"s3_prefix_key": "missing_key"})
    with pytest.raises(RuntimeJobError, match=r"needs project_parameters\.missing_key"):
        machine_mapping_prefix(args, context, other)


def test_fg_c_defaults_and_exact_numbers() -> None:
    spec = fg_c()
    assert (spec.eps, spec.z_max, spec.transforms, spec.join_keys) == (
        Decimal("1e-6"),
        Decimal("6"),
        DEFAULT_TRANSFORMS,
        ("host_ip", "window_label"),
    )
    from_ddb = fg_c(eps=Decimal("0.000001"), z_max=Decimal("5.0"))
    from_yaml = fg_c(eps=1e-6, z_max=5.0)
    assert from_ddb.eps == from_yaml.eps and float(from_ddb.eps) == 1e-6 and float(from_yaml.z_max) == 5.0
    custom = fg_c(transforms=["log1p", {"name": "robust_z", "params": {"center": "mean", "scale": "std"}}])
    assert [t.name for t in custom.transforms] == ["log1p", "robust_z"]
    assert custom.transforms[1].params == {"center": "mean", "scale": "std"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"eps": 0}, r"spec.eps must be greater than 0"),
        ({"transforms": ["zz"]}, "unknown transform 'zz'"),
        ({"transforms": [{"name": "robust_z", "params": {"center": "mode"}}]}, "center must be one of"),
        ({"transforms": ["log1p", "log1p"]}, "repeats the transform"),
        ({"metrics": ["a_w_15m"], "suspicion_metrics": ["b_w_15m"]}, r"must be among spec.metrics"),
        ({"rare_pair_metrics": ["new_peer_cnt_w_15m"]}, "unknown metric 'new_peer_cnt_w_15m'"),
        ({"rare_pair_metrics": ["new_peer_cnt"]}, "'new_peer_cnt' needs pair_counts.s3_prefix"),
    ],
)
def test_fg_c_errors_are_located(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        fg_c(**extra)
