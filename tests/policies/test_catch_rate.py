"""A platform team's program judged as the CLI judges it: every insecure resource stopped, no false alarm.

`tests/policies/platform_program.py` declares resources across the themes of issue 16 (cluster RBAC and
exposure, every workload kind, IAM escalation and cross-account trust, keys, queues, notebooks and
Studio, security groups, S3 settings of a shared bucket) with the real SDKs, under the mock runtime.
The pack then gets them exactly as from `pulumi preview --policy-pack policies --policy-pack-config
policies/config/prod.json`: Configure with the prod file, one Analyze per resource, one AnalyzeStack.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pytest

from modelplane.analyzer import (
    StackIdentity,
    Violation,
    load_policy_pack_config,
    policy_config_path,
    reconcile_config,
    start_pack,
    violations_of,
)
from tests.policies.platform_program import recorded_program

IDENTITY = StackIdentity(project="platform", stack="prod", config={"aws:region": "eu-west-1"})


@dataclass(frozen=True)
class Verdict:
    expected: dict[str, str | None]
    """Logical name to the policy that must stop it (None: compliant)."""
    mandatory: dict[str, set[str]]
    """Logical name to the policies that reported it as mandatory."""
    resources: int


@pytest.fixture(scope="module")
def verdict() -> Verdict:
    expected, resources = recorded_program()
    by_urn = {resource.urn: resource for resource in resources}
    path = policy_config_path("prod")
    violations: list[Violation] = []
    with start_pack(IDENTITY) as pack:
        pack.handshake()
        pack.configure_stack(IDENTITY)
        pack.configure(reconcile_config(pack.info(), load_policy_pack_config(path), str(path)))
        for resource in resources:
            violations += violations_of(pack.analyze(resource, by_urn), resource, {})
        violations += violations_of(pack.analyze_stack(resources), None, {})
    mandatory: dict[str, set[str]] = defaultdict(set)
    for violation in violations:
        if violation.level == "mandatory":
            mandatory[violation.urn.rsplit("::", 1)[-1]].add(violation.policy)
    return Verdict(expected, dict(mandatory), len(resources))


def test_the_set_spans_the_themes(verdict: Verdict) -> None:
    insecure = [name for name, policy in verdict.expected.items() if policy]
    compliant = [name for name, policy in verdict.expected.items() if policy is None]
    assert len(insecure) >= 60 and len(compliant) >= 15
    assert len({verdict.expected[name] for name in insecure}) >= 25, "insecure cases reach every new rule"
    assert verdict.resources == len(verdict.expected)


def test_every_insecure_resource_is_stopped_by_its_rule(verdict: Verdict) -> None:
    missed = {
        name: sorted(verdict.mandatory.get(name, set()))
        for name, policy in verdict.expected.items()
        if policy and policy not in verdict.mandatory.get(name, set())
    }
    caught = sum(1 for policy in verdict.expected.values() if policy) - len(missed)
    print(f"caught {caught} of {caught + len(missed)} insecure resources")
    assert missed == {}


def test_no_compliant_resource_gets_a_mandatory_diagnostic(verdict: Verdict) -> None:
    false_alarms = {
        name: sorted(verdict.mandatory[name])
        for name, policy in verdict.expected.items()
        if policy is None and name in verdict.mandatory
    }
    assert false_alarms == {}
