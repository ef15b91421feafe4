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

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from . import aws_limits
from ._common import Problem, Tags, at, check, component_options, known, type_token
from .container_repository import PULL_ACTIONS
from .monitoring import INSTANCE_NAMESPACE, MAX_ROLLBACK_ALARMS
from .naming import async_input_prefix, async_output_prefix, data_capture_prefix, endpoint_log_group, secret_arn_env_var
from .secret_read_policy import READ_ACTION

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
# The provider waits at most 60 minutes for an endpoint update; bake and termination waits must end well before.
PROVIDER_UPDATE_WAIT_SECONDS = 3600
MAX_DEPLOYMENT_WAIT_SECONDS = 3000
# AWS's bounds of a traffic step or rolling batch given as a share of capacity.
PERCENT_STEP_BOUNDS = {"canary": (1, 50), "linear": (10, 50), "rolling": (5, 50)}
IMAGE_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_AUTOSCALING_CAPACITY = 100


class DeploymentStrategy(StrEnum):
    """How a new endpoint configuration replaces the running one."""

    ALL_AT_ONCE = "all-at-once"
    """Blue/green: all traffic moves to the new fleet at once, then bakes."""
    CANARY = "canary"
    """Blue/green: a canary share first, then the rest."""
    LINEAR = "linear"
    """Blue/green: traffic moves in equal steps."""
    ROLLING = "rolling"
    """Instances are replaced in batches (one production variant only)."""


class StepType(StrEnum):
    """What a step's value counts."""

    CAPACITY_PERCENT = "capacity-percent"
    """Percent of the fleet's capacity."""
    INSTANCE_COUNT = "instance-count"
    """Instances."""


TRAFFIC_ROUTING = {
    DeploymentStrategy.ALL_AT_ONCE: "ALL_AT_ONCE",
    DeploymentStrategy.CANARY: "CANARY",
    DeploymentStrategy.LINEAR: "LINEAR",
}
CAPACITY_TYPES = {StepType.CAPACITY_PERCENT: "CAPACITY_PERCENT", StepType.INSTANCE_COUNT: "INSTANCE_COUNT"}


class ServerlessArgs(TypedDict):
    """Serverless inference instead of instances."""

    memory_size_mb: int
    """Memory per concurrent invocation: 1024 to 6144 in steps of 1024."""
    max_concurrency: int
    """Maximum concurrent invocations, 1-200."""
    provisioned_concurrency: NotRequired[int]
    """Warm capacity that avoids cold starts, at most `max_concurrency`."""


class VariantArgs(TypedDict):
    """One model version serving traffic (or a copy of it, for the shadow): on instances or serverless."""

    name: str
    """Variant name; keep it stable across versions so blue/green updates apply."""
    image_tag: NotRequired[str]
    """Immutable tag of the image in the repository; set this or `image_digest`."""
    image_digest: NotRequired[str]
    """Digest of the image in the repository (`sha256:...`, pins exact bytes); set this or `image_tag`."""
    model_artifact: NotRequired[str]
    """Key of the model archive (`.tar.gz`) in the bucket."""
    model_package_version: NotRequired[int]
    """Version in the model package group, instead of an archive."""
    instance_type: NotRequired[str]
    """Instance type (`ml.*`); set this or `serverless`."""
    instance_count: NotRequired[int]
    """Instances; default 1."""
    serverless: NotRequired[ServerlessArgs]
    """Serverless inference instead of instances."""
    weight: NotRequired[float]
    """Relative share of traffic (A/B testing); ignored for the shadow; default 1."""
    environment: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Container environment variables; never secret values (pass `secret_arns`)."""


class StepArgs(TypedDict):
    """Traffic step of a canary or linear shift, or batch size of a rolling update."""

    type: NotRequired[StepType]
    """Whether `value` counts percent of capacity or instances; default capacity-percent."""
    value: NotRequired[int]
    """Size of the step; default 10."""


class DeploymentArgs(TypedDict):
    """How a new endpoint configuration replaces the old one (SageMaker deployment guardrails)."""

    strategy: NotRequired[DeploymentStrategy]
    """Default all-at-once, the only strategy serverless variants support."""
    step: NotRequired[StepArgs]
    """Canary size, linear step, or rolling batch size."""
    bake_seconds: NotRequired[int]
    """Wait after each traffic shift while the rollback alarms watch, 0-3600; default 300."""
    termination_wait_seconds: NotRequired[int]
    """Wait before the old fleet is terminated, 0-3600; default 120."""
    max_duration_seconds: NotRequired[int]
    """Upper bound of the whole deployment, 600-3600 (the provider waits 60 minutes); default 3000."""


class EndpointAutoscalingArgs(TypedDict):
    """Target tracking on invocations per instance, for every instance-backed production variant."""

    min_capacity: int
    """Fewest instances, at least 1."""
    max_capacity: int
    """Most instances, at most 100."""
    target_invocations_per_instance: NotRequired[float]
    """Invocations per instance per minute to hold; default 100."""
    scale_in_cooldown_seconds: NotRequired[int]
    """Wait after a scale-in before the next; default 300."""
    scale_out_cooldown_seconds: NotRequired[int]
    """Wait after a scale-out before the next; default 60."""


class DataCaptureArgs(TypedDict):
    """Request/response capture to the bucket, below `data-capture/<endpoint>/` (not for serverless)."""

    sampling_percent: NotRequired[int]
    """Share of requests captured, 1-100; default 100."""
    capture_input: NotRequired[bool]
    """Capture requests; default true."""
    capture_output: NotRequired[bool]
    """Capture responses; default true."""


class AsyncInferenceArgs(TypedDict):
    """Asynchronous inference: results land in the bucket below `async-output/<endpoint>/`."""

    max_concurrent_invocations_per_instance: NotRequired[int]
    """Requests each instance works on at once, 1-1000; default 4."""


class NetworkArgs(TypedDict):
    """Private subnets and security groups of the instance-backed models (e.g. another stack's VPC outputs)."""

    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnet ids, ideally one per availability zone."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups attached to the model containers."""


class SageMakerEndpointArgs(TypedDict):
    """The variants and how they deploy, scale and capture, and where images, models and data live."""

    endpoint_name: str
    """Deployed endpoint name, known before the endpoint exists (the alarms watch it by this name)."""
    variants: Sequence[VariantArgs]
    """Production variants sharing traffic by weight (1-10)."""
    shadow: NotRequired[VariantArgs]
    """A variant receiving a copy of the production traffic; its answers go nowhere."""
    repository_url: pulumi.Input[str]
    """ECR repository URL of the images; a variant's image is this plus `:tag` or `@sha256:...`."""
    repository_arn: pulumi.Input[str]
    """ECR repository, the only one the execution role may pull from."""
    bucket_name: pulumi.Input[str]
    """Bucket holding model archives, captured data and asynchronous results."""
    bucket_arn: pulumi.Input[str]
    """ARN of that bucket, for the execution role's policy."""
    kms_key_arn: pulumi.Input[str]
    """KMS key of instance volumes, captured data and asynchronous results."""
    model_package_group_name: NotRequired[pulumi.Input[str]]
    """Model package group of `model_package_version` variants."""
    registered_artifact_prefix: NotRequired[str]
    """Bucket key prefix below which registered versions' archives live (e.g. `<family>/`); the role may read it."""
    network: NotRequired[NetworkArgs]
    """VPC placement of instance-backed models; left out, they run outside a VPC."""
    deployment: NotRequired[DeploymentArgs]
    """How updates roll out."""
    autoscaling: NotRequired[EndpointAutoscalingArgs]
    """Target tracking for every instance-backed production variant."""
    data_capture: NotRequired[DataCaptureArgs]
    """Request/response capture; left out, nothing is captured."""
    async_inference: NotRequired[AsyncInferenceArgs]
    """Asynchronous inference instead of real-time responses."""
    secret_arns: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Secrets the models read, by name: passed as `<NAME>_SECRET_ARN`, readable by the execution role."""
    rollback_alarm_names: NotRequired[pulumi.Input[Sequence[str]]]
    """Alarms (at most 10) that roll a deployment back; the execution role may describe exactly these."""
    retain_superseded_configurations: NotRequired[bool]
    """Keep replaced endpoint configurations and models in AWS, so a rollback by SageMaker finds them."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of every taggable resource."""


@dataclass(frozen=True)
class Deployment:
    """`DeploymentArgs` with the defaults filled in."""

    strategy: DeploymentStrategy = DeploymentStrategy.ALL_AT_ONCE
    step_type: StepType = StepType.CAPACITY_PERCENT
    step_value: int = 10
    bake_seconds: int = 300
    termination_wait_seconds: int = 120
    max_duration_seconds: int = 3000

    @classmethod
    def of(cls, args: DeploymentArgs) -> "Deployment":
        step = args.get("step", {})
        return cls(
            strategy=DeploymentStrategy(args.get("strategy", cls.strategy)),
            step_type=StepType(step.get("type", cls.step_type)),
            step_value=step.get("value", cls.step_value),
            bake_seconds=args.get("bake_seconds", cls.bake_seconds),
            termination_wait_seconds=args.get("termination_wait_seconds", cls.termination_wait_seconds),
            max_duration_seconds=args.get("max_duration_seconds", cls.max_duration_seconds),
        )

    def total_wait_seconds(self) -> int:
        if self.strategy is DeploymentStrategy.LINEAR and self.step_type is StepType.CAPACITY_PERCENT:
            return self.bake_seconds * math.ceil(100 / self.step_value) + self.termination_wait_seconds
        return self.bake_seconds + self.termination_wait_seconds


@dataclass(frozen=True)
class Autoscaling:
    """`EndpointAutoscalingArgs` with the defaults filled in."""

    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: float = 100
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60


DEFAULT_SAMPLING_PERCENT = 100
DEFAULT_MAX_CONCURRENT_INVOCATIONS = 4


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
        check("SageMakerEndpoint", name, problems(args))
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
                f"{name}-{variant['name']}-model",
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

        A package's inference specification names its own image and archive; SageMaker takes them
        from there, so they are not repeated (as the SageMaker SDK creates package models).
        """
        args = self._args
        environment = {
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
            image=pulumi.Output.concat(args["repository_url"], image_reference(variant)),
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


def captured_modes(capture: DataCaptureArgs) -> list[str]:
    """SageMaker's capture modes: `Input` and `Output`, in that order.

    Two booleans rather than a list of modes: the component provider host mangles lists of enums.
    """
    wanted = (("Input", capture.get("capture_input", True)), ("Output", capture.get("capture_output", True)))
    return [mode for mode, on in wanted if on]


def all_variants(args: SageMakerEndpointArgs) -> list[VariantArgs]:
    """The production variants, then the shadow."""
    shadow = args.get("shadow")
    return [*args["variants"], *([shadow] if shadow is not None else [])]


def variant_weight(variant: VariantArgs) -> float:
    return variant.get("weight", 1.0)


def image_reference(variant: VariantArgs) -> str:
    """`:tag` or `@sha256:...`, to append to the repository URL."""
    digest = variant.get("image_digest")
    return f"@{digest}" if digest else f":{variant.get('image_tag')}"


def is_serverless(args: SageMakerEndpointArgs) -> bool:
    return any("serverless" in variant for variant in all_variants(args))


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


def variant_problems(variant: VariantArgs) -> list[Problem]:
    """SageMaker's and ECR's rules for one variant, paths relative to it."""
    found: list[Problem] = []
    if why := aws_limits.name_problem("VariantName", variant["name"]):
        found.append(("name", why))
    tag, digest = variant.get("image_tag"), variant.get("image_digest")
    if (tag is None) == (digest is None):
        found.append(("image_tag", "set exactly one of image_tag or image_digest"))
    if tag is not None and not re.fullmatch(IMAGE_TAG_PATTERN, tag):
        found.append(("image_tag", f"must match the ECR image tag pattern {IMAGE_TAG_PATTERN}"))
    if digest is not None and not re.fullmatch(IMAGE_DIGEST_PATTERN, digest):
        found.append(("image_digest", f"must match {IMAGE_DIGEST_PATTERN}"))
    if variant.get("model_artifact") is not None and variant.get("model_package_version") is not None:
        found.append(("model_package_version", "set at most one of model_artifact or model_package_version"))
    instance_type, serverless = variant.get("instance_type"), variant.get("serverless")
    if (instance_type is None) == (serverless is None):
        found.append(("instance_type", "set exactly one of instance_type or serverless"))
    if instance_type is not None and (why := aws_limits.instance_type_problem(instance_type)):
        found.append(("instance_type", why))
    if (count := variant.get("instance_count")) is not None and count < 1:
        found.append(("instance_count", "must be at least 1 (SageMaker InitialInstanceCount)"))
    if (weight := variant.get("weight")) is not None and (why := aws_limits.range_problem("VariantWeight", weight)):
        found.append(("weight", why))
    if serverless is not None:
        found += at("serverless", serverless_problems(serverless))
    environment = variant.get("environment", {})
    if why := aws_limits.length_problem("EnvironmentMap", len(environment)):
        found.append(("environment", why))
    for key, value in environment.items():
        if why := aws_limits.name_problem("EnvironmentKey", key):
            found.append((f"environment.{key}", why))
        value = known(value)
        if value is not None and len(value) > 1024:
            found.append((f"environment.{key}", "must be at most 1024 characters (SageMaker EnvironmentValue)"))
    return found


def serverless_problems(serverless: ServerlessArgs) -> list[Problem]:
    found: list[Problem] = []
    if serverless["memory_size_mb"] not in SERVERLESS_MEMORY_SIZES_MB:
        found.append(("memory_size_mb", f"must be one of {', '.join(map(str, SERVERLESS_MEMORY_SIZES_MB))}"))
    if why := aws_limits.range_problem("ServerlessMaxConcurrency", serverless["max_concurrency"]):
        found.append(("max_concurrency", why))
    provisioned = serverless.get("provisioned_concurrency")
    if provisioned is not None:
        if why := aws_limits.range_problem("ServerlessProvisionedConcurrency", provisioned):
            found.append(("provisioned_concurrency", why))
        elif provisioned > serverless["max_concurrency"]:
            found.append(("provisioned_concurrency", "must not exceed max_concurrency"))
    return found


def deployment_problems(deployment: Deployment) -> list[Problem]:
    """Bounds of the waits (SageMaker and the provider's update wait) and of a step given in percent."""
    found: list[Problem] = []
    for field, shape, value in (
        ("bake_seconds", "WaitIntervalInSeconds", deployment.bake_seconds),
        ("termination_wait_seconds", "TerminationWaitInSeconds", deployment.termination_wait_seconds),
    ):
        if why := aws_limits.range_problem(shape, value):
            found.append((field, why))
    if not 600 <= deployment.max_duration_seconds <= PROVIDER_UPDATE_WAIT_SECONDS:
        found.append(
            (
                "max_duration_seconds",
                f"must be between 600 (SageMaker) and {PROVIDER_UPDATE_WAIT_SECONDS} (the provider's update wait)",
            )
        )
    if deployment.step_value < 1:
        found.append(("step.value", "must be at least 1 (SageMaker CapacitySize)"))
    elif deployment.step_type is StepType.CAPACITY_PERCENT:
        bounds = PERCENT_STEP_BOUNDS.get(deployment.strategy)
        if deployment.step_value > 100:
            found.append(("step.value", "a percentage must be at most 100"))
        elif bounds is not None and not bounds[0] <= deployment.step_value <= bounds[1]:
            found.append(
                ("step.value", f"{deployment.strategy} steps must be {bounds[0]}-{bounds[1]} percent of capacity")
            )
    if found:
        return found
    total = deployment.total_wait_seconds()
    if total > MAX_DEPLOYMENT_WAIT_SECONDS:
        found.append(
            (
                "bake_seconds",
                f"bake and termination waits add up to {total}s; keep them under {MAX_DEPLOYMENT_WAIT_SECONDS}s "
                "(the provider waits 60 minutes)",
            )
        )
    elif total >= deployment.max_duration_seconds:
        found.append(("max_duration_seconds", f"must exceed the total wait of {total}s"))
    return found


def autoscaling_problems(scaling: EndpointAutoscalingArgs) -> list[Problem]:
    found: list[Problem] = []
    low, high = scaling["min_capacity"], scaling["max_capacity"]
    if not 1 <= low <= MAX_AUTOSCALING_CAPACITY:
        found.append(("min_capacity", f"must be between 1 and {MAX_AUTOSCALING_CAPACITY}"))
    if not 1 <= high <= MAX_AUTOSCALING_CAPACITY:
        found.append(("max_capacity", f"must be between 1 and {MAX_AUTOSCALING_CAPACITY}"))
    if low > high:
        found.append(("min_capacity", "must not exceed max_capacity"))
    if scaling.get("target_invocations_per_instance", 1) <= 0:
        found.append(("target_invocations_per_instance", "must be greater than 0"))
    return found


def problems(args: SageMakerEndpointArgs) -> list[Problem]:
    """Every SageMaker rule for the arguments: the endpoint's name, how it serves, what it needs for registered models."""
    found: list[Problem] = []
    if why := aws_limits.name_problem("EndpointName", args["endpoint_name"]):
        found.append(("endpoint_name", why))
    found += serving_problems(args)
    alarms = known(args.get("rollback_alarm_names"))
    if alarms is not None and len(alarms) > MAX_ROLLBACK_ALARMS:
        found.append(("rollback_alarm_names", f"SageMaker accepts at most {MAX_ROLLBACK_ALARMS} rollback alarms"))
    if any(variant.get("model_package_version") is not None for variant in all_variants(args)):
        for field in ("model_package_group_name", "registered_artifact_prefix"):
            if args.get(field) is None:
                found.append((field, "required when a variant deploys a model_package_version"))
    return found


def serving_problems(args: SageMakerEndpointArgs) -> list[Problem]:
    """SageMaker's rules for variants, shadow, serverless exclusions, deployment, scaling, capture and async inference.

    Reads only those fields, so modelplane's settings check a stack file with it before any resource exists.
    """
    found: list[Problem] = []
    variants, shadow = args["variants"], args.get("shadow")
    if why := aws_limits.length_problem("ProductionVariantList", len(variants)):
        found.append(("variants", why))
    paths = [(f"variants[{index}]", variant) for index, variant in enumerate(variants)]
    if shadow is not None:
        paths.append(("shadow", shadow))
    seen: set[str] = set()
    for path, variant in paths:
        if variant["name"] in seen:
            found.append((f"{path}.name", f"duplicate variant name {variant['name']!r}"))
        seen.add(variant["name"])
        found += at(path, variant_problems(variant))
    if shadow is not None and len(variants) != 1:
        found.append(("shadow", f"a shadow variant needs exactly one production variant, found {len(variants)}"))
    deployment = Deployment.of(args.get("deployment", {}))
    scaling = args.get("autoscaling")
    for path, variant in paths:
        instance_type = variant.get("instance_type")
        if instance_type and scaling is not None and aws_limits.is_burstable(instance_type):
            found.append(
                (
                    f"{path}.instance_type",
                    "burstable ml.t* instances cannot autoscale; remove autoscaling or pick another type",
                )
            )
    if is_serverless(args):
        found += _serverless_exclusions(args, deployment)
    found += at("deployment", deployment_problems(deployment))
    if scaling is not None:
        found += at("autoscaling", autoscaling_problems(scaling))
        low, high = scaling["min_capacity"], scaling["max_capacity"]
        for path, variant in paths:
            if "instance_type" in variant and not low <= variant.get("instance_count", 1) <= high:
                found.append(
                    (
                        f"{path}.instance_count",
                        f"must lie within autoscaling's {low}..{high}: each update resets capacity to it",
                    )
                )
    if deployment.strategy is DeploymentStrategy.ROLLING:
        if len(variants) != 1 or shadow is not None:
            found.append(("deployment.strategy", "rolling updates need exactly one production variant and no shadow"))
        elif deployment.step_type is StepType.INSTANCE_COUNT:
            count = variants[0].get("instance_count", 1)
            if deployment.step_value > count:
                found.append(("deployment.step.value", f"batch size exceeds the variant's {count} instances"))
    capture = args.get("data_capture")
    if capture is not None:
        sampling = capture.get("sampling_percent", DEFAULT_SAMPLING_PERCENT)
        if not 1 <= sampling <= 100:
            found.append(("data_capture.sampling_percent", "must be between 1 and 100"))
        if not captured_modes(capture):
            found.append(("data_capture", "capture input, output or both"))
    asynchronous = args.get("async_inference")
    if asynchronous is not None:
        concurrency = asynchronous.get("max_concurrent_invocations_per_instance", DEFAULT_MAX_CONCURRENT_INVOCATIONS)
        if why := aws_limits.range_problem("MaxConcurrentInvocationsPerInstance", concurrency):
            found.append(("async_inference.max_concurrent_invocations_per_instance", why))
    return found


def _serverless_exclusions(args: SageMakerEndpointArgs, deployment: Deployment) -> list[Problem]:
    """What SageMaker Serverless Inference does not support."""
    found: list[Problem] = []
    if deployment.strategy is not DeploymentStrategy.ALL_AT_ONCE:
        found.append(
            ("deployment.strategy", f"{deployment.strategy} is not available for serverless variants; use all-at-once")
        )
    if "async_inference" in args:
        found.append(("async_inference", "asynchronous inference needs instance-backed variants"))
    if len(args["variants"]) > 1:
        found.append(("variants", "a serverless endpoint takes exactly one production variant"))
    if "shadow" in args:
        found.append(("shadow", "shadow variants need instance-backed variants"))
    if "data_capture" in args:
        found.append(("data_capture", "data capture is not available for serverless endpoints"))
    return found
