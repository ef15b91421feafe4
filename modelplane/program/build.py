"""The program's build function: settings in, components and stack outputs out.

Settings become component arguments in `modelplane.program.component_args`; this module creates the
components in order and wires their outputs together.

Stack outputs (a contract read by `modelplane verify` and the docs; add keys, never rename):
- `stack`: the stack's name, so that the tools refuse another stack's outputs.
- `environment`: the stack's environment.
- `registry`: `key_arn`, `bucket_name`, `bucket_arn`, and `families.<family>` with
  `repository_url`, `repository_arn`, `model_package_group_name`, `model_package_group_arn`.
- `secrets`: secret name -> secret ARN.
- `endpoints.<settings endpoint name>`, for `platform: sagemaker`: `platform`, `endpoint_name`,
  `endpoint_arn`, `endpoint_config_name`, `role_arn`, `variants.<variant>` (`weight`,
  `traffic_share`), `shadow_variant` (name or null), `autoscaling.<variant>` (`resource_id`,
  `min_capacity`, `max_capacity`), `data_capture` (bool), `alarm_names`, `rollback_alarm_names`,
  `anomaly_alarm_names` (anomaly-detection and drift alarms, also in `alarm_names`), `dashboard_name`,
  `log_group_name`, `alarm_topic_arn`, and with data capture `capture_table` (`database`, `table`,
  `workgroup`: where `modelplane drift --engine athena` queries the capture; `projected_hours_range`: the
  hours the table projects, Athena's syntax).
- `capture_queries`, when an endpoint captures: `database`, `workgroup`, `results_location`,
  `runner_policy_arn` (the managed policy a drift runner needs).
- `endpoints.<settings endpoint name>`, for `platform: kubernetes`: `platform`, `endpoint_name` (the name in
  its capture keys, `<endpoint>-<stack>`), `namespace`, `services.<variant>`, `deployments.<variant>`,
  `route_name`, `variants.<variant>` (`weight`, `traffic_share`), `shadow_variant`, `data_capture` (bool),
  and with data capture `capture_table` (as for SageMaker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from modelplane_components.alert_topic import AlertTopic
from modelplane_components.capture_queries import CaptureQueries
from modelplane_components.encryption_key import EncryptionKey
from modelplane_components.model_secrets import ModelSecrets
from modelplane_components.monitoring import EndpointMonitoring
from modelplane_components.registry import ModelRegistry
from modelplane_components.sagemaker_endpoint import SageMakerEndpoint
from modelplane_components.secret_read_policy import SecretReadPolicy

from modelplane.config.loader import NAMESPACE, SECRET_VALUES_KEY
from modelplane.program import component_args
from modelplane.program.providers import aws_provider
from modelplane.settings import Endpoint, Platform, Settings

if TYPE_CHECKING:
    from modelplane_components.kubernetes_service import ServedSecretArgs

SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"


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
    secret_values: dict[str, pulumi.Output[Any]]
    readers: dict[str, list[pulumi.Input[str]]] = field(default_factory=dict)
    """Roles that read each secret, collected from its consumers for its `SecretReadPolicy`."""

    @property
    def aws_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.aws])


def build(settings: Settings) -> dict[str, Any]:
    """Create every component of the stack and return its outputs by name."""
    project, stack_name = pulumi.get_project(), pulumi.get_stack()
    tags = settings.base_tags(project, stack_name)
    aws = aws_provider(settings, stack_name)
    prod = settings.is_prod
    # In prod the key, bucket, repositories and model registry are protected (their children inherit it)
    # and stay in AWS even if removed from the program.
    stateful = pulumi.ResourceOptions(providers=[aws], protect=prod, retain_on_delete=prod)
    key = EncryptionKey("key", {"tags": tags}, opts=stateful)
    registry = ModelRegistry("registry", component_args.registry(settings, key.arn, tags), opts=stateful)
    values = secret_values_from_config()
    secrets = ModelSecrets(
        "secrets",
        component_args.secrets(settings, values, key.arn, tags),
        opts=pulumi.ResourceOptions(providers=[aws], protect=prod),
    )
    stack = _Stack(settings, stack_name, tags, aws, key, registry, secrets, values)
    for name, spec in settings.secrets.items():
        stack.readers[name] = [spec.rotation.lambda_role_arn] if spec.rotation else []
    endpoint_outputs = {**_sagemaker_endpoints(stack), **_kubernetes_services(stack)}
    capture_outputs = _capture_queries(stack, endpoint_outputs)
    # Last, once every consumer's role exists: one policy per secret, even one nobody reads.
    for name, arn in secrets.arns.items():
        SecretReadPolicy(
            f"secrets-{name}",
            {"secret_arn": arn, "reader_arns": stack.readers[name]},
            opts=pulumi.ResourceOptions(providers=[aws], transformations=[_formerly_child_of(secrets)]),
        )
    return {
        "stack": stack_name,
        "environment": settings.environment.value,
        "registry": _registry_output(key, registry),
        "secrets": secrets.arns,
        "endpoints": endpoint_outputs,
        **capture_outputs,
    }


def _capture_queries(stack: _Stack, endpoint_outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Glue tables and Athena workgroup over the endpoints' capture; each endpoint's output names its table."""
    registry = stack.registry
    args = component_args.capture_queries(
        stack.settings,
        stack.name,
        bucket_name=registry.bucket_name,
        bucket_arn=registry.bucket_arn,
        kms_key_arn=stack.key.arn,
        tags=stack.tags,
    )
    if args is None:
        return {}
    queries = CaptureQueries("capture-queries", args, opts=stack.aws_opts)
    for endpoint in stack.settings.endpoints:
        deployed = component_args.deployed_endpoint_name(endpoint, stack.name)
        if any(captured["endpoint_name"] == deployed for captured in args["endpoints"]):
            endpoint_outputs[endpoint.name]["capture_table"] = {
                "database": queries.database_name,
                "table": queries.table_names.apply(lambda tables, name=deployed: tables[name]),
                "workgroup": queries.workgroup_name,
                "projected_hours_range": queries.projected_hours_range,
            }
    return {
        "capture_queries": {
            "database": queries.database_name,
            "workgroup": queries.workgroup_name,
            "results_location": queries.results_location,
            "runner_policy_arn": queries.runner_policy_arn,
        }
    }


def secret_values_from_config() -> dict[str, pulumi.Output[Any]]:
    """The values set with `pulumi config set --secret --path 'modelplane:secret_values.<name>'`, by name.

    Which names have a value decides which secrets get a version, and that must be known outside
    `apply()`; so only the names are read in the clear, each value stays inside the secret Output.
    """
    config = pulumi.Config(NAMESPACE)
    key = SECRET_VALUES_KEY.removeprefix(f"{NAMESPACE}:")
    names = list(config.get_object(key) or {})
    every_value = config.get_secret_object(key, {})
    return {name: every_value[name] for name in names}


def _formerly_child_of(parent: pulumi.Resource) -> pulumi.ResourceTransformation:
    """Secret policies were children of `ModelSecrets` before `SecretReadPolicy`: alias them to their old URNs."""

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != SECRET_POLICY:
            return None
        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=parent)])
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, alias))

    return transformation


def _registry_output(key: EncryptionKey, registry: ModelRegistry) -> dict[str, Any]:
    return {
        "key_arn": key.arn,
        "bucket_name": registry.bucket_name,
        "bucket_arn": registry.bucket_arn,
        "families": {
            family: {
                "repository_url": registry.repository_urls[family],
                "repository_arn": registry.repository_arns[family],
                "model_package_group_name": registry.model_package_group_names[family],
                "model_package_group_arn": registry.model_package_group_arns[family],
            }
            for family in registry.repository_urls
        },
    }


def _variants_output(endpoint: Endpoint) -> dict[str, Any]:
    shares = endpoint.traffic_shares()
    return {
        "variants": {v.name: {"weight": v.weight, "traffic_share": shares[v.name]} for v in endpoint.variants},
        "shadow_variant": endpoint.shadow.name if endpoint.shadow else None,
    }


def _sagemaker_endpoints(stack: _Stack) -> dict[str, dict[str, Any]]:
    """Monitoring, then the endpoint, for every SageMaker endpoint; one alert topic for them all."""
    settings, key, registry, secrets = stack.settings, stack.key, stack.registry, stack.secrets
    endpoints = [e for e in settings.endpoints if e.platform is Platform.SAGEMAKER]
    if not endpoints:
        return {}
    alert_topic = AlertTopic("alerts", component_args.alert_topic(settings, key.arn, stack.tags), opts=stack.aws_opts)
    outputs: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        endpoint_name = component_args.deployed_endpoint_name(endpoint, stack.name)
        # Before the endpoint: its rollback configuration names these alarms (known names, no cycle).
        monitoring = EndpointMonitoring(
            f"{endpoint.name}-monitoring",
            component_args.monitoring(
                settings,
                endpoint,
                endpoint_name=endpoint_name,
                topic_arn=alert_topic.arn,
                kms_key_arn=key.arn,
                tags=stack.tags,
            ),
            opts=stack.aws_opts,
        )
        family = endpoint.family
        sagemaker_endpoint = SageMakerEndpoint(
            endpoint.name,
            component_args.sagemaker_endpoint(
                settings,
                endpoint,
                endpoint_name=endpoint_name,
                kms_key_arn=key.arn,
                bucket_name=registry.bucket_name,
                bucket_arn=registry.bucket_arn,
                repository_url=registry.repository_urls[family],
                repository_arn=registry.repository_arns[family],
                model_package_group_name=registry.model_package_group_names[family],
                secret_arns={secret: secrets.arns[secret] for secret in endpoint.secrets},
                rollback_alarm_names=monitoring.rollback_alarm_names,
                tags=stack.tags,
            ),
            opts=pulumi.ResourceOptions(providers=[stack.aws], protect=settings.is_prod, depends_on=[monitoring]),
        )
        for secret in endpoint.secrets:
            stack.readers[secret].append(sagemaker_endpoint.role_arn)
        scaling = endpoint.autoscaling
        bounds = {"min_capacity": scaling.min_capacity, "max_capacity": scaling.max_capacity} if scaling else {}
        outputs[endpoint.name] = {
            "platform": endpoint.platform.value,
            "endpoint_name": sagemaker_endpoint.endpoint_name,
            "endpoint_arn": sagemaker_endpoint.endpoint_arn,
            "endpoint_config_name": sagemaker_endpoint.endpoint_config_name,
            "role_arn": sagemaker_endpoint.role_arn,
            **_variants_output(endpoint),
            "autoscaling": {
                variant: {"resource_id": resource_id, **bounds}
                for variant, resource_id in sagemaker_endpoint.autoscaling_resource_ids.items()
            },
            "data_capture": endpoint.data_capture.enabled,
            "alarm_names": monitoring.alarm_names,
            "rollback_alarm_names": monitoring.rollback_alarm_names,
            "anomaly_alarm_names": monitoring.anomaly_alarm_names,
            "dashboard_name": monitoring.dashboard_name,
            "log_group_name": monitoring.log_group_name,
            "alarm_topic_arn": alert_topic.arn,
        }
    return outputs


def _kubernetes_services(stack: _Stack) -> dict[str, dict[str, Any]]:
    """A Kubernetes service for every Kubernetes endpoint, through one explicit cluster provider."""
    settings, secrets = stack.settings, stack.secrets
    endpoints = [e for e in settings.endpoints if e.platform is Platform.KUBERNETES]
    if not endpoints:
        return {}
    # Imported here: stacks without Kubernetes endpoints don't pay for pulumi_kubernetes.
    from modelplane_components.kubernetes_service import KubernetesModelService
    from modelplane_components.kubernetes_service_args import reads_at_run_time

    from modelplane.program.providers import kubernetes_provider

    kubeconfig = pulumi.Config(NAMESPACE).get_secret("kubeconfig")
    cluster_opts = pulumi.ResourceOptions(providers=[stack.aws, kubernetes_provider(settings, stack.name, kubeconfig)])
    outputs: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        served: dict[str, ServedSecretArgs] = {}
        for secret in endpoint.secrets:
            served[secret] = {"arn": secrets.arns[secret], "rotates": settings.secrets[secret].rotation is not None}
            if secret in stack.secret_values:
                served[secret]["value"] = stack.secret_values[secret]
        registry = stack.registry
        service = KubernetesModelService(
            endpoint.name,
            component_args.kubernetes_service(
                settings,
                endpoint,
                endpoint_name=component_args.deployed_endpoint_name(endpoint, stack.name),
                repository_url=registry.repository_urls[endpoint.family],
                model_package_group_arn=registry.model_package_group_arns[endpoint.family],
                bucket_name=registry.bucket_name,
                bucket_arn=registry.bucket_arn,
                secrets=served,
                kms_key_arn=stack.key.arn,
                tags=stack.tags,
            ),
            opts=cluster_opts,
        )
        if service.workload_role_arn is not None:
            for secret, spec in served.items():
                if reads_at_run_time(spec):
                    stack.readers[secret].append(service.workload_role_arn)
        outputs[endpoint.name] = {
            "platform": Platform.KUBERNETES.value,
            "endpoint_name": component_args.deployed_endpoint_name(endpoint, stack.name),
            "namespace": service.namespace,
            "services": service.service_names,
            "deployments": service.deployment_names,
            "route_name": service.route_name,
            **_variants_output(endpoint),
            "data_capture": endpoint.data_capture.enabled,
        }
    return outputs
