"""Settings to component arguments: the one place modelplane's stack settings meet the components' args.

The program builds every component from these. What the settings alone decide of an argument (an
endpoint's shape, a rotation, alarm thresholds) are methods of the settings models, which their
validators also use to run the components' checks, so each rule is written once (in the component).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from modelplane_components import naming

if TYPE_CHECKING:
    from modelplane_components.alert_topic import AlertTopicArgs
    from modelplane_components.capture_queries import CaptureQueriesArgs
    from modelplane_components.kubernetes_service_args import (
        KubernetesModelServiceArgs,
        ServedSecretArgs,
        WorkloadIdentityArgs,
    )
    from modelplane_components.model_secrets import ModelSecretsArgs, SecretArgs
    from modelplane_components.monitoring_args import (
        AlarmThresholdsArgs,
        AnomalyDetectionArgs,
        EndpointMonitoringArgs,
        MonitoredVariantArgs,
    )
    from modelplane_components.registry import ModelFamilyArgs, ModelRegistryArgs
    from modelplane_components.sagemaker_endpoint_args import SageMakerEndpointArgs

    from modelplane.settings import Endpoint, Settings, Variant

# Secrets Manager keeps a deleted production secret recoverable for the longest window, other stacks for the shortest.
PROD_RECOVERY_WINDOW_DAYS = 30
RECOVERY_WINDOW_DAYS = 7


def registry(settings: Settings, kms_key_arn: pulumi.Input[str], tags: dict[str, str]) -> ModelRegistryArgs:
    spec = settings.registry
    families: dict[str, ModelFamilyArgs] = {
        family: {
            "description": family_spec.description,
            "reader_account_ids": list(family_spec.cross_account_principals),
        }
        for family, family_spec in spec.families.items()
    }
    return {
        "families": families,
        "kms_key_arn": kms_key_arn,
        "image_retention": {
            "keep_tagged": spec.image_retention.keep_tagged,
            "untagged_days": spec.image_retention.untagged_days,
        },
        "pull_account_ids": list(spec.pull_account_ids),
        "noncurrent_artifact_days": spec.noncurrent_artifact_days,
        # Outside prod, `pulumi destroy` removes the bucket and repositories with their contents.
        "force_destroy": not settings.is_prod,
        "tags": tags,
    }


def secrets(
    settings: Settings, values: dict[str, pulumi.Output[Any]], kms_key_arn: pulumi.Input[str], tags: dict[str, str]
) -> ModelSecretsArgs:
    """The declared secrets with the values set in secret config (a name without one is set out of band)."""
    declared: dict[str, SecretArgs] = {}
    for name, spec in settings.secrets.items():
        secret: SecretArgs = {"description": spec.description}
        if name in values:
            secret["value"] = values[name]
        if spec.rotation is not None:
            secret["rotation"] = spec.rotation.component_args()
        declared[name] = secret
    return {
        "secrets": declared,
        "kms_key_arn": kms_key_arn,
        "recovery_window_days": PROD_RECOVERY_WINDOW_DAYS if settings.is_prod else RECOVERY_WINDOW_DAYS,
        "tags": tags,
    }


def alert_topic(settings: Settings, kms_key_arn: pulumi.Input[str], tags: dict[str, str]) -> AlertTopicArgs:
    return {
        "kms_key_arn": kms_key_arn,
        "emails": list(settings.monitoring.emails),
        "https_endpoints": list(settings.monitoring.https_endpoints),
        "tags": tags,
    }


def endpoint_alarms(settings: Settings, endpoint: Endpoint) -> AlarmThresholdsArgs:
    """The endpoint's thresholds, with anomaly detection when it is on in this environment."""
    args = endpoint.alarms.component_args()
    anomaly = endpoint.alarms.anomaly_detection.resolved(settings.environment)
    if anomaly.enabled:
        band: AnomalyDetectionArgs = {
            "band_width": anomaly.band_width,
            "period_seconds": anomaly.period_seconds,
            "evaluation_periods": anomaly.evaluation_periods,
            "datapoints_to_alarm": anomaly.datapoints_to_alarm,
        }
        args["anomaly_detection"] = band
    return args


def monitoring(
    settings: Settings,
    endpoint: Endpoint,
    *,
    endpoint_name: str,
    topic_arn: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
) -> EndpointMonitoringArgs:
    def watched(variant: Variant) -> MonitoredVariantArgs:
        args: MonitoredVariantArgs = {"name": variant.name}
        if variant.instance_type is not None:
            args["instance_type"] = variant.instance_type
        return args

    args: EndpointMonitoringArgs = {
        "endpoint_name": endpoint_name,
        "variants": [watched(variant) for variant in endpoint.variants],
        "alarm_topic_arn": topic_arn,
        "kms_key_arn": kms_key_arn,
        "log_retention_days": settings.log_retention_days(),
        # Production traffic never stops on its own: silence there is an outage.
        "alarm_on_no_traffic": settings.is_prod,
        "alarms": endpoint_alarms(settings, endpoint),
        "drift_alarm": endpoint.drift.enabled,
        "region": settings.region,
        "tags": tags,
    }
    if endpoint.shadow is not None:
        args["shadow"] = watched(endpoint.shadow)
    return args


def sagemaker_endpoint(
    settings: Settings,
    endpoint: Endpoint,
    *,
    endpoint_name: str,
    kms_key_arn: pulumi.Input[str],
    bucket_name: pulumi.Input[str],
    bucket_arn: pulumi.Input[str],
    repository_url: pulumi.Input[str],
    repository_arn: pulumi.Input[str],
    model_package_group_name: pulumi.Input[str],
    secret_arns: dict[str, pulumi.Input[str]],
    rollback_alarm_names: pulumi.Input[list[str]],
    tags: dict[str, str],
) -> SageMakerEndpointArgs:
    args = endpoint.sagemaker_shape()
    args.update(
        {
            "endpoint_name": endpoint_name,
            "repository_url": repository_url,
            "repository_arn": repository_arn,
            "bucket_name": bucket_name,
            "bucket_arn": bucket_arn,
            "kms_key_arn": kms_key_arn,
            "model_package_group_name": model_package_group_name,
            # A registered version's archive lives below its family's prefix in the artifact bucket.
            "registered_artifact_prefix": f"{endpoint.family}/",
            "rollback_alarm_names": rollback_alarm_names,
            # Kept in prod: when SageMaker rolls back on its own, the configuration it returns to still exists.
            "retain_superseded_configurations": settings.is_prod,
            "tags": tags,
        }
    )
    if settings.network is not None:
        args["network"] = {
            "subnet_ids": list(settings.network.subnet_ids),
            "security_group_ids": list(settings.network.security_group_ids),
        }
    if secret_arns:
        args["secret_arns"] = secret_arns
    return args


def kubernetes_service(
    settings: Settings,
    endpoint: Endpoint,
    *,
    endpoint_name: str,
    repository_url: pulumi.Input[str],
    model_package_group_arn: pulumi.Input[str],
    bucket_name: pulumi.Input[str],
    bucket_arn: pulumi.Input[str],
    secrets: dict[str, ServedSecretArgs],
    kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
) -> KubernetesModelServiceArgs:
    args = endpoint.kubernetes_shape()
    args["repository_url"] = repository_url
    # Pinned versions come from the family's registry, capture goes to the stack's bucket under the stack key,
    # named like a SageMaker endpoint of the stack (`<endpoint>-<stack>`) so drift reads both alike.
    if any(variant.model_package_version is not None for variant in endpoint.all_variants):
        args["model_package_group_arn"] = model_package_group_arn
    if endpoint.data_capture.enabled:
        args.update({"bucket_name": bucket_name, "bucket_arn": bucket_arn, "endpoint_name": endpoint_name})
    if "model_package_group_arn" in args or "data_capture" in args:
        args["kms_key_arn"] = kms_key_arn
    args["alerts"] = endpoint_alarms(settings, endpoint)
    # Production alerts page; elsewhere they warn.
    args["critical_alerts"] = settings.is_prod
    if secrets:
        args["secrets"] = secrets
    oidc_provider_arn = settings.kubernetes.oidc_provider_arn
    if oidc_provider_arn:
        identity: WorkloadIdentityArgs = {
            "oidc_provider_arn": oidc_provider_arn,
            "secrets_kms_key_arn": kms_key_arn,
            "region": settings.region,
            "tags": tags,
        }
        args["workload_identity"] = identity
    return args


def capture_queries(
    settings: Settings,
    stack: str,
    *,
    bucket_name: pulumi.Input[str],
    bucket_arn: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
) -> CaptureQueriesArgs | None:
    """A table for every endpoint that captures (both platforms write the same layout); None when none does."""
    captured = [e for e in settings.endpoints if e.data_capture.enabled]
    if not captured:
        return None
    return {
        "database_name": naming.capture_database_name(stack),
        "workgroup_name": naming.drift_workgroup_name(stack),
        "endpoints": [
            {
                "endpoint_name": deployed_endpoint_name(endpoint, stack),
                "variants": [variant.name for variant in endpoint.all_variants],
            }
            for endpoint in captured
        ],
        "bucket_name": bucket_name,
        "bucket_arn": bucket_arn,
        "kms_key_arn": kms_key_arn,
        "scan_limit_bytes": round(settings.monitoring.drift_query_scan_limit_gb * 1000**3),
        "tags": tags,
    }


def deployed_endpoint_name(endpoint: Endpoint, stack: str) -> str:
    return naming.endpoint_name(endpoint.name, stack)
