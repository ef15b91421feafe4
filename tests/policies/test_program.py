"""The pack judging what the program really registers: each shipped stack passes its environment's
config, insecure choices a user can opt into are stopped by mandatory violations, and the pod rules reach
the rendered pods. Each stack is judged by the session's started pack, driven through the CLI's sequence
for that stack (`judge`, what `analyze` does once it has started a pack)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelplane.offline.graph import Simulation
from modelplane.offline.policy_client import PolicyReport, RunningPack, StackIdentity, Violation, judge
from modelplane.offline.policy_config import policy_config_path
from policies.modelplane_guard import POLICIES
from tests.stacks import FIXTURES_DIR, STACK_NAMES, SimulateStack

INSECURE_PROD = FIXTURES_DIR / "Pulumi.insecure-prod.yaml"


def described(violation: Violation) -> str:
    return f"{violation.policy} on {violation.urn.rsplit('::', 1)[-1]} ({violation.type}): {violation.message}"


def judged(pack: RunningPack, simulation: Simulation) -> PolicyReport:
    return judge(pack, StackIdentity.of(simulation), simulation)


@pytest.fixture(scope="module")
def insecure_prod(started_pack: RunningPack, simulate_stack: SimulateStack) -> PolicyReport:
    return judged(started_pack, simulate_stack(INSECURE_PROD))


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_shipped_stack_has_no_mandatory_violation(
    started_pack: RunningPack, simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    report = judged(started_pack, simulation)
    assert report.config_file == str(policy_config_path(simulation.environment))
    assert {policy.name for policy in report.policies} == {policy.name for policy in POLICIES}
    assert [described(violation) for violation in report.mandatory] == []


def test_insecure_prod_choices_are_mandatory_violations(insecure_prod: PolicyReport) -> None:
    assert sorted(described(violation) for violation in insecure_prod.mandatory) == [
        "cloudwatch-log-retention on fraud-monitoring-logs (aws:cloudwatch/logGroup:LogGroup):"
        " retentionInDays is 14; keep logs at least 365 days.",
        "kubernetes-autoscaling-in-production on recommender-two-tower-v6 (kubernetes:apps/v1:Deployment):"
        " Deployment 'recommender-two-tower-v6' has no HorizontalPodAutoscaler.",
        "no-secrets-in-container-environment on fraud-champion-model (aws:sagemaker/model:Model):"
        " primaryContainer environment variable 'DB_PASSWORD' is named like a secret and holds a literal value.",
        "sagemaker-data-capture-in-production on fraud-config (aws:sagemaker/endpointConfiguration:EndpointConfiguration):"
        " dataCaptureConfig is not set: production requests and predictions leave no record for monitoring or audit.",
        "sagemaker-production-capacity on fraud-config (aws:sagemaker/endpointConfiguration:EndpointConfiguration):"
        " productionVariants[0] (champion) starts 1 instance(s); production variants need at least 2 to survive an"
        " instance or zone failure.",
    ]


def test_the_secret_value_never_appears_in_a_message(insecure_prod: PolicyReport) -> None:
    assert all("hunter2" not in violation.message for violation in insecure_prod.violations)


def pinned_pod(simulation: Simulation) -> dict[str, Any]:
    """The pod template of prod's recommender variant, pinned to a registered version and capturing."""
    deployment = simulation.one("kubernetes:apps/v1:Deployment", "recommender-two-tower-v6")
    return deployment.inputs["spec"]["template"]["spec"]


def test_the_pod_rules_judge_the_rendered_pinned_pod(started_pack: RunningPack, simulate_stack: SimulateStack) -> None:
    """As rendered, prod's pinned pod passes every Kubernetes rule (the test above); loosened where each new
    rule looks (a fetch-model init container that may escalate and reads keys, a writable model mount,
    capture without the key), the same Deployment gets exactly those violations."""
    simulation = copy.deepcopy(simulate_stack("prod"))
    pod = pinned_pod(simulation)
    (fetch,) = pod["initContainers"]
    server = pod["containers"][0]
    assert fetch["name"] == "fetch-model"
    assert {"name": "model", "mountPath": "/opt/ml/model", "readOnly": True} in server["volumeMounts"]
    fetch["securityContext"]["allowPrivilegeEscalation"] = True
    fetch["env"].append({"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "id"}}})
    (model_mount,) = [mount for mount in server["volumeMounts"] if mount["mountPath"] == "/opt/ml/model"]
    del model_mount["readOnly"]
    server["env"] = [env for env in server["env"] if env["name"] != "MODELPLANE_CAPTURE_KMS_KEY_ID"]

    report = judged(started_pack, simulation)
    fetch_label = "container 'fetch-model' (spec.template.spec.initContainers[0])"
    server_label = "container 'model' (spec.template.spec.containers[0])"
    assert sorted(
        (violation.policy, violation.level, violation.message)
        for violation in report.violations
        if violation.urn.endswith("::recommender-two-tower-v6") and violation.type == "kubernetes:apps/v1:Deployment"
    ) == [
        (
            "kubernetes-data-capture-encrypted",
            "mandatory",
            f"{server_label} captures requests without MODELPLANE_CAPTURE_KMS_KEY_ID: the capture would not be"
            " encrypted with a customer key.",
        ),
        (
            "kubernetes-no-static-cloud-credentials",
            "mandatory",
            f"{fetch_label} passes cloud credentials in 'AWS_ACCESS_KEY_ID' (from a secret); give the pod an"
            " identity instead.",
        ),
        (
            "kubernetes-pod-security-restricted",
            "mandatory",
            f"{fetch_label} does not set securityContext.allowPrivilegeEscalation to false.",
        ),
        (
            "kubernetes-read-only-model-volume",
            "mandatory",
            f"{server_label} mounts its model directory /opt/ml/model writable: the served model could be changed"
            " after it was verified.",
        ),
        (
            "kubernetes-secrets-as-files",
            "mandatory",
            f"{fetch_label} reads secret 's3' into environment variable 'AWS_ACCESS_KEY_ID'.",
        ),
    ]
