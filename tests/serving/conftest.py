"""The model server in-process over a model directory (`tests.serving.harness.serving`)."""

from __future__ import annotations

import pytest

from tests.serving.harness import Serve, serving


@pytest.fixture
def serve() -> Serve:
    """`with serve(model_dir, **settings) as client:` once the model has loaded (or failed to)."""
    return serving
