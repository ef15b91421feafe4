"""Rules of `policies/modelplane_guard/sagemaker.py` (SageMaker models, endpoint configurations and endpoints):
compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import sagemaker
from tests.policies.harness import (
    ALARM,
    DELETE,
    ENDPOINT,
    KEY_ARN,
    MODEL,
    NOT_APPLICABLE,
    PREVIEW,
    PRODUCTION_OFF,
    SECRET_ARN,
    TOPIC_ARN,
    UNKNOWN,
    Case,
    Res,
    alarm,
    case_id,
    endpoint,
    math_alarm,
    model,
    one,
    patched,
    run,
    uncovered,
)

ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


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


CASES: list[Case] = [
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
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(sagemaker.POLICIES, CASES) == []


def test_unknown_values_are_left_to_the_sdk() -> None:
    """During preview an unknown input raises the SDK's error, which the analyzer turns into an advisory diagnostic."""
    case = one("sagemaker-model-in-vpc", "preview", MODEL, patched(model(), "vpcConfig", UNKNOWN), [])
    assert run(case) == [f"{PREVIEW}string value at .vpcConfig can't be known during preview"]
