"""Fixtures shared by every test: the program simulated once per stack per session, and a moto server.

Helpers that are not fixtures live in modules of their own (`tests/stacks.py`, `tests/servers.py`,
`tests/harness.py`); test modules never import each other or this file.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from modelplane.config.loader import read_stack_file
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.graph import Simulation
from modelplane.offline.simulation import simulate_in_subprocess
from tests.servers import moto_server, reset_moto
from tests.stacks import REPOSITORY, SimulateStack, copy_project, stack_file
from tests.workers import made_once, shared_folder

# A worker allocates fast (the SDKs' objects, moto's and botocore's models, 2,600 collected tests), and at the
# collector's default thresholds it ran some 5,000 collections, the full ones traversing every module
# imported: a sixth of a worker's CPU. Collected less often, and with what collection built frozen (it
# lives until the worker exits), the same garbage is found for a tenth of the cost.
GC_THRESHOLDS = (50_000, 20, 100)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order pytest-xdist deals the modules to its workers in (`make unit` turns its own reordering off):
    the modules marked `long` first, then the others by their number of tests, most first. A long module
    dealt last would leave the other worker idle while it runs; dealt first, its waits on servers, daemons
    and containers overlap the other worker's and pyright's work."""
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    dealt = sorted(modules.values(), key=lambda tests: (tests[0].get_closest_marker("long") is None, -len(tests)))
    items[:] = [item for tests in dealt for item in tests]


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest collects twice after the session, for finalizers that raise; each collection would traverse
    all that the tests left (a second of a worker's CPU). One here finds the same garbage, and frozen after
    it, what is left is not traversed again."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def simulate_stack(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> SimulateStack:
    """`simulate_stack("prod")` or `simulate_stack(path)`: the recorded graph, simulated once per test run.

    Without `secret_values`, every declared secret gets a stand-in value, as in a deployed stack
    (`stand_in_secret_values`; the deployed states of `tests/fixtures/deployed/` hold the same).
    The pytest-xdist workers of a run share the simulations (by the stack file, its content, the stack's
    name and the secret values), each made by the first worker that needs it.
    """
    shared = shared_folder(tmp_path_factory, worker_id, "simulations")
    # Keyed first by the file's path and bytes, as asked: the tests ask for the same simulations hundreds of
    # times, and parsing a stack file for its stand-in secrets takes 10 ms.
    cache: dict[tuple[Any, ...], Simulation] = {}

    def run(
        stack: str | Path, *, stack_name: str | None = None, secret_values: Mapping[str, str] | None = None
    ) -> Simulation:
        path = stack if isinstance(stack, Path) else stack_file(stack)
        given = None if secret_values is None else dict(secret_values)
        asked = (str(path), path.read_bytes(), stack_name, json.dumps(given, sort_keys=True))
        if asked not in cache:
            if secret_values is None:
                secret_values = stand_in_secret_values(read_stack_file(path))
            key = hashlib.sha256(
                json.dumps([path.read_text(encoding="utf-8"), str(path), stack_name, dict(secret_values)]).encode()
            ).hexdigest()
            simulated = made_once(
                shared / key,
                lambda: json.dumps(
                    simulate_in_subprocess(path, stack_name, secret_values, project_root=REPOSITORY).to_json()
                ),
            )
            cache[asked] = Simulation.from_json(json.loads(simulated))
        return cache[asked]

    return run


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project with its stack files, made the working directory: commands find and edit it."""
    root = copy_project(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def running_moto_server() -> Iterator[str]:
    """One moto server per test process (each pytest-xdist worker has its own), stopped at the end."""
    with moto_server() as url:
        yield url


@pytest.fixture
def moto_server_url(running_moto_server: str) -> str:
    """The process's moto server, its state emptied for each test."""
    reset_moto(running_moto_server)
    return running_moto_server
