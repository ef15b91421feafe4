"""A SageMaker endpoint that moves between model versions safely and compares them on live traffic.

Update safety, after the failure modes of endpoints as code:
- Models and the endpoint configuration carry no `name`: Pulumi auto-names them, so every change is a
  new configuration that the endpoint moves to through the deployment guardrails (blue/green with
  automatic rollback on the alarms), and the old one is deleted only afterwards (create before delete).
- `retain_superseded_configurations` keeps replaced configurations and models in AWS: when SageMaker
  rolls a deployment back on its own, the configuration it returned to still exists.
- The endpoint name is known up front (an argument): the alarms watch it by that name and the
  endpoint's rollback lists the alarms by theirs, without a dependency cycle.
- Autoscaling targets depend on the endpoint, so a delete deregisters them first.
- `protect` in the options protects the endpoint only: models, configurations, role and autoscaling
  are replaced by every new version and must stay replaceable.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from . import aws_limits
from ._common import check, component_options, image_reference, type_token
from .container_repository import PULL_ACTIONS
from .monitoring import INSTANCE_NAMESPACE
from .naming import (
    async_input_prefix,
    async_output_prefix,
    data_capture_prefix,
    endpoint_log_group,
    model_resource_name,
    secret_arn_env_var,
)
from .sagemaker_endpoint_args import (
    DEFAULT_MAX_CONCURRENT_INVOCATIONS,
    DEFAULT_SAMPLING_PERCENT,
    AsyncInferenceArgs,
    Autoscaling,
    DataCaptureArgs,
    Deployment,
    DeploymentArgs,
    DeploymentStrategy,
    EndpointAutoscalingArgs,
    NetworkArgs,
    SageMakerEndpointArgs,
    ServerlessArgs,
    StepArgs,
    StepType,
    VariantArgs,
    all_variants,
    captured_modes,
    model_name_problems,
    problems,
    variant_weight,
)
from .secret_read_policy import READ_ACTION

__all__ = [
    "AsyncInferenceArgs",
    "DataCaptureArgs",
    "DeploymentArgs",
    "DeploymentStrategy",
    "EndpointAutoscalingArgs",
    "NetworkArgs",
    "SageMakerEndpoint",
    "SageMakerEndpointArgs",
    "ServerlessArgs",
    "StepArgs",
    "StepType",
    "VariantArgs",
]

FORMER_TOKEN = "modelplane:sagemaker:SageMakerEndpoint"
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


TRAFFIC_ROUTING = {
    DeploymentStrategy.ALL_AT_ONCE: "ALL_AT_ONCE",
    DeploymentStrategy.CANARY: "CANARY",
    DeploymentStrategy.LINEAR: "LINEAR",
}


CAPACITY_TYPES = {StepType.CAPACITY_PERCENT: "CAPACITY_PERCENT", StepType.INSTANCE_COUNT: "INSTANCE_COUNT"}

# modelplane's serving image refuses bodies over `MODELPLANE_MAX_PAYLOAD_MB` (6 by default, SageMaker's
# real-time limit); asynchronous inference passes payloads of up to 1 GB from S3, so its models get that limit.
SERVER_MAX_PAYLOAD_ENV = "MODELPLANE_MAX_PAYLOAD_MB"
ASYNC_MAX_PAYLOAD_MB = "1024"


class SageMakerEndpoint(pulumi.ComponentResource):
    """Execution role, one model per variant, an auto-named endpoint configuration, the endpoint and its autoscaling."""

    endpoint_name: pulumi.Output[str]
    """Deployed endpoint name."""
    endpoint_arn: pulumi.Output[str]
    """Endpoint ARN."""
    endpoint_config_name: pulumi.Output[str]
    """The configuration the endpoint should run; `modelplane verify` compares it with DescribeEndpoint."""
    role_arn: pulumi.Output[str]
    """Execution role: a reader for the `SecretReadPolicy` of each secret in `secret_arns`."""
    autoscaling_resource_ids: dict[str, pulumi.Output[str]]
    """Application Auto Scaling resource id per autoscaled variant: `endpoint/<name>/variant/<variant>`."""

    def __init__(self, name: str, args: SageMakerEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("SageMakerEndpoint", name, problems(args) + model_name_problems(name, args))
        super().__init__(type_token("SageMakerEndpoint"), name, None, component_options(opts, FORMER_TOKEN))
        self._args = args
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        self._account = account = _Account(
            partition=aws.get_partition_output(opts=invoke_opts).partition,
            region=aws.get_region_output(opts=invoke_opts).region,
            account_id=aws.get_caller_identity_output(opts=invoke_opts).account_id,
        )
        tags = args.get("tags")
        # Replaced by every new version: protecting them (inherited from `protect`) would block updates.
        replaceable = pulumi.ResourceOptions(parent=self, protect=False)
        retain = args.get("retain_superseded_configurations", False)
        endpoint_name = args["endpoint_name"]
        variants = all_variants(args)
        deployment = Deployment.of(args.get("deployment", {}))
        rollback_alarms = pulumi.Output.from_input(args.get("rollback_alarm_names", []))

        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of SageMaker endpoint {endpoint_name}",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy(account)),
            tags=tags,
            opts=replaceable,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.name,
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": execution_statements(args, account, rollback_alarms)}
            ),
            opts=replaceable,
        )
        # Kept with the configurations that reference them, so a retained configuration still deploys.
        model_opts = pulumi.ResourceOptions.merge(
            replaceable, pulumi.ResourceOptions(depends_on=[role_policy], retain_on_delete=retain)
        )
        models = {
            variant["name"]: aws.sagemaker.Model(
                model_resource_name(name, variant["name"]),
                execution_role_arn=role.arn,
                primary_container=self._container(variant),
                enable_network_isolation=is_network_isolated(args, variant),
                vpc_config=self._vpc_config(variant),
                tags=tags,
                opts=model_opts,
            )
            for variant in variants
        }
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=variant["name"],
                    model_name=models[variant["name"]].name,
                    initial_variant_weight=variant_weight(variant),
                    **_capacity(variant, aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs),
                )
                for variant in args["variants"]
            ],
            shadow_production_variants=self._shadow_variants(models),
            kms_key_arn=None if has_local_nvme(args) else args["kms_key_arn"],
            data_capture_config=self._data_capture(),
            async_inference_config=self._async_inference(),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(replaceable, pulumi.ResourceOptions(retain_on_delete=retain)),
        )
        sagemaker_endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name,
            endpoint_config_name=config.name,
            deployment_config=rollback_alarms.apply(lambda alarms: deployment_config(deployment, alarms)),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        scaling = args.get("autoscaling")
        self.autoscaling_resource_ids = (
            {
                variant["name"]: self._autoscale(f"{name}-{variant['name']}", sagemaker_endpoint, variant, scaling)
                for variant in args["variants"]
                if "instance_type" in variant
            }
            if scaling is not None
            else {}
        )
        self.endpoint_name = sagemaker_endpoint.name
        self.endpoint_arn = sagemaker_endpoint.arn
        self.endpoint_config_name = config.name
        self.role_arn = role.arn
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_arn": self.endpoint_arn,
                "endpoint_config_name": self.endpoint_config_name,
                "role_arn": self.role_arn,
                "autoscaling_resource_ids": self.autoscaling_resource_ids,
            }
        )

    def _container(self, variant: VariantArgs) -> aws.sagemaker.ModelPrimaryContainerArgs:
        """A registered model package version, or the repository's image with an archive from the bucket.

        The environment: the variant's own, the ARNs of the secrets, and for an asynchronous endpoint the
        serving image's payload limit raised to asynchronous inference's 1 GB (the variant's own value wins).

        A package's inference specification names its own image and archive; SageMaker takes them
        from there, so they are not repeated (as the SageMaker SDK creates package models).
        """
        args = self._args
        environment = {
            **({SERVER_MAX_PAYLOAD_ENV: ASYNC_MAX_PAYLOAD_MB} if "async_inference" in args else {}),
            **variant.get("environment", {}),
            **{secret_arn_env_var(secret): arn for secret, arn in args.get("secret_arns", {}).items()},
        } or None
        version = variant.get("model_package_version")
        if version is not None:
            return aws.sagemaker.ModelPrimaryContainerArgs(
                model_package_name=model_package_arn(self._account, args.get("model_package_group_name", ""), version),
                environment=environment,
            )
        artifact = variant.get("model_artifact")
        return aws.sagemaker.ModelPrimaryContainerArgs(
            image=pulumi.Output.concat(
                args["repository_url"], image_reference(variant.get("image_tag"), variant.get("image_digest"))
            ),
            model_data_url=pulumi.Output.concat("s3://", args["bucket_name"], "/", artifact) if artifact else None,
            environment=environment,
        )

    def _vpc_config(self, variant: VariantArgs) -> aws.sagemaker.ModelVpcConfigArgs | None:
        network = self._args.get("network")
        if network is None or "serverless" in variant:
            return None
        return aws.sagemaker.ModelVpcConfigArgs(
            subnets=network["subnet_ids"], security_group_ids=network["security_group_ids"]
        )

    def _shadow_variants(
        self, models: Mapping[str, aws.sagemaker.Model]
    ) -> list[aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs] | None:
        """The shadow gets the production variant's weight: SageMaker then copies it every request."""
        args = self._args
        shadow = args.get("shadow")
        if shadow is None:
            return None
        return [
            aws.sagemaker.EndpointConfigurationShadowProductionVariantArgs(
                variant_name=shadow["name"],
                model_name=models[shadow["name"]].name,
                initial_variant_weight=variant_weight(args["variants"][0]),
                **_capacity(shadow, aws.sagemaker.EndpointConfigurationShadowProductionVariantServerlessConfigArgs),
            )
        ]

    def _data_capture(self) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs | None:
        args = self._args
        capture = args.get("data_capture")
        if capture is None:
            return None
        return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
            enable_capture=True,
            initial_sampling_percentage=capture.get("sampling_percent", DEFAULT_SAMPLING_PERCENT),
            destination_s3_uri=pulumi.Output.concat(
                "s3://", args["bucket_name"], "/", data_capture_prefix(args["endpoint_name"]).rstrip("/")
            ),
            kms_key_id=args["kms_key_arn"],
            capture_options=[
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=mode)
                for mode in captured_modes(capture)
            ],
        )

    def _async_inference(self) -> aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs | None:
        args = self._args
        settings = args.get("async_inference")
        if settings is None:
            return None
        output = pulumi.Output.concat("s3://", args["bucket_name"], "/", async_output_prefix(args["endpoint_name"]))
        return aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs(
            output_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigOutputConfigArgs(
                s3_output_path=pulumi.Output.concat(output, "results"),
                s3_failure_path=pulumi.Output.concat(output, "failures"),
                kms_key_id=args["kms_key_arn"],
            ),
            client_config=aws.sagemaker.EndpointConfigurationAsyncInferenceConfigClientConfigArgs(
                max_concurrent_invocations_per_instance=settings.get(
                    "max_concurrent_invocations_per_instance", DEFAULT_MAX_CONCURRENT_INVOCATIONS
                )
            ),
        )

    def _autoscale(
        self,
        resource_name: str,
        endpoint: aws.sagemaker.Endpoint,
        variant: VariantArgs,
        scaling: EndpointAutoscalingArgs,
    ) -> pulumi.Output[str]:
        """Target tracking on invocations per instance; the target depends on the endpoint, so it is deregistered first."""
        resolved = Autoscaling(**scaling)
        target = aws.appautoscaling.Target(
            f"{resource_name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension=aws_limits.SCALABLE_DIMENSION,
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, "/variant/", variant["name"]),
            min_capacity=resolved.min_capacity,
            max_capacity=resolved.max_capacity,
            tags=self._args.get("tags"),
            opts=pulumi.ResourceOptions(parent=self, protect=False, depends_on=[endpoint]),
        )
        aws.appautoscaling.Policy(
            f"{resource_name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=resolved.target_invocations_per_instance,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=SCALING_METRIC
                ),
                scale_in_cooldown=resolved.scale_in_cooldown_seconds,
                scale_out_cooldown=resolved.scale_out_cooldown_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=False),
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

    def arns(
        self, service: str, prefix: str, ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    ) -> pulumi.Output[list[str]]:
        """`arn(service, prefix + id)` of each id of a list that may itself be an output."""
        return pulumi.Output.all(self.partition, self.region, self.account_id, ids).apply(
            lambda parts: [f"arn:{parts[0]}:{service}:{parts[1]}:{parts[2]}:{prefix}{id_}" for id_ in parts[3]]
        )


def is_network_isolated(args: SageMakerEndpointArgs, variant: VariantArgs) -> bool:
    """Isolation, unless the model must reach Secrets Manager or runs serverless (which doesn't support it).

    An isolated container has no network and no AWS credentials: it could not read the secrets it is
    given by ARN. Such a model runs in the private subnets of `network` instead.
    """
    return "serverless" not in variant and not args.get("secret_arns")


def has_local_nvme(args: SageMakerEndpointArgs) -> bool:
    """SageMaker rejects a volume key when an instance type has local NVMe storage (encrypted by its hardware)."""
    return any(
        "instance_type" in variant and aws_limits.has_local_nvme(variant["instance_type"])
        for variant in all_variants(args)
    )


def model_package_arn(account: _Account, group_name: pulumi.Input[str], version: int) -> pulumi.Output[str]:
    """A version in the model package group: `model-package/<group>/<version>`."""
    return account.arn("sagemaker", "model-package/", group_name, f"/{version}")


def _capacity(variant: VariantArgs, serverless_args: Callable[..., Any]) -> dict[str, Any]:
    """Instance type and count, or the serverless memory and concurrency."""
    serverless = variant.get("serverless")
    if serverless is None:
        return {
            "instance_type": variant.get("instance_type"),
            "initial_instance_count": variant.get("instance_count", 1),
        }
    return {
        "serverless_config": serverless_args(
            memory_size_in_mb=serverless["memory_size_mb"],
            max_concurrency=serverless["max_concurrency"],
            provisioned_concurrency=serverless.get("provisioned_concurrency"),
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
    step = {"type": CAPACITY_TYPES[deployment.step_type], "value": deployment.step_value}
    if deployment.strategy is DeploymentStrategy.ROLLING:
        # A rollback brings the old fleet back in the same steps: without a rollback batch size SageMaker brings
        # all of it up at once, beside the new fleet, which the account's quota must then hold twice.
        return aws.sagemaker.EndpointDeploymentConfigArgs(
            rolling_update_policy=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyArgs(
                maximum_batch_size=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyMaximumBatchSizeArgs(
                    **step
                ),
                rollback_maximum_batch_size=(
                    aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyRollbackMaximumBatchSizeArgs(**step)
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
            if deployment.strategy is DeploymentStrategy.CANARY
            else None
        ),
        linear_step_size=(
            aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs(
                **step
            )
            if deployment.strategy is DeploymentStrategy.LINEAR
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


def execution_statements(
    args: SageMakerEndpointArgs, account: _Account, rollback_alarm_names: pulumi.Output[Sequence[str]]
) -> pulumi.Output[list[dict[str, Any]]]:
    """Exactly what this endpoint's models need; `Resource: "*"` only for actions that take no resource."""
    endpoint_name = args["endpoint_name"]
    variants = all_variants(args)
    log_group = account.arn("logs", "log-group:", endpoint_log_group(endpoint_name))
    writes = [
        *([data_capture_prefix(endpoint_name)] if "data_capture" in args else []),
        *([async_output_prefix(endpoint_name)] if "async_inference" in args else []),
    ]
    statements: list[dict[str, Any]] = [
        _allow("PullModelImage", PULL_ACTIONS, args["repository_arn"]),
        # ECR offers no narrower resource for the registry login token.
        _allow("LogInToEcr", ["ecr:GetAuthorizationToken"], "*"),
        _allow("UseStackKey", ["kms:Decrypt", *(["kms:GenerateDataKey"] if writes else [])], args["kms_key_arn"]),
        _allow("WriteEndpointLogs", LOG_ACTIONS, [log_group, pulumi.Output.concat(log_group, ":*")]),
        # PutMetricData takes no resource; the namespace condition keeps it to the instance metrics.
        _allow(
            "PublishInstanceMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringEquals": {"cloudwatch:namespace": INSTANCE_NAMESPACE}},
        ),
    ]
    artifact_keys = sorted({artifact for v in variants if (artifact := v.get("model_artifact"))})
    packages = sorted({version for v in variants if (version := v.get("model_package_version")) is not None})
    # A registered version's archive lives below the registered artifact prefix in the bucket.
    read_keys = artifact_keys + ([f"{args.get('registered_artifact_prefix', '')}*"] if packages else [])
    if "async_inference" in args:
        read_keys.append(f"{async_input_prefix(endpoint_name)}*")
    if read_keys:
        objects = [pulumi.Output.concat(args["bucket_arn"], "/", key) for key in read_keys]
        statements.append(_allow("ReadModelArtifacts", ["s3:GetObject"], objects))
    if packages:
        group = args.get("model_package_group_name", "")
        versions = [model_package_arn(account, group, version) for version in packages]
        statements.append(_allow("DescribeModelPackages", ["sagemaker:DescribeModelPackage"], versions))
    if writes:
        objects = [pulumi.Output.concat(args["bucket_arn"], "/", prefix, "*") for prefix in writes]
        statements.append(_allow("WriteCaptureAndResults", ["s3:PutObject"], objects))
    alarm_arns = account.arns("cloudwatch", "alarm:", rollback_alarm_names)
    secret_arns = args.get("secret_arns", {})
    secrets = (
        [_allow("ReadEndpointSecrets", [READ_ACTION], [secret_arns[secret] for secret in sorted(secret_arns)])]
        if secret_arns
        else []
    )
    network = args.get("network")
    interfaces = (
        _network_interface_statements(network, account)
        if network is not None and not all("serverless" in variant for variant in variants)
        else []
    )
    # Whether the rollback statement exists is known only once the alarm names are.
    return pulumi.Output.all(statements, alarm_arns, secrets, interfaces).apply(
        lambda parts: [
            *parts[0],
            *([_allow("ReadRollbackAlarms", ["cloudwatch:DescribeAlarms"], parts[1])] if parts[1] else []),
            *parts[2],
            *parts[3],
        ]
    )


def _network_interface_statements(network: NetworkArgs, account: _Account) -> list[dict[str, Any]]:
    """SageMaker attaches the models to the subnets through network interfaces it creates as the role."""
    interfaces = account.arn("ec2", "network-interface/*")
    subnets = account.arns("ec2", "subnet/", network["subnet_ids"])
    groups = account.arns("ec2", "security-group/", network["security_group_ids"])
    return [
        _allow("DescribeNetwork", VPC_DESCRIBE_ACTIONS, "*"),
        _allow(
            "CreateInterfacesInModelSubnets",
            ["ec2:CreateNetworkInterface"],
            pulumi.Output.all(interfaces, subnets, groups).apply(lambda parts: [parts[0], *parts[1], *parts[2]]),
        ),
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
    resources: pulumi.Input[str] | Sequence[pulumi.Input[str]] | pulumi.Output[list[str]],
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition is not None:
        statement["Condition"] = dict(condition)
    return statement
