"""A SageMaker endpoint that moves between model versions safely and compares them on live traffic.

Update safety, after the failure modes of endpoints as code:
- Models and the endpoint configuration carry no `name`: Pulumi auto-names them, so every change is a
  new configuration that the endpoint moves to through the deployment guardrails (blue/green with
  automatic rollback on the alarms), and the old one is deleted only afterwards (create before delete).
- In prod, superseded configurations and models are kept in AWS (`retain_on_delete`): when SageMaker
  rolls a deployment back on its own, the configuration it returned to still exists.
- The endpoint name is known up front (`naming.endpoint_name`): the alarms watch it by that name
  and the endpoint's rollback lists the alarms by theirs, without a dependency cycle.
- Autoscaling targets depend on the endpoint, so a delete deregisters them first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.artifact_bucket import ASYNC_OUTPUT_PREFIX, DATA_CAPTURE_PREFIX
from components.container_repository import PULL_ACTIONS
from components.monitoring import INSTANCE_NAMESPACE, MAX_ROLLBACK_ALARMS
from components.secrets import READ_ACTION, secret_arn_env_var
from modelplane import aws_limits
from modelplane.naming import endpoint_log_group, model_resource_name
from modelplane.settings import Autoscaling, Deployment, Endpoint, Network, Strategy, Variant

# Callers of an asynchronous endpoint upload request payloads here; SageMaker reads them as the endpoint.
ASYNC_INPUT_PREFIX = "async-input/"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
# EC2 has no resource-level permissions for Describe* calls: these need `Resource: "*"`.
VPC_DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
ENI_MANAGE_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
TRAFFIC_ROUTING = {Strategy.ALL_AT_ONCE: "ALL_AT_ONCE", Strategy.CANARY: "CANARY", Strategy.LINEAR: "LINEAR"}
CAPACITY_TYPES = {"capacity-percent": "CAPACITY_PERCENT", "instance-count": "INSTANCE_COUNT"}
CAPTURE_MODES = {"input": "Input", "output": "Output"}


@dataclass(frozen=True)
class SageMakerEndpointArgs:
    endpoint: Endpoint
    """The endpoint's settings (`platform: sagemaker`): variants, shadow, deployment, autoscaling, capture."""
    endpoint_name: str
    """Deployed endpoint name (`naming.endpoint_name`), known before the endpoint exists."""
    prod: bool
    """Prod: the endpoint is protected, superseded configurations and models are kept on delete."""
    network: Network | None
    """Private subnets and security groups of instance-backed models; None runs them outside a VPC."""
    kms_key_arn: pulumi.Input[str]
    """The stack key: instance volumes, captured data, asynchronous results."""
    bucket_name: pulumi.Input[str]
    """Artifact bucket holding model archives, data capture and asynchronous results."""
    bucket_arn: pulumi.Input[str]
    """ARN of the artifact bucket, for the execution role's policy."""
    repository_url: pulumi.Input[str]
    """The family's ECR repository URL; a variant's image is this plus `:tag` or `@sha256:...`."""
    repository_arn: pulumi.Input[str]
    """The family's ECR repository, the only one the execution role may pull from."""
    model_package_group_name: pulumi.Input[str]
    """The family's model package group, where `model_package_version` variants are registered."""
    secret_arns: Mapping[str, pulumi.Input[str]]
    """ARNs of exactly the secrets the endpoint lists, by settings name; passed as `<NAME>_SECRET_ARN`."""
    rollback_alarm_names: Sequence[str]
    """Alarms (0-10) that roll a deployment back; the execution role may describe exactly these."""
    tags: Mapping[str, str]
    """Tags of every taggable resource."""


class SageMakerEndpoint(pulumi.ComponentResource):
    """Execution role, one model per variant, an auto-named endpoint configuration, the endpoint and its autoscaling."""

    endpoint_name: pulumi.Output[str]
    """Deployed endpoint name."""
    endpoint_arn: pulumi.Output[str]
    """Endpoint ARN."""
    endpoint_config_name: pulumi.Output[str]
    """The configuration the endpoint should run; `modelplane verify` compares it with DescribeEndpoint."""
    role_arn: pulumi.Output[str]
    """Execution role, to grant it further reads (e.g. `ModelSecrets.grant_read`)."""
    autoscaling_resource_ids: dict[str, pulumi.Output[str]]
    """Application Auto Scaling resource id per autoscaled variant: `endpoint/<name>/variant/<variant>`."""

    def __init__(self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)
        super().__init__("modelplane:sagemaker:SageMakerEndpoint", name, None, opts)
        self._args = args
        endpoint = args.endpoint
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        account = _Account(
            partition=aws.get_partition_output(opts=invoke_opts).partition,
            region=aws.get_region_output(opts=invoke_opts).region,
            account_id=aws.get_caller_identity_output(opts=invoke_opts).account_id,
        )
        tags = dict(args.tags)

        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of SageMaker endpoint {args.endpoint_name}",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy(account)),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.name,
            policy=pulumi.Output.json_dumps(execution_policy(args, account)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Kept in prod with the configurations that reference them, so a retained configuration still deploys.
        model_opts = pulumi.ResourceOptions(parent=self, depends_on=[role_policy], retain_on_delete=args.prod)
        models = {
            variant.name: aws.sagemaker.Model(
                model_resource_name(name, variant.name),
                execution_role_arn=role.arn,
                primary_container=self._container(variant, account),
                enable_network_isolation=is_network_isolated(endpoint, variant),
                vpc_config=self._vpc_config(variant),
                tags=tags,
                opts=model_opts,
            )
            for variant in endpoint.all_variants
        }
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=variant.name,
                    model_name=models[variant.name].name,
                    initial_variant_weight=variant.weight,
                    **_capacity(variant, aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs),
                )
                for variant in endpoint.variants
            ],
            shadow_production_variants=self._shadow_variants(models),
            kms_key_arn=None if has_local_nvme(endpoint) else args.kms_key_arn,
            data_capture_config=self._data_capture(),
            async_inference_config=self._async_inference(),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.prod),
        )
        sagemaker_endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=config.name,
            deployment_config=deployment_config(endpoint.deployment, args.rollback_alarm_names),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.prod),
        )
        scaling = endpoint.autoscaling
        self.autoscaling_resource_ids = {
            variant.name: self._autoscale(f"{name}-{variant.name}", sagemaker_endpoint, variant.name, scaling)
            for variant in endpoint.variants
            if scaling is not None and variant.instance_type is not None
        }
        self.endpoint_name = sagemaker_endpoint.name
        self.endpoint_arn = sagemaker_endpoint.arn
        self.endpoint_config_name = config.name
        self.role_arn = role.arn
        self.register_outputs(self.stack_output())

    def stack_output(self) -> dict[str, Any]:
        """This endpoint's part of the `endpoints.<name>` stack output (see `modelplane.program`)."""
        endpoint = self._args.endpoint
        shares = endpoint.traffic_shares()
        scaling = endpoint.autoscaling
        bounds = {"min_capacity": scaling.min_capacity, "max_capacity": scaling.max_capacity} if scaling else {}
        return {
            "platform": endpoint.platform.value,
            "endpoint_name": self.endpoint_name,
            "endpoint_arn": self.endpoint_arn,
            "endpoint_config_name": self.endpoint_config_name,
            "role_arn": self.role_arn,
            "variants": {v.name: {"weight": v.weight, "traffic_share": shares[v.name]} for v in endpoint.variants},
            "shadow_variant": endpoint.shadow.name if endpoint.shadow else None,
            "autoscaling": {
                variant: {"resource_id": resource_id, **bounds}
                for variant, resource_id in self.autoscaling_resource_ids.items()
            },
            "data_capture": captures_data(endpoint),
        }

    def _container(self, variant: Variant, account: _Account) -> aws.sagemaker.ModelPrimaryContainerArgs:
        """A registered model package version, or the family's image with an archive from the bucket.

        A package's inference specification names its own image and archive; SageMaker takes them
        from there, so they are not repeated (as the SageMaker SDK creates package models).
        """
        args = self._args
        environment = {
            **variant.environment,
            **{secret_arn_env_var(secret): arn for secret, arn in args.secret_arns.items()},
        } or None
        if variant.model_package_version is not None:
            return aws.sagemaker.ModelPrimaryContainerArgs(
                model_package_name=model_package_arn(
                    account, args.model_package_group_name, variant.model_package_version
                ),
                environment=environment,
            )
        return aws.sagemaker.ModelPrimaryContainerArgs(
            image=pulumi.Output.concat(args.repository_url, variant.image_reference),
            model_data_url=(
                pulumi.Output.concat("s3://", args.bucket_name, "/", variant.model_artifact)
                if variant.model_artifact
                else None
            ),
            environment=environment,
        )

    def _vpc_config(self, variant: Variant) -> aws.sagemaker.ModelVpcConfigArgs | None:
        network = self._args.network
        if network is None or variant.serverless is not None:
            return None
        return aws.sagemaker.ModelVpcConfigArgs(
            subnets=list(network.subnet_ids), security_group_ids=list(network.security_group_ids)
        )

    def _shadow_variants(
        self, models: Mapping[str, aws.sagemaker.Model]
    ) -> list[aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs] | None:
        """The shadow gets the production variant's weight: SageMaker then copies it every request."""
        endpoint = self._args.endpoint
        shadow = endpoint.shadow
        if shadow is None:
            return None
        return [
            aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs(
                variant_name=shadow.name,
                model_name=models[shadow.name].name,
                initial_variant_weight=endpoint.variants[0].weight,
                **_capacity(shadow, aws.sagemaker.EndpointConfigurationShadowProductionVariantServerlessConfigArgs),
            )
        ]

    def _data_capture(self) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs | None:
        args = self._args
        if not captures_data(args.endpoint):
            return None
        capture = args.endpoint.data_capture
        return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
            enable_capture=True,
            initial_sampling_percentage=capture.sampling_percent,
            destination_s3_uri=pulumi.Output.concat(
                "s3://", args.bucket_name, "/", data_capture_prefix(args.endpoint_name).rstrip("/")
            ),
            kms_key_id=args.kms_key_arn,
            capture_options=[
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=CAPTURE_MODES[mode])
                for mode in capture.capture
            ],
        )

    def _async_inference(self) -> aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs | None:
        args = self._args
        settings = args.endpoint.async_inference
        if settings is None:
            return None
        output = pulumi.Output.concat("s3://", args.bucket_name, "/", async_output_prefix(args.endpoint_name))
        return aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs(
            output_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigOutputConfigArgs(
                s3_output_path=pulumi.Output.concat(output, "results"),
                s3_failure_path=pulumi.Output.concat(output, "failures"),
                kms_key_id=args.kms_key_arn,
            ),
            client_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigClientConfigArgs(
                max_concurrent_invocations_per_instance=settings.max_concurrent_invocations_per_instance
            ),
        )

    def _autoscale(
        self, resource_name: str, endpoint: aws.sagemaker.Endpoint, variant_name: str, scaling: Autoscaling
    ) -> pulumi.Output[str]:
        """Target tracking on invocations per instance; the target depends on the endpoint, so it is deregistered first."""
        target = aws.appautoscaling.Target(
            f"{resource_name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension=aws_limits.SCALABLE_DIMENSION,
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, "/variant/", variant_name),
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
            tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[endpoint]),
        )
        aws.appautoscaling.Policy(
            f"{resource_name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=scaling.target_invocations_per_instance,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=SCALING_METRIC
                ),
                scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                scale_out_cooldown=scaling.scale_out_cooldown_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return target.resource_id


@dataclass(frozen=True)
class _Account:
    """Where the stack deploys, for the ARNs of resources known only by name."""

    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    account_id: pulumi.Output[str]

    def arn(self, service: str, *resource: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "arn:", self.partition, ":", service, ":", self.region, ":", self.account_id, ":", *resource
        )


def _check(args: SageMakerEndpointArgs) -> None:
    if len(args.rollback_alarm_names) > MAX_ROLLBACK_ALARMS:
        raise ValueError(f"SageMaker accepts at most {MAX_ROLLBACK_ALARMS} rollback alarms")
    if set(args.secret_arns) != set(args.endpoint.secrets):
        raise ValueError(
            f"secret_arns must hold exactly the endpoint's secrets {sorted(args.endpoint.secrets)}, "
            f"got {sorted(args.secret_arns)}"
        )


def is_serverless(endpoint: Endpoint) -> bool:
    return any(variant.serverless is not None for variant in endpoint.all_variants)


def captures_data(endpoint: Endpoint) -> bool:
    """Serverless endpoints can't capture data (a SageMaker Serverless Inference exclusion)."""
    return endpoint.data_capture.enabled and not is_serverless(endpoint)


def is_network_isolated(endpoint: Endpoint, variant: Variant) -> bool:
    """Isolation, unless the model must reach Secrets Manager or runs serverless (which doesn't support it).

    An isolated container has no network and no AWS credentials: it could not read the secrets it is
    given by ARN. Such a model runs in the stack's private subnets instead (required in prod).
    """
    return variant.serverless is None and not endpoint.secrets


def has_local_nvme(endpoint: Endpoint) -> bool:
    """SageMaker rejects a volume key when an instance type has local NVMe storage (encrypted by its hardware)."""
    return any(
        variant.instance_type is not None and aws_limits.has_local_nvme(variant.instance_type)
        for variant in endpoint.all_variants
    )


def data_capture_prefix(endpoint_name: str) -> str:
    return f"{DATA_CAPTURE_PREFIX}{endpoint_name}/"


def async_output_prefix(endpoint_name: str) -> str:
    return f"{ASYNC_OUTPUT_PREFIX}{endpoint_name}/"


def async_input_prefix(endpoint_name: str) -> str:
    return f"{ASYNC_INPUT_PREFIX}{endpoint_name}/"


def model_package_arn(account: _Account, group_name: pulumi.Input[str], version: int) -> pulumi.Output[str]:
    """A version in the family's model package group: `model-package/<group>/<version>`."""
    return account.arn("sagemaker", "model-package/", group_name, f"/{version}")


def _capacity(variant: Variant, serverless_args: Callable[..., Any]) -> dict[str, Any]:
    """Instance type and count, or the serverless memory and concurrency."""
    serverless = variant.serverless
    if serverless is None:
        return {"instance_type": variant.instance_type, "initial_instance_count": variant.instance_count}
    return {
        "serverless_config": serverless_args(
            memory_size_in_mb=serverless.memory_size_mb,
            max_concurrency=serverless.max_concurrency,
            provisioned_concurrency=serverless.provisioned_concurrency,
        )
    }


def deployment_config(
    deployment: Deployment, rollback_alarm_names: Sequence[str]
) -> aws.sagemaker.EndpointDeploymentConfigArgs:
    """Blue/green traffic shifting (or a rolling update), rolled back when a rollback alarm fires."""
    rollback = (
        aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
            alarms=[
                aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=alarm)
                for alarm in rollback_alarm_names
            ]
        )
        if rollback_alarm_names
        else None
    )
    step = {"type": CAPACITY_TYPES[deployment.step.type], "value": deployment.step.value}
    if deployment.strategy is Strategy.ROLLING:
        return aws.sagemaker.EndpointDeploymentConfigArgs(
            rolling_update_policy=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyArgs(
                maximum_batch_size=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyMaximumBatchSizeArgs(
                    **step
                ),
                wait_interval_in_seconds=deployment.bake_seconds,
                maximum_execution_timeout_in_seconds=deployment.max_duration_seconds,
            ),
            auto_rollback_configuration=rollback,
        )
    routing = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(
        type=TRAFFIC_ROUTING[deployment.strategy],
        wait_interval_in_seconds=deployment.bake_seconds,
        canary_size=(
            aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs(**step)
            if deployment.strategy is Strategy.CANARY
            else None
        ),
        linear_step_size=(
            aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs(
                **step
            )
            if deployment.strategy is Strategy.LINEAR
            else None
        ),
    )
    return aws.sagemaker.EndpointDeploymentConfigArgs(
        blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
            traffic_routing_configuration=routing,
            termination_wait_in_seconds=deployment.termination_wait_seconds,
            maximum_execution_timeout_in_seconds=deployment.max_duration_seconds,
        ),
        auto_rollback_configuration=rollback,
    )


def trust_policy(account: _Account) -> dict[str, Any]:
    """SageMaker may assume the role only on behalf of this account's SageMaker resources (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SageMakerOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account.account_id},
                    "ArnLike": {"aws:SourceArn": account.arn("sagemaker", "*")},
                },
            }
        ],
    }


def execution_policy(args: SageMakerEndpointArgs, account: _Account) -> dict[str, Any]:
    """Exactly what this endpoint's models need; `Resource: "*"` only for actions that take no resource."""
    endpoint = args.endpoint
    variants = endpoint.all_variants
    log_group = account.arn("logs", "log-group:", endpoint_log_group(args.endpoint_name))
    writes = [
        *([data_capture_prefix(args.endpoint_name)] if captures_data(endpoint) else []),
        *([async_output_prefix(args.endpoint_name)] if endpoint.async_inference else []),
    ]
    statements: list[dict[str, Any]] = [
        _allow("PullModelImage", PULL_ACTIONS, args.repository_arn),
        # ECR offers no narrower resource for the registry login token.
        _allow("LogInToEcr", ["ecr:GetAuthorizationToken"], "*"),
        _allow("UseStackKey", ["kms:Decrypt", *(["kms:GenerateDataKey"] if writes else [])], args.kms_key_arn),
        _allow("WriteEndpointLogs", LOG_ACTIONS, [log_group, pulumi.Output.concat(log_group, ":*")]),
        # PutMetricData takes no resource; the namespace condition keeps it to the instance metrics.
        _allow(
            "PublishInstanceMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringEquals": {"cloudwatch:namespace": INSTANCE_NAMESPACE}},
        ),
    ]
    artifact_keys = sorted({v.model_artifact for v in variants if v.model_artifact})
    packages = sorted({v.model_package_version for v in variants if v.model_package_version is not None})
    # A registered version's archive lives below its family's prefix (`<family>/...`) in the bucket.
    read_keys = artifact_keys + ([f"{endpoint.family}/*"] if packages else [])
    if endpoint.async_inference:
        read_keys.append(f"{async_input_prefix(args.endpoint_name)}*")
    if read_keys:
        objects = [pulumi.Output.concat(args.bucket_arn, "/", key) for key in read_keys]
        statements.append(_allow("ReadModelArtifacts", ["s3:GetObject"], objects))
    if packages:
        versions = [model_package_arn(account, args.model_package_group_name, version) for version in packages]
        statements.append(_allow("DescribeModelPackages", ["sagemaker:DescribeModelPackage"], versions))
    if writes:
        objects = [pulumi.Output.concat(args.bucket_arn, "/", prefix, "*") for prefix in writes]
        statements.append(_allow("WriteCaptureAndResults", ["s3:PutObject"], objects))
    if args.rollback_alarm_names:
        alarms = [account.arn("cloudwatch", "alarm:", alarm) for alarm in args.rollback_alarm_names]
        statements.append(_allow("ReadRollbackAlarms", ["cloudwatch:DescribeAlarms"], alarms))
    if args.secret_arns:
        secrets = [args.secret_arns[secret] for secret in sorted(args.secret_arns)]
        statements.append(_allow("ReadEndpointSecrets", [READ_ACTION], secrets))
    if args.network is not None and not all(variant.serverless for variant in variants):
        statements += _network_interface_statements(args.network, account)
    return {"Version": "2012-10-17", "Statement": statements}


def _network_interface_statements(network: Network, account: _Account) -> list[dict[str, Any]]:
    """SageMaker attaches the models to the stack's subnets through network interfaces it creates as the role."""
    interfaces = account.arn("ec2", "network-interface/*")
    subnets = [account.arn("ec2", "subnet/", subnet) for subnet in network.subnet_ids]
    groups = [account.arn("ec2", "security-group/", group) for group in network.security_group_ids]
    return [
        _allow("DescribeNetwork", VPC_DESCRIBE_ACTIONS, "*"),
        _allow("CreateInterfacesInModelSubnets", ["ec2:CreateNetworkInterface"], [interfaces, *subnets, *groups]),
        _allow(
            "ManageInterfacesInModelSubnets",
            ENI_MANAGE_ACTIONS,
            interfaces,
            {"ArnEquals": {"ec2:Subnet": subnets}},
        ),
    ]


def _allow(
    sid: str,
    actions: Sequence[str],
    resources: pulumi.Input[str] | Sequence[pulumi.Input[str]],
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition is not None:
        statement["Condition"] = dict(condition)
    return statement
