"""The model server in-process (Starlette's TestClient, lifespan included) over a model directory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from modelplane_serving.app import create_app
from modelplane_serving.config import Settings

LOAD_SECONDS = 10

Serve = Callable[..., Any]


@contextmanager
def _serving(model_dir: Path, **settings: Any) -> Iterator[TestClient]:
    app = create_app(Settings(model_dir=model_dir, **settings), registry=CollectorRegistry())
    with TestClient(app) as client:
        deadline = time.monotonic() + LOAD_SECONDS
        while "still loading" in client.get("/ping").text and time.monotonic() < deadline:
            time.sleep(0.02)
        yield client


@pytest.fixture
def serve() -> Serve:
    """`with serve(model_dir, **settings) as client:` once the model has loaded (or failed to)."""
    return _serving
