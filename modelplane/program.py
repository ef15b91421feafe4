"""The program's build function: settings in, components and stack outputs out.

Stack outputs (a contract read by `modelplane verify` and the docs; add keys, never rename):
- `environment`: the stack's environment.
- `registry`: `key_arn`, `bucket_name`, `bucket_arn`, and `families.<family>` with
  `repository_url`, `repository_arn`, `model_package_group_name`, `model_package_group_arn`.
- `secrets`: secret name -> secret ARN.
- `endpoints.<settings endpoint name>`, for `platform: sagemaker`: `platform`, `endpoint_name`,
  `endpoint_arn`, `endpoint_config_name`, `role_arn`, `variants.<variant>` (`weight`,
  `traffic_share`), `shadow_variant` (name or null), `autoscaling.<variant>` (`resource_id`,
  `min_capacity`, `max_capacity`), `data_capture` (bool), `alarm_names`, `rollback_alarm_names`,
  `anomaly_alarm_names` (anomaly-detection and drift alarms, also in `alarm_names`), `dashboard_name`,
  `log_group_name`, `alarm_topic_arn`.
- `endpoints.<settings endpoint name>`, for `platform: kubernetes`: `platform`, `namespace`,
  `services.<variant>`, `route_name`, `variants.<variant>` (`weight`, `traffic_share`),
  `shadow_variant`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.alert_topic import AlertTopic, AlertTopicArgs
from components.anomaly_detection import AnomalyBand
from components.encryption_key import EncryptionKey, EncryptionKeyArgs
from components.monitoring import EndpointMonitoring, EndpointMonitoringArgs
from components.registry import ModelRegistry, ModelRegistryArgs
from components.sagemaker_endpoint import SageMakerEndpoint, SageMakerEndpointArgs
from components.secrets import ModelSecrets, ModelSecretsArgs, secret_values_from_config
from modelplane import naming
from modelplane.providers import aws_provider
from modelplane.settings import Endpoint, Platform, Settings


@dataclass(frozen=True)
class _Stack:
    """What every endpoint of the stack is built from."""

    settings: Settings
    name: str
    tags: dict[str, str]
    aws: pulumi.ProviderResource
    key: EncryptionKey
    registry: ModelRegistry
    secrets: ModelSecrets

    @property
    def aws_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.aws])


def build(settings: Settings) -> dict[str, Any]:
    """Create every component of the stack and return its outputs by name."""
    project, stack_name = pulumi.get_project(), pulumi.get_stack()
    tags = settings.base_tags(project, stack_name)
    aws = aws_provider(settings, stack_name)
    aws_opts = pulumi.ResourceOptions(providers=[aws])
    key = EncryptionKey("key", EncryptionKeyArgs(stack=stack_name, tags=tags, protect=settings.is_prod), opts=aws_opts)
    registry = ModelRegistry(
        "registry",
        ModelRegistryArgs(
            registry=settings.registry, stack=stack_name, key_arn=key.arn, tags=tags, protect=settings.is_prod
        ),
        opts=aws_opts,
    )
    secrets = ModelSecrets(
        "secrets",
        ModelSecretsArgs(
            secrets=settings.secrets,
            values=secret_values_from_config(),
            kms_key_arn=key.arn,
            tags=tags,
            prod=settings.is_prod,
        ),
        opts=aws_opts,
    )
    stack = _Stack(settings, stack_name, tags, aws, key, registry, secrets)
    endpoint_outputs = {**_sagemaker_endpoints(stack), **_kubernetes_services(stack)}
    # Last: every endpoint has called secrets.grant_read for its role by now.
    secrets.seal()
    return {
        "environment": settings.environment.value,
        "registry": registry.stack_output(),
        "secrets": secrets.arns,
        "endpoints": endpoint_outputs,
    }


def _sagemaker_endpoints(stack: _Stack) -> dict[str, dict[str, Any]]:
    """Monitoring, then the endpoint, for every SageMaker endpoint; one alert topic for them all."""
    settings, key, registry, secrets = stack.settings, stack.key, stack.registry, stack.secrets
    endpoints = [e for e in settings.endpoints if e.platform is Platform.SAGEMAKER]
    if not endpoints:
        return {}
    alert_topic = AlertTopic(
        "alerts",
        AlertTopicArgs(monitoring=settings.monitoring, kms_key_arn=key.arn, tags=stack.tags),
        opts=stack.aws_opts,
    )
    outputs: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        endpoint_name = naming.endpoint_name(endpoint, stack.name)
        # Before the endpoint: its rollback configuration names these alarms (known names, no cycle).
        monitoring = EndpointMonitoring(
            f"{endpoint.name}-monitoring",
            EndpointMonitoringArgs(
                endpoint=endpoint,
                endpoint_name=endpoint_name,
                topic_arn=alert_topic.arn,
                kms_key_arn=key.arn,
                log_retention_days=settings.log_retention_days(),
                prod=settings.is_prod,
                region=settings.region,
                tags=stack.tags,
                anomaly_band=_anomaly_band(settings, endpoint),
                drift_alarm=endpoint.drift.enabled,
            ),
            opts=stack.aws_opts,
        )
        family = registry.families[endpoint.family]
        sagemaker_endpoint = SageMakerEndpoint(
            endpoint.name,
            SageMakerEndpointArgs(
                endpoint=endpoint,
                endpoint_name=endpoint_name,
                prod=settings.is_prod,
                network=settings.network,
                kms_key_arn=key.arn,
                bucket_name=registry.bucket_name,
                bucket_arn=registry.bucket_arn,
                repository_url=family.repository_url,
                repository_arn=family.repository_arn,
                model_package_group_name=family.model_package_group_name,
                secret_arns={secret: secrets.arns[secret] for secret in endpoint.secrets},
                rollback_alarm_names=monitoring.rollback_alarm_names,
                tags=stack.tags,
            ),
            opts=pulumi.ResourceOptions.merge(stack.aws_opts, pulumi.ResourceOptions(depends_on=[monitoring])),
        )
        for secret in endpoint.secrets:
            secrets.grant_read(secret, sagemaker_endpoint.role_arn)
        outputs[endpoint.name] = {
            **sagemaker_endpoint.stack_output(),
            "alarm_names": monitoring.alarm_names,
            "rollback_alarm_names": monitoring.rollback_alarm_names,
            "anomaly_alarm_names": monitoring.anomaly_alarm_names,
            "dashboard_name": monitoring.dashboard_name,
            "log_group_name": monitoring.log_group_name,
            "alarm_topic_arn": alert_topic.arn,
        }
    return outputs


def _anomaly_band(settings: Settings, endpoint: Endpoint) -> AnomalyBand | None:
    """The endpoint's anomaly detection with the environment's defaults filled in; None when off."""
    anomaly = endpoint.alarms.anomaly_detection.resolved(settings.environment)
    if not anomaly.enabled:
        return None
    return AnomalyBand(
        width=anomaly.band_width,
        period_seconds=anomaly.period_seconds,
        evaluation_periods=anomaly.evaluation_periods,
        datapoints_to_alarm=anomaly.datapoints_to_alarm,
    )


def _kubernetes_services(stack: _Stack) -> dict[str, dict[str, Any]]:
    """A Kubernetes service for every Kubernetes endpoint, through one explicit cluster provider."""
    settings, secrets = stack.settings, stack.secrets
    endpoints = [e for e in settings.endpoints if e.platform is Platform.KUBERNETES]
    if not endpoints:
        return {}
    # Imported here: stacks without Kubernetes endpoints don't pay for pulumi_kubernetes.
    from components.kubernetes_service import (
        KubernetesModelService,
        KubernetesModelServiceArgs,
        ServedSecret,
        WorkloadIdentity,
    )
    from modelplane.providers import kubernetes_provider

    kubeconfig = pulumi.Config("modelplane").get_secret("kubeconfig")
    cluster_opts = pulumi.ResourceOptions(providers=[stack.aws, kubernetes_provider(settings, stack.name, kubeconfig)])
    oidc_provider_arn = settings.kubernetes.oidc_provider_arn
    identity = (
        WorkloadIdentity(oidc_provider_arn, secrets_key_arn=stack.key.arn, region=settings.region, tags=stack.tags)
        if oidc_provider_arn
        else None
    )
    outputs: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        service = KubernetesModelService(
            endpoint.name,
            KubernetesModelServiceArgs(
                endpoint=endpoint,
                repository_url=stack.registry.families[endpoint.family].repository_url,
                prod=settings.is_prod,
                secrets={
                    secret: ServedSecret(
                        arn=secrets.arns[secret],
                        value=secrets.values.get(secret),
                        rotates=settings.secrets[secret].rotation is not None,
                    )
                    for secret in endpoint.secrets
                },
                workload_identity=identity,
                anomaly_band=_anomaly_band(settings, endpoint),
            ),
            opts=cluster_opts,
        )
        for secret, role_arn in service.secret_readers.items():
            secrets.grant_read(secret, role_arn)
        outputs[endpoint.name] = service.stack_output()
    return outputs
