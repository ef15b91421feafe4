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
from modelplane_components.kubernetes_pods import (
    FETCH_SCRATCH_VOLUME,
    MODEL_PACKAGE_VERSION_LABEL,
    MODEL_VOLUME,
    SERVER_HEALTH_PATH_ENV,
    SERVER_PORT_ENV,
)

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


ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
# New since that state (issue 25): the recommender's pods fetch their pinned version (staging, prod) and
# capture data (every stack) as their IAM role; dev and staging had no role, prod had one for its secret.
WORKLOAD_RESOURCES = {
    "dev": [(ROLE, "recommender-workload"), (ROLE_POLICY, "recommender-workload-capture")],
    "staging": [
        (ROLE, "recommender-workload"),
        (ROLE_POLICY, "recommender-workload-capture"),
        (ROLE_POLICY, "recommender-workload-models"),
    ],
    "prod": [(ROLE_POLICY, "recommender-workload-capture"), (ROLE_POLICY, "recommender-workload-models")],
}


def new_resources(simulation: Simulation, stack: str) -> list[tuple[str, str]]:
    """(type, name) of what the program creates beside the deployed state: each secret's read policy, the
    capture queries with their children, and the pods' IAM role and policies for versions and capture."""
    policies = [(NEW_COMPONENT, f"secrets-{name}") for name in settings_of(stack).secrets]
    capture = [(r.type, r.name) for r in simulation.resources if CAPTURE_QUERIES in Urn.parse(r.urn).qualified_type]
    return sorted(policies + capture + WORKLOAD_RESOURCES[stack])


# The deliberate input changes since: pods tell the serving image a health path or port other than /ping
# and 8080 (issue 24; the shipped stacks' Kubernetes services declare /healthz). Issue 25: the pods get the
# capture settings and their region, a pinned variant's pod an init container and a model volume, its
# template the version's annotations, its objects the version's labels; the service account its IAM role;
# images named by tag are named by the tag's digest.
SERVING_ENVIRONMENT = {SERVER_PORT_ENV, SERVER_HEALTH_PATH_ENV, "AWS_REGION", "AWS_STS_REGIONAL_ENDPOINTS"}
VERSION_LABELS = {MODEL_PACKAGE_VERSION_LABEL, "app.kubernetes.io/version"}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
UPDATED_KUBERNETES_OBJECTS = {
    DEPLOYMENT,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
}


def without_deliberate_changes(inputs: dict[str, Any], pinned: bool) -> dict[str, Any]:
    """A Kubernetes object's inputs without what issues 24 and 25 add, and the bounds on ephemeral storage
    (every emptyDir's sizeLimit, fetch-model's scratch volume, the containers' ephemeral-storage), applied to
    both sides of a comparison; `pinned`: the object now serves a registered version's image, or its tag's
    image by digest."""
    copy = json.loads(json.dumps(inputs))
    for rule in copy.get("spec", {}).get("egress", []):
        if rule.get("ports") == [{"port": 443.0, "protocol": "TCP"}]:
            copy["spec"]["egress"].remove(rule)  # HTTPS out, for S3 and STS, once the pods have a role
    for metadata in (copy.get("metadata", {}), copy.get("spec", {}).get("template", {}).get("metadata", {})):
        labels = metadata.get("labels", {})
        for label in VERSION_LABELS:
            labels.pop(label, None)
        metadata.pop("annotations", None)
    spec = copy.get("spec", {}).get("template", {}).get("spec")
    if not spec:
        return copy
    spec.pop("initContainers", None)
    spec["volumes"] = [
        volume for volume in spec.get("volumes", []) if volume["name"] not in (MODEL_VOLUME, FETCH_SCRATCH_VOLUME)
    ]
    for volume in spec["volumes"]:
        volume.get("emptyDir", {}).pop("sizeLimit", None)
    for container in spec["containers"]:
        for bounds in container.get("resources", {}).values():
            bounds.pop("ephemeral-storage", None)
        if pinned:
            container.pop("image")
        container["volumeMounts"] = [mount for mount in container["volumeMounts"] if mount["name"] != MODEL_VOLUME]
        kept = [
            variable
            for variable in container.get("env", [])
            if variable["name"] not in SERVING_ENVIRONMENT and not variable["name"].startswith("MODELPLANE_CAPTURE_")
        ]
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
    changed = []
    for new, old in matched(simulation, stack).claimed.items():
        template = before[old]["inputs"].get("spec", {}).get("template", {}).get("spec", {})
        by_tag = any("@" not in container["image"] for container in template.get("containers", []))
        pinned = by_tag or "initContainers" in state[new]["inputs"].get("spec", {}).get("template", {}).get("spec", {})
        if without_deliberate_changes(state[new]["inputs"], pinned) != without_deliberate_changes(
            before[old]["inputs"], pinned
        ):
            changed.append(old)
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
    assert updated <= UPDATED_KUBERNETES_OBJECTS, "only what the serving image's settings, versions and capture change"
    assert DEPLOYMENT in updated
    assert sorted(
        (Urn.parse(change.urn).type, Urn.parse(change.urn).name) for change in found.of("create")
    ) == new_resources(head, stack)
    moved = {urn for urn in deployed(stack) if urn not in {resource.urn for resource in head.resources}}
    moved_and_updated = {change.old_urn for change in found.of("update") if change.old_urn}
    assert {change.old_urn for change in found.of("rename")} | moved_and_updated == moved
