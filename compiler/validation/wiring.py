"""Cross-job wiring within a project and version: every reader reads where its producer writes.

Reported as warnings: a team may deliberately read another project's data, but usually a mismatch is a
copy-paste slip that silently starves a pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import Diagnostic, Location, warning
from compiler.load.yamlload import JsonPath
from compiler.model import JobItem
from compiler.rule_catalog import WIRING, family_rule

Lookup = Callable[[str, JsonPath], Location]


@dataclass(frozen=True)
class Edge:
    producer: str
    producer_paths: tuple[JsonPath, ...]
    consumer: str
    consumer_paths: tuple[JsonPath, ...]

    @property
    def rule(self) -> str:
        return family_rule(WIRING, self.consumer)


DELTA_OUT = (("output", "s3_prefix"),)
FG_A_OUT = (("fg_a_output", "s3_prefix"), ("output_s3_prefix",))
FG_B_OUT = (("fg_b_output", "s3_prefix"),)
FG_C_OUT = (("fg_c_output", "s3_prefix"),)
PAIR_COUNTS_OUT = (("pair_counts_output", "s3_prefix"),)
FEATURE_INPUT_FG_A = (("feature_inputs", "fg_a", "s3_prefix"),)
FEATURE_INPUT_FG_C = (("feature_inputs", "fg_c", "s3_prefix"),)

EDGES = (
    Edge("delta_builder", DELTA_OUT, "fg_a_builder", (("delta_input", "s3_prefix"), ("delta_s3_prefix",))),
    Edge("fg_a_builder", FG_A_OUT, "fg_b_builder", (("fg_a_input", "s3_prefix"),)),
    Edge("fg_a_builder", FG_A_OUT, "fg_c_builder", (("fg_a_input", "s3_prefix"),)),
    Edge("fg_b_builder", FG_B_OUT, "fg_c_builder", (("fg_b_input", "s3_prefix"),)),
    Edge("fg_a_builder", FG_A_OUT, "inference_predictions", FEATURE_INPUT_FG_A),
    Edge("fg_c_builder", FG_C_OUT, "inference_predictions", FEATURE_INPUT_FG_C),
    Edge("fg_a_builder", FG_A_OUT, "if_training", FEATURE_INPUT_FG_A),
    Edge("fg_c_builder", FG_C_OUT, "if_training", FEATURE_INPUT_FG_C),
    Edge("pair_counts_builder", PAIR_COUNTS_OUT, "fg_b_builder", (("pair_counts", "s3_prefix"),)),
)


def consumer_paths(job_name: str) -> list[JsonPath]:
    """The payload paths a job reads its inputs from (their positions are kept for wiring warnings)."""
    return [path for edge in EDGES if edge.consumer == job_name for path in edge.consumer_paths]


def _first(spec: dict[str, Any], paths: tuple[JsonPath, ...]) -> tuple[JsonPath, str] | None:
    for path in paths:
        value: Any = spec
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return path, value
    return None


def _under(reader: str, writer: str) -> bool:
    """The reader's prefix is the writer's prefix or inside it (FG-C may read fg_b/host/ under fg_b/)."""
    return (reader.rstrip("/") + "/").startswith(writer.rstrip("/") + "/")


def check(items: list[JobItem], locate: Lookup, payload_key: Callable[[JobItem], str]) -> list[Diagnostic]:
    by_identity = {(i.project_name, i.feature_spec_version, i.job_name): i for i in items}
    problems = []
    for edge in EDGES:
        for (project, version, job), consumer in by_identity.items():
            if job != edge.consumer:
                continue
            producer = by_identity.get((project, version, edge.producer))
            if producer is None:
                continue
            written = _first(producer.spec, edge.producer_paths)
            read = _first(consumer.spec, edge.consumer_paths)
            if written is None or read is None or _under(read[1], written[1]):
                continue
            problems.append(
                warning(
                    locate(consumer.source, (payload_key(consumer), *read[0])),
                    edge.rule,
                    f"{edge.consumer} reads {read[1]!r} but {edge.producer} ({producer.source}) writes {written[1]!r}",
                )
            )
    return problems
