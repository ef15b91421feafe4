"""Simulations run as forks of a fork server that has imported the SDKs: the same graph, and nothing left to import."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from modelplane.config.loader import read_stack_file
from modelplane.offline import simulation
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.graph import Simulation
from modelplane.offline.simulation import simulate_in_subprocess, start_module
from tests.stacks import REPOSITORY, STACK_NAMES, SimulateStack, stack_file

pytestmark = pytest.mark.long

# The packages whose import is most of a simulation's cost, and which the fork server imports for it.
PRELOADED = {"pulumi", "pulumi_aws", "pulumi_kubernetes", "modelplane_components", "parver"}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_a_fork_of_the_server_imports_no_sdk_module_to_simulate_a_shipped_stack(stack: str) -> None:
    printed: list[str] = []
    running = start_module(
        "tests.offline.imports_probe", [str(stack_file(stack))], REPOSITORY, os.environ, on_line=printed.append
    )

    assert running.wait() == 0, running.errors
    probe = json.loads(printed[-1])
    imported = probe["imported"]
    assert "pulumi_aws" not in imported, "the probe ran in a fresh interpreter, not in a fork of the server"
    assert [name for name in imported if name.split(".")[0] in PRELOADED] == [], (
        "add these to SDK_MODULES in modelplane/offline/preload.py"
    )
    # What the preload built stays out of the fork's collections (which would copy the pages they touch).
    assert probe["frozen"] > 100_000, "the fork server froze what its preload built"


def test_a_project_holding_another_copy_of_the_code_forks_only_when_the_caller_vouches_for_the_copy(
    tmp_path: Path,
) -> None:
    """A project holding its own modelplane (a git ref's worktree, for `plan --against`) imports it afresh,
    unless it is file for file the code the fork server imported, or `code_from` names the checkout whose code
    the copy is."""
    copy = tmp_path / "project"
    shutil.copytree(REPOSITORY / "modelplane", copy / "modelplane", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY / "tests" / "offline")}

    def forked(code_from: Path | None) -> bool:
        printed: list[str] = []
        running = start_module("fork_probe", [], copy, env, on_line=printed.append, code_from=code_from)
        assert running.wait() == 0, running.errors
        probe = json.loads(printed[-1])
        imported = Path(probe["modelplane"]).parent
        assert imported == (REPOSITORY if probe["forked"] else copy) / "modelplane", "a fresh one imports the copy"
        return probe["forked"]

    assert forked(None), "the same files: the copy's simulation is a fork of the server"
    errors = copy / "modelplane" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert not forked(None), "an edited copy is imported in a fresh interpreter"
    assert forked(REPOSITORY), "vouched for, the copy's simulation is a fork of the server"


def test_a_forked_simulation_records_what_a_fresh_interpreter_records(
    simulate_stack: SimulateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = simulate_stack("prod")
    spawned: list[Sequence[Path]] = []

    def in_a_fresh_interpreter(paths: Sequence[Path]) -> bool:
        spawned.append(paths)
        return False

    monkeypatch.setattr(simulation, "_imports_this_environment", in_a_fresh_interpreter)
    path = stack_file("prod")
    fresh = simulate_in_subprocess(path, None, stand_in_secret_values(read_stack_file(path)), project_root=REPOSITORY)

    assert spawned, "the simulation ran in a fresh interpreter"
    # The SDK registers resources from threads and gathers dependencies in sets, so the order of both varies
    # from run to run in either kind of process.
    assert in_order(fresh) == in_order(forked)


def in_order(simulated: Simulation) -> Simulation:
    resources = [
        replace(
            resource,
            dependencies=sorted(resource.dependencies),
            property_dependencies={name: sorted(urns) for name, urns in resource.property_dependencies.items()},
        )
        for resource in simulated.resources
    ]
    return replace(
        simulated,
        resources=sorted(resources, key=lambda resource: resource.urn),
        invokes=sorted(simulated.invokes, key=repr),
    )
