"""Waivers (`policies/modelplane_guard/waivers.py`): the `policy-waivers` rule on the configured waivers,
and waivers over the gRPC contract, as the Pulumi CLI drives the pack with `--policy-pack-config`.

The waivers travel in the config file, which the CLI reconciles and sends in `Configure`; the pack
answers `Analyze` and `AnalyzeStack` with a waived violation at the advisory level (the engine fails
an update only on a diagnostic whose own level is mandatory) carrying its waiver, and reports a
malformed, expired or refused waiver as a mandatory violation of `policy-waivers`. `modelplane plan`
drives the very same exchange, so the end-to-end tests run it with a waiver file.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2

from modelplane.cli import main
from modelplane.offline.graph import RecordedResource
from modelplane.offline.policy_client import (
    RunningPack,
    StackIdentity,
    Violation,
    reconcile_config,
    violations_of,
)
from modelplane.offline.policy_config import load_policy_pack_config, policy_config_path
from policies.modelplane_guard.waivers import WAIVER_POLICY, today
from tests.graphs import recorded
from tests.policies.harness import ARTIFACTS, BY_NAME, DELETE, Case, Res, case_id, run, uncovered
from tests.sarif import sarif_validator

IDENTITY = StackIdentity(project="modelplane", stack="prod", config={"modelplane:environment": "prod"})
TAGS = {"owner": "o", "cost-center": "c", "data-classification": "internal", "environment": "prod"}
SSH_RULE = "ec2-security-group-ingress-restricted"
REASON = "On-call SSH bastion until SSM Session Manager replaces it (SEC-142)."
OWNER = "platform-security@example.com"
IN_30_DAYS = (today() + timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def pack(started_pack: RunningPack) -> RunningPack:
    started_pack.handshake()
    started_pack.configure_stack(IDENTITY)
    return started_pack


@pytest.fixture(scope="module")
def info(pack: RunningPack) -> analyzer_pb2.AnalyzerInfo:
    return pack.info()


def waiver(**changes: Any) -> dict[str, Any]:
    """A valid waiver of the SSH rule for the bastions, with `changes` (a field set to DELETE is left out)."""
    entry = {"policy": SSH_RULE, "resource": "bastion-*", "reason": REASON, "owner": OWNER, "expires": IN_30_DAYS}
    return {key: value for key, value in {**entry, **changes}.items() if value is not DELETE}


# --- the policy-waivers rule -------------------------------------------------------------------------

EXPIRED = (today() - timedelta(days=1)).isoformat()
WAIVER_STACK = [Res("aws:s3/bucket:Bucket", "bucket", {"bucket": ARTIFACTS, "tags": TAGS})]
CASES: list[Case] = [
    Case("policy-waivers", "none", WAIVER_STACK, [], {}),
    Case(
        "policy-waivers",
        "valid",
        WAIVER_STACK,
        [],
        {"waivers": [waiver(), waiver(resource="urn:pulumi:prod::*::bastion")]},
    ),
    Case(
        "policy-waivers",
        "expired",
        WAIVER_STACK,
        [
            f"waivers[0] (ec2-security-group-ingress-restricted on 'bastion-*') expired on {EXPIRED} (owner platform-security@example.com): the violation counts again; fix the resource or renew the waiver with a new expiry date."
        ],
        {"waivers": [waiver(expires=EXPIRED)]},
    ),
    Case(
        "policy-waivers",
        "malformed",
        WAIVER_STACK,
        [
            "waivers[0] lacks reason, owner and has unknown expiry, justification; each waiver names policy, resource, reason, owner, expires.",
            "waivers[1] (ec2-security-group-ingress-restricted on 'bastion-*'): expires '31/12/2026' is not a date written YYYY-MM-DD.",
            "waivers[2] is not an object with policy, resource, reason, owner, expires.",
            "waivers[3] (iam-no-admin on 'bastion-*') names a policy this pack does not have.",
            "waivers[4] (ec2-security-group-ingress-restricted on '*') matches every resource; to turn the policy off, set its enforcement level instead.",
        ],
        {
            "waivers": [
                {
                    "policy": "ec2-security-group-ingress-restricted",
                    "resource": "bastion-*",
                    "expiry": "2026-01-01",
                    "justification": "x",
                    "expires": "2026-01-01",
                },
                waiver(expires="31/12/2026"),
                "ec2-security-group-ingress-restricted:bastion-*",
                waiver(policy="iam-no-admin"),
                waiver(resource="*"),
            ]
        },
    ),
    Case(
        "policy-waivers",
        "public-data-but-not-public-networks",
        WAIVER_STACK,
        [
            "waivers[0] (public-data-exposure on 'golden-ami-*'): public-data-exposure cannot be waived; fix the resource instead."
        ],
        {
            "waivers": [
                waiver(policy="public-data-exposure", resource="golden-ami-*"),
                waiver(policy="public-exposure", resource="edge-nacl"),
            ]
        },
    ),
    Case(
        "policy-waivers",
        "non-waivable-and-too-long",
        WAIVER_STACK,
        [
            "waivers[0] (resource-policies-not-public on 'artifacts-policy'): resource-policies-not-public cannot be waived; fix the resource instead.",
            f"waivers[1] (ec2-security-group-ingress-restricted on 'bastion-*') expires {(today() + timedelta(days=400)).isoformat()}, more than 365 days ahead; waivers must be renewed.",
        ],
        {
            "waivers": [
                waiver(policy="resource-policies-not-public", resource="artifacts-policy"),
                waiver(expires=(today() + timedelta(days=400)).isoformat()),
            ]
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_rule_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_the_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered([BY_NAME[WAIVER_POLICY]], CASES) == []


# --- over the gRPC contract ------------------------------------------------------------------------


def config_file(tmp_path: Path, *waivers: Any) -> Path:
    """prod.json with waivers, written as a file the CLI would get with --policy-pack-config."""
    document = json.loads(policy_config_path("prod").read_text(encoding="utf-8"))
    document["policy-waivers"] = {"waivers": list(waivers)}
    path = tmp_path / "prod-with-waivers.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def configure(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, path: Path) -> None:
    pack.configure(reconcile_config(info, load_policy_pack_config(path), str(path)))


def open_ssh(name: str) -> RecordedResource:
    ingress = [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]
    return recorded("aws:ec2/securityGroup:SecurityGroup", name, {"vpcId": "vpc-1", "ingress": ingress, "tags": TAGS})


def found(response: analyzer_pb2.AnalyzeResponse, resource: RecordedResource | None, policy: str) -> list[Violation]:
    return [violation for violation in violations_of(response, resource, {}) if violation.policy == policy]


def stack_problems(pack: RunningPack, resources: list[RecordedResource]) -> list[Violation]:
    return found(pack.analyze_stack(resources), None, "policy-waivers")


def test_a_waived_violation_is_advisory_and_carries_its_waiver(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    configure(pack, info, config_file(tmp_path, waiver()))
    bastion = open_ssh("bastion-ssh")
    response = pack.analyze(bastion)
    (diagnostic,) = [d for d in response.diagnostics if d.policyName == SSH_RULE]
    assert diagnostic.enforcementLevel == analyzer_pb2.ADVISORY
    (violation,) = found(response, bastion, SSH_RULE)
    assert violation.message == "ingress[0] opens port 22 (SSH) to 0.0.0.0/0: anyone on the internet can connect."
    assert violation.waiver is not None
    assert (violation.waiver.reason, violation.waiver.owner, violation.waiver.expires) == (REASON, OWNER, IN_30_DAYS)
    assert (violation.waiver.waiver, violation.waiver.resource, violation.waiver.level) == (
        "policy-waivers.waivers[0]",
        "bastion-*",
        "mandatory",
    )
    assert stack_problems(pack, [bastion]) == []


def test_a_waiver_covers_only_its_policy_and_resources(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    configure(pack, info, config_file(tmp_path, waiver()))
    (other,) = found(pack.analyze(open_ssh("web-ssh")), None, SSH_RULE)
    assert (other.level, other.waiver) == ("mandatory", None)
    untagged = recorded(
        "aws:ec2/securityGroup:SecurityGroup", "bastion-ssh", {"vpcId": "vpc-1", "tags": {"owner": "o"}}
    )
    (tags,) = found(pack.analyze(untagged), untagged, "required-tags")
    assert (tags.level, tags.waiver) == ("mandatory", None)


def test_a_urn_pattern_waives_by_type_and_stack(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    pattern = "urn:pulumi:prod::modelplane::aws:ec2/securityGroup:SecurityGroup::*-ssh"
    configure(pack, info, config_file(tmp_path, waiver(resource=pattern)))
    (violation,) = found(pack.analyze(open_ssh("web-ssh")), None, SSH_RULE)
    assert violation.level == "advisory"
    assert violation.waiver is not None and violation.waiver.resource == pattern


def test_a_stack_policy_violation_is_waived_on_the_urn_it_names(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    bucket = recorded("aws:s3/bucket:Bucket", "scratch", {"bucket": "scratch-1a2b3c4", "tags": TAGS})
    configure(pack, info, config_file(tmp_path, waiver(policy="s3-bucket-versioning", resource="scratch")))
    response = pack.analyze_stack([bucket])
    (versioning,) = found(response, None, "s3-bucket-versioning")
    assert (versioning.level, versioning.urn) == ("advisory", bucket.urn)
    assert versioning.waiver is not None
    (encryption,) = found(response, None, "s3-bucket-encryption")
    assert (encryption.level, encryption.waiver) == ("mandatory", None)


def test_an_expired_waiver_waives_nothing_and_is_a_mandatory_violation(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    yesterday = (today() - timedelta(days=1)).isoformat()
    configure(pack, info, config_file(tmp_path, waiver(expires=yesterday)))
    bastion = open_ssh("bastion-ssh")
    (violation,) = found(pack.analyze(bastion), bastion, SSH_RULE)
    assert (violation.level, violation.waiver) == ("mandatory", None)
    (problem,) = stack_problems(pack, [bastion])
    assert problem.level == "mandatory"
    assert problem.urn == ""
    assert problem.message == (
        f"waivers[0] ({SSH_RULE} on 'bastion-*') expired on {yesterday} (owner {OWNER}): the violation counts again;"
        " fix the resource or renew the waiver with a new expiry date."
    )


def test_a_waiver_of_public_exposure_is_refused(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    configure(pack, info, config_file(tmp_path, waiver(policy="resource-policies-not-public", resource="pull")))
    public = recorded(
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "pull",
        {
            "repository": "r",
            "policy": json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}}),
        },
    )
    (violation,) = found(pack.analyze(public), public, "resource-policies-not-public")
    assert (violation.level, violation.waiver) == ("mandatory", None)
    (problem,) = stack_problems(pack, [public])
    assert problem.message == (
        "waivers[0] (resource-policies-not-public on 'pull'): resource-policies-not-public cannot be waived;"
        " fix the resource instead."
    )


def test_malformed_waivers_reach_the_pack_and_are_reported(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, tmp_path: Path
) -> None:
    """The config schema accepts any list, so the CLI passes a malformed entry on and the pack names it."""
    configure(pack, info, config_file(tmp_path, "bastion-ssh", {"policy": SSH_RULE, "resource": "bastion-*"}))
    assert [problem.message for problem in stack_problems(pack, [])] == [
        "waivers[0] is not an object with policy, resource, reason, owner, expires.",
        "waivers[1] lacks reason, owner, expires; each waiver names policy, resource, reason, owner, expires.",
    ]
    assert all(problem.level == "mandatory" for problem in stack_problems(pack, []))


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_checks_its_waivers_as_mandatory(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, environment: str
) -> None:
    effective = reconcile_config(info, load_policy_pack_config(policy_config_path(environment)))
    assert effective["policy-waivers"]["enforcementLevel"] == "mandatory"
    assert effective["policy-waivers"]["waivers"] == []


# --- modelplane plan with the same file ------------------------------------------------------------

# The dev stack's model runs outside a VPC and without network isolation, both advisory in dev.
DEV_MODEL_RULES = ("sagemaker-model-in-vpc", "sagemaker-model-network-isolation")
DEV_REASON = "Dev model calls the public feature-store sandbox until the VPC endpoint lands (ML-311)."


def strict_dev_config(tmp_path: Path, *waivers: Any) -> Path:
    """dev.json with the model rules mandatory, and `waivers`: what a team would pass to the CLI."""
    document = json.loads(policy_config_path("dev").read_text(encoding="utf-8"))
    document.update({policy: "mandatory" for policy in DEV_MODEL_RULES})
    document["policy-waivers"] = {"enforcementLevel": "mandatory", "waivers": list(waivers)}
    path = tmp_path / "dev-strict.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_plan_fails_on_the_mandatory_violations_without_waivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--stack", "dev", "--policy-config", str(strict_dev_config(tmp_path))]) == 1
    assert "dev: 76 resources, 2 mandatory and 0 advisory violations: FAILED" in capsys.readouterr().out


def test_plan_reports_waived_violations_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = strict_dev_config(
        tmp_path,
        *(waiver(policy=policy, resource="fraud-*-model", reason=DEV_REASON) for policy in DEV_MODEL_RULES),
    )
    out = tmp_path / "out"
    code = main(
        ["plan", "--stack", "dev", "--policy-config", str(config), "--json", str(out / "plan.json"),
         "--sarif", str(out / "plan.sarif"), "--markdown", str(out / "plan.md")]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "dev: 76 resources, 0 mandatory and 0 advisory violations, 2 waived: passed" in text
    assert "Waived violations (2)" in text
    assert f"waived until {IN_30_DAYS} by {OWNER} (policy-waivers.waivers[0]):" in " ".join(text.split())

    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert document["policy"]["config_file"] == str(config)
    assert document["summary"] | {"resources": 0} == {
        "resources": 0,
        "mandatory": 0,
        "advisory": 0,
        "waived": 2,
        "findings": 0,
    }
    waived = {violation["policy"]: violation for violation in document["policy"]["violations"] if violation["waiver"]}
    assert set(waived) == set(DEV_MODEL_RULES)
    assert waived["sagemaker-model-in-vpc"]["level"] == "advisory"
    assert waived["sagemaker-model-in-vpc"]["waiver"] == {
        "waiver": "policy-waivers.waivers[0]",
        "resource": "fraud-*-model",
        "reason": DEV_REASON,
        "owner": OWNER,
        "expires": IN_30_DAYS,
        "level": "mandatory",
    }

    sarif = json.loads((out / "plan.sarif").read_text(encoding="utf-8"))
    sarif_validator().validate(sarif)
    suppressed = {result["ruleId"]: result for result in sarif["runs"][0]["results"] if "suppressions" in result}
    assert set(suppressed) == set(DEV_MODEL_RULES)
    result = suppressed["sagemaker-model-network-isolation"]
    assert result["level"] == "error", "a waived result keeps the level it would have had"
    assert result["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": DEV_REASON,
            "properties": {
                "waiver": "policy-waivers.waivers[1]",
                "owner": OWNER,
                "expires": IN_30_DAYS,
                "resourcePattern": "fraud-*-model",
            },
        }
    ]

    markdown = (out / "plan.md").read_text(encoding="utf-8")
    assert "### ✅ modelplane plan `dev`: passed" in markdown
    assert "#### Waived (2)" in markdown
    assert (
        f"| `sagemaker-model-in-vpc` | `fraud-current-model` (aws:sagemaker/model:Model) | {OWNER} | {IN_30_DAYS} |"
        in markdown
    )


def test_plan_fails_on_an_expired_waiver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expired = (today() - timedelta(days=3)).isoformat()
    config = strict_dev_config(
        tmp_path,
        waiver(policy="sagemaker-model-in-vpc", resource="fraud-*-model", reason=DEV_REASON),
        waiver(
            policy="sagemaker-model-network-isolation", resource="fraud-*-model", reason=DEV_REASON, expires=expired
        ),
    )
    assert main(["plan", "--stack", "dev", "--policy-config", str(config)]) == 1
    text = capsys.readouterr().out
    assert "dev: 76 resources, 2 mandatory and 0 advisory violations, 1 waived: FAILED" in text
    assert f"expired on {expired} (owner {OWNER})" in " ".join(text.split())


def test_plan_with_a_missing_policy_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--policy-config", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err
