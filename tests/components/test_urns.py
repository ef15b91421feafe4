"""Stacks deployed before the components moved to `modelplane:index:*` update in place.

`tests/fixtures/deployed/<stack>.json` is the state dev, staging and prod had before that change, when
components used `modelplane:<module>:<Class>` tokens and `ModelSecrets` wrote the secret policies
(commit b588f3e, main with issues 16-18 and their anomaly and drift alarms; captured with
`python -m modelplane.offline.aliases state` from that commit's simulation).
The program must take every deployed resource over, through its URN or an alias, as `pulumi up`
decides it (`modelplane.offline.aliases` replays the engine's matching), and keep its inputs; `plan --against`
compares the same way (`modelplane.offline.changes`, checked here on the recorded state). When a change
deliberately creates or deletes resources of a shipped stack, capture the fixture again from the
deployed commit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from modelplane_components.kubernetes_pods import SERVER_HEALTH_PATH_ENV, SERVER_PORT_ENV

from modelplane.offline.aliases import Match, match, state_of
from modelplane.offline.changes import diff
from modelplane.offline.graph import Simulation
from modelplane.offline.urns import Urn
from tests.graphs import recorded
from tests.stacks import FIXTURES_DIR, SimulateStack, settings_of

STACKS = ["dev", "staging", "prod"]
# New component resources: entries in the state only, nothing in the cloud.
NEW_COMPONENT = "modelplane:index:SecretReadPolicy"
# New since that state (issue 27): the Glue tables, Athena workgroup and runner policy over the capture.
CAPTURE_QUERIES = "modelplane:index:CaptureQueries"


def new_resources(simulation: Simulation, stack: str) -> list[tuple[str, str]]:
    """(type, name) of what the program creates beside the deployed state: each secret's read policy, and
    the capture queries with their children."""
    policies = [(NEW_COMPONENT, f"secrets-{name}") for name in settings_of(stack).secrets]
    capture = [(r.type, r.name) for r in simulation.resources if CAPTURE_QUERIES in Urn.parse(r.urn).qualified_type]
    return sorted(policies + capture)


# The one deliberate input change since: pods tell the serving image a health path or port other than
# /ping and 8080 (issue 24); the shipped stacks' Kubernetes services declare /healthz.
SERVING_ENVIRONMENT = {SERVER_PORT_ENV, SERVER_HEALTH_PATH_ENV}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def without_serving_environment(inputs: dict[str, Any]) -> dict[str, Any]:
    """A Deployment's inputs without the serving image's variables; any other resource's as they are."""
    containers = inputs.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
    if not containers:
        return inputs
    copy = json.loads(json.dumps(inputs))
    for container in copy["spec"]["template"]["spec"]["containers"]:
        kept = [variable for variable in container.get("env", []) if variable["name"] not in SERVING_ENVIRONMENT]
        if kept:
            container["env"] = kept
        else:
            container.pop("env", None)
    return copy


def deployed(stack: str) -> dict[str, dict[str, Any]]:
    return json.loads((FIXTURES_DIR / "deployed" / f"{stack}.json").read_text(encoding="utf-8"))


def matched(simulation: Simulation, stack: str) -> Match:
    return match(deployed(stack), simulation.resources)


@pytest.mark.parametrize("stack", STACKS)
def test_the_engine_takes_every_deployed_resource_over(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    result = matched(simulation, stack)
    assert result.errors == []
    assert result.deleted == [], "these would be deleted (and recreated under a new URN)"
    assert sorted((Urn.parse(urn).type, Urn.parse(urn).name) for urn in result.created) == new_resources(
        simulation, stack
    )


@pytest.mark.parametrize("stack", STACKS)
def test_taken_over_resources_keep_their_inputs(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    state, before = state_of(simulation), deployed(stack)
    changed = [
        old
        for new, old in matched(simulation, stack).claimed.items()
        if without_serving_environment(state[new]["inputs"]) != before[old]["inputs"]
    ]
    assert changed == []


@pytest.mark.parametrize("stack", STACKS)
def test_protection_is_only_ever_added(simulate_stack: SimulateStack, stack: str) -> None:
    """In prod every child of a protected component now inherits `protect`; nothing loses protection or retention."""
    simulation = simulate_stack(stack)
    state, before = state_of(simulation), deployed(stack)
    for new, old in matched(simulation, stack).claimed.items():
        for option in ("protect", "retain_on_delete"):
            assert state[new][option] >= before[old][option], (old, option)
        if stack != "prod":
            assert state[new]["protect"] == before[old]["protect"], old


def deployed_graph(stack: str) -> Simulation:
    """The deployed state as the base revision's recorded graph, as `plan --against` compares one."""
    resources = [
        recorded(
            entry["type"],
            Urn.parse(urn).name,
            entry["inputs"],
            urn=urn,
            custom=not entry["type"].startswith("modelplane:"),
            outputs={},
            protect=entry["protect"],
            retain_on_delete=entry["retain_on_delete"],
        )
        for urn, entry in deployed(stack).items()
    ]
    return Simulation("modelplane", stack, stack, "", resources)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_against_the_deployed_state_renames_everything_and_creates_only_the_new_resources(
    simulate_stack: SimulateStack, stack: str
) -> None:
    """What `plan --against b588f3e --stand-in-secrets` reports, from the recorded state instead of the commit."""
    head = simulate_stack(stack)
    found = diff(deployed_graph(stack), head, ref="deployed", commit="0" * 40, lock_differs=False)

    assert (found.of("delete"), found.of("replace"), found.conflicts) == ((), (), ())
    updated = {Urn.parse(change.urn).type for change in found.of("update")}
    assert updated <= {DEPLOYMENT}, "only the Deployments that gain the serving image's health path"
    assert sorted(
        (Urn.parse(change.urn).type, Urn.parse(change.urn).name) for change in found.of("create")
    ) == new_resources(head, stack)
    moved = {urn for urn in deployed(stack) if urn not in {resource.urn for resource in head.resources}}
    moved_and_updated = {change.old_urn for change in found.of("update") if change.old_urn}
    assert {change.old_urn for change in found.of("rename")} | moved_and_updated == moved
