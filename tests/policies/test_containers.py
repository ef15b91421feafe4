"""Rules of `policies/modelplane_guard/containers.py` (containers of ECS task and Batch job definitions):
compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy, Severity

from policies.modelplane_guard import POLICIES, containers
from tests.policies.harness import (
    BY_NAME,
    IMAGE,
    PREVIEW,
    TAGS,
    UNKNOWN,
    Case,
    case_id,
    deployment,
    one,
    run,
    uncovered,
)

TASK = "aws:ecs/taskDefinition:TaskDefinition"
JOB = "aws:batch/jobDefinition:JobDefinition"


def task(*definitions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    container = {"name": "scorer", "image": IMAGE, "user": "10001", "readonlyRootFilesystem": True}
    return {
        "family": "scorer",
        "networkMode": "awsvpc",
        "containerDefinitions": json.dumps([{**container, **definition} for definition in definitions or [{}]]),
        "tags": TAGS,
        **changes,
    }


CASES: list[Case] = [
    one("aws-containers-unprivileged", "compliant", TASK, task(), []),
    one(
        "aws-containers-unprivileged",
        "privileged-root-with-capabilities",
        TASK,
        task(
            {
                "privileged": True,
                "user": "root",
                "linuxParameters": {"capabilities": {"add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}},
            }
        ),
        [
            "container 'scorer' (containerDefinitions[0]) is privileged: it has the host's devices and kernel at its disposal.",
            "container 'scorer' (containerDefinitions[0]) runs as user 'root' (root).",
            "container 'scorer' (containerDefinitions[0]) adds kernel capabilities SYS_ADMIN.",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "host-namespaces",
        TASK,
        task(networkMode="host", pidMode="host", ipcMode="host"),
        [
            "networkMode is host: every container shares the host's network namespace.",
            "pidMode is host: every container shares the host's process namespace.",
            "ipcMode is host: every container shares the host's IPC namespace.",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "batch-job-as-root",
        JOB,
        {"type": "container", "containerProperties": json.dumps({"image": IMAGE, "privileged": True, "user": "0:0"})},
        [
            "containerProperties is privileged: it has the host's devices and kernel at its disposal.",
            "containerProperties runs as user '0:0' (root).",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "unreadable-definitions",
        TASK,
        {"family": "scorer", "containerDefinitions": "[{not json"},
        ["containerDefinitions is not valid JSON; its containers cannot be checked."],
    ),
    one(
        "aws-containers-unprivileged",
        "definitions-as-objects",
        "aws:ecs/daemonTaskDefinition:DaemonTaskDefinition",
        {"containerDefinitions": [{"name": "agent", "image": IMAGE, "privileged": True}]},
        [
            "container 'agent' (containerDefinitions[0]) is privileged: it has the host's devices and kernel at its disposal."
        ],
    ),
]

PRIVILEGED_ROOT = {"image": IMAGE, "privileged": True, "user": "root"}
CASES += [
    one(
        "aws-containers-unprivileged",
        "multi-node-job",
        JOB,
        {
            "type": "multinode",
            "nodeProperties": json.dumps(
                {
                    "mainNode": 0,
                    "numNodes": 2,
                    "nodeRangeProperties": [
                        {"targetNodes": "0:0", "container": {"image": IMAGE, "user": "10001"}},
                        {"targetNodes": "1:", "container": PRIVILEGED_ROOT},
                    ],
                }
            ),
        },
        [
            "nodeProperties.nodeRangeProperties[1].container is privileged: it has the host's devices and kernel at its disposal.",
            "nodeProperties.nodeRangeProperties[1].container runs as user 'root' (root).",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "ecs-properties-job",
        JOB,
        {
            "type": "container",
            "ecsProperties": json.dumps(
                {"taskProperties": [{"pidMode": "host", "containers": [{"name": "train", **PRIVILEGED_ROOT}]}]}
            ),
        },
        [
            "ecsProperties.taskProperties[0].pidMode is host: every container shares the host's process namespace.",
            "container 'train' (ecsProperties.taskProperties[0].containers[0]) is privileged: it has the host's devices and kernel at its disposal.",
            "container 'train' (ecsProperties.taskProperties[0].containers[0]) runs as user 'root' (root).",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "ecs-properties-job-unprivileged",
        JOB,
        {
            "type": "container",
            "ecsProperties": json.dumps(
                {"taskProperties": [{"containers": [{"name": "train", "image": IMAGE, "user": "10001"}]}]}
            ),
        },
        [],
    ),
    # Objects rather than JSON: numbers arrive as floats (a user id 0 is 0.0), booleans may be strings.
    one(
        "aws-containers-unprivileged",
        "definitions-as-objects-with-a-numeric-root-user",
        "aws:ecs/daemonTaskDefinition:DaemonTaskDefinition",
        {"containerDefinitions": [{"name": "agent", "image": IMAGE, "user": 0, "privileged": "true"}]},
        [
            "container 'agent' (containerDefinitions[0]) is privileged: it has the host's devices and kernel at its disposal.",
            "container 'agent' (containerDefinitions[0]) runs as user '0' (root).",
        ],
    ),
    one(
        "aws-containers-unprivileged",
        "definitions-not-known-during-preview",
        TASK,
        {"family": "scorer", "networkMode": "host", "containerDefinitions": UNKNOWN},
        [
            "networkMode is host: every container shares the host's network namespace.",
            f"{PREVIEW}string value at .containerDefinitions can't be known during preview",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(containers.POLICIES, CASES) == []


def test_a_privileged_container_is_critical_wherever_it_is_reported() -> None:
    """ECS and Batch definitions, a Deployment and a custom resource found by shape: every rule of the
    pack that reports their privileged container does so at critical severity."""
    privileged_pod = deployment()
    privileged_pod["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    subjects = [
        (TASK, task({"privileged": True})),
        (JOB, {"type": "container", "containerProperties": json.dumps({"image": IMAGE, "privileged": True})}),
        ("kubernetes:apps/v1:Deployment", privileged_pod),
        (
            "kubernetes:serving.example.com/v1:Predictor",
            {"metadata": privileged_pod["metadata"], "spec": privileged_pod["spec"]["template"]["spec"]},
        ),
    ]
    reporters: dict[str, set[str]] = {}
    for resource_type, props in subjects:
        for policy in POLICIES:
            if isinstance(policy, ResourceValidationPolicy):
                found = run(one(policy.name, "privileged", resource_type, props, []))
                if any("privileged" in message for message in found):
                    reporters.setdefault(policy.name, set()).add(resource_type)
    assert reporters == {
        "aws-containers-unprivileged": {TASK, JOB},
        "kubernetes-pod-security-restricted": {
            "kubernetes:apps/v1:Deployment",
            "kubernetes:serving.example.com/v1:Predictor",
        },
    }
    assert {name: BY_NAME[name].severity for name in reporters} == dict.fromkeys(reporters, Severity.CRITICAL)
