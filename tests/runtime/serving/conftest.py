from __future__ import annotations

import pytest

from devtools.fixture_model import IsolationForestModel, fit_fixture_model


@pytest.fixture(scope="session")
def fixture_model() -> IsolationForestModel:
    return fit_fixture_model()
