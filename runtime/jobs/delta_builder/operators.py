"""The delta builder's operators on Spark: one function per name of `runtime.operator_catalog`.

Each operator takes the role-expanded frame and its (already validated) params and returns a frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from runtime.errors import SpecError
from runtime.jobs.delta_builder.spec import OperatorSpec
from runtime.operator_catalog import DEFAULT_INTERNAL_CIDRS, OPERATOR_CATALOG, validate_operator
from runtime.ports import PortList, parse_ports
from runtime.sparkexpr import first_match, in_cidrs, port_in

Operator = Callable[[DataFrame, Mapping[str, Any]], DataFrame]
IANA_CLASSES: dict[str, PortList] = {
    "well_known": PortList((), ((0, 1023),)),
    "registered": PortList((), ((1024, 49151),)),
    "dynamic": PortList((), ((49152, 65535),)),
}


def drop_self_traffic(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    return frame.filter(~F.coalesce(F.col("host_ip") == F.col("peer_ip"), F.lit(False)))


def filter_ports(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    port = F.col("peer_port")
    if "include" in params:
        frame = frame.filter(port_in(port, parse_ports(params["include"], "filter_ports.include")))
    if "exclude" in params:
        frame = frame.filter(~port_in(port, parse_ports(params["exclude"], "filter_ports.exclude")))
    return frame


def window_bucket(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    seconds = int(params.get("minutes", 15)) * 60
    offset = int(params.get("offset_minutes", 0)) * 60
    epoch = F.unix_timestamp(F.col(str(params.get("time_column", "event_start"))))
    start = F.floor((epoch - offset) / seconds) * seconds + offset
    return (
        frame.withColumn("window_start", F.timestamp_seconds(start))
        .withColumn("window_end", F.timestamp_seconds(start + seconds))
        .withColumn("window_label", F.date_format(F.col("window_start"), "yyyy-MM-dd'T'HH:mm:ss'Z'"))
    )


def vdi_filter(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    side = params.get("side", "host")
    host, peer = F.col("host_is_vdi"), F.col("peer_is_vdi")
    is_vdi = {"host": host, "peer": peer, "either": host | peer}[side]
    return frame.filter(is_vdi if params["keep"] == "vdi" else ~is_vdi)


def port_class(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    named = {
        entry["name"]: parse_ports(entry["ports"], f"port_class.classes[{entry['name']}]")
        for entry in params.get("classes", [])
    }
    if params.get("iana_fallback", True):
        named.update({name: ports for name, ports in IANA_CLASSES.items() if name not in named})
    default = params.get("default_class", "unknown")
    return frame.withColumn("peer_port_class", first_match(F.col("peer_port"), named, default))


def ip_scope(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    cidrs = tuple(params.get("internal_cidrs", DEFAULT_INTERNAL_CIDRS))
    return frame.withColumn("host_is_internal", in_cidrs(F.col("host_ip"), cidrs)).withColumn(
        "peer_is_internal", in_cidrs(F.col("peer_ip"), cidrs)
    )


def min_bytes(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    total = F.coalesce(F.col("bytes_sent"), F.lit(0)) + F.coalesce(F.col("bytes_recv"), F.lit(0))
    return frame.filter(total >= int(params["min_total_bytes"]))


def dedupe(frame: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    keys: Sequence[str] | None = params.get("keys")
    if keys:
        unknown = [key for key in keys if key not in frame.columns]
        if unknown:
            raise SpecError(f"dedupe.keys {unknown} are not columns (available: {', '.join(frame.columns)})")
        return frame.dropDuplicates(list(keys))
    return frame.dropDuplicates()


OPERATORS: dict[str, Operator] = {
    "drop_self_traffic": drop_self_traffic,
    "filter_ports": filter_ports,
    "window_bucket": window_bucket,
    "vdi_filter": vdi_filter,
    "port_class": port_class,
    "ip_scope": ip_scope,
    "min_bytes": min_bytes,
    "dedupe": dedupe,
}
if set(OPERATORS) != set(OPERATOR_CATALOG):  # pragma: no cover - guarded by a test as well
    raise RuntimeError("runtime.jobs.delta_builder.operators and runtime.operator_catalog list different operators")


def apply_operators(frame: DataFrame, operators: Sequence[OperatorSpec]) -> DataFrame:
    for index, operator in enumerate(operators):
        problems = validate_operator({"type": operator.type, "params": dict(operator.params)}, f"operators[{index}]")
        if problems:
            raise SpecError("; ".join(problems))
        frame = OPERATORS[operator.type](frame, operator.params)
    return frame
