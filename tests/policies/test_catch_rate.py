"""Platform teams' programs judged as the CLI judges them: every insecure resource stopped, no false alarm.

Two programs, declared with the real SDKs under the mock runtime (`platform_program.py`):
- `platform` (`platform_declarations.py`): the themes of issue 16 (cluster RBAC and exposure, every workload kind, IAM escalation
  and cross-account trust, keys, queues, notebooks and Studio, security groups, S3 settings of a
  shared bucket), each insecure resource expecting the named rule written for it;
- `breadth` (`breadth_program.py`): data stores, caches, streams, front doors, compute and Kubernetes
  custom resources of types no rule names, each insecure resource expecting the rule of its concern
  (encryption at rest or in transit, customer keys, public exposure, logging, durability, IMDSv2,
  IAM documents, pods by shape).
The pack gets them exactly as from `pulumi preview --policy-pack policies --policy-pack-config
policies/config/<env>.json`: Configure with the environment's file, one Analyze per resource, one
AnalyzeStack (each judging drives the session's started pack through that whole sequence).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelplane.offline.graph import RecordedResource
from modelplane.offline.policy_client import (
    RESOURCE_TAG_PREFIX,
    RunningPack,
    StackIdentity,
    Violation,
    reconcile_config,
    violations_of,
)
from modelplane.offline.policy_config import load_policy_pack_config, policy_config_path
from tests.policies.platform_program import Recorded
from tests.stacks import PACK_DIR

pytestmark = pytest.mark.long

IDENTITY = StackIdentity(project="platform", stack="prod", config={"aws:region": "eu-west-1"})
CATCH_RATE = 0.9
NOT_RULES = ("property_map.py", "tagging.py")
# What compliant resources of the breadth program may draw short of a mandatory violation, and why.
JUSTIFIED_ADVISORIES: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Verdict:
    expected: dict[str, str | None]
    """Logical name to the policy that must stop it (None: compliant)."""
    mandatory: dict[str, set[str]]
    """Logical name to the policies that reported it as mandatory."""
    violations: list[Violation]
    resources: list[RecordedResource]
    named_types: set[str]
    """The resource types the pack's rules name in their `resource:` tags."""
    levels: dict[str, str]
    """Policy to the level the environment's config file gives it (remediate reports as mandatory)."""

    def missed(self) -> dict[str, list[str]]:
        return {
            name: sorted(self.mandatory.get(name, set()))
            for name, policy in self.expected.items()
            if policy and policy not in self.mandatory.get(name, set())
        }

    def false_alarms(self) -> dict[str, list[str]]:
        return {
            name: sorted(self.mandatory[name])
            for name, policy in self.expected.items()
            if policy is None and name in self.mandatory
        }

    def of(self, expected_insecure: bool) -> list[RecordedResource]:
        return [resource for resource in self.resources if bool(self.expected[resource.name]) == expected_insecure]


def judged(pack: RunningPack, program: Recorded, environment: str = "prod") -> Verdict:
    expected, resources = program
    by_urn = {resource.urn: resource for resource in resources}
    path = policy_config_path(environment)
    violations: list[Violation] = []
    pack.handshake()
    pack.configure_stack(IDENTITY)
    info = pack.info()
    effective = reconcile_config(info, load_policy_pack_config(path), str(path))
    pack.configure(effective)
    for resource in resources:
        violations += violations_of(pack.analyze(resource, by_urn), resource, {})
    violations += violations_of(pack.analyze_stack(resources), None, {})
    mandatory: dict[str, set[str]] = defaultdict(set)
    for violation in violations:
        if violation.level == "mandatory":
            mandatory[violation.urn.rsplit("::", 1)[-1]].add(violation.policy)
    named = {
        tag.removeprefix(RESOURCE_TAG_PREFIX)
        for policy in info.policies
        for tag in policy.tags
        if tag.startswith(RESOURCE_TAG_PREFIX) and not tag.endswith("*")
    }
    levels = {
        name: "mandatory" if config["enforcementLevel"] == "remediate" else str(config["enforcementLevel"])
        for name, config in effective.items()
    }
    return Verdict(expected, dict(mandatory), violations, resources, named, levels)


@pytest.fixture(scope="module")
def platform(started_pack: RunningPack, recorded_programs: Callable[[str], Recorded]) -> Verdict:
    return judged(started_pack, recorded_programs("platform"))


@pytest.fixture(scope="module")
def breadth(started_pack: RunningPack, recorded_programs: Callable[[str], Recorded]) -> Verdict:
    return judged(started_pack, recorded_programs("breadth"))


# --- the named themes --------------------------------------------------------------------------------


def test_the_platform_set_spans_the_themes(platform: Verdict) -> None:
    insecure = [name for name, policy in platform.expected.items() if policy]
    compliant = [name for name, policy in platform.expected.items() if policy is None]
    assert len(insecure) >= 60 and len(compliant) >= 15
    assert len({platform.expected[name] for name in insecure}) >= 25, "insecure cases reach every new rule"
    assert len(platform.resources) == len(platform.expected)


def test_every_insecure_platform_resource_is_stopped_by_its_rule(platform: Verdict) -> None:
    assert platform.missed() == {}


def test_no_compliant_platform_resource_gets_a_mandatory_diagnostic(platform: Verdict) -> None:
    assert platform.false_alarms() == {}


# --- what no rule names ------------------------------------------------------------------------------


def test_the_held_out_set_is_of_types_no_rule_names(breadth: Verdict) -> None:
    types = {resource.type for resource in breadth.resources}
    assert types.isdisjoint(breadth.named_types)
    # The mapping names a few types only to leave a reviewed property out; required-tags lists taggable
    # types, for tags alone. No other code of the pack names a type of the set.
    rules = [path for path in (Path(PACK_DIR) / "modelplane_guard").glob("*.py") if path.name not in NOT_RULES]
    pack_source = "\n".join(path.read_text(encoding="utf-8") for path in rules)
    assert [token for token in types if token in pack_source] == [], "the rules' code names no type of the set"
    insecure = breadth.of(expected_insecure=True)
    aws_types = {resource.type for resource in insecure if resource.type.startswith("aws:")}
    kinds = {resource.type for resource in insecure if resource.type.startswith("kubernetes:")}
    print(f"{len(insecure)} insecure resources of {len(aws_types)} AWS types and {len(kinds)} Kubernetes kinds")
    assert len(insecure) >= 60 and len(aws_types) >= 20 and len(kinds) >= 5


def test_the_held_out_set_is_caught_by_concern(breadth: Verdict) -> None:
    insecure = len(breadth.of(expected_insecure=True))
    missed = breadth.missed()
    rate = (insecure - len(missed)) / insecure
    print(f"caught {insecure - len(missed)} of {insecure} insecure resources of types no rule names ({rate:.0%})")
    assert rate >= CATCH_RATE
    assert missed == {}


def test_a_compliant_platform_program_of_unnamed_types_draws_no_mandatory_violation(breadth: Verdict) -> None:
    compliant = breadth.of(expected_insecure=False)
    assert len(compliant) >= 40
    assert {resource.type for resource in compliant}.isdisjoint(breadth.named_types)
    assert breadth.false_alarms() == {}


def test_every_advisory_on_a_compliant_resource_is_justified(breadth: Verdict) -> None:
    advisories = {
        (violation.urn.rsplit("::", 1)[-1], violation.policy, violation.message)
        for violation in breadth.violations
        if violation.level == "advisory" and breadth.expected.get(violation.urn.rsplit("::", 1)[-1]) is None
    }
    assert advisories == set(JUSTIFIED_ADVISORIES)


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_elsewhere_the_compliant_program_stays_quiet_and_findings_keep_their_levels(
    started_pack: RunningPack, recorded_programs: Callable[[str], Recorded], environment: str
) -> None:
    """dev and staging judge the same program: no compliant resource draws anything, and each insecure
    one draws its concern at the environment's level (production-only rules do not apply)."""
    verdict = judged(started_pack, recorded_programs("breadth"), environment)
    quiet = [
        (violation.urn.rsplit("::", 1)[-1], violation.policy)
        for violation in verdict.violations
        if verdict.expected.get(violation.urn.rsplit("::", 1)[-1]) is None
    ]
    assert quiet == []
    found = {(violation.urn.rsplit("::", 1)[-1], violation.policy) for violation in verdict.violations}
    expected = {
        (name, policy)
        for name, policy in verdict.expected.items()
        if policy and not re.fullmatch("data-durability", policy)
    }
    assert expected <= found
    assert_levels_follow_the_config(verdict)


def test_in_production_findings_keep_their_levels(breadth: Verdict, platform: Verdict) -> None:
    assert_levels_follow_the_config(breadth)
    assert_levels_follow_the_config(platform)


def assert_levels_follow_the_config(verdict: Verdict) -> None:
    """Each violation carries the level the environment's config file gives its policy (no waiver is configured)."""
    wrong = [
        (violation.urn.rsplit("::", 1)[-1], violation.policy, violation.level, verdict.levels[violation.policy])
        for violation in verdict.violations
        if violation.level != verdict.levels[violation.policy] and not violation.message.startswith("can't run")
    ]
    assert wrong == []
    assert {violation.level for violation in verdict.violations} >= {"mandatory"}
