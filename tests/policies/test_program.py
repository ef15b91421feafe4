"""The pack judging what the program really registers: each shipped stack passes its environment's
config, and insecure choices a user can opt into are stopped by mandatory violations."""

from __future__ import annotations

import pytest

from modelplane.offline.policy_client import PolicyReport, Violation, analyze
from modelplane.offline.policy_config import policy_config_path
from policies.modelplane_guard import POLICIES
from tests.stacks import FIXTURES_DIR, STACK_NAMES, SimulateStack

INSECURE_PROD = FIXTURES_DIR / "Pulumi.insecure-prod.yaml"


def described(violation: Violation) -> str:
    return f"{violation.policy} on {violation.urn.rsplit('::', 1)[-1]} ({violation.type}): {violation.message}"


@pytest.fixture(scope="module")
def insecure_prod(simulate_stack: SimulateStack) -> PolicyReport:
    return analyze(simulate_stack(INSECURE_PROD))


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_shipped_stack_has_no_mandatory_violation(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    report = analyze(simulation)
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
