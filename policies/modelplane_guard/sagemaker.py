"""SageMaker models, endpoint configurations and endpoints: encryption, isolation, capacity, safe updates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    Report,
    applies_to,
    as_list,
    as_mapping,
    as_number,
    aws_config_url,
    aws_managed_key_problem,
    config_schema,
    dig,
    for_types,
    is_false,
    is_true,
    number_text,
    of_type,
    production_gate,
    rule,
    sources,
)
from .monitoring import METRIC_ALARM

MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
# Endpoint metrics (invocations, errors, latency) and instance metrics (CPU, memory, disk, GPU).
SAGEMAKER_NAMESPACES = ("AWS/SageMaker", "/aws/sagemaker/Endpoints")
ENDPOINT_DIMENSIONS = ("EndpointName", "VariantName")
# Instance families with local NVMe storage: SageMaker rejects a volume KMS key for them.
LOCAL_STORAGE_FAMILIES = [
    "ml.c5d",
    "ml.m5d",
    "ml.r5d",
    "ml.c6id",
    "ml.m6id",
    "ml.r6id",
    "ml.g4dn",
    "ml.g5",
    "ml.g6",
    "ml.g6e",
    "ml.p3dn",
    "ml.p4d",
    "ml.p4de",
    "ml.p5",
    "ml.p5e",
    "ml.p5en",
    "ml.trn1",
    "ml.trn1n",
]


def variants(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Production and shadow variants, each with the property path used in messages."""
    found = []
    for key in ("productionVariants", "shadowProductionVariants"):
        for index, variant in enumerate(as_list(props.get(key))):
            mapping = as_mapping(variant)
            found.append((f"{key}[{index}] ({mapping.get('variantName', '?')})", mapping))
    return found


def sagemaker_containers(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """A model's primary container and its inference pipeline containers, each with its property path."""
    found = []
    if props.get("primaryContainer") is not None:
        found.append(("primaryContainer", as_mapping(props.get("primaryContainer"))))
    found += [(f"containers[{index}]", as_mapping(raw)) for index, raw in enumerate(as_list(props.get("containers")))]
    return found


def is_serverless(variant: Mapping[str, Any]) -> bool:
    return variant.get("serverlessConfig") is not None


def instance_family(instance_type: str) -> str:
    return ".".join(instance_type.split(".")[:2])


@for_types(ENDPOINT_CONFIG)
def _endpoint_config_encrypted(args: ResourceValidationArgs, report: Report) -> None:
    local_storage = set(args.get_config().get("localStorageInstanceFamilies", LOCAL_STORAGE_FAMILIES))
    with_volumes = [
        label
        for label, variant in variants(args.props)
        if isinstance(variant.get("instanceType"), str)
        and instance_family(variant["instanceType"]) not in local_storage
    ]
    if with_volumes and not args.props.get("kmsKeyArn"):
        report(f"kmsKeyArn is not set: the storage volumes of {', '.join(with_volumes)} would use an AWS managed key.")
    if args.props.get("dataCaptureConfig") is not None and not dig(args.props, "dataCaptureConfig", "kmsKeyId"):
        report(
            "dataCaptureConfig.kmsKeyId is not set: captured requests and responses would land in S3 without the customer key."
        )
    if args.props.get("asyncInferenceConfig") is not None and not dig(
        args.props, "asyncInferenceConfig", "outputConfig", "kmsKeyId"
    ):
        report(
            "asyncInferenceConfig.outputConfig.kmsKeyId is not set: inference results would land in S3 without the customer key."
        )
    for path in ("kmsKeyArn", "dataCaptureConfig.kmsKeyId", "asyncInferenceConfig.outputConfig.kmsKeyId"):
        if problem := aws_managed_key_problem(path, dig(args.props, *path.split("."))):
            report(problem)


endpoint_config_encrypted = ResourceValidationPolicy(
    name="sagemaker-endpoint-config-encrypted",
    description="SageMaker endpoint configurations encrypt instance storage, captured data and asynchronous results with a customer managed KMS key.",
    validate=_endpoint_config_encrypted,
    severity=Severity.HIGH,
    remediation_steps="Set kmsKeyArn (except when every instance type has local NVMe storage), dataCaptureConfig.kmsKeyId and asyncInferenceConfig.outputConfig.kmsKeyId to the stack's KMS key.",
    tags=[
        "sagemaker",
        "encryption",
        *sources("CKV_AWS_98", "aws-config:sagemaker-endpoint-configuration-kms-key-configured"),
        *applies_to(ENDPOINT_CONFIG),
    ],
    url=aws_config_url("sagemaker-endpoint-configuration-kms-key-configured"),
    config_schema=config_schema(
        {
            "localStorageInstanceFamilies": {
                "type": "array",
                "items": {"type": "string"},
                "default": LOCAL_STORAGE_FAMILIES,
                "description": "Instance families (e.g. ml.g5) with local NVMe storage, for which SageMaker rejects a volume key.",
            }
        }
    ),
)


@for_types(ENDPOINT_CONFIG, SCALABLE_TARGET)
def _production_capacity(args: ResourceValidationArgs, report: Report) -> None:
    production_gate(args)
    minimum = as_number(args.get_config().get("minInstanceCount")) or 2
    if args.resource_type == SCALABLE_TARGET:
        if args.props.get("serviceNamespace") != "sagemaker":
            return
        floor = as_number(args.props.get("minCapacity"))
        if floor is not None and floor < minimum:
            report(
                f"minCapacity is {number_text(floor)}: autoscaling may shrink a production variant below {number_text(minimum)} instances."
            )
        return
    for index, raw in enumerate(as_list(args.props.get("productionVariants"))):
        variant = as_mapping(raw)
        if is_serverless(variant):
            continue
        count = as_number(variant.get("initialInstanceCount"))
        if count is None or count < minimum:
            shown = "no" if count is None else number_text(count)
            report(
                f"productionVariants[{index}] ({variant.get('variantName', '?')}) starts {shown} instance(s); production variants need at least {number_text(minimum)} to survive an instance or zone failure."
            )


production_capacity = ResourceValidationPolicy(
    name="sagemaker-production-capacity",
    description="Instance-backed SageMaker production variants in production run at least two instances, also after autoscaling.",
    validate=_production_capacity,
    severity=Severity.MEDIUM,
    remediation_steps="Set instance_count (and autoscaling.min_capacity) to at least 2 for production endpoints.",
    tags=[
        "sagemaker",
        "availability",
        *sources("aws-config:sagemaker-endpoint-config-prod-instance-count"),
        *applies_to(ENDPOINT_CONFIG, SCALABLE_TARGET),
    ],
    url=aws_config_url("sagemaker-endpoint-config-prod-instance-count"),
    config_schema=config_schema(
        {
            PRODUCTION_PROPERTY: PRODUCTION_SCHEMA,
            "minInstanceCount": {
                "type": "number",
                "minimum": 1,
                "default": 2,
                "description": "Fewest instances per production variant, initially and as autoscaling minimum.",
            },
        }
    ),
)


@for_types(ENDPOINT_CONFIG)
def _no_ssm_access(args: ResourceValidationArgs, report: Report) -> None:
    production_gate(args)
    for label, variant in variants(args.props):
        if is_true(variant.get("enableSsmAccess")):
            report(f"{label} enables SSM access: anyone with ssm:StartSession gets a shell next to production traffic.")


no_ssm_access = ResourceValidationPolicy(
    name="sagemaker-no-ssm-access-in-production",
    description="Production SageMaker variants do not allow SSM shell sessions into their containers.",
    validate=_no_ssm_access,
    severity=Severity.HIGH,
    remediation_steps="Remove enable_ssm_access from the production variants; debug on a dev or staging endpoint.",
    tags=["sagemaker", "access", *applies_to(ENDPOINT_CONFIG)],
    config_schema=config_schema({PRODUCTION_PROPERTY: PRODUCTION_SCHEMA}),
)


SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:")


def reads_secrets_in_vpc(props: Mapping[str, Any]) -> bool:
    """A model in private subnets whose containers are handed Secrets Manager ARNs to read at runtime."""
    in_vpc = all(as_list(dig(props, "vpcConfig", key)) for key in ("subnets", "securityGroupIds"))
    return in_vpc and any(
        SECRET_ARN.match(str(value))
        for _, container in sagemaker_containers(props)
        for value in as_mapping(container.get("environment")).values()
    )


@for_types(MODEL)
def _model_network_isolation(args: ResourceValidationArgs, report: Report) -> None:
    if is_true(args.props.get("enableNetworkIsolation")):
        return
    if args.get_config().get("allowSecretReadersInVpc", False) and reads_secrets_in_vpc(args.props):
        return
    report("enableNetworkIsolation is not true: the model container can open outbound connections.")


model_network_isolation = ResourceValidationPolicy(
    name="sagemaker-model-network-isolation",
    description="SageMaker models run with network isolation, so the container cannot call out (optionally excepting models in private subnets that must read their secrets).",
    validate=_model_network_isolation,
    severity=Severity.HIGH,
    remediation_steps="Set enable_network_isolation=True on the model; a model that reads secrets at runtime cannot be isolated, so run it in private subnets (network settings) and allow that with allowSecretReadersInVpc.",
    tags=[
        "sagemaker",
        "network",
        *sources("CKV_AWS_370", "aws-config:sagemaker-model-isolation-enabled"),
        *applies_to(MODEL),
    ],
    url=aws_config_url("sagemaker-model-isolation-enabled"),
    config_schema=config_schema(
        {
            "allowSecretReadersInVpc": {
                "type": "boolean",
                "default": False,
                "description": "Accept a model without isolation when it runs in private subnets and its environment hands it Secrets Manager ARNs (an isolated container has no network to read them).",
            }
        }
    ),
)


@for_types(MODEL)
def _model_in_vpc(args: ResourceValidationArgs, report: Report) -> None:
    vpc = args.props.get("vpcConfig")
    if vpc is None:
        report("vpcConfig is not set: the model container runs outside your VPC.")
        return
    for key in ("subnets", "securityGroupIds"):
        if not as_list(dig(vpc, key)):
            report(f"vpcConfig.{key} is empty: the model container needs private subnets and security groups.")


model_in_vpc = ResourceValidationPolicy(
    name="sagemaker-model-in-vpc",
    description="SageMaker models run in private VPC subnets with security groups.",
    validate=_model_in_vpc,
    severity=Severity.HIGH,
    remediation_steps="Set network.subnet_ids and network.security_group_ids in the stack settings (vpc_config on the model).",
    tags=["sagemaker", "network", *sources("aws-config:sagemaker-model-in-vpc"), *applies_to(MODEL)],
    url=aws_config_url("sagemaker-model-in-vpc"),
)


def is_auto_name(physical: str, logical: str) -> bool:
    """Pulumi's auto-name for a logical name: `<logical>-<7 hex>`, filled in by the provider's Check."""
    return re.fullmatch(re.escape(logical) + r"-[0-9a-f]{7}", physical) is not None


@for_types(MODEL, ENDPOINT_CONFIG)
def _replaced_safely(args: ResourceValidationArgs, report: Report) -> None:
    name = args.props.get("name")
    if isinstance(name, str) and not is_auto_name(name, args.name):
        report(
            f"name is set to {name!r}: SageMaker can't change this resource in place, and a fixed name forces delete-before-replace or fails the update."
        )
    if args.opts.delete_before_replace:
        report("deleteBeforeReplace is set: the endpoint would lose its configuration before switching to the new one.")


replaced_safely = ResourceValidationPolicy(
    name="sagemaker-auto-named-models-and-configs",
    description="SageMaker models and endpoint configurations are auto-named and replaced create-before-delete, so endpoint updates never lose their configuration.",
    validate=_replaced_safely,
    severity=Severity.HIGH,
    remediation_steps="Remove `name` (or use name_prefix) and delete_before_replace from the Model and EndpointConfiguration; let Pulumi auto-name them.",
    tags=["sagemaker", "deployment-safety", *applies_to(MODEL, ENDPOINT_CONFIG)],
)


@for_types(ENDPOINT)
def _production_guardrails(args: ResourceValidationArgs, report: Report) -> None:
    production_gate(args)
    deployment = as_mapping(args.props.get("deploymentConfig"))
    if deployment.get("blueGreenUpdatePolicy") is None and deployment.get("rollingUpdatePolicy") is None:
        report(
            "deploymentConfig has no blueGreenUpdatePolicy or rollingUpdatePolicy: updates replace the fleet without a watched shift."
        )
    minimum = as_number(args.get_config().get("minRollbackAlarms")) or 1
    alarms = as_list(dig(deployment, "autoRollbackConfiguration", "alarms"))
    if len(alarms) < minimum:
        report(
            f"deploymentConfig.autoRollbackConfiguration lists {len(alarms)} alarm(s); production endpoints need at least {number_text(minimum)} to roll back a bad deployment by themselves."
        )


production_guardrails = ResourceValidationPolicy(
    name="sagemaker-production-deployment-guardrails",
    description="Production SageMaker endpoints update through a blue/green (or rolling) deployment that rolls back automatically on alarms.",
    validate=_production_guardrails,
    severity=Severity.HIGH,
    remediation_steps="Use deployment.strategy canary, linear or rolling; the endpoint then carries a blue/green policy and its rollback alarms.",
    tags=["sagemaker", "deployment-safety", *applies_to(ENDPOINT)],
    config_schema=config_schema(
        {
            PRODUCTION_PROPERTY: PRODUCTION_SCHEMA,
            "minRollbackAlarms": {
                "type": "number",
                "minimum": 1,
                "maximum": 10,
                "default": 1,
                "description": "Fewest alarms that trigger an automatic rollback (SageMaker allows 10).",
            },
        }
    ),
)


@for_types(ENDPOINT_CONFIG)
def _data_capture(args: ResourceValidationArgs, report: Report) -> None:
    production_gate(args)
    all_variants = variants(args.props)
    if all_variants and all(is_serverless(variant) for _, variant in all_variants):
        args.not_applicable("serverless endpoints cannot capture data")
    capture = args.props.get("dataCaptureConfig")
    if capture is None:
        report(
            "dataCaptureConfig is not set: production requests and predictions leave no record for monitoring or audit."
        )
        return
    if is_false(dig(capture, "enableCapture")):
        report("dataCaptureConfig.enableCapture is false: production requests and predictions leave no record.")
        return
    minimum = as_number(args.get_config().get("minSamplingPercentage")) or 1
    sampling = as_number(dig(capture, "initialSamplingPercentage"))
    if sampling is None or sampling < minimum:
        shown = "not set" if sampling is None else f"{number_text(sampling)}%"
        report(f"dataCaptureConfig.initialSamplingPercentage is {shown}; capture at least {number_text(minimum)}%.")


data_capture = ResourceValidationPolicy(
    name="sagemaker-data-capture-in-production",
    description="Production SageMaker endpoint configurations capture a sample of requests and predictions.",
    validate=_data_capture,
    severity=Severity.MEDIUM,
    remediation_steps="Keep data_capture.enabled true for production endpoints, with a sampling_percent at or above the minimum.",
    tags=["sagemaker", "audit", "monitoring", *applies_to(ENDPOINT_CONFIG)],
    config_schema=config_schema(
        {
            PRODUCTION_PROPERTY: PRODUCTION_SCHEMA,
            "minSamplingPercentage": {
                "type": "number",
                "minimum": 1,
                "maximum": 100,
                "default": 1,
                "description": "Smallest share of requests captured, in percent.",
            },
        }
    ),
)


def alarm_metrics(props: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Each metric an alarm reads: (path, namespace, dimensions), for single-metric and metric-math alarms."""
    metrics = []
    if props.get("metricName") is not None or props.get("namespace") is not None:
        metrics.append(("alarm", str(props.get("namespace") or ""), as_mapping(props.get("dimensions"))))
    for index, query in enumerate(as_list(props.get("metricQueries"))):
        metric = as_mapping(dig(query, "metric"))
        if metric:
            metrics.append(
                (
                    f"metricQueries[{index}] ({as_mapping(query).get('id', '?')})",
                    str(metric.get("namespace") or ""),
                    as_mapping(metric.get("dimensions")),
                )
            )
    return metrics


def watched_endpoints(props: Mapping[str, Any]) -> set[str]:
    """Endpoint names a SageMaker alarm watches with both of its dimensions."""
    return {
        str(dimensions["EndpointName"])
        for _, namespace, dimensions in alarm_metrics(props)
        if namespace in SAGEMAKER_NAMESPACES and all(dimensions.get(key) for key in ENDPOINT_DIMENSIONS)
    }


@for_types(METRIC_ALARM)
def _alarm_dimensions(args: ResourceValidationArgs, report: Report) -> None:
    for path, namespace, dimensions in alarm_metrics(args.props):
        missing = [key for key in ENDPOINT_DIMENSIONS if not dimensions.get(key)]
        if namespace in SAGEMAKER_NAMESPACES and missing:
            report(
                f"{path} reads {namespace} without the {' and '.join(missing)} dimension(s): the alarm never receives data."
            )


alarm_dimensions = ResourceValidationPolicy(
    name="sagemaker-alarm-dimensions",
    description="Alarms on SageMaker endpoint metrics name both the EndpointName and VariantName dimensions, without which they never receive data.",
    validate=_alarm_dimensions,
    severity=Severity.HIGH,
    remediation_steps="Add dimensions EndpointName=<deployed endpoint name> and VariantName=<variant> to every SageMaker metric of the alarm.",
    tags=["sagemaker", "monitoring", *applies_to(METRIC_ALARM)],
)


def _alarms_by_name(resources: list[PolicyResource]) -> dict[str, PolicyResource]:
    return {str(alarm.props.get("name")): alarm for alarm in of_type(resources, METRIC_ALARM, COMPOSITE_ALARM)}


def _rollback_alarms_exist(args: StackValidationArgs, report: Report) -> None:
    alarms = _alarms_by_name(args.resources)
    for endpoint in of_type(args.resources, ENDPOINT):
        endpoint_name = str(endpoint.props.get("name"))
        rollback = as_list(dig(endpoint.props, "deploymentConfig", "autoRollbackConfiguration", "alarms"))
        for entry in rollback:
            alarm_name = str(dig(entry, "alarmName"))
            alarm = alarms.get(alarm_name)
            if alarm is None:
                report(
                    f"endpoint {endpoint_name!r} rolls back on alarm {alarm_name!r}, which this stack does not define.",
                    endpoint.urn,
                )
            elif alarm.resource_type == METRIC_ALARM and endpoint_name not in watched_endpoints(alarm.props):
                report(
                    f"endpoint {endpoint_name!r} rolls back on alarm {alarm_name!r}, which does not watch it (EndpointName and VariantName dimensions).",
                    endpoint.urn,
                )


rollback_alarms_exist = StackValidationPolicy(
    name="sagemaker-rollback-alarms-exist",
    description="Every alarm a SageMaker endpoint rolls back on exists in the stack and watches that endpoint.",
    validate=rule(_rollback_alarms_exist),
    severity=Severity.HIGH,
    remediation_steps="Create the rollback alarms in the same stack, with EndpointName set to the endpoint's deployed name and VariantName to a variant.",
    tags=["sagemaker", "deployment-safety", "monitoring", *applies_to(ENDPOINT, METRIC_ALARM, COMPOSITE_ALARM)],
)


def _endpoints_alarmed(args: StackValidationArgs, report: Report) -> None:
    minimum = as_number(args.get_config().get("minAlarms")) or 1
    watched: dict[str, int] = {}
    for alarm in of_type(args.resources, METRIC_ALARM):
        for endpoint_name in watched_endpoints(alarm.props):
            watched[endpoint_name] = watched.get(endpoint_name, 0) + 1
    for endpoint in of_type(args.resources, ENDPOINT):
        endpoint_name = str(endpoint.props.get("name"))
        count = watched.get(endpoint_name, 0)
        if count < minimum:
            report(
                f"endpoint {endpoint_name!r} is watched by {count} alarm(s) with its EndpointName and VariantName; at least {number_text(minimum)} required.",
                endpoint.urn,
            )


endpoints_alarmed = StackValidationPolicy(
    name="sagemaker-endpoint-alarms",
    description="Every SageMaker endpoint has alarms on its own metrics (EndpointName and VariantName dimensions).",
    validate=rule(_endpoints_alarmed),
    severity=Severity.MEDIUM,
    remediation_steps="Create alarms for errors and latency of each variant (modelplane's monitoring component does), with the endpoint's dimensions.",
    tags=["sagemaker", "monitoring", *applies_to(ENDPOINT, METRIC_ALARM)],
    config_schema=config_schema(
        {
            "minAlarms": {
                "type": "number",
                "minimum": 1,
                "default": 1,
                "description": "Fewest alarms that must watch each endpoint.",
            }
        }
    ),
)

POLICIES = [
    endpoint_config_encrypted,
    production_capacity,
    no_ssm_access,
    model_network_isolation,
    model_in_vpc,
    replaced_safely,
    production_guardrails,
    data_capture,
    alarm_dimensions,
    rollback_alarms_exist,
    endpoints_alarmed,
]
