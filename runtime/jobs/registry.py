"""The one list of runnable jobs. Adding a job: its folder `runtime/jobs/<job_name>/` and one line here."""

from __future__ import annotations

from runtime.jobs import (
    delta_builder,
    fg_a_builder,
    fg_b_builder,
    fg_c_builder,
    if_training,
    inference_predictions,
    machine_inventory_unload,
    pair_counts_builder,
    pipeline_backfill_historical_extractor,
    pipeline_entry,
    pipeline_missing_feature_creation,
    pipeline_model_attributes,
    pipeline_model_deploy,
    pipeline_model_publish,
    pipeline_prediction_feature_join,
    pipeline_training_data_verifier,
)
from runtime.jobs.job import Job

REGISTRY: dict[str, Job] = {
    job.name: job
    for job in (
        pipeline_entry.JOB,
        pipeline_backfill_historical_extractor.JOB,
        delta_builder.JOB,
        pair_counts_builder.JOB,
        fg_a_builder.JOB,
        fg_b_builder.JOB,
        fg_c_builder.JOB,
        machine_inventory_unload.JOB,
        inference_predictions.JOB,
        pipeline_prediction_feature_join.JOB,
        pipeline_training_data_verifier.JOB,
        pipeline_missing_feature_creation.JOB,
        if_training.JOB,
        pipeline_model_publish.JOB,
        pipeline_model_attributes.JOB,
        pipeline_model_deploy.JOB,
    )
}


def job_named(name: str) -> Job | None:
    return REGISTRY.get(name)
