"""Every rule of the pack on compliant and non-compliant inputs, with the exact messages it reports.

Inputs go through the same conversion as over gRPC (protobuf Struct, so numbers become floats, then
the SDK's read-only unknown-checking proxies), and each policy gets its config as the CLI would
send it: schema defaults with the case's overrides on top.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import unknown_checking_proxy

from policies.modelplane_guard import POLICIES
from policies.modelplane_guard.common import NOT_PRODUCTION

BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alarms-1a2b3c4"
IMAGE = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector:2.3.1"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:feature-store-token-abc123"
TAGS = {"owner": "ml@example.com", "cost-center": "cc-1", "data-classification": "internal", "environment": "dev"}
NOT_APPLICABLE = ["<not applicable>"]
DELETE = object()


@dataclass(frozen=True)
class Res:
    """A resource as a policy sees it; `depends` maps a property to the logical names it depends on."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    delete_before_replace: bool | None = None
    depends: dict[str, list[str]] = field(default_factory=dict)
    provider_props: dict[str, Any] | None = None

    @property
    def urn(self) -> str:
        return f"urn:pulumi:test::modelplane::{self.type}::{self.name}"


@dataclass(frozen=True)
class Case:
    policy: str
    id: str
    resources: list[Res]
    expected: list[str]
    """Exact messages; stack rules' messages are prefixed with `<logical name>: ` of the reported URN."""
    config: dict[str, Any] = field(default_factory=dict)


def wire(value: dict[str, Any]) -> Any:
    """As the SDK hands properties to a rule: through a protobuf Struct, then its proxies."""
    struct = json_format.ParseDict(value, struct_pb2.Struct())
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def patched(value: dict[str, Any], path: str, new: Any) -> dict[str, Any]:
    """A deep copy with `path` (dots, list indexes as numbers) set to `new`, or removed for DELETE."""
    result = copy.deepcopy(value)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = new
    elif new is DELETE:
        node.pop(last, None)
    else:
        node[last] = new
    return result


def effective_config(policy: Policy, overrides: dict[str, Any]) -> Any:
    schema = policy.config_schema.properties if policy.config_schema else {}
    defaults = {key: prop["default"] for key, prop in schema.items() if "default" in prop}
    return wire({**defaults, **overrides})


def options(resource: Res) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect, [], resource.delete_before_replace, [], PolicyCustomTimeouts(0, 0, 0), []
    )


def provider(resource: Res) -> PolicyProviderResource | None:
    if resource.provider_props is None:
        return None
    return PolicyProviderResource("pulumi:providers:test", wire(resource.provider_props), "urn:provider", "provider")


def run(case: Case) -> list[str]:
    policy = BY_NAME[case.policy]
    config = effective_config(policy, case.config)
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(f"{urn.rsplit('::', 1)[-1]}: {message}" if urn else message)

    try:
        if isinstance(policy, ResourceValidationPolicy):
            (resource,) = case.resources
            args = ResourceValidationArgs(
                resource.type,
                wire(resource.props),
                resource.urn,
                resource.name,
                options(resource),
                provider(resource),
                config,
            )
            policy.validate(args, report)
        else:
            assert isinstance(policy, StackValidationPolicy)
            policy.validate(StackValidationArgs(stack_resources(case.resources), config), report)
    except _NotApplicableError as error:
        assert error.reason == NOT_PRODUCTION or "serverless" in (error.reason or "")
        return NOT_APPLICABLE
    return found


def stack_resources(resources: list[Res]) -> list[PolicyResource]:
    built = {
        resource.name: PolicyResource(
            resource.type,
            wire(resource.props),
            resource.urn,
            resource.name,
            options(resource),
            provider(resource),
            None,
            [],
            {},
        )
        for resource in resources
    }
    for resource in resources:
        for prop, names in resource.depends.items():
            built[resource.name].property_dependencies[prop] = [built[name] for name in names]
            built[resource.name].dependencies.extend(built[name] for name in names)
    return list(built.values())


# ---- compliant building blocks -------------------------------------------------------------------

MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def model() -> dict[str, Any]:
    return {
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/fraud-role",
        "primaryContainer": {"image": IMAGE, "environment": {"SCORE_THRESHOLD": "0.82"}},
        "enableNetworkIsolation": True,
        "vpcConfig": {"subnets": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": ["sg-0c3d4e5f607182930"]},
        "tags": TAGS,
    }


def endpoint_config() -> dict[str, Any]:
    return {
        "productionVariants": [
            {"variantName": "champion", "modelName": "m", "instanceType": "ml.m5.xlarge", "initialInstanceCount": 2}
        ],
        "kmsKeyArn": KEY_ARN,
        "dataCaptureConfig": {
            "enableCapture": True,
            "initialSamplingPercentage": 10,
            "destinationS3Uri": "s3://artifacts/data-capture/",
            "kmsKeyId": KEY_ARN,
            "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
        },
    }


def serverless_config() -> dict[str, Any]:
    return {
        "productionVariants": [
            {
                "variantName": "current",
                "modelName": "m",
                "serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5},
            }
        ]
    }


def endpoint() -> dict[str, Any]:
    return {
        "name": "fraud-prod",
        "endpointConfigName": "fraud-config-1a2b3c4",
        "deploymentConfig": {
            "blueGreenUpdatePolicy": {
                "trafficRoutingConfiguration": {
                    "type": "CANARY",
                    "waitIntervalInSeconds": 600,
                    "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
                },
                "terminationWaitInSeconds": 300,
            },
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "fraud-prod-champion-5xx"}]},
        },
    }


def alarm(name: str = "fraud-prod-champion-5xx", endpoint_name: str = "fraud-prod") -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "AWS/SageMaker",
        "metricName": "Invocation5XXErrors",
        "dimensions": {"EndpointName": endpoint_name, "VariantName": "champion"},
        "alarmActions": [TOPIC_ARN],
        "actionsEnabled": True,
    }


def math_alarm(name: str = "fraud-prod-champion-5xx-rate") -> dict[str, Any]:
    dimensions = {"EndpointName": "fraud-prod", "VariantName": "champion"}
    return {
        "name": name,
        "alarmActions": [TOPIC_ARN],
        "metricQueries": [
            {"id": "rate", "expression": "100 * errors / invocations", "returnData": True},
            {
                "id": "errors",
                "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocation5XXErrors", "dimensions": dimensions},
            },
            {
                "id": "invocations",
                "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocations", "dimensions": dimensions},
            },
        ],
    }


def anomaly_alarm(metric: str, endpoint_name: str = "fraud-prod") -> dict[str, Any]:
    """A band alarm as the monitoring component makes it: the observed metric and the band over it."""
    dimensions = {"EndpointName": endpoint_name, "VariantName": "champion"}
    return {
        "name": f"{endpoint_name}-champion-{metric}-anomaly",
        "alarmActions": [TOPIC_ARN],
        "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "thresholdMetricId": "band",
        "metricQueries": [
            {
                "id": "observed",
                "returnData": True,
                "metric": {"namespace": "AWS/SageMaker", "metricName": metric, "dimensions": dimensions},
            },
            {"id": "band", "expression": "ANOMALY_DETECTION_BAND(observed, 2)", "returnData": True},
        ],
    }


def container() -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}}
    return {
        "name": "model",
        "image": IMAGE,
        "ports": [{"containerPort": 8080}],
        "env": [{"name": "PORT", "value": "8080"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "readinessProbe": probe,
        "livenessProbe": probe,
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
    }


LABELS = {"app": "recommender", "variant": "v6"}


def deployment(name: str = "recommender-v6", namespace: str = "recommender") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container()],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def pdb(namespace: str = "recommender", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "recommender-v6", "namespace": namespace},
        "spec": {"selector": {"matchLabels": LABELS}, **(spec or {"maxUnavailable": 1})},
    }


def hpa(target: str = "recommender-v6") -> dict[str, Any]:
    return {
        "metadata": {"name": "recommender-v6", "namespace": "recommender"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 6,
        },
    }


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


ARTIFACTS = "artifacts-1a2b3c4"


def bucket_policy(*statements: dict[str, Any]) -> Res:
    """The artifacts bucket's policy, linked to the bucket by property dependency as in `bucket_stack`."""
    return Res(
        "aws:s3/bucketPolicy:BucketPolicy",
        "policy",
        {"bucket": ARTIFACTS, "policy": document(*statements)},
        depends={"bucket": ["bucket"]},
    )


def bucket_stack(*, omit: tuple[str, ...] = (), **replace: Res) -> list[Res]:
    """A bucket with all its settings (linked by property dependency), minus `omit`, with `replace`d ones."""
    link = {"bucket": ["bucket"]}
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{ARTIFACTS}", f"arn:aws:s3:::{ARTIFACTS}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    settings = {
        "encryption": Res(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "encryption",
            {
                "bucket": ARTIFACTS,
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
                        "bucketKeyEnabled": True,
                    }
                ],
            },
            depends=link,
        ),
        "block": Res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "block",
            {
                "bucket": ARTIFACTS,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            depends=link,
        ),
        "versioning": Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "versioning",
            {"bucket": ARTIFACTS, "versioningConfiguration": {"status": "Enabled"}},
            depends=link,
        ),
        "policy": bucket_policy(tls),
    }
    settings.update(replace)
    bucket = Res(
        "aws:s3/bucket:Bucket", "bucket", {"bucket": ARTIFACTS, "arn": f"arn:aws:s3:::{ARTIFACTS}", "tags": TAGS}
    )
    return [bucket, *(setting for role, setting in settings.items() if role not in omit)]


def one(policy: str, id: str, type: str, props: dict[str, Any], expected: list[str], **extra: Any) -> Case:
    """A resource-rule case; `extra` splits into Res options (protect, ...) and `config`."""
    config = extra.pop("config", {})
    name = extra.pop("name", "subject")
    return Case(policy, id, [Res(type, name, props, **extra)], expected, config)


PRODUCTION_OFF = {"production": False}
ROOT = f"arn:aws:iam::{ACCOUNT}:root"

CASES: list[Case] = [
    # --- SageMaker -------------------------------------------------------------------------------
    one("sagemaker-endpoint-config-encrypted", "compliant", ENDPOINT_CONFIG, endpoint_config(), []),
    one(
        "sagemaker-endpoint-config-encrypted",
        "nvme-instances-need-no-volume-key",
        ENDPOINT_CONFIG,
        patched(patched(endpoint_config(), "kmsKeyArn", DELETE), "productionVariants.0.instanceType", "ml.g5.xlarge"),
        [],
    ),
    one(
        "sagemaker-endpoint-config-encrypted",
        "serverless-needs-no-volume-key",
        ENDPOINT_CONFIG,
        serverless_config(),
        [],
    ),
    one(
        "sagemaker-endpoint-config-encrypted",
        "no-volume-key",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "kmsKeyArn", DELETE),
        ["kmsKeyArn is not set: the storage volumes of productionVariants[0] (champion) would use an AWS managed key."],
    ),
    one(
        "sagemaker-endpoint-config-encrypted",
        "capture-and-async-output-without-key",
        ENDPOINT_CONFIG,
        patched(
            patched(endpoint_config(), "dataCaptureConfig.kmsKeyId", DELETE),
            "asyncInferenceConfig",
            {"outputConfig": {"s3OutputPath": "s3://artifacts/async-output/"}},
        ),
        [
            "dataCaptureConfig.kmsKeyId is not set: captured requests and responses would land in S3 without the customer key.",
            "asyncInferenceConfig.outputConfig.kmsKeyId is not set: inference results would land in S3 without the customer key.",
        ],
    ),
    one("sagemaker-production-capacity", "two-instances", ENDPOINT_CONFIG, endpoint_config(), []),
    one("sagemaker-production-capacity", "serverless", ENDPOINT_CONFIG, serverless_config(), []),
    one(
        "sagemaker-production-capacity",
        "one-instance",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "productionVariants.0.initialInstanceCount", 1),
        [
            "productionVariants[0] (champion) starts 1 instance(s); production variants need at least 2 to survive an instance or zone failure."
        ],
    ),
    one(
        "sagemaker-production-capacity",
        "configured-minimum",
        ENDPOINT_CONFIG,
        endpoint_config(),
        [
            "productionVariants[0] (champion) starts 2 instance(s); production variants need at least 3 to survive an instance or zone failure."
        ],
        config={"minInstanceCount": 3},
    ),
    one(
        "sagemaker-production-capacity",
        "autoscaling-floor",
        "aws:appautoscaling/target:Target",
        {
            "serviceNamespace": "sagemaker",
            "minCapacity": 1,
            "maxCapacity": 4,
            "resourceId": "endpoint/fraud-prod/variant/champion",
        },
        ["minCapacity is 1: autoscaling may shrink a production variant below 2 instances."],
    ),
    one(
        "sagemaker-production-capacity",
        "not-production",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "productionVariants.0.initialInstanceCount", 1),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    one("sagemaker-no-ssm-access-in-production", "compliant", ENDPOINT_CONFIG, endpoint_config(), []),
    one(
        "sagemaker-no-ssm-access-in-production",
        "ssm-enabled",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "productionVariants.0.enableSsmAccess", True),
        [
            "productionVariants[0] (champion) enables SSM access: anyone with ssm:StartSession gets a shell next to production traffic."
        ],
    ),
    one(
        "sagemaker-no-ssm-access-in-production",
        "not-production",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "productionVariants.0.enableSsmAccess", True),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    one("sagemaker-model-network-isolation", "isolated", MODEL, model(), []),
    one(
        "sagemaker-model-network-isolation",
        "not-isolated",
        MODEL,
        patched(model(), "enableNetworkIsolation", False),
        ["enableNetworkIsolation is not true: the model container can open outbound connections."],
    ),
    one(
        "sagemaker-model-network-isolation",
        "secret-reader-in-vpc-allowed",
        MODEL,
        patched(
            patched(model(), "enableNetworkIsolation", False),
            "primaryContainer.environment.TOKEN_SECRET_ARN",
            SECRET_ARN,
        ),
        [],
        config={"allowSecretReadersInVpc": True},
    ),
    one(
        "sagemaker-model-network-isolation",
        "secret-reader-outside-vpc",
        MODEL,
        patched(
            patched(patched(model(), "enableNetworkIsolation", False), "vpcConfig", DELETE),
            "primaryContainer.environment.TOKEN_SECRET_ARN",
            SECRET_ARN,
        ),
        ["enableNetworkIsolation is not true: the model container can open outbound connections."],
        config={"allowSecretReadersInVpc": True},
    ),
    one("sagemaker-model-in-vpc", "in-vpc", MODEL, model(), []),
    one(
        "sagemaker-model-in-vpc",
        "no-vpc",
        MODEL,
        patched(model(), "vpcConfig", DELETE),
        ["vpcConfig is not set: the model container runs outside your VPC."],
    ),
    one(
        "sagemaker-model-in-vpc",
        "no-security-groups",
        MODEL,
        patched(model(), "vpcConfig.securityGroupIds", []),
        ["vpcConfig.securityGroupIds is empty: the model container needs private subnets and security groups."],
    ),
    one("sagemaker-auto-named-models-and-configs", "unnamed", ENDPOINT_CONFIG, endpoint_config(), []),
    one(
        "sagemaker-auto-named-models-and-configs",
        "provider-auto-name",
        MODEL,
        patched(model(), "name", "fraud-model-0a1b2c3"),
        [],
        name="fraud-model",
    ),
    one(
        "sagemaker-auto-named-models-and-configs",
        "explicit-name",
        MODEL,
        patched(model(), "name", "fraud-model"),
        [
            "name is set to 'fraud-model': SageMaker can't change this resource in place, and a fixed name forces delete-before-replace or fails the update."
        ],
        name="fraud-model",
    ),
    one(
        "sagemaker-auto-named-models-and-configs",
        "delete-before-replace",
        ENDPOINT_CONFIG,
        endpoint_config(),
        ["deleteBeforeReplace is set: the endpoint would lose its configuration before switching to the new one."],
        delete_before_replace=True,
    ),
    one("sagemaker-production-deployment-guardrails", "canary-with-alarm", ENDPOINT, endpoint(), []),
    one(
        "sagemaker-production-deployment-guardrails",
        "no-deployment-config",
        ENDPOINT,
        patched(endpoint(), "deploymentConfig", DELETE),
        [
            "deploymentConfig has no blueGreenUpdatePolicy or rollingUpdatePolicy: updates replace the fleet without a watched shift.",
            "deploymentConfig.autoRollbackConfiguration lists 0 alarm(s); production endpoints need at least 1 to roll back a bad deployment by themselves.",
        ],
    ),
    one(
        "sagemaker-production-deployment-guardrails",
        "not-production",
        ENDPOINT,
        patched(endpoint(), "deploymentConfig", DELETE),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    one("sagemaker-data-capture-in-production", "capturing", ENDPOINT_CONFIG, endpoint_config(), []),
    one(
        "sagemaker-data-capture-in-production",
        "no-capture",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "dataCaptureConfig", DELETE),
        ["dataCaptureConfig is not set: production requests and predictions leave no record for monitoring or audit."],
    ),
    one(
        "sagemaker-data-capture-in-production",
        "capture-disabled",
        ENDPOINT_CONFIG,
        patched(endpoint_config(), "dataCaptureConfig.enableCapture", False),
        ["dataCaptureConfig.enableCapture is false: production requests and predictions leave no record."],
    ),
    one(
        "sagemaker-data-capture-in-production",
        "sampling-below-minimum",
        ENDPOINT_CONFIG,
        endpoint_config(),
        ["dataCaptureConfig.initialSamplingPercentage is 10%; capture at least 25%."],
        config={"minSamplingPercentage": 25},
    ),
    one(
        "sagemaker-data-capture-in-production",
        "serverless-cannot-capture",
        ENDPOINT_CONFIG,
        serverless_config(),
        NOT_APPLICABLE,
    ),
    one("sagemaker-alarm-dimensions", "both-dimensions", ALARM, alarm(), []),
    one("sagemaker-alarm-dimensions", "metric-math", ALARM, math_alarm(), []),
    one(
        "sagemaker-alarm-dimensions",
        "other-namespace",
        ALARM,
        {"namespace": "AWS/Lambda", "metricName": "Errors", "alarmActions": [TOPIC_ARN]},
        [],
    ),
    one(
        "sagemaker-alarm-dimensions",
        "no-variant",
        ALARM,
        patched(alarm(), "dimensions.VariantName", DELETE),
        ["alarm reads AWS/SageMaker without the VariantName dimension(s): the alarm never receives data."],
    ),
    one(
        "sagemaker-alarm-dimensions",
        "metric-math-without-dimensions",
        ALARM,
        patched(math_alarm(), "metricQueries.2.metric.dimensions", {}),
        [
            "metricQueries[2] (invocations) reads AWS/SageMaker without the EndpointName and VariantName dimension(s): the alarm never receives data."
        ],
    ),
    Case(
        "sagemaker-rollback-alarms-exist",
        "alarm-watches-endpoint",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", alarm())],
        [],
    ),
    Case(
        "sagemaker-rollback-alarms-exist",
        "alarm-missing",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", alarm("something-else"))],
        [
            "endpoint: endpoint 'fraud-prod' rolls back on alarm 'fraud-prod-champion-5xx', which this stack does not define."
        ],
    ),
    Case(
        "sagemaker-rollback-alarms-exist",
        "alarm-watches-another-endpoint",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", alarm(endpoint_name="fraud-staging"))],
        [
            "endpoint: endpoint 'fraud-prod' rolls back on alarm 'fraud-prod-champion-5xx', which does not watch it (EndpointName and VariantName dimensions)."
        ],
    ),
    Case(
        "sagemaker-endpoint-alarms",
        "watched-by-metric-math",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", math_alarm())],
        [],
    ),
    Case(
        "sagemaker-endpoint-alarms",
        "unwatched",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", alarm(endpoint_name="churn-prod"))],
        [
            "endpoint: endpoint 'fraud-prod' is watched by 0 alarm(s) with its EndpointName and VariantName; at least 1 required."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "traffic-and-latency-banded",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations")),
            Res(ALARM, "latency", anomaly_alarm("ModelLatency")),
        ],
        [],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "static-alarms-only",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", math_alarm())],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on Invocations or ModelLatency: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "band-not-the-threshold",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations")),
            Res(ALARM, "latency", patched(anomaly_alarm("ModelLatency"), "thresholdMetricId", "observed")),
        ],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on ModelLatency: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "bands-of-another-endpoint",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations", endpoint_name="churn-prod")),
            Res(ALARM, "latency", anomaly_alarm("ModelLatency")),
        ],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on Invocations: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "not-production",
        [Res(ENDPOINT, "endpoint", endpoint())],
        NOT_APPLICABLE,
        config={"production": False},
    ),
    # --- Containers: images and environment -------------------------------------------------------
    one("trusted-image-registries", "ecr-image", MODEL, model(), []),
    one(
        "trusted-image-registries",
        "registry-model-package",
        MODEL,
        patched(model(), "primaryContainer", {"modelPackageName": "arn:aws:sagemaker:eu-west-1:1:model-package/f/1"}),
        [],
    ),
    one(
        "trusted-image-registries",
        "docker-hub-model",
        MODEL,
        patched(model(), "primaryContainer.image", "docker.io/library/python:3.11"),
        ["primaryContainer image 'docker.io/library/python:3.11' is not from an allowed registry."],
    ),
    one(
        "trusted-image-registries",
        "ghcr-deployment",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "ghcr.io/acme/model:1.0"),
        [
            "container 'model' (spec.template.spec.containers[0]) image 'ghcr.io/acme/model:1.0' is not from an allowed registry."
        ],
    ),
    one(
        "trusted-image-registries",
        "configured-registry",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "registry.acme.internal/model:1.0"),
        [],
        config={"allowedRegistries": [r"^registry\.acme\.internal/"]},
    ),
    one("container-images-pinned", "immutable-tag", MODEL, model(), []),
    one(
        "container-images-pinned",
        "digest-required-and-given",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", f"{IMAGE}@sha256:{'a' * 64}"),
        [],
        config={"requireDigest": True},
    ),
    one(
        "container-images-pinned",
        "latest",
        MODEL,
        patched(model(), "primaryContainer.image", IMAGE.replace(":2.3.1", ":latest")),
        [
            f"primaryContainer image '{IMAGE.replace(':2.3.1', ':latest')}' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "container-images-pinned",
        "no-tag",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "localhost:5000/model"),
        [
            "container 'model' (spec.template.spec.containers[0]) image 'localhost:5000/model' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "container-images-pinned",
        "tag-where-digest-required",
        MODEL,
        model(),
        [f"primaryContainer image '{IMAGE}' is pinned by tag only; a digest is required here."],
        config={"requireDigest": True},
    ),
    one(
        "no-secrets-in-container-environment",
        "secret-passed-by-arn",
        MODEL,
        patched(model(), "primaryContainer.environment.FEATURE_STORE_TOKEN_SECRET_ARN", SECRET_ARN),
        [],
    ),
    one(
        "no-secrets-in-container-environment",
        "password-literal",
        MODEL,
        patched(model(), "primaryContainer.environment.DB_PASSWORD", "hunter2"),
        ["primaryContainer environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."],
    ),
    one(
        "no-secrets-in-container-environment",
        "access-key-under-innocent-name",
        MODEL,
        patched(model(), "primaryContainer.environment.UPSTREAM", "AKIAIOSFODNN7EXAMPLE"),
        ["primaryContainer environment variable 'UPSTREAM' holds what looks like an AWS access key id."],
    ),
    one(
        "no-secrets-in-container-environment",
        "kubernetes-url-with-credentials",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env.0",
            {"name": "FEATURES_URL", "value": "https://svc:pa55@features.internal/"},
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) environment variable 'FEATURES_URL' holds what looks like credentials in a URL."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "kubernetes-secret-reference",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env.0",
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "api"}}},
        ),
        [],
    ),
    # --- Kubernetes -------------------------------------------------------------------------------
    one("kubernetes-pod-security-restricted", "restricted", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-pod-security-restricted",
        "privileged-escalating-root",
        DEPLOYMENT,
        patched(
            patched(
                patched(
                    deployment(),
                    "spec.template.spec.containers.0.securityContext",
                    {"privileged": True, "runAsUser": 0},
                ),
                "spec.template.spec.securityContext",
                {},
            ),
            "spec.template.spec.containers.0.ports.0.hostPort",
            8080,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) is privileged.",
            "container 'model' (spec.template.spec.containers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'model' (spec.template.spec.containers[0]) may run as root: set runAsNonRoot true on the pod or the container.",
            "container 'model' (spec.template.spec.containers[0]) sets runAsUser 0 (root).",
            "container 'model' (spec.template.spec.containers[0]) does not drop ALL capabilities.",
            "container 'model' (spec.template.spec.containers[0]) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
            "container 'model' (spec.template.spec.containers[0]) ports[0] binds hostPort 8080.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "host-namespaces-and-volumes",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.hostNetwork", True),
            "spec.template.spec.volumes.0",
            {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
        ),
        [
            "spec.template.spec.hostNetwork is true: the pod shares the node's namespaces.",
            "volume 'docker' (spec.template.spec.volumes[0]) uses hostPath, not allowed by the restricted profile.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "cronjob-init-container-adds-capability",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"namespace": "batch"},
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                **deployment()["spec"]["template"]["spec"],
                                "initContainers": [
                                    patched(
                                        container(),
                                        "securityContext.capabilities.add",
                                        ["NET_BIND_SERVICE", "SYS_ADMIN"],
                                    )
                                ],
                            }
                        }
                    }
                }
            },
        },
        [
            "container 'model' (spec.jobTemplate.spec.template.spec.initContainers[0]) adds capabilities SYS_ADMIN; only NET_BIND_SERVICE is allowed."
        ],
    ),
    one("kubernetes-container-hardening", "hardened", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-container-hardening",
        "writable-low-uid",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem", False),
            "spec.template.spec.securityContext.runAsUser",
            1000,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) has a writable root filesystem; set readOnlyRootFilesystem and mount an emptyDir where it writes.",
            "container 'model' (spec.template.spec.containers[0]) runs with runAsUser 1000; use a UID of at least 10000 so it matches no host user.",
        ],
    ),
    one("kubernetes-probes", "probed", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-probes",
        "batch-jobs-need-none",
        "kubernetes:batch/v1:Job",
        {"spec": {"template": {"spec": {"containers": [patched(container(), "readinessProbe", DELETE)]}}}},
        [],
    ),
    one(
        "kubernetes-probes",
        "unprobed",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.readinessProbe", DELETE),
            "spec.template.spec.containers.0.livenessProbe",
            DELETE,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) has no readinessProbe.",
            "container 'model' (spec.template.spec.containers[0]) has no livenessProbe.",
        ],
    ),
    one("kubernetes-resource-requests-and-limits", "bounded", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-resource-requests-and-limits",
        "no-limits",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.resources.limits", DELETE),
        ["container 'model' (spec.template.spec.containers[0]) does not set resources limits.cpu, limits.memory."],
    ),
    one("kubernetes-no-service-account-token", "not-mounted", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-no-service-account-token",
        "mounted-by-default",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.automountServiceAccountToken", DELETE),
        ["spec.template.spec.automountServiceAccountToken is not false: every container can call the Kubernetes API."],
    ),
    one("kubernetes-secrets-as-files", "no-secret-env", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-secrets-as-files",
        "secret-env",
        DEPLOYMENT,
        patched(
            patched(
                deployment(),
                "spec.template.spec.containers.0.env.0",
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "api"}}},
            ),
            "spec.template.spec.containers.0.envFrom",
            [{"secretRef": {"name": "db"}}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) reads secret 'tokens' into environment variable 'API_TOKEN'.",
            "container 'model' (spec.template.spec.containers[0]) loads secret 'db' into its environment.",
        ],
    ),
    one("kubernetes-no-default-namespace", "own-namespace", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-no-default-namespace",
        "cluster-scoped",
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "recommender"}},
        [],
    ),
    one(
        "kubernetes-no-default-namespace",
        "provider-namespace",
        "kubernetes:core/v1:Service",
        {"metadata": {"name": "recommender"}},
        [],
        provider_props={"namespace": "recommender"},
    ),
    one(
        "kubernetes-no-default-namespace",
        "default",
        "kubernetes:core/v1:Service",
        {"metadata": {"name": "recommender", "namespace": "default"}},
        ["Service is placed in the default namespace; give each service its own namespace."],
    ),
    one(
        "kubernetes-no-default-namespace",
        "unset",
        DEPLOYMENT,
        patched(deployment(), "metadata.namespace", DELETE),
        ["Deployment is placed in the default namespace; give each service its own namespace."],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-selects-pods",
        [Res(DEPLOYMENT, "deployment", deployment()), Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb())],
        [],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-in-other-namespace",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb("other")),
        ],
        ["deployment: Deployment 'recommender-v6' has no PodDisruptionBudget selecting its pods."],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-blocks-drains",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb(minAvailable=2)),
        ],
        [
            "deployment: the PodDisruptionBudget of Deployment 'recommender-v6' allows no disruption, which blocks node drains."
        ],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-zero-unavailable",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb(maxUnavailable="0%")),
        ],
        [
            "deployment: the PodDisruptionBudget of Deployment 'recommender-v6' allows no disruption, which blocks node drains."
        ],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "scaled",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", hpa()),
        ],
        [],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "scaler-targets-another-deployment",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", hpa("other")),
        ],
        ["deployment: Deployment 'recommender-v6' has no HorizontalPodAutoscaler."],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "not-production",
        [Res(DEPLOYMENT, "deployment", deployment())],
        NOT_APPLICABLE,
        PRODUCTION_OFF,
    ),
    # --- IAM and resource policies ---------------------------------------------------------------
    one(
        "iam-no-admin-statements",
        "scoped",
        "aws:iam/rolePolicy:RolePolicy",
        {
            "role": "r",
            "policy": document(
                allow(["s3:GetObject"], f"arn:aws:s3:::{ARTIFACTS}/*"), allow("ecr:GetAuthorizationToken")
            ),
        },
        [],
    ),
    one(
        "iam-no-admin-statements",
        "star",
        "aws:iam/policy:Policy",
        {"policy": document(allow("*", Sid="Everything"))},
        ["policy statement 'Everything' allows '*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "single-statement-object-service-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"role": "r", "policy": {"Version": "2012-10-17", "Statement": allow("s3:*", ["*"])}},
        ["policy statement 0 allows 's3:*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "service-newer-than-the-catalogue",
        "aws:iam/policy:Policy",
        {"policy": document(allow(["s3:GetObject", "newservice:*"]))},
        ["policy statement 0 allows 'newservice:*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "role-inline-not-action",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": "{}",
            "inlinePolicies": [
                {"name": "ops", "policy": document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}
            ],
        },
        ["inlinePolicies[0] (ops) statement 0 allows every action except a few (NotAction) on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "unreadable",
        "aws:iam/policy:Policy",
        {"policy": "{not json"},
        ["policy is not valid JSON (Expecting property name enclosed in double quotes); it cannot be checked."],
    ),
    one(
        "iam-no-broad-managed-policies",
        "customer-policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/fraud-read"},
        [],
    ),
    one(
        "iam-no-broad-managed-policies",
        "sagemaker-full-access",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
        ["policyArn attaches the AWS managed policy AmazonSageMakerFullAccess."],
    ),
    one(
        "iam-no-broad-managed-policies",
        "role-managed-arns",
        "aws:iam/role:Role",
        {"assumeRolePolicy": "{}", "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        ["managedPolicyArns attaches the AWS managed policy AdministratorAccess."],
    ),
    one(
        "iam-trust-policy-scoped",
        "sagemaker-for-this-account",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "irsa-for-one-service-account",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks/id/X"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"oidc.eks/id/X:sub": "system:serviceaccount:recommender:model"}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "saml-federation",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "cognito-identity-pool",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-1:0f1e2d3c-4b5a-6978-8796"},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
                    },
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                },
            )
        },
        [
            "assumeRolePolicy statement 1 trusts cognito-identity.amazonaws.com without a ':aud' condition: any identity of that provider can assume the role."
        ],
    ),
    one(
        "iam-trust-policy-scoped",
        "unscoped",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {"Effect": "Allow", "Principal": {"Service": ["sagemaker.amazonaws.com"]}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                },
            )
        },
        [
            "assumeRolePolicy statement 0 trusts sagemaker.amazonaws.com without an aws:SourceAccount or aws:SourceArn condition (confused deputy).",
            "assumeRolePolicy statement 1 lets any AWS principal assume the role.",
            "assumeRolePolicy statement 2 trusts arn:aws:iam::1:oidc-provider/x without a ':sub' condition: any identity of that provider can assume the role.",
        ],
    ),
    one(
        "iam-trust-policy-scoped",
        "exempt-service",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            )
        },
        [],
        config={"servicesWithoutSourceConditions": ["ec2.amazonaws.com"]},
    ),
    one(
        "resource-policies-not-public",
        "named-accounts",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        {
            "repository": "r",
            "policy": document({"Effect": "Allow", "Principal": {"AWS": [ROOT]}, "Action": ["ecr:BatchGetImage"]}),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "deny-to-everyone-is-fine",
        "aws:s3/bucketPolicy:BucketPolicy",
        {
            "bucket": ARTIFACTS,
            "policy": document({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "organisation-only",
        "aws:sns/topicPolicy:TopicPolicy",
        {
            "arn": TOPIC_ARN,
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sns:Publish",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
                }
            ),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "public-repository",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        {
            "repository": "r",
            "policy": document(
                {
                    "Sid": "Pull",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                }
            ),
        },
        [
            "policy statement 'Pull' allows ecr:BatchGetImage, ecr:GetDownloadUrlForLayer to any principal without an account, organisation or source condition."
        ],
    ),
    one(
        "resource-policies-not-public",
        "public-model-package-group",
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        {
            "modelPackageGroupName": "g",
            "resourcePolicy": document(
                {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sagemaker:DescribeModelPackage"}
            ),
        },
        [
            "resourcePolicy statement 0 allows sagemaker:DescribeModelPackage to any principal without an account, organisation or source condition."
        ],
    ),
    # --- S3 ---------------------------------------------------------------------------------------
    Case("s3-bucket-encryption", "sse-kms-with-key", bucket_stack(), []),
    Case(
        "s3-bucket-encryption",
        "matched-by-name-and-inline",
        [
            Res(
                "aws:s3/bucketV2:BucketV2",
                "legacy",
                {
                    "bucket": "legacy",
                    "serverSideEncryptionConfiguration": {
                        "rule": {
                            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
                        }
                    },
                },
            ),
            Res("aws:s3/bucket:Bucket", "named", {"bucket": "named"}),
            Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "named-encryption",
                {
                    "bucket": "named",
                    "rules": [
                        {
                            "applyServerSideEncryptionByDefault": {
                                "sseAlgorithm": "aws:kms:dsse",
                                "kmsMasterKeyId": KEY_ARN,
                            }
                        }
                    ],
                },
            ),
        ],
        [],
    ),
    Case(
        "s3-bucket-encryption",
        "missing",
        bucket_stack(omit=("encryption",)),
        [f"bucket: bucket '{ARTIFACTS}' has no default encryption configuration."],
    ),
    Case(
        "s3-bucket-encryption",
        "sse-s3",
        bucket_stack(
            encryption=Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "encryption",
                {"bucket": ARTIFACTS, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' encrypts with AES256 instead of SSE-KMS."],
    ),
    Case(
        "s3-bucket-encryption",
        "aws-managed-key",
        bucket_stack(
            encryption=Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "encryption",
                {"bucket": ARTIFACTS, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' uses SSE-KMS without kmsMasterKeyId, i.e. the AWS managed key aws/s3."],
    ),
    Case("s3-bucket-public-access-block", "all-four", bucket_stack(), []),
    Case(
        "s3-bucket-public-access-block",
        "missing",
        bucket_stack(omit=("block",)),
        [f"bucket: bucket '{ARTIFACTS}' has no BucketPublicAccessBlock."],
    ),
    Case(
        "s3-bucket-public-access-block",
        "partial",
        bucket_stack(
            block=Res(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "block",
                {"bucket": ARTIFACTS, "blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' has a public access block without blockPublicPolicy, restrictPublicBuckets."],
    ),
    Case("s3-bucket-versioning", "enabled", bucket_stack(), []),
    Case(
        "s3-bucket-versioning",
        "suspended",
        bucket_stack(
            versioning=Res(
                "aws:s3/bucketVersioning:BucketVersioning",
                "versioning",
                {"bucket": ARTIFACTS, "versioningConfiguration": {"status": "Suspended"}},
                depends={"bucket": ["bucket"]},
            )
        ),
        [
            f"bucket: bucket '{ARTIFACTS}' does not enable versioning: overwritten or deleted models cannot be recovered."
        ],
    ),
    Case("s3-bucket-tls-only", "denies-plain-http", bucket_stack(), []),
    Case(
        "s3-bucket-tls-only",
        "denies-plain-http-in-upper-case",
        bucket_stack(
            policy=bucket_policy(
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "S3:*",
                    "Resource": [f"arn:aws:s3:::{ARTIFACTS}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            )
        ),
        [],
    ),
    Case(
        "s3-bucket-tls-only",
        "no-policy",
        bucket_stack(omit=("policy",)),
        [f"bucket: bucket '{ARTIFACTS}' does not deny requests without TLS (a Deny on aws:SecureTransport false)."],
    ),
    Case(
        "s3-bucket-tls-only",
        "policy-without-tls-deny",
        bucket_stack(
            policy=bucket_policy(
                {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:GetObject", "Resource": "*"}
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' does not deny requests without TLS (a Deny on aws:SecureTransport false)."],
    ),
    one("s3-no-public-acl", "private", "aws:s3/bucketAclV2:BucketAclV2", {"bucket": ARTIFACTS, "acl": "private"}, []),
    one(
        "s3-no-public-acl",
        "public-read",
        "aws:s3/bucketAclV2:BucketAclV2",
        {"bucket": ARTIFACTS, "acl": "public-read"},
        ["acl is 'public-read': objects become readable outside the account."],
    ),
    one(
        "s3-no-public-acl",
        "grant-to-all-users",
        "aws:s3/bucketAcl:BucketAcl",
        {
            "bucket": ARTIFACTS,
            "accessControlPolicy": {
                "grants": [
                    {
                        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                        "permission": "READ",
                    }
                ],
                "owner": {"id": "abc"},
            },
        },
        ["accessControlPolicy.grants[0] grants READ to http://acs.amazonaws.com/groups/global/AllUsers."],
    ),
    # --- ECR --------------------------------------------------------------------------------------
    *[
        one(
            policy,
            "compliant",
            "aws:ecr/repository:Repository",
            {
                "name": "fraud-detector",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": True},
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
            },
            [],
        )
        for policy in ("ecr-immutable-tags", "ecr-scan-on-push", "ecr-kms-encryption")
    ],
    one(
        "ecr-immutable-tags",
        "default-mutable",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector"},
        ["imageTagMutability is MUTABLE (the default): a pushed tag could later point at other bytes."],
    ),
    one(
        "ecr-scan-on-push",
        "not-scanned",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector", "imageScanningConfiguration": {"scanOnPush": False}},
        ["imageScanningConfiguration.scanOnPush is not true: pushed images are not scanned for vulnerabilities."],
    ),
    one(
        "ecr-kms-encryption",
        "aes256",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector"},
        ["encryptionConfigurations[0].encryptionType is AES256 (the default), not KMS."],
    ),
    one(
        "ecr-kms-encryption",
        "aws-managed-key",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector", "encryptionConfigurations": [{"encryptionType": "KMS"}]},
        ["encryptionConfigurations[0].kmsKey is not set: layers use the AWS managed key aws/ecr."],
    ),
    Case(
        "ecr-lifecycle-policy",
        "by-dependency-and-by-name",
        [
            Res("aws:ecr/repository:Repository", "repo", {"name": "fraud-detector"}),
            Res(
                "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                "lifecycle",
                {"repository": "fraud-detector-renamed", "policy": "{}"},
                depends={"repository": ["repo"]},
            ),
            Res("aws:ecr/repository:Repository", "other", {"name": "churn"}),
            Res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "other-lifecycle", {"repository": "churn", "policy": "{}"}),
        ],
        [],
    ),
    Case(
        "ecr-lifecycle-policy",
        "missing",
        [Res("aws:ecr/repository:Repository", "repo", {"name": "fraud-detector"})],
        ["repo: repository 'fraud-detector' has no lifecycle policy: images pile up without bound."],
    ),
    # --- KMS --------------------------------------------------------------------------------------
    one(
        "kms-key-rotation", "rotating", "aws:kms/key:Key", {"enableKeyRotation": True, "rotationPeriodInDays": 365}, []
    ),
    one(
        "kms-key-rotation",
        "asymmetric-cannot-rotate",
        "aws:kms/key:Key",
        {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"},
        [],
    ),
    one(
        "kms-key-rotation",
        "not-rotating",
        "aws:kms/key:Key",
        {},
        ["enableKeyRotation is not true: the key material never changes."],
    ),
    one(
        "kms-key-rotation",
        "rotating-too-rarely",
        "aws:kms/key:Key",
        {"enableKeyRotation": True, "rotationPeriodInDays": 730},
        ["rotationPeriodInDays is 730; rotate at least every 365 days."],
    ),
    one(
        "kms-key-policy-restricted",
        "account-root-and-caller-account",
        "aws:kms/key:Key",
        {
            "policy": document(
                allow("kms:*", Principal={"AWS": ROOT}),
                allow(
                    "kms:Decrypt", Principal={"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}
                ),
            )
        },
        [],
    ),
    one(
        "kms-key-policy-restricted",
        "everyone-and-lockout-bypass",
        "aws:kms/key:Key",
        {"bypassPolicyLockoutSafetyCheck": True, "policy": document(allow("kms:Decrypt", Principal="*", Sid="Open"))},
        [
            "bypassPolicyLockoutSafetyCheck is true: a policy that locks everyone out of the key would be accepted.",
            "policy statement 'Open' allows any principal without an account or source condition.",
        ],
    ),
    one("kms-key-enabled", "enabled", "aws:kms/key:Key", {"isEnabled": True}, []),
    one(
        "kms-key-enabled",
        "disabled",
        "aws:kms/key:Key",
        {"isEnabled": False},
        ["isEnabled is false: everything encrypted with the key becomes unreadable."],
    ),
    # --- Secrets Manager --------------------------------------------------------------------------
    one("secretsmanager-customer-key", "customer-key", "aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY_ARN}, []),
    one(
        "secretsmanager-customer-key",
        "aws-managed-key",
        "aws:secretsmanager/secret:Secret",
        {"name": "token"},
        ["kmsKeyId is not set: the secret is encrypted with the AWS managed key aws/secretsmanager."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "monthly",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"automaticallyAfterDays": 30}},
        [],
    ),
    one(
        "secretsmanager-rotation-interval",
        "weekly-cron",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"scheduleExpression": "cron(0 4 ? * MON *)"}},
        [],
    ),
    one(
        "secretsmanager-rotation-interval",
        "too-rare",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"automaticallyAfterDays": 180}},
        ["rotationRules.automaticallyAfterDays is 180; rotate at least every 90 days."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "rate-too-rare",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"scheduleExpression": "rate(120 days)"}},
        ["rotationRules.scheduleExpression 'rate(120 days)' rotates less often than every 90 days."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "no-schedule",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {}},
        ["rotationRules sets neither automaticallyAfterDays nor scheduleExpression."],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "rotated",
        [
            Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN}),
            Res(
                "aws:secretsmanager/secretRotation:SecretRotation",
                "rotation",
                {"secretId": SECRET_ARN, "rotationRules": {"automaticallyAfterDays": 30}},
            ),
        ],
        [],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "not-rotated",
        [Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN})],
        ["secret: secret 'token' has no SecretRotation."],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "not-production",
        [Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN})],
        NOT_APPLICABLE,
        PRODUCTION_OFF,
    ),
    # --- Monitoring -------------------------------------------------------------------------------
    one(
        "cloudwatch-log-retention",
        "a-year",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 400},
        [],
        config={"minRetentionDays": 365},
    ),
    one(
        "cloudwatch-log-retention",
        "forever",
        "aws:cloudwatch/logGroup:LogGroup",
        {},
        ["retentionInDays is not set: logs are kept forever."],
    ),
    one(
        "cloudwatch-log-retention",
        "too-short-for-production",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 14},
        ["retentionInDays is 14; keep logs at least 365 days."],
        config={"minRetentionDays": 365},
    ),
    one("cloudwatch-log-encryption", "customer-key", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY_ARN}, []),
    one(
        "cloudwatch-log-encryption",
        "unencrypted",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 14},
        ["kmsKeyId is not set: model logs (which may echo request data) are not under the customer key."],
    ),
    one("sns-topic-encryption", "customer-key", "aws:sns/topic:Topic", {"kmsMasterKeyId": KEY_ARN}, []),
    one(
        "sns-topic-encryption",
        "unencrypted",
        "aws:sns/topic:Topic",
        {},
        ["kmsMasterKeyId is not set: messages are stored unencrypted."],
    ),
    one(
        "sns-topic-encryption",
        "aws-managed-key",
        "aws:sns/topic:Topic",
        {"kmsMasterKeyId": "alias/aws/sns"},
        ["kmsMasterKeyId is the AWS managed key alias/aws/sns, whose policy CloudWatch alarms cannot publish through."],
    ),
    one(
        "sns-https-subscriptions",
        "https",
        "aws:sns/topicSubscription:TopicSubscription",
        {"protocol": "https", "endpoint": "https://pager"},
        [],
    ),
    one(
        "sns-https-subscriptions",
        "http",
        "aws:sns/topicSubscription:TopicSubscription",
        {"protocol": "http", "endpoint": "http://pager"},
        ["protocol is http: alarm notifications would travel unencrypted."],
    ),
    one("cloudwatch-alarm-actions", "notifies", ALARM, alarm(), []),
    one(
        "cloudwatch-alarm-actions",
        "disabled",
        ALARM,
        patched(alarm(), "actionsEnabled", False),
        ["actionsEnabled is false: the alarm notifies nobody."],
    ),
    one(
        "cloudwatch-alarm-actions",
        "no-actions",
        ALARM,
        patched(alarm(), "alarmActions", []),
        ["alarmActions is empty: the alarm notifies nobody."],
    ),
    # --- Tags and protection ----------------------------------------------------------------------
    one("required-tags", "tagged", MODEL, model(), []),
    one(
        "required-tags",
        "from-provider-default-tags",
        "aws:sns/topic:Topic",
        {},
        [],
        provider_props={"defaultTags": {"tags": TAGS}},
    ),
    one("required-tags", "not-taggable", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": ARTIFACTS, "policy": "{}"}, []),
    one(
        "required-tags",
        "untagged",
        "aws:sns/topic:Topic",
        {},
        ["missing tags: owner, cost-center, data-classification, environment."],
    ),
    one(
        "required-tags",
        "unknown-classification",
        "aws:kms/key:Key",
        {"tags": {**TAGS, "data-classification": "secret"}},
        ["tag data-classification='secret' is not one of public, internal, confidential, restricted."],
    ),
    one("stateful-resources-protected", "protected", "aws:s3/bucket:Bucket", {"bucket": ARTIFACTS}, [], protect=True),
    one(
        "stateful-resources-protected", "stateless-type", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": ARTIFACTS}, []
    ),
    one(
        "stateful-resources-protected",
        "unprotected-force-destroy",
        "aws:s3/bucket:Bucket",
        {"bucket": ARTIFACTS, "forceDestroy": True},
        [
            "is not protected: `pulumi destroy` or a refactoring would delete it; set protect=True.",
            "forceDestroy is true: deleting it would also delete everything it holds.",
        ],
    ),
    one(
        "stateful-resources-protected",
        "secret-without-recovery",
        "aws:secretsmanager/secret:Secret",
        {"recoveryWindowInDays": 0},
        ["recoveryWindowInDays is 0: a deleted secret could not be restored."],
        protect=True,
    ),
    one("stateful-resources-protected", "not-production", "aws:kms/key:Key", {}, NOT_APPLICABLE, config=PRODUCTION_OFF),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}[{case.id}]")
def test_policy_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def all_cases() -> list[Case]:
    """These cases and those of the rules for what platform teams declare (which import this harness)."""
    from tests.test_policy_platform_rules import PLATFORM_CASES

    return CASES + PLATFORM_CASES


@pytest.mark.parametrize("policy", sorted(BY_NAME), ids=str)
def test_every_policy_has_compliant_and_violating_cases(policy: str) -> None:
    expectations = [case.expected for case in all_cases() if case.policy == policy]
    assert [] in expectations, f"{policy} has no compliant case"
    assert any(expected and expected != NOT_APPLICABLE for expected in expectations), f"{policy} has no violating case"


def test_cases_name_only_existing_policies() -> None:
    assert {case.policy for case in all_cases()} <= set(BY_NAME)


def test_unknown_values_are_left_to_the_sdk() -> None:
    """During preview an unknown input raises the SDK's error, which the analyzer turns into an advisory diagnostic."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

    case = one("sagemaker-model-in-vpc", "preview", MODEL, patched(model(), "vpcConfig", UNKNOWN_STRING_VALUE), [])
    with pytest.raises(UnknownValueError):
        run(case)
