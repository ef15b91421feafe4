"""Arguments of `SageMakerEndpoint` and SageMaker's rules on them.

Apart from the component so that the rules load without the SageMaker SDK module: modelplane's
settings run them on every stack file.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi

from . import aws_limits, naming
from ._common import IMAGE_DIGEST_PATTERN as IMAGE_DIGEST_PATTERN  # noqa: PLC0414 - the settings' too
from ._common import IMAGE_TAG_PATTERN as IMAGE_TAG_PATTERN  # noqa: PLC0414 - the settings' too
from ._common import Problem, Tags, at, image_problems, known
from .monitoring_args import MAX_ROLLBACK_ALARMS

# The provider waits at most 60 minutes for an endpoint update; bake and termination waits must end well before.
PROVIDER_UPDATE_WAIT_SECONDS = 3600
MAX_DEPLOYMENT_WAIT_SECONDS = 3000
# AWS's bounds of a traffic step or rolling batch given as a share of capacity.
PERCENT_STEP_BOUNDS = {"canary": (1, 50), "linear": (10, 50), "rolling": (5, 50)}
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


def is_serverless(args: SageMakerEndpointArgs) -> bool:
    return any("serverless" in variant for variant in all_variants(args))


def variant_problems(variant: VariantArgs) -> list[Problem]:
    """SageMaker's and ECR's rules for one variant, paths relative to it."""
    found: list[Problem] = []
    if why := aws_limits.name_problem("VariantName", variant["name"]):
        found.append(("name", why))
    found += image_problems(variant.get("image_tag"), variant.get("image_digest"))
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


def model_name_problems(name: str, args: SageMakerEndpointArgs) -> list[Problem]:
    """SageMaker's ModelName rules for the name the engine draws for each variant's model, which comes from the
    component's `name` (`naming.model_resource_name`): a long name passes here and fails in `pulumi up`."""
    return [
        ("name", f"the model of variant {variant['name']!r} would be {why}")
        for variant in all_variants(args)
        if (why := aws_limits.auto_name_problem("ModelName", naming.model_resource_name(name, variant["name"])))
    ]


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
