"""The policy pack forked from the simulations' fork server behaves as the pack the CLI starts in a fresh
interpreter (`python -u -m pulumi.policy <engine> .`): the same answers, SIGINT stops it, its error on failure."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import pytest

from modelplane.offline import policy_client, simulation
from modelplane.offline.graph import Simulation
from modelplane.offline.policy_client import PolicyPackError, PolicyReport, StackIdentity, analyze, start_pack
from tests.stacks import FIXTURES_DIR, SimulateStack

# A pack whose program fails at start-up, after printing to its standard error.
FAILING_PACK = """
import sys

print("loading the rules", file=sys.stderr)
raise RuntimeError("rule module missing")
"""


def launched(monkeypatch: pytest.MonkeyPatch, *, fork: bool) -> list[simulation.Child]:
    """The packs started from now on, forked from the fork server or (`fork=False`) in fresh interpreters."""
    processes: list[simulation.Child] = []
    launch = policy_client._launch

    def recorded(
        python: str, pack_dir: Path, env: Mapping[str, str], stderr: IO[bytes]
    ) -> tuple[simulation.Child, IO[bytes]]:
        process, stdout = launch(python, pack_dir, env, stderr)
        processes.append(process)
        return process, stdout

    monkeypatch.setattr(policy_client, "_forks", lambda python: fork)
    monkeypatch.setattr(policy_client, "_launch", recorded)
    return processes


def judged(simulated: Simulation, monkeypatch: pytest.MonkeyPatch, *, fork: bool) -> PolicyReport:
    processes = launched(monkeypatch, fork=fork)
    report = analyze(simulated)
    (process,) = processes
    assert isinstance(process, simulation.ForkedChild if fork else subprocess.Popen)
    assert process.poll() == 0, "SIGINT stopped the pack's server loop (a kill exits -9)"
    return report


def test_a_forked_pack_judges_as_a_pack_in_a_fresh_interpreter(
    simulate_stack: SimulateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An undersized prod stack has mandatory violations: the pack's answers hold more than its policies.
    undersized = simulate_stack(FIXTURES_DIR / "plan-undersized-prod.yaml")

    forked = judged(undersized, monkeypatch, fork=True)
    fresh = judged(undersized, monkeypatch, fork=False)

    assert forked.mandatory, "precondition: the stack has mandatory violations"
    assert forked == fresh


def test_a_forked_pack_that_fails_reports_its_exit_code_and_errors_as_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "__main__.py").write_text(FAILING_PACK, encoding="utf-8")
    identity = StackIdentity("modelplane", "dev", {})
    errors = {}
    for fork in (True, False):
        launched(monkeypatch, fork=fork)
        with pytest.raises(PolicyPackError) as failed, start_pack(identity, pack):
            pass
        errors[fork] = str(failed.value)

    assert errors[True].startswith("policy pack failed to start (exit code 1):\nloading the rules\n")
    assert "RuntimeError: rule module missing" in errors[True]
    assert errors[True] == errors[False]
