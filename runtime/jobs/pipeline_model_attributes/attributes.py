"""Build the model attributes document from the artifact's manifest and the scored training data.

Threshold: the `score_threshold_percentile` of the training scores when the spec names it and scored
data exists, else the manifest's `score_threshold`, else none (inference then writes a null label).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from runtime.errors import RuntimeJobError
from runtime.inference.invoke import percentile
from runtime.inference.tables import list_parquet, read_files
from runtime.jobs.pipeline_model_attributes.spec import AttributesSpec
from runtime.modelops.artifact import artifact_uri, read_manifest
from runtime.modelops.attributes import SCHEMA_VERSION, write_attributes
from runtime.storage import Storage, join

JOB_NAME = "pipeline_model_attributes"


def _scored(storage: Storage, spec: AttributesSpec, project_name: str) -> tuple[Any, str] | None:
    if not spec.scoring_s3_prefix:
        return None
    versioned = join(spec.scoring_s3_prefix, project_name, spec.model_version) + "/"
    for prefix in (versioned, spec.scoring_s3_prefix):
        files = list_parquet(storage, prefix)
        if files:
            table = read_files(storage, prefix, files)
            return table, prefix
    return None


def _feature_stats(table: Any, features: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    import pyarrow.compute as pc

    stats: dict[str, dict[str, Any]] = {}
    for name in features:
        if name not in table.column_names:
            continue
        column = table.column(name).cast("double")
        stats[name] = {
            "count": table.num_rows,
            "null_count": column.null_count,
            "mean": pc.mean(column).as_py(),
            "min": pc.min(column).as_py(),
            "max": pc.max(column).as_py(),
        }
    return stats


def build_attributes(
    spec: AttributesSpec,
    project_name: str,
    storage: Storage,
    sm: Any,
    reference_ts_iso: str | None,
) -> dict[str, Any]:
    if not spec.artifacts_s3_prefix:
        raise RuntimeJobError("pipeline_model_attributes needs spec.model.artifacts_s3_prefix (the model artifacts)")
    manifest = read_manifest(storage, artifact_uri(spec.artifacts_s3_prefix, project_name, spec.model_version))
    if manifest.model_version != spec.model_version:
        raise RuntimeJobError(
            f"{manifest.uri}: manifest model_version {manifest.model_version!r} is not {spec.model_version!r}"
        )
    scored = _scored(storage, spec, project_name)
    scores: list[float] = []
    if scored is not None:
        table, prefix = scored
        if spec.score_column not in table.column_names:
            raise RuntimeJobError(f"scored training data under {prefix} has no {spec.score_column!r} column")
        scores = [float(s) for s in table.column(spec.score_column).to_pylist() if s is not None]
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "project_name": project_name,
        "model_version": spec.model_version,
        "feature_names": list(manifest.feature_names),
        "metrics": dict(manifest.metrics),
    }
    if "thresholds" in spec.include:
        threshold, source = None, None
        if spec.score_threshold_percentile is not None and scores:
            threshold, source = percentile(scores, spec.score_threshold_percentile), "training_scores"
        elif "score_threshold" in manifest.thresholds:
            threshold, source = manifest.thresholds["score_threshold"], "manifest"
        document["thresholds"] = {
            "score_threshold": threshold,
            "percentile": spec.score_threshold_percentile if source == "training_scores" else None,
            "source": source,
            "manifest": dict(manifest.thresholds),
        }
        document["score_percentiles"] = (
            {f"{p:g}": percentile(scores, p) for p in spec.score_percentiles} if scores else {}
        )
        document["scored_rows"] = len(scores)
    if "training_window" in spec.include:
        document["data_window"] = dict(manifest.data_window)
    if "feature_stats" in spec.include:
        document["feature_stats"] = _feature_stats(scored[0], manifest.feature_names) if scored else {}
        distributions = manifest.raw.get("feature_distributions")
        document["feature_distributions"] = dict(distributions) if isinstance(distributions, dict) else {}
    if "lineage" in spec.include:
        document["lineage"] = {
            "artifact_uri": manifest.uri,
            "artifact_sha256": manifest.archive_sha256,
            "file_sha256": dict(sorted(manifest.file_hashes.items())),
            "scoring_input": scored[1] if scored else None,
            "reference_ts_iso": reference_ts_iso,
            "model_package_arn": _package_arn(sm, spec) if sm is not None else None,
        }
    versioned, latest = write_attributes(storage, spec.output_s3_prefix, document)
    return {
        "attributes_uri": versioned,
        "latest_uri": latest,
        "model_version": spec.model_version,
        "score_threshold": document.get("thresholds", {}).get("score_threshold"),
        "feature_count": len(manifest.feature_names),
    }


def _package_arn(sm: Any, spec: AttributesSpec) -> str | None:
    """The registered package of this version (pipeline_model_publish), when the spec names the group."""
    if not spec.model_package_group_name:
        return None
    from runtime.modelops.model_packages import find_version

    try:
        package = find_version(sm, spec.model_package_group_name, spec.model_version)
    except ClientError as err:
        raise RuntimeJobError(f"looking up {spec.model_package_group_name}: {err}") from None
    return None if package is None else str(package["ModelPackageArn"])
