"""A stack's first deploy: the registry phase `plan` names, with the exact targeted `pulumi up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane.offline.first_deploy import REGISTRY, SERVING, first_deploy
from modelplane.offline.graph import Simulation
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import PolicyReport
from modelplane.report.plan_text import render_text
from tests.stacks import STACK_NAMES, SimulateStack, stack_config, write_stack


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_registry_phase_holds_the_registry_and_all_it_needs_and_no_endpoint(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    phases = first_deploy(simulation)
    assert phases is not None
    targets = set(phases.targets)
    by_urn = {resource.urn: resource for resource in simulation.resources}

    registry = simulation.one(REGISTRY)
    assert {registry.urn, *(r.urn for r in simulation.descendants(registry))} <= targets
    for urn in targets:
        resource = by_urn[urn]
        needed = {resource.parent, *resource.dependencies, resource.provider.rpartition("::")[0]}
        assert needed - {""} <= targets | {_stack_urn(simulation)}, f"{urn} needs what the phase lacks"
    serving = {r.urn for token in SERVING for c in simulation.of_type(token) for r in [c, *simulation.descendants(c)]}
    assert not targets & serving
    assert list(phases.targets) == [r.urn for r in simulation.resources if r.urn in targets], "registration order"


def test_the_command_targets_each_urn_explicitly_with_the_policy_pack(simulate_stack: SimulateStack) -> None:
    phases = first_deploy(simulate_stack("prod"))
    assert phases is not None

    command = phases.up_command()

    assert command.startswith(
        "pulumi up --stack prod --policy-pack policies --policy-pack-config policies/config/prod.json \\\n"
    )
    targets = [
        line.strip().removesuffix(" \\").removeprefix("--target '").removesuffix("'")
        for line in command.splitlines()[1:]
    ]
    assert targets == list(phases.targets)
    assert "*" not in command, "--target patterns match only resources already in the state"


def test_a_stack_without_endpoints_has_no_first_deploy_order(simulate_stack: SimulateStack, tmp_path: Path) -> None:
    config = stack_config("dev")
    config["modelplane:endpoints"] = []

    assert first_deploy(simulate_stack(write_stack(tmp_path, config, "dev"))) is None


def test_the_text_report_hints_at_the_order_unless_it_is_due(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("staging")
    phases = first_deploy(simulation)
    assert phases is not None
    plan = Plan(simulation, _no_policy(), first_deploy=phases)

    hinted = render_text(plan)
    due = render_text(Plan(simulation, _no_policy(), first_deploy=phases, first_deploy_due=True))

    assert "`modelplane plan --stack staging --first-deploy` gives the order" in " ".join(hinted.split())
    assert "--target" not in hinted
    assert "First deploy: the registry first" in due and due.count("--target '") == len(phases.targets)


def _stack_urn(simulation: Simulation) -> str:
    return f"urn:pulumi:{simulation.stack}::{simulation.project}::pulumi:pulumi:Stack::{simulation.project}-{simulation.stack}"


def _no_policy() -> PolicyReport:
    return PolicyReport(pack="modelplane-guard", version="0", config_file=None, config={}, policies=(), violations=())
