"""The inference fixtures (feature bundles, fixture model, model server, throwaway credentials), shared."""

from tests.runtime.jobs.inference_predictions.conftest import (  # noqa: F401 - fixtures re-exported to pytest
    feature_model,
    model_server,
    throwaway_credentials,
)
