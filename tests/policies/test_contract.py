"""The pack driven over gRPC exactly as the Pulumi CLI drives it (`modelplane.offline.policy_client`).

One pack process serves the module (the policy tests' started pack, `tests/policies/conftest.py`): started
like the CLI starts it, then Handshake, ConfigureStack, GetAnalyzerInfo, and per test Configure with an environment's config file before Analyze or
AnalyzeStack on realistic resources.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import StackValidationPolicy

from modelplane.errors import BadInput
from modelplane.offline.graph import SECRET_SIG, SECRET_SIG_KEY, RecordedResource, Simulation
from modelplane.offline.policy_client import (
    PolicyPackError,
    RunningPack,
    StackIdentity,
    analyze,
    reconcile_config,
    start_pack,
    violations_of,
)
from modelplane.offline.policy_config import load_policy_pack_config, parse_policy_pack_config, policy_config_path
from policies.modelplane_guard import POLICIES
from tests.graphs import recorded
from tests.stacks import PACK_DIR

IDENTITY = StackIdentity(project="modelplane", stack="prod", config={"modelplane:environment": "prod"})
ENVIRONMENTS = ("dev", "staging", "prod")
BY_NAME = {policy.name: policy for policy in POLICIES}
MANDATORY, ADVISORY = "mandatory", "advisory"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def pack(started_pack: RunningPack) -> RunningPack:
    started_pack.handshake()
    started_pack.configure_stack(IDENTITY)
    return started_pack


@pytest.fixture(scope="module")
def info(pack: RunningPack) -> analyzer_pb2.AnalyzerInfo:
    return pack.info()


def configure(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, environment: str) -> dict[str, dict[str, Any]]:
    path = policy_config_path(environment)
    effective = reconcile_config(info, load_policy_pack_config(path), str(path))
    pack.configure(effective)
    return effective


def diagnostics(response: analyzer_pb2.AnalyzeResponse) -> dict[str, tuple[str, str]]:
    """Policy name to (level, the rule's own message)."""
    return {found.policy: (found.level, found.message) for found in violations_of(response, None, {})}


def unrotated_key() -> RecordedResource:
    return recorded("aws:kms/key:Key", "key", {"enableKeyRotation": False, "tags": {"owner": "x"}}, protect=True)


# --- GetAnalyzerInfo ------------------------------------------------------------------------------


def test_pack_describes_itself(info: analyzer_pb2.AnalyzerInfo) -> None:
    assert info.name == "modelplane-guard"
    assert info.supportsConfig


def test_every_policy_is_listed_with_its_metadata(info: analyzer_pb2.AnalyzerInfo) -> None:
    listed = {policy.name: policy for policy in info.policies}
    assert set(listed) == set(BY_NAME)
    for name, served in listed.items():
        local = BY_NAME[name]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert re.fullmatch(r"[A-Z].+\.", served.description), f"{name}: description is not a full sentence"
        assert served.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED, name
        assert served.remediation_steps, name
        assert any(tag.startswith("resource:") for tag in served.tags), f"{name} names no resource type"
        expected_type = (
            analyzer_pb2.POLICY_TYPE_STACK
            if isinstance(local, StackValidationPolicy)
            else analyzer_pb2.POLICY_TYPE_RESOURCE
        )
        assert served.policy_type == expected_type, name
        schema = dict(served.configSchema.properties) if served.HasField("configSchema") else {}
        assert set(schema) == set(local.config_schema.properties if local.config_schema else {}), name


def test_catalogue_controls_survive_the_wire(info: analyzer_pb2.AnalyzerInfo) -> None:
    sources = {
        tag.removeprefix("source:") for policy in info.policies for tag in policy.tags if tag.startswith("source:")
    }
    catalogue = {
        "CKV_AWS_98",
        "aws-config:sagemaker-endpoint-config-prod-instance-count",
        "CKV_AWS_370",
        "aws-config:sagemaker-model-in-vpc",
        "CKV_AWS_51",
        "CKV_AWS_163",
        "CKV_AWS_136",
        "aws-config:ecr-private-lifecycle-policy-configured",
        "CKV_AWS_32",
        "CKV_AWS_19",
        "CKV_AWS_145",
        "CKV2_AWS_6",
        "CKV_AWS_21",
        "aws-config:s3-bucket-ssl-requests-only",
        "CKV_AWS_7",
        "CKV_AWS_33",
        "CKV_AWS_227",
        "CKV_AWS_62",
        "CKV_AWS_355",
        "CKV_AWS_274",
        "CKV2_AWS_56",
        "CKV_AWS_149",
        "CKV_AWS_304",
        "CKV2_AWS_57",
        "CKV_AWS_66",
        "CKV_AWS_338",
        "CKV_AWS_158",
        "CKV_AWS_26",
        "pod-security:restricted",
        "CKV_K8S_20",
        "CKV_K8S_38",
        "CKV_K8S_43",
        # What platform teams declare next to modelplane (policies.md, "Beyond what modelplane creates").
        "CKV_K8S_49",
        "CKV_K8S_157",
        "CKV_K8S_158",
        "cis-k8s:5.1.1",
        "cis-k8s:5.1.2",
        "cis-k8s:5.1.8",
        "CKV_AWS_286",
        "CKV_AWS_27",
        "CKV_AWS_72",
        "CKV_AWS_122",
        "CKV_AWS_307",
        "CKV_AWS_22",
        "CKV_AWS_187",
        "CKV_AWS_24",
        "CKV_AWS_25",
        "CKV_AWS_277",
        # Rules by property, pods anywhere, container definitions, Athena (issue 26).
        "CKV_AWS_16",
        "CKV_AWS_17",
        "CKV_AWS_2",
        "CKV_AWS_28",
        "CKV_AWS_58",
        "CKV_AWS_76",
        "CKV_AWS_79",
        "CKV_AWS_82",
        "CKV_AWS_119",
        "CKV_AWS_159",
        "CKV_AWS_258",
        "CKV_AWS_334",
        "aws-config:ec2-imdsv2-check",
        "aws-config:eks-endpoint-no-public-access",
        "aws-config:dynamodb-pitr-enabled",
    }
    assert catalogue <= sources


# --- Configure: enforcement per environment ---------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_config_file_sets_an_explicit_level_for_every_policy(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, environment: str
) -> None:
    effective = configure(pack, info, environment)
    assert set(effective) == set(BY_NAME)
    assert all(config["enforcementLevel"] in {"advisory", "mandatory"} for config in effective.values())


def test_production_makes_every_security_rule_mandatory(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    effective = configure(pack, info, "prod")
    advisory = {name for name, config in effective.items() if config["enforcementLevel"] != "mandatory"}
    assert advisory == {"ecr-lifecycle-policy", "sagemaker-anomaly-alarms"}
    assert effective["cloudwatch-log-retention"]["minRetentionDays"] == 365


def test_dev_keeps_most_rules_advisory(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    effective = configure(pack, info, "dev")
    mandatory = {name for name, config in effective.items() if config["enforcementLevel"] == "mandatory"}
    assert len(mandatory) < len(effective) / 4
    assert "resource-policies-not-public" in mandatory


@pytest.mark.parametrize(("environment", "level"), [("dev", ADVISORY), ("staging", MANDATORY), ("prod", MANDATORY)])
def test_a_violation_carries_the_environment_level(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo, environment: str, level: str
) -> None:
    configure(pack, info, environment)
    found = diagnostics(pack.analyze(unrotated_key()))
    assert found["kms-key-rotation"] == (level, "enableKeyRotation is not true: the key material never changes.")


def test_production_only_rules_are_not_applicable_elsewhere(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "dev")
    response = pack.analyze(unrotated_key())
    assert "stateful-resources-protected" not in diagnostics(response)
    reasons = {entry.policy_name: entry.reason for entry in response.not_applicable}
    assert reasons["stateful-resources-protected"] == "applies to production stacks only (config `production: false`)"


def test_disabled_policies_do_not_run(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    file_config = parse_policy_pack_config({"all": "mandatory", "kms-key-rotation": "disabled"}, "inline")
    pack.configure(reconcile_config(info, file_config))
    found = diagnostics(pack.analyze(unrotated_key()))
    assert "kms-key-rotation" not in found
    assert found["required-tags"][0] == MANDATORY


# --- Analyze: what arrives over the wire ----------------------------------------------------------


def test_numbers_arrive_as_floats_and_are_compared_numerically(
    pack: RunningPack, info: analyzer_pb2.AnalyzerInfo
) -> None:
    configure(pack, info, "prod")
    config = recorded(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "config",
        {
            "productionVariants": [
                {"variantName": "champion", "modelName": "m", "instanceType": "ml.m5.xlarge", "initialInstanceCount": 1}
            ],
            "kmsKeyArn": KEY_ARN,
        },
    )
    found = diagnostics(pack.analyze(config))
    assert found["sagemaker-production-capacity"] == (
        MANDATORY,
        "productionVariants[0] (champion) starts 1 instance(s); production variants need at least 2 to survive an instance or zone failure.",
    )


def test_secret_inputs_reach_the_rules_unwrapped(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "prod")
    secret = {SECRET_SIG_KEY: SECRET_SIG, "value": "hunter2"}
    model = recorded(
        "aws:sagemaker/model:Model",
        "model",
        {
            "primaryContainer": {
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m:1",
                "environment": {"DB_PASSWORD": secret},
            }
        },
    )
    found = diagnostics(pack.analyze(model))
    assert found["no-secrets-in-container-environment"] == (
        MANDATORY,
        "primaryContainer environment variable 'DB_PASSWORD' is named like a secret and holds a literal value.",
    )


def test_policy_documents_as_json_strings(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "dev")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
    policy = recorded(
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "pull",
        {"repository": "r", "policy": json.dumps({"Statement": statement})},
    )
    found = diagnostics(pack.analyze(policy))
    assert found["resource-policies-not-public"][0] == MANDATORY


def test_the_provider_and_its_default_tags_reach_the_rules(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "prod")
    tags = {"owner": "o", "cost-center": "c", "data-classification": "internal", "environment": "prod"}
    provider = recorded("pulumi:providers:aws", "aws-prod", {"region": "eu-west-1", "defaultTags": {"tags": tags}})
    topic = recorded("aws:sns/topic:Topic", "alarms", {"kmsMasterKeyId": KEY_ARN}, provider=f"{provider.urn}::0f1e")
    assert "required-tags" in diagnostics(pack.analyze(topic))
    assert "required-tags" not in diagnostics(pack.analyze(topic, {provider.urn: provider}))


def test_unknown_values_in_preview_become_advisory(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "prod")
    model = recorded("aws:sagemaker/model:Model", "model", {"vpcConfig": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
    assert diagnostics(pack.analyze(model))["sagemaker-model-in-vpc"] == (
        ADVISORY,
        "can't run policy 'sagemaker-model-in-vpc' from policy pack 'modelplane-guard@v0.0.1' during preview:"
        " string value at .vpcConfig can't be known during preview",
    )


# --- AnalyzeStack ---------------------------------------------------------------------------------


def test_stack_rules_see_the_graph(pack: RunningPack, info: analyzer_pb2.AnalyzerInfo) -> None:
    configure(pack, info, "prod")
    bucket = recorded("aws:s3/bucket:Bucket", "artifacts", {"bucket": "artifacts-1a2b3c4"})
    versioning = recorded(
        "aws:s3/bucketVersioning:BucketVersioning",
        "versioning",
        {"bucket": "renamed-in-outputs", "versioningConfiguration": {"status": "Enabled"}},
        dependencies=[bucket.urn],
        property_dependencies={"bucket": [bucket.urn]},
    )
    response = pack.analyze_stack([bucket, versioning])
    by_policy = {d.policyName: d for d in response.diagnostics}
    assert "s3-bucket-versioning" not in by_policy
    block = by_policy["s3-bucket-public-access-block"]
    assert (block.enforcementLevel, block.urn) == (analyzer_pb2.MANDATORY, bucket.urn)
    assert block.message.endswith("bucket 'artifacts-1a2b3c4' has no BucketPublicAccessBlock.")


# --- the driver's own contract ----------------------------------------------------------------------


def test_a_pack_that_fails_to_import_is_reported_with_its_error(tmp_path: Path) -> None:
    broken = tmp_path / "pack"
    shutil.copytree(PACK_DIR, broken, ignore=shutil.ignore_patterns("__pycache__"))
    (broken / "modelplane_guard" / "__init__.py").write_text("raise ImportError('rule module missing')\n")
    with pytest.raises(PolicyPackError, match="rule module missing"), start_pack(IDENTITY, broken):
        pass


def test_invalid_policy_config_is_refused(info: analyzer_pb2.AnalyzerInfo) -> None:
    file_config = parse_policy_pack_config({"sagemaker-production-capacity": {"minInstanceCount": "two"}}, "prod.json")
    with pytest.raises(PolicyPackError, match=r"sagemaker-production-capacity: 'two' is not of type 'number'"):
        reconcile_config(info, file_config, "prod.json")


def test_invalid_enforcement_level_is_refused() -> None:
    with pytest.raises(BadInput, match="'strict' is not one of advisory, mandatory, remediate, disabled"):
        parse_policy_pack_config({"all": "strict"}, "prod.json")


def test_local_stacks_are_judged_like_dev() -> None:
    assert policy_config_path("local") == policy_config_path("dev") == PACK_DIR / "config" / "dev.json"


def test_analyze_reports_policies_and_violations() -> None:
    key = unrotated_key()
    simulation = Simulation("modelplane", "prod", "prod", "stacks/Pulumi.prod.yaml", [key])
    report = analyze(simulation)
    assert (report.pack, report.version, report.config_file) == (
        "modelplane-guard",
        "0.1.0",
        str(policy_config_path("prod")),
    )
    rotation = next(policy for policy in report.policies if policy.name == "kms-key-rotation")
    assert rotation.source_ids == ("CKV_AWS_7", "aws-config:cmk-backing-key-rotation-enabled")
    assert rotation.tags == ("kms", "encryption")
    assert (rotation.severity, rotation.enforcement_level) == ("high", "mandatory")
    violation = next(violation for violation in report.violations if violation.policy == "kms-key-rotation")
    assert (violation.level, violation.urn, violation.type) == ("mandatory", key.urn, "aws:kms/key:Key")
    assert violation.message == "enableKeyRotation is not true: the key material never changes."
    assert [policy.name for policy in report.policies] == sorted(BY_NAME)
