"""SageMaker endpoints as each stack registers them: the execution role's exact permissions, the models
and the auto-named configuration (A/B weights, shadow, serverless, encryption, capture), deployment
guardrails with automatic rollback, autoscaling, and prod-only protection.

`tests/fixtures/Pulumi.gpu.yaml` covers what the shipped stacks don't: an NVMe instance type,
asynchronous inference, rolling and linear deployments, and a model baked into its image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pytest
from modelplane_components.naming import endpoint_log_group, endpoint_name
from policy_sentry.querying.actions import get_action_data

from modelplane.config.loader import PROJECT
from modelplane.offline.graph import ACCOUNT_ID, RecordedResource, Simulation, reveal
from modelplane.settings import Endpoint, Platform, Settings
from tests.stacks import FIXTURES_DIR, SimulateStack, settings_of

COMPONENT = "modelplane:index:SageMakerEndpoint"
MONITORING = "modelplane:index:EndpointMonitoring"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GPU = FIXTURES_DIR / "Pulumi.gpu.yaml"
STACKS: tuple[str | Path, ...] = ("dev", "staging", "prod", GPU)
# Statements whose actions take no resource in IAM; every other statement names its resources.
RESOURCELESS = {"LogInToEcr", "PublishInstanceMetrics", "DescribeNetwork"}


@dataclass(frozen=True)
class Deployed:
    """One recorded SageMakerEndpoint component with its settings and the stack around it."""

    simulation: Simulation
    settings: Settings
    endpoint: Endpoint
    component: RecordedResource

    @property
    def stack(self) -> str:
        return self.simulation.stack

    @property
    def name(self) -> str:
        return endpoint_name(self.endpoint.name, self.stack)

    def child(self, type_token: str, name: str | None = None) -> RecordedResource:
        (found,) = self.children(type_token, name)
        return found

    def children(self, type_token: str, name: str | None = None) -> list[RecordedResource]:
        return [
            r
            for r in self.simulation.children(self.component)
            if r.type == type_token and (name is None or r.name == name)
        ]

    def model(self, variant: str) -> RecordedResource:
        return self.child(MODEL, f"{self.endpoint.name}-{variant}-model")

    @property
    def config(self) -> RecordedResource:
        return self.child(CONFIG)

    @cached_property
    def statements(self) -> dict[str, dict[str, Any]]:
        document = json.loads(reveal(self.child(ROLE_POLICY).inputs["policy"]))
        assert document["Version"] == "2012-10-17"
        by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
        assert len(by_sid) == len(document["Statement"]), "statement ids are unique"
        return by_sid

    @property
    def registry(self) -> dict[str, Any]:
        return reveal(self.simulation.outputs["registry"])

    @property
    def family(self) -> dict[str, Any]:
        return self.registry["families"][self.endpoint.family]

    @property
    def output(self) -> dict[str, Any]:
        return reveal(self.simulation.outputs["endpoints"])[self.endpoint.name]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.settings.region}:{ACCOUNT_ID}:{resource}"

    def bucket_object(self, key: str) -> str:
        return f"{self.registry['bucket_arn']}/{key}"


def deployed(simulate_stack: SimulateStack, stack: str | Path, endpoint: str) -> Deployed:
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    (endpoint_settings,) = [e for e in settings.endpoints if e.name == endpoint]
    return Deployed(simulation, settings, endpoint_settings, simulation.one(COMPONENT, endpoint))


def every_endpoint(simulate_stack: SimulateStack) -> list[Deployed]:
    return [
        deployed(simulate_stack, stack, endpoint.name)
        for stack in STACKS
        for endpoint in settings_of(stack).endpoints
        if endpoint.platform is Platform.SAGEMAKER
    ]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- A small IAM evaluator: Allow statements, wildcards and the condition operators the role uses. ---


@dataclass(frozen=True)
class Request:
    """One call the role makes: action, resource ARN (`*` for actions without one), request context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


CONDITIONS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": wildcard_match,
}


def allows(statement: Mapping[str, Any], request: Request) -> bool:
    if statement["Effect"] != "Allow":
        return False
    if not any(wildcard_match(a, request.action, ignore_case=True) for a in listed(statement["Action"])):
        return False
    if not any(wildcard_match(r, request.resource) for r in listed(statement["Resource"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            actual = request.context.get(key)
            if actual is None or not any(CONDITIONS[operator](e, actual) for e in listed(expected)):
                return False
    return True


def role_allows(target: Deployed, request: Request) -> bool:
    return any(allows(statement, request) for statement in target.statements.values())


@cache
def resource_formats(action: str) -> tuple[str, ...]:
    """ARN formats the IAM reference lists for an action (`*` alone: it takes no resource)."""
    service, name = action.split(":")
    entries = get_action_data(service, name).get(service, [])
    assert entries, f"{action} is not an IAM action"
    return tuple(sorted({entry["resource_arn_format"] for entry in entries}))


def is_valid_request(request: Request) -> bool:
    formats = resource_formats(request.action)
    if request.resource == "*":
        return formats == ("*",)
    patterns = [re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(f)) for f in formats if f != "*"]
    return any(re.fullmatch(pattern, request.resource) for pattern in patterns)


def needed_requests(target: Deployed) -> list[Request]:
    """The calls SageMaker makes as the execution role to run this endpoint, per AWS's documentation."""
    endpoint, settings = target.endpoint, target.settings
    key = target.registry["key_arn"]
    log_group = target.arn("logs", f"log-group:{endpoint_log_group(target.name)}")
    requests = [
        Request("ecr:GetAuthorizationToken", "*"),
        *(
            Request(action, target.family["repository_arn"])
            for action in ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
        ),
        Request("kms:Decrypt", key),
        Request("logs:CreateLogGroup", log_group),
        Request("logs:DescribeLogStreams", log_group),
        Request("logs:CreateLogStream", f"{log_group}:log-stream:AllTraffic/i-0123456789abcdef0"),
        Request("logs:PutLogEvents", f"{log_group}:log-stream:AllTraffic/i-0123456789abcdef0"),
        Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}),
    ]
    for variant in endpoint.all_variants:
        if variant.model_artifact:
            requests.append(Request("s3:GetObject", target.bucket_object(variant.model_artifact)))
        if variant.model_package_version is not None:
            package = f"model-package/{target.family['model_package_group_name']}/{variant.model_package_version}"
            requests.append(Request("sagemaker:DescribeModelPackage", target.arn("sagemaker", package)))
            requests.append(
                Request(
                    "s3:GetObject", target.bucket_object(f"{endpoint.family}/v{variant.model_package_version}.tar.gz")
                )
            )
    writes = []
    if target.output["data_capture"]:
        writes.append(f"data-capture/{target.name}/{endpoint.variants[0].name}/2030/01/31/23/capture.jsonl")
    if endpoint.async_inference:
        writes += [f"async-output/{target.name}/results/r.out", f"async-output/{target.name}/failures/r.out"]
        requests.append(Request("s3:GetObject", target.bucket_object(f"async-input/{target.name}/request.json")))
    requests += [Request("s3:PutObject", target.bucket_object(key_)) for key_ in writes]
    if writes:
        requests.append(Request("kms:GenerateDataKey", key))
    for alarm in target.output["rollback_alarm_names"]:
        requests.append(Request("cloudwatch:DescribeAlarms", target.arn("cloudwatch", f"alarm:{alarm}")))
    for secret in endpoint.secrets:
        requests.append(Request("secretsmanager:GetSecretValue", reveal(target.simulation.outputs["secrets"])[secret]))
    network = settings.network
    if network is not None and any(v.instance_type for v in endpoint.all_variants):
        subnet = target.arn("ec2", f"subnet/{network.subnet_ids[0]}")
        interface = target.arn("ec2", "network-interface/eni-0123456789abcdef0")
        requests += [Request(f"ec2:Describe{thing}", "*") for thing in ("Vpcs", "Subnets", "SecurityGroups")]
        requests += [
            Request("ec2:DescribeNetworkInterfaces", "*"),
            Request("ec2:DescribeDhcpOptions", "*"),
            Request("ec2:CreateNetworkInterface", interface),
            Request("ec2:CreateNetworkInterface", subnet),
            Request("ec2:CreateNetworkInterface", target.arn("ec2", f"security-group/{network.security_group_ids[0]}")),
            Request("ec2:CreateNetworkInterfacePermission", interface, {"ec2:Subnet": subnet}),
            Request("ec2:DeleteNetworkInterface", interface, {"ec2:Subnet": subnet}),
            Request("ec2:DeleteNetworkInterfacePermission", interface, {"ec2:Subnet": subnet}),
        ]
    return requests


def test_each_shipped_sagemaker_endpoint_is_one_component(simulate_stack: SimulateStack) -> None:
    for stack in STACKS:
        settings = settings_of(stack)
        expected = {e.name for e in settings.endpoints if e.platform is Platform.SAGEMAKER}
        assert {c.name for c in simulate_stack(stack).of_type(COMPONENT)} == expected


def test_role_is_assumable_only_by_sagemaker_acting_for_this_account(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        role = target.child(ROLE)
        trust = json.loads(reveal(role.inputs["assumeRolePolicy"]))
        assert trust["Statement"] == [
            {
                "Sid": "SageMakerOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": target.arn("sagemaker", "*")},
                },
            }
        ]
        assert not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies")
        attached = [p for p in target.simulation.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["name"]]
        assert attached == [target.child(ROLE_POLICY)], "one inline policy, nothing else grants the role"
        assert not [a for a in target.simulation.of_type(POLICY_ATTACHMENT) if a.inputs["role"] == role.outputs["name"]]


def test_prod_policy_grants_exactly_what_the_fraud_endpoint_needs(simulate_stack: SimulateStack) -> None:
    target = deployed(simulate_stack, "prod", "fraud")
    region, bucket, key = target.settings.region, target.registry["bucket_arn"], target.registry["key_arn"]
    log_group = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/fraud-prod"
    ec2 = f"arn:aws:ec2:{region}:{ACCOUNT_ID}"
    network = target.settings.network
    assert network is not None
    subnets = [f"{ec2}:subnet/{subnet}" for subnet in network.subnet_ids]
    secret = reveal(target.simulation.outputs["secrets"])["feature-store-token"]
    rollback = target.output["rollback_alarm_names"]
    assert target.statements == {
        "PullModelImage": {
            "Sid": "PullModelImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": target.family["repository_arn"],
        },
        "LogInToEcr": {
            "Sid": "LogInToEcr",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*",
        },
        "UseStackKey": {
            "Sid": "UseStackKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key,
        },
        "WriteEndpointLogs": {
            "Sid": "WriteEndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [log_group, f"{log_group}:*"],
        },
        "PublishInstanceMetrics": {
            "Sid": "PublishInstanceMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        },
        "ReadModelArtifacts": {
            "Sid": "ReadModelArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket}/fraud-detector/*"],
        },
        "DescribeModelPackages": {
            "Sid": "DescribeModelPackages",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": [f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:model-package/fraud-detector-prod/11"],
        },
        "WriteCaptureAndResults": {
            "Sid": "WriteCaptureAndResults",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{bucket}/data-capture/fraud-prod/*"],
        },
        "ReadRollbackAlarms": {
            "Sid": "ReadRollbackAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": [f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{alarm}" for alarm in rollback],
        },
        "ReadEndpointSecrets": {
            "Sid": "ReadEndpointSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret],
        },
        "DescribeNetwork": {
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
        "CreateInterfacesInModelSubnets": {
            "Sid": "CreateInterfacesInModelSubnets",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": [f"{ec2}:network-interface/*", *subnets, f"{ec2}:security-group/sg-0a4b5c6d7e8f90a1b"],
        },
        "ManageInterfacesInModelSubnets": {
            "Sid": "ManageInterfacesInModelSubnets",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            "Resource": f"{ec2}:network-interface/*",
            "Condition": {"ArnEquals": {"ec2:Subnet": subnets}},
        },
    }


@pytest.mark.parametrize(
    ("stack", "endpoint", "absent"),
    [
        # Serverless: no capture, no VPC; reads its archive, writes nothing, so no GenerateDataKey.
        ("dev", "fraud", {"DescribeModelPackages", "WriteCaptureAndResults", "DescribeNetwork"}),
        ("staging", "churn", {"ReadEndpointSecrets"}),
        (GPU, "vision", {"DescribeModelPackages", "ReadEndpointSecrets"}),
        # The model is baked into its image and capture is off: nothing to read or write in the bucket.
        (
            GPU,
            "ranker",
            {"ReadModelArtifacts", "DescribeModelPackages", "WriteCaptureAndResults", "ReadEndpointSecrets"},
        ),
    ],
)
def test_policy_has_only_the_statements_the_endpoint_needs(
    simulate_stack: SimulateStack, stack: str | Path, endpoint: str, absent: set[str]
) -> None:
    statements = deployed(simulate_stack, stack, endpoint).statements
    assert absent.isdisjoint(statements)
    assert {"PullModelImage", "LogInToEcr", "UseStackKey", "WriteEndpointLogs", "ReadRollbackAlarms"} <= set(statements)
    writes = "WriteCaptureAndResults" in statements
    assert ("kms:GenerateDataKey" in statements["UseStackKey"]["Action"]) is writes


def test_every_call_sagemaker_makes_is_a_real_iam_request_and_allowed(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        for request in needed_requests(target):
            assert is_valid_request(request), f"{request} does not match the IAM reference"
            assert role_allows(target, request), f"{target.name} role denies {request}"


def test_no_statement_grants_more_than_a_needed_call(simulate_stack: SimulateStack) -> None:
    """Every statement serves a call; `*` only where IAM has no resource for the action."""
    for target in every_endpoint(simulate_stack):
        requests = needed_requests(target)
        for sid, statement in target.statements.items():
            assert statement["Effect"] == "Allow"
            actions = listed(statement["Action"])
            assert all("*" not in action for action in actions)
            for action in actions:
                assert any(allows({**statement, "Action": action}, r) for r in requests), f"{sid}: {action} unused"
            if statement["Resource"] == "*":
                assert sid in RESOURCELESS
                assert all(resource_formats(action) == ("*",) for action in actions), sid


def test_role_cannot_reach_the_neighbouring_endpoint(simulate_stack: SimulateStack) -> None:
    fraud, churn = (deployed(simulate_stack, "staging", name) for name in ("fraud", "churn"))
    other_subnet = fraud.arn("ec2", "subnet/subnet-0ffffffffffffffff")
    denied = [
        Request("ecr:BatchGetImage", churn.family["repository_arn"]),
        Request("s3:GetObject", fraud.bucket_object("churn/v4.tar.gz")),
        Request("s3:PutObject", fraud.bucket_object("data-capture/churn-staging/current/x.jsonl")),
        Request("s3:PutObject", fraud.bucket_object("fraud-detector/overwritten.tar.gz")),
        Request("s3:DeleteObject", fraud.bucket_object("data-capture/fraud-staging/champion/x.jsonl")),
        Request(
            "logs:PutLogEvents", fraud.arn("logs", "log-group:/aws/sagemaker/Endpoints/churn-staging:log-stream:x")
        ),
        Request(
            "logs:PutLogEvents", fraud.arn("logs", "log-group:/aws/sagemaker/Endpoints/fraud-staging2:log-stream:x")
        ),
        Request(
            "cloudwatch:DescribeAlarms", fraud.arn("cloudwatch", f"alarm:{churn.output['rollback_alarm_names'][0]}")
        ),
        Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/SageMaker"}),
        Request("sagemaker:DescribeModelPackage", fraud.arn("sagemaker", "model-package/churn-staging/4")),
        Request("kms:Decrypt", fraud.arn("kms", "key/00000000-0000-0000-0000-000000000000")),
        Request("ec2:CreateNetworkInterface", other_subnet),
        Request(
            "ec2:DeleteNetworkInterface", fraud.arn("ec2", "network-interface/eni-1"), {"ec2:Subnet": other_subnet}
        ),
        Request("secretsmanager:GetSecretValue", fraud.arn("secretsmanager", "secret:other-AbCdEf")),
    ]
    for request in denied:
        assert is_valid_request(request), request
        assert not role_allows(fraud, request), f"fraud role allows {request}"
    assert not any(
        r.action == "secretsmanager:GetSecretValue" and role_allows(churn, r) for r in needed_requests(fraud)
    )


def test_models_and_configurations_are_auto_named_and_the_endpoint_has_its_known_name(
    simulate_stack: SimulateStack,
) -> None:
    for target in every_endpoint(simulate_stack):
        for resource in [*target.children(MODEL), target.config]:
            assert "name" not in resource.inputs, f"{resource.name}: a fixed name blocks replacement"
            assert re.fullmatch(rf"{re.escape(resource.name)}-[0-9a-f]{{7}}", resource.outputs["name"])
            assert not resource.delete_before_replace
        sagemaker_endpoint = target.child(ENDPOINT)
        assert sagemaker_endpoint.inputs["name"] == target.name
        assert sagemaker_endpoint.inputs["endpointConfigName"] == target.config.outputs["name"]
        assert sagemaker_endpoint.property_dependencies["endpointConfigName"] == [target.config.urn]


def test_models_run_their_family_image_with_the_configured_model(simulate_stack: SimulateStack) -> None:
    dev = deployed(simulate_stack, "dev", "fraud")
    container = dev.model("current").inputs["primaryContainer"]
    assert container["image"] == f"{dev.family['repository_url']}:2.3.1"
    assert container["modelDataUrl"] == f"s3://{dev.registry['bucket_name']}/fraud-detector/2.3.1/model.tar.gz"

    vision = deployed(simulate_stack, GPU, "vision")
    digest = vision.endpoint.variants[0].image_digest
    assert vision.model("current").inputs["primaryContainer"]["image"] == f"{vision.family['repository_url']}@{digest}"
    ranker = deployed(simulate_stack, GPU, "ranker")
    assert ranker.model("green").inputs["primaryContainer"] == {"image": f"{ranker.family['repository_url']}:1.1.0"}

    # A registered version brings its own image and archive (its inference specification).
    staging = deployed(simulate_stack, "staging", "fraud")
    for variant, version in (("champion", 11), ("challenger", 12)):
        container = staging.model(variant).inputs["primaryContainer"]
        package = f"model-package/{staging.family['model_package_group_name']}/{version}"
        assert container["modelPackageName"] == staging.arn("sagemaker", package)
        assert "image" not in container and "modelDataUrl" not in container


def test_models_get_settings_environment_and_secret_arns_only(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        secret_arns = reveal(target.simulation.outputs["secrets"])
        for variant in target.endpoint.all_variants:
            expected = {
                **({"MODELPLANE_MAX_PAYLOAD_MB": "1024"} if target.endpoint.async_inference else {}),
                **variant.environment,
                **{f"{s.upper().replace('-', '_')}_SECRET_ARN": secret_arns[s] for s in target.endpoint.secrets},
            }
            assert target.model(variant.name).inputs["primaryContainer"].get("environment", {}) == expected
    dev = deployed(simulate_stack, "dev", "fraud")
    assert dev.model("current").inputs["primaryContainer"]["environment"]["SCORE_THRESHOLD"] == "0.82"


def test_models_are_isolated_and_placed_in_the_private_subnets(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        network = target.settings.network
        for variant in target.endpoint.all_variants:
            model = target.model(variant.name)
            assert model.inputs["executionRoleArn"] == target.child(ROLE).outputs["arn"]
            assert target.child(ROLE_POLICY).urn in model.dependencies, "permissions exist before the model"
            if variant.serverless is not None or network is None:
                assert "vpcConfig" not in model.inputs
            else:
                assert model.inputs["vpcConfig"] == {
                    "subnets": network.subnet_ids,
                    "securityGroupIds": network.security_group_ids,
                }
            # Serverless doesn't support isolation; a model given secrets must reach Secrets Manager.
            isolated = variant.serverless is None and not target.endpoint.secrets
            assert model.inputs["enableNetworkIsolation"] is isolated
    assert deployed(simulate_stack, "staging", "churn").model("candidate").inputs["enableNetworkIsolation"] is True


def test_staging_splits_traffic_between_variants_by_weight(simulate_stack: SimulateStack) -> None:
    fraud = deployed(simulate_stack, "staging", "fraud")
    variants = fraud.config.inputs["productionVariants"]
    assert [(v["variantName"], v["initialVariantWeight"]) for v in variants] == [("champion", 80), ("challenger", 20)]
    assert all(v["instanceType"] == "ml.m5.large" and v["initialInstanceCount"] == 1 for v in variants)
    assert [v["modelName"] for v in variants] == [fraud.model(n).outputs["name"] for n in ("champion", "challenger")]
    assert fraud.output["variants"] == {
        "champion": {"weight": 80, "traffic_share": 0.8},
        "challenger": {"weight": 20, "traffic_share": 0.2},
    }
    assert fraud.output["shadow_variant"] is None and "shadowProductionVariants" not in fraud.config.inputs
    ranker = deployed(simulate_stack, GPU, "ranker")
    assert {v: o["traffic_share"] for v, o in ranker.output["variants"].items()} == {"blue": 0.75, "green": 0.25}


def test_shadow_variant_receives_a_copy_of_all_production_traffic(simulate_stack: SimulateStack) -> None:
    churn = deployed(simulate_stack, "staging", "churn")
    (production,) = churn.config.inputs["productionVariants"]
    (shadow,) = churn.config.inputs["shadowProductionVariants"]
    assert shadow == {
        "variantName": "candidate",
        "modelName": churn.model("candidate").outputs["name"],
        "initialVariantWeight": production["initialVariantWeight"],
        "instanceType": "ml.c5.xlarge",
        "initialInstanceCount": 1,
    }
    assert production["variantName"] == "current"
    assert churn.output["shadow_variant"] == "candidate"
    assert list(churn.output["variants"]) == ["current"]


def test_dev_serves_serverless_without_capture(simulate_stack: SimulateStack) -> None:
    dev = deployed(simulate_stack, "dev", "fraud")
    (variant,) = dev.config.inputs["productionVariants"]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 5}
    assert "instanceType" not in variant and "initialInstanceCount" not in variant
    assert "dataCaptureConfig" not in dev.config.inputs
    assert dev.output["data_capture"] is False
    assert dev.output["autoscaling"] == {} and not dev.children(TARGET)


def test_volumes_use_the_stack_key_except_on_local_nvme(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        key = target.registry["key_arn"]
        config = target.config.inputs
        if target.endpoint.name == "vision":
            # ml.g5 has local NVMe, encrypted by the instance: SageMaker rejects a volume key there.
            assert "kmsKeyArn" not in config
            assert config["dataCaptureConfig"]["kmsKeyId"] == key
            assert config["asyncInferenceConfig"]["outputConfig"]["kmsKeyId"] == key
        else:
            assert config["kmsKeyArn"] == key


@pytest.mark.parametrize(("stack", "endpoint", "sampling"), [("staging", "churn", 50), ("prod", "fraud", 10)])
def test_captured_data_lands_encrypted_under_the_endpoints_prefix(
    simulate_stack: SimulateStack, stack: str, endpoint: str, sampling: int
) -> None:
    target = deployed(simulate_stack, stack, endpoint)
    assert target.config.inputs["dataCaptureConfig"] == {
        "enableCapture": True,
        "initialSamplingPercentage": sampling,
        "destinationS3Uri": f"s3://{target.registry['bucket_name']}/data-capture/{target.name}",
        "kmsKeyId": target.registry["key_arn"],
        "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
    }
    assert target.output["data_capture"] is True
    ranker = deployed(simulate_stack, GPU, "ranker")
    assert "dataCaptureConfig" not in ranker.config.inputs and ranker.output["data_capture"] is False


def test_asynchronous_results_land_encrypted_in_the_bucket(simulate_stack: SimulateStack) -> None:
    vision = deployed(simulate_stack, GPU, "vision")
    prefix = f"s3://{vision.registry['bucket_name']}/async-output/{vision.name}/"
    assert vision.config.inputs["asyncInferenceConfig"] == {
        "outputConfig": {
            "s3OutputPath": f"{prefix}results",
            "s3FailurePath": f"{prefix}failures",
            "kmsKeyId": vision.registry["key_arn"],
        },
        "clientConfig": {"maxConcurrentInvocationsPerInstance": 2},
    }
    assert all("asyncInferenceConfig" not in t.config.inputs for t in every_endpoint(simulate_stack) if t != vision)
    for variant in vision.endpoint.all_variants:
        environment = vision.model(variant.name).inputs["primaryContainer"]["environment"]
        assert environment["MODELPLANE_MAX_PAYLOAD_MB"] == "1024", "asynchronous payloads reach 1 GB"
    for other in every_endpoint(simulate_stack):
        if other != vision:
            for variant in other.endpoint.all_variants:
                environment = other.model(variant.name).inputs["primaryContainer"].get("environment", {})
                assert "MODELPLANE_MAX_PAYLOAD_MB" not in environment, "real-time keeps the server's 6 MB"


@pytest.mark.parametrize(
    ("stack", "endpoint", "expected"),
    [
        (
            "prod",
            "fraud",
            {
                "blueGreenUpdatePolicy": {
                    "trafficRoutingConfiguration": {
                        "type": "CANARY",
                        "waitIntervalInSeconds": 600,
                        "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
                    },
                    "terminationWaitInSeconds": 300,
                    "maximumExecutionTimeoutInSeconds": 3300,
                }
            },
        ),
        (
            "staging",
            "fraud",
            {
                "blueGreenUpdatePolicy": {
                    "trafficRoutingConfiguration": {
                        "type": "CANARY",
                        "waitIntervalInSeconds": 300,
                        "canarySize": {"type": "CAPACITY_PERCENT", "value": 25},
                    },
                    "terminationWaitInSeconds": 120,
                    "maximumExecutionTimeoutInSeconds": 3000,
                }
            },
        ),
        (
            "dev",
            "fraud",
            {
                "blueGreenUpdatePolicy": {
                    "trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 300},
                    "terminationWaitInSeconds": 120,
                    "maximumExecutionTimeoutInSeconds": 3000,
                }
            },
        ),
        (
            GPU,
            "vision",
            {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1},
                    # A rollback in the same steps: absent, SageMaker brings the whole old fleet back at once.
                    "rollbackMaximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1},
                    "waitIntervalInSeconds": 120,
                    "maximumExecutionTimeoutInSeconds": 1800,
                }
            },
        ),
        (
            GPU,
            "ranker",
            {
                "blueGreenUpdatePolicy": {
                    "trafficRoutingConfiguration": {
                        "type": "LINEAR",
                        "waitIntervalInSeconds": 300,
                        "linearStepSize": {"type": "CAPACITY_PERCENT", "value": 25},
                    },
                    "terminationWaitInSeconds": 120,
                    "maximumExecutionTimeoutInSeconds": 3000,
                }
            },
        ),
    ],
)
def test_deployments_shift_traffic_as_settings_ask_and_roll_back_on_the_alarms(
    simulate_stack: SimulateStack, stack: str | Path, endpoint: str, expected: dict[str, Any]
) -> None:
    target = deployed(simulate_stack, stack, endpoint)
    config = dict(target.child(ENDPOINT).inputs["deploymentConfig"])
    rollback = config.pop("autoRollbackConfiguration")
    assert config == expected
    monitoring = target.simulation.one(MONITORING, f"{endpoint}-monitoring")
    alarms = {a.inputs["name"]: a.urn for a in target.simulation.descendants(monitoring) if a.type == ALARM}
    names = [alarm["alarmName"] for alarm in rollback["alarms"]]
    assert names == target.output["rollback_alarm_names"]
    assert 1 <= len(names) <= 10 and set(names) <= set(alarms)
    # The component (so every child) is created after the alarms it names: SageMaker checks they exist.
    assert {alarms[name] for name in names} <= set(target.component.dependencies)


def test_instance_variants_autoscale_on_invocations_from_the_real_endpoint_name(simulate_stack: SimulateStack) -> None:
    for stack, endpoint, variants in (
        ("prod", "fraud", ["champion"]),
        ("staging", "fraud", ["champion", "challenger"]),
    ):
        target = deployed(simulate_stack, stack, endpoint)
        scaling = target.endpoint.autoscaling
        assert scaling is not None
        sagemaker_endpoint = target.child(ENDPOINT)
        assert {t.name for t in target.children(TARGET)} == {f"{endpoint}-{v}-scaling-target" for v in variants}
        for variant in variants:
            scaling_target = target.child(TARGET, f"{endpoint}-{variant}-scaling-target")
            resource_id = f"endpoint/{sagemaker_endpoint.outputs['name']}/variant/{variant}"
            assert scaling_target.inputs == {
                "serviceNamespace": "sagemaker",
                "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "resourceId": resource_id,
                "minCapacity": scaling.min_capacity,
                "maxCapacity": scaling.max_capacity,
                "tags": target.settings.base_tags(PROJECT, target.stack),
            }
            # Built from the endpoint's output and ordered after it: deleted (deregistered) before it.
            assert scaling_target.property_dependencies["resourceId"] == [sagemaker_endpoint.urn]
            assert sagemaker_endpoint.urn in scaling_target.dependencies
            policy = target.child(SCALING_POLICY, f"{endpoint}-{variant}-scaling-policy")
            assert policy.inputs["policyType"] == "TargetTrackingScaling"
            assert policy.inputs["resourceId"] == resource_id
            assert policy.property_dependencies["resourceId"] == [scaling_target.urn]
            assert policy.inputs["targetTrackingScalingPolicyConfiguration"] == {
                "targetValue": scaling.target_invocations_per_instance,
                "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "scaleInCooldown": scaling.scale_in_cooldown_seconds,
                "scaleOutCooldown": scaling.scale_out_cooldown_seconds,
            }
            assert target.output["autoscaling"][variant] == {
                "resource_id": resource_id,
                "min_capacity": scaling.min_capacity,
                "max_capacity": scaling.max_capacity,
            }
    churn = deployed(simulate_stack, "staging", "churn")
    assert not churn.children(TARGET) and churn.output["autoscaling"] == {}


def test_only_prod_protects_the_endpoint_and_keeps_superseded_configurations(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        prod = target.settings.is_prod
        assert target.child(ENDPOINT).protect is prod
        for resource in [target.config, *target.children(MODEL)]:
            assert resource.retain_on_delete is prod and not resource.protect
        assert not any(r.delete_before_replace for r in target.simulation.descendants(target.component))


def test_every_taggable_resource_carries_the_stack_tags(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        tags = target.settings.base_tags(PROJECT, target.stack)
        for resource in target.simulation.descendants(target.component):
            if resource.type in {ROLE, MODEL, CONFIG, ENDPOINT, TARGET}:
                assert resource.inputs["tags"] == tags, resource.name


def test_stack_output_describes_the_deployed_endpoint(simulate_stack: SimulateStack) -> None:
    for target in every_endpoint(simulate_stack):
        sagemaker_endpoint = target.child(ENDPOINT)
        output = target.output
        assert output["platform"] == "sagemaker"
        assert output["endpoint_name"] == sagemaker_endpoint.outputs["name"] == target.name
        assert output["endpoint_arn"] == sagemaker_endpoint.outputs["arn"]
        assert output["endpoint_config_name"] == target.config.outputs["name"]
        assert output["role_arn"] == target.child(ROLE).outputs["arn"]
        shares = target.endpoint.traffic_shares()
        assert output["variants"] == {
            v.name: {"weight": v.weight, "traffic_share": shares[v.name]} for v in target.endpoint.variants
        }


# --- The component on its own, from hand-made arguments ----------------------------------------

TEAM_BUCKET = "team-models"


def endpoint_scenario() -> None:
    """A team's endpoint: subnets, security group and rollback alarms given as outputs, a registered model
    version, asynchronous inference and a secret; protected and keeping superseded configurations."""
    import pulumi
    import pulumi_aws as aws
    from modelplane_components.sagemaker_endpoint import DeploymentStrategy, SageMakerEndpoint, StepType

    opts = pulumi.ResourceOptions(provider=aws.Provider("aws", region="eu-west-1"))
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", opts=opts)
    subnet = aws.ec2.Subnet("private", vpc_id=vpc.id, cidr_block="10.0.1.0/24", opts=opts)
    group = aws.ec2.SecurityGroup("models", vpc_id=vpc.id, opts=opts)
    alarms = vpc.id.apply(lambda _: ["scorer-team-champion-5xx-rate"])
    SageMakerEndpoint(
        "scorer",
        {
            "endpoint_name": "scorer-team",
            "variants": [
                {
                    "name": "champion",
                    "image_digest": "sha256:" + "a" * 64,
                    "model_package_version": 3,
                    "instance_type": "ml.m5.xlarge",
                    "instance_count": 2,
                    "environment": {"MODE": "batch", "MODELPLANE_MAX_PAYLOAD_MB": "200"},
                }
            ],
            "repository_url": f"{ACCOUNT_ID}.dkr.ecr.eu-west-1.amazonaws.com/scorer",
            "repository_arn": f"arn:aws:ecr:eu-west-1:{ACCOUNT_ID}:repository/scorer",
            "bucket_name": TEAM_BUCKET,
            "bucket_arn": f"arn:aws:s3:::{TEAM_BUCKET}",
            "kms_key_arn": f"arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/team",
            "model_package_group_name": "scorer-registry",
            "registered_artifact_prefix": "registry/scorer/",
            "network": {"subnet_ids": pulumi.Output.all(subnet.id), "security_group_ids": [group.id]},
            "deployment": {
                "strategy": DeploymentStrategy.ROLLING,
                "step": {"type": StepType.INSTANCE_COUNT, "value": 1},
            },
            "async_inference": {"max_concurrent_invocations_per_instance": 2},
            "secret_arns": {"api-token": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT_ID}:secret:api-token-abc123"},
            "rollback_alarm_names": alarms,
            "retain_superseded_configurations": True,
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)),
    )


@pytest.fixture(scope="module")
def component() -> Simulation:
    from tests.harness import run_isolated

    return run_isolated("tests.components.test_sagemaker_endpoint:endpoint_scenario")


def statements_of(simulation: Simulation) -> dict[str, dict[str, Any]]:
    document = json.loads(simulation.one(ROLE_POLICY).inputs["policy"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_network_outputs_reach_the_model_and_the_role(component: Simulation) -> None:
    subnet = component.one("aws:ec2/subnet:Subnet").outputs["name"]
    group = component.one("aws:ec2/securityGroup:SecurityGroup").outputs["name"]
    model = component.one(MODEL)
    assert model.inputs["vpcConfig"] == {"subnets": [subnet], "securityGroupIds": [group]}
    assert model.inputs["enableNetworkIsolation"] is False, "a model reading secrets needs the network"
    statements = statements_of(component)
    assert (
        f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:subnet/{subnet}"
        in statements["CreateInterfacesInModelSubnets"]["Resource"]
    )
    assert statements["ManageInterfacesInModelSubnets"]["Condition"]["ArnEquals"]["ec2:Subnet"] == [
        f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:subnet/{subnet}"
    ]


def test_a_registered_version_deploys_from_the_group_and_reads_below_its_prefix(component: Simulation) -> None:
    container = component.one(MODEL).inputs["primaryContainer"]
    version = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT_ID}:model-package/scorer-registry/3"
    assert container["modelPackageName"] == version
    assert "image" not in container
    assert container["environment"] == {
        "MODELPLANE_MAX_PAYLOAD_MB": "200",  # the variant's own limit wins over the asynchronous default
        "MODE": "batch",
        "API_TOKEN_SECRET_ARN": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT_ID}:secret:api-token-abc123",
    }
    statements = statements_of(component)
    assert statements["DescribeModelPackages"]["Resource"] == [version]
    assert f"arn:aws:s3:::{TEAM_BUCKET}/registry/scorer/*" in statements["ReadModelArtifacts"]["Resource"]
    assert f"arn:aws:s3:::{TEAM_BUCKET}/async-input/scorer-team/*" in statements["ReadModelArtifacts"]["Resource"]


def test_rollback_alarms_given_as_an_output_reach_the_deployment_and_the_role(component: Simulation) -> None:
    rolling = component.one(ENDPOINT).inputs["deploymentConfig"]
    assert rolling["rollingUpdatePolicy"]["maximumBatchSize"] == {"type": "INSTANCE_COUNT", "value": 1}
    assert rolling["rollingUpdatePolicy"]["rollbackMaximumBatchSize"] == {"type": "INSTANCE_COUNT", "value": 1}
    assert rolling["autoRollbackConfiguration"]["alarms"] == [{"alarmName": "scorer-team-champion-5xx-rate"}]
    assert statements_of(component)["ReadRollbackAlarms"]["Resource"] == [
        f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT_ID}:alarm:scorer-team-champion-5xx-rate"
    ]


def test_asynchronous_results_land_below_the_endpoints_prefix(component: Simulation) -> None:
    config = component.one(CONFIG).inputs["asyncInferenceConfig"]
    assert config["outputConfig"]["s3OutputPath"] == f"s3://{TEAM_BUCKET}/async-output/scorer-team/results"
    assert config["clientConfig"] == {"maxConcurrentInvocationsPerInstance": 2}
    assert "dataCaptureConfig" not in component.one(CONFIG).inputs, "nothing is captured unless asked"


def test_protect_reaches_the_endpoint_only_and_superseded_configurations_stay(component: Simulation) -> None:
    assert component.one(ENDPOINT).protect
    for token in (MODEL, CONFIG, ROLE, ROLE_POLICY):
        assert not component.one(token).protect, f"{token} is replaced by new versions"
    assert component.one(MODEL).retain_on_delete and component.one(CONFIG).retain_on_delete
    assert not component.one(ENDPOINT).retain_on_delete


# What every SageMakerEndpoint needs besides its variants.
REQUIRED_ARGS = {
    "endpoint_name": "e",
    "repository_url": "r",
    "repository_arn": "r",
    "bucket_name": "b",
    "bucket_arn": "b",
    "kms_key_arn": "k",
}
SERVERLESS = {"name": "current", "image_tag": "1.0.0", "serverless": {"memory_size_mb": 2048, "max_concurrency": 5}}
INSTANCES = {"name": "champion", "image_tag": "1.0.0", "instance_type": "ml.m5.large", "instance_count": 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"variants": [SERVERLESS], "deployment": {"strategy": "canary"}},
            "deployment.strategy: canary is not available for serverless variants",
        ),
        (
            {"variants": [SERVERLESS], "data_capture": {}},
            "data_capture: data capture is not available for serverless endpoints",
        ),
        (
            {"variants": [{**SERVERLESS, "serverless": {"memory_size_mb": 1000, "max_concurrency": 5}}]},
            "variants[0].serverless.memory_size_mb: must be one of 1024",
        ),
        (
            {"variants": [INSTANCES], "deployment": {"strategy": "linear", "step": {"value": 5}}},
            "deployment.step.value: linear steps must be 10-50 percent of capacity",
        ),
        (
            {"variants": [INSTANCES], "autoscaling": {"min_capacity": 3, "max_capacity": 5}},
            "variants[0].instance_count: must lie within autoscaling's 3..5",
        ),
        (
            {
                "variants": [{**INSTANCES, "instance_type": "ml.t2.medium"}],
                "autoscaling": {"min_capacity": 1, "max_capacity": 2},
            },
            "burstable ml.t* instances cannot autoscale",
        ),
        (
            {"variants": [{**INSTANCES, "model_package_version": 2}]},
            "model_package_group_name: required when a variant deploys a model_package_version",
        ),
        (
            {"variants": [INSTANCES], "rollback_alarm_names": [f"a{i}" for i in range(11)]},
            "rollback_alarm_names: SageMaker accepts at most 10 rollback alarms",
        ),
        ({"variants": [INSTANCES, {**INSTANCES}]}, "variants[1].name: duplicate variant name 'champion'"),
        (
            {"variants": [{**INSTANCES, "image_digest": "sha256:" + "b" * 64}]},
            "variants[0].image_tag: set exactly one of image_tag or image_digest",
        ),
        (
            {"variants": [INSTANCES], "deployment": {"bake_seconds": 2900, "termination_wait_seconds": 200}},
            "deployment.bake_seconds: bake and termination waits add up to 3100s",
        ),
    ],
)
def test_the_component_refuses_what_sagemaker_would(args: dict[str, Any], message: str) -> None:
    """Checked before anything is registered: no mocks needed, and the error names the argument."""
    from modelplane_components.sagemaker_endpoint import SageMakerEndpoint

    with pytest.raises(ValueError, match=re.escape(message)):
        SageMakerEndpoint("bad", {**REQUIRED_ARGS, **args})  # type: ignore[typeddict-item]


def test_the_component_refuses_a_name_its_models_cannot_be_auto_named_from() -> None:
    """Each model is auto-named `<component>-<variant>-model-` plus 7 random characters, which SageMaker's
    63-character ModelName must hold: the endpoint name alone fits, `pulumi up` would fail."""
    from modelplane_components.sagemaker_endpoint import SageMakerEndpoint

    name = "f" * 45
    shadow = {**INSTANCES, "name": "shadow"}
    with pytest.raises(ValueError) as refused:
        SageMakerEndpoint(name, {**REQUIRED_ARGS, "variants": [INSTANCES], "shadow": shadow})  # type: ignore[typeddict-item]

    assert str(refused.value) == (
        f"SageMakerEndpoint '{name}': name: the model of variant 'champion' would be auto-named "
        f"'{name}-champion-model-' plus 7 random chars, 68 characters, over SageMaker's ModelName maximum of 63; "
        f"name: the model of variant 'shadow' would be auto-named '{name}-shadow-model-' plus 7 random chars, "
        "66 characters, over SageMaker's ModelName maximum of 63"
    )
