"""Job names that may have an item in the parameters table (the seed's "Job Names (Current Pipelines)").

This is a fact of the table, not of this runtime version: `pipeline_entry --jobs` accepts every one of
them, whether or not a runnable job of that name is registered yet.
"""

SPEC_JOBS: frozenset[str] = frozenset(
    {
        "delta_builder",
        "fg_a_builder",
        "pair_counts_builder",
        "fg_b_builder",
        "fg_c_builder",
        "machine_inventory_unload",
        "inference_predictions",
        "if_training",
        "project_parameters",
        "pipeline_backfill_historical_extractor",
        "pipeline_prediction_feature_join",
        "pipeline_training_data_verifier",
        "pipeline_missing_feature_creation",
        "pipeline_model_publish",
        "pipeline_model_attributes",
        "pipeline_model_deploy",
    }
)
