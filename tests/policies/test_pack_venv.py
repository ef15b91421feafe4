"""The policy pack as the Pulumi CLI installs it: in its own virtualenv, from `policies/requirements.txt`.

The CLI does not run a Python pack in the project's environment: it creates the pack's virtualenv
(`python -m venv`) and installs the pack's requirements there with pip. The pins must equal uv.lock's,
so that virtualenv judges exactly as the tests' environment does; the last test builds it so from PyPI
(kept between runs until requirements.txt changes: `tests/venvs.py`) and compares verdicts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelplane.offline.graph import Simulation
from modelplane.offline.policy_client import PolicyReport, RunningPack, StackIdentity, judge, start_pack
from tests.stacks import FIXTURES_DIR, SimulateStack
from tests.venvs import cached_venv
from tools.generate.pack_requirements import LOCK_FILE, REQUIREMENTS, closure, render

PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^\s;#]+)$")


def pins() -> dict[str, str]:
    lines = [
        line for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
    ]
    found = {}
    for line in lines:
        match = PIN.match(line)
        assert match, f"{REQUIREMENTS.name}: {line!r} is not an exact pin"
        found[match["name"]] = match["version"]
    return found


def test_requirements_are_generated_from_the_lock_file() -> None:
    assert REQUIREMENTS.read_text(encoding="utf-8") == render(), "stale: run `make generate`"


def test_every_pin_is_exact_equals_uv_lock_and_nothing_the_pack_needs_is_missing() -> None:
    lock = tomllib.loads(LOCK_FILE.read_text(encoding="utf-8"))
    locked = {package["name"]: package for package in lock["package"]}
    pinned = pins()

    assert {"pulumi", "pulumi-policy"} <= set(pinned)
    for name, version in pinned.items():
        assert locked[name]["version"] == version, name
        missing = {dependency["name"] for dependency in locked[name].get("dependencies", [])} - set(pinned)
        assert not missing, f"{name} needs {missing}, which requirements.txt does not pin"
    assert pinned == closure()


def make_pack_venv(venv: Path) -> None:
    """The pack's virtualenv, made as the CLI makes it: `python -m venv`, then pip from requirements.txt."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    completed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def pack_python() -> Iterator[str]:
    """The pack's virtualenv, rebuilt whenever requirements.txt (or the recipe, or the interpreter) changes."""
    recipe = "python -m venv; pip install -r requirements.txt"
    with cached_venv("pack", [recipe, REQUIREMENTS.read_bytes()], make_pack_venv) as venv:
        yield str(venv / "bin" / "python")


@pytest.fixture(scope="module")
def own_pack(pack_python: str) -> Iterator[RunningPack]:
    """The pack served from its own virtualenv, started as the CLI starts it; each test drives it through
    the CLI's whole sequence for its stack."""
    with start_pack(StackIdentity(project="modelplane", stack="prod", config={}), python=pack_python) as pack:
        yield pack


def judged(pack: RunningPack, simulation: Simulation) -> PolicyReport:
    return judge(pack, StackIdentity.of(simulation), simulation)


def verdicts(report: PolicyReport) -> list[tuple[str, str, str, str]]:
    return sorted((v.policy, v.level, v.urn, v.message) for v in report.violations)


@pytest.mark.parametrize("stack", ["prod", FIXTURES_DIR / "Pulumi.insecure-prod.yaml"], ids=["prod", "insecure-prod"])
def test_the_pack_judges_identically_from_its_own_virtualenv(
    simulate_stack: SimulateStack, pack_python: str, own_pack: RunningPack, started_pack: RunningPack, stack: str | Path
) -> None:
    simulation = simulate_stack(stack)
    probe = "import importlib.util, sys; print(sys.prefix, importlib.util.find_spec('modelplane') is None)"
    isolated = subprocess.run([pack_python, "-c", probe], capture_output=True, text=True, cwd="/", check=True)
    assert isolated.stdout.split() == [str(Path(pack_python).parent.parent), "True"], "the pack's own environment"

    own = judged(own_pack, simulation)
    project = judged(started_pack, simulation)

    assert verdicts(own) == verdicts(project)
    assert [(p.name, p.enforcement_level) for p in own.policies] == [
        (p.name, p.enforcement_level) for p in project.policies
    ]
    assert (own.pack, own.version) == (project.pack, project.version)
