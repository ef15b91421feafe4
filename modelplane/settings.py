"""The typed settings of a modelplane stack: the only way configuration enters the program.

Each top-level field is one Pulumi config key in the `modelplane` namespace (`modelplane:endpoints`),
except `region`, which is the AWS provider's own `aws:region`.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from modelplane import aws_limits, naming

# Largest total wait (bake + termination) we allow, well under the provider's 60-minute update wait.
MAX_DEPLOYMENT_WAIT_SECONDS = 3000
PROVIDER_UPDATE_WAIT_SECONDS = 3600
# Longest rotation interval allowed for prod secrets (CKV_AWS_304 asks for 90 days at most).
MAX_PROD_ROTATION_DAYS = 90
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class FieldProblems(ValueError):
    """Problems found by a cross-field check, each at a path below the model that raised it."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
    LOCAL = "local"


class Platform(StrEnum):
    SAGEMAKER = "sagemaker"
    KUBERNETES = "kubernetes"


class Strategy(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"
    LINEAR = "linear"
    ROLLING = "rolling"


Name = Annotated[str, Field(min_length=1, max_length=63)]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
TagValue = Annotated[str, Field(min_length=1, max_length=256)]


class Tags(_Model):
    """Tags merged into every taggable resource, together with environment, project, stack, managed-by."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, populate_by_name=True)

    owner: TagValue
    """Team or person accountable for the deployment (an e-mail or team handle)."""
    cost_center: TagValue = Field(alias="cost-center")
    """Cost centre charged for the resources."""
    data_classification: Literal["public", "internal", "confidential", "restricted"] = Field(
        alias="data-classification"
    )
    """Most sensitive class of data the model sees."""
    extra: dict[Annotated[str, Field(min_length=1, max_length=128)], TagValue] = {}
    """Further tags of your own."""


class Network(_Model):
    """Where models run: private subnets and security groups (required in prod)."""

    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=1, max_length=16)
    """Private subnet ids, ideally one per availability zone."""
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(min_length=1, max_length=5)
    """Security groups attached to the model containers."""


class ModelFamily(_Model):
    """A model family: one container repository and one SageMaker model package group."""

    description: Annotated[str, Field(min_length=1, max_length=1024)]
    """What the family predicts; shown in the model registry."""
    cross_account_principals: list[AccountId] = []
    """Other accounts allowed to read this family's model package group (e.g. a prod account)."""


class ImageRetention(_Model):
    """ECR lifecycle: how many images survive."""

    keep_tagged: int = Field(default=30, ge=1, le=1000)
    """Number of most recent tagged images kept."""
    untagged_days: int = Field(default=7, ge=1, le=365)
    """Days after which untagged images expire."""


class Registry(_Model):
    """Artifact bucket, container repositories and model registry."""

    families: dict[Annotated[str, Field(max_length=50)], ModelFamily] = Field(min_length=1)
    """Model families by name."""
    image_retention: ImageRetention = ImageRetention()
    """ECR lifecycle policy."""
    pull_account_ids: list[AccountId] = []
    """Accounts allowed to pull images besides this one."""
    noncurrent_artifact_days: int = Field(default=90, ge=1, le=3650)
    """Days after which overwritten model artifacts are deleted from the bucket."""

    @field_validator("families")
    @classmethod
    def _family_names(cls, families: dict[str, ModelFamily]) -> dict[str, ModelFamily]:
        problems = [
            (
                name,
                "lowercase letters and digits in hyphen-separated words, at most 50 characters (ECR repository and model package group name)",
            )
            for name in families
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        ]
        if problems:
            raise FieldProblems(problems)
        return families


class Serverless(_Model):
    """Serverless inference instead of instances."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    """Memory per concurrent invocation."""
    max_concurrency: int = Field(ge=1, le=200)
    """Maximum concurrent invocations."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)
    """Warm capacity that avoids cold starts; must not exceed max_concurrency."""

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> Serverless:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise FieldProblems([("provisioned_concurrency", "must not exceed max_concurrency")])
        return self


class Variant(_Model):
    """One model version serving traffic (or a copy of it, for the shadow)."""

    name: Name
    """Variant name; keep it stable across versions so blue/green updates apply."""
    image_tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    """Immutable tag of the image in the family's repository."""
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    """Digest of the image in the family's repository (preferred: pins exact bytes)."""
    model_artifact: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$")
    """Key of the model.tar.gz in the stack's artifact bucket."""
    model_package_version: int | None = Field(default=None, ge=1)
    """Version in the family's model package group (the registry), instead of an artifact."""
    instance_type: str | None = None
    """SageMaker instance type (`ml.*`)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    """SageMaker instances, or pod replicas on Kubernetes."""
    serverless: Serverless | None = None
    """Serverless inference instead of instances (SageMaker only)."""
    weight: float = Field(default=1.0, gt=0, le=1000)
    """Relative share of traffic (A/B testing); ignored for the shadow."""
    environment: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")], Annotated[str, Field(max_length=1024)]
    ] = {}
    """Container environment variables; never secret values (use `secrets`)."""

    @field_validator("name")
    @classmethod
    def _sagemaker_variant_name(cls, name: str) -> str:
        if (why := aws_limits.check_name("VariantName", name)) is not None:
            raise ValueError(why)
        return name

    @field_validator("instance_type")
    @classmethod
    def _known_instance_type(cls, instance_type: str | None) -> str | None:
        if instance_type is not None and instance_type not in aws_limits.instance_types():
            raise ValueError(
                f"unknown SageMaker instance type {instance_type!r} (botocore ProductionVariantInstanceType)"
            )
        return instance_type

    @model_validator(mode="after")
    def _one_image_one_model(self) -> Variant:
        problems = []
        if (self.image_tag is None) == (self.image_digest is None):
            problems.append(("image_tag", "set exactly one of image_tag or image_digest"))
        if self.image_tag == "latest":
            problems.append(("image_tag", "'latest' is mutable; pin an immutable tag or a digest"))
        if self.model_artifact is not None and self.model_package_version is not None:
            problems.append(("model_package_version", "set at most one of model_artifact or model_package_version"))
        if self.serverless is not None and self.instance_type is not None:
            problems.append(("serverless", "serverless and instance_type are mutually exclusive"))
        if problems:
            raise FieldProblems(problems)
        return self

    @property
    def image_reference(self) -> str:
        """`:tag` or `@sha256:...`, to append to the repository URL."""
        return f"@{self.image_digest}" if self.image_digest else f":{self.image_tag}"


class StepSize(_Model):
    """Traffic step for canary/linear shifts, or batch size for rolling updates."""

    type: Literal["capacity-percent", "instance-count"] = "capacity-percent"
    """Whether `value` counts percent of capacity or instances."""
    value: int = Field(default=10, ge=1)
    """Size of the step."""

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> StepSize:
        if self.type == "capacity-percent" and self.value > 100:
            raise FieldProblems([("value", "a percentage must be at most 100")])
        return self


class Deployment(_Model):
    """How a new endpoint configuration replaces the old one (SageMaker deployment guardrails)."""

    strategy: Strategy = Strategy.ALL_AT_ONCE
    """all-at-once, canary, linear (blue/green traffic shifting) or rolling; a prod stack defaults to canary."""
    step: StepSize = StepSize()
    """Canary size, linear step, or rolling batch size."""
    bake_seconds: int = Field(default=300, ge=0, le=3600)
    """Wait after each traffic shift while the rollback alarms watch."""
    termination_wait_seconds: int = Field(default=120, ge=0, le=3600)
    """Wait before the old fleet is terminated."""
    max_duration_seconds: int = Field(default=3000, ge=600, le=PROVIDER_UPDATE_WAIT_SECONDS)
    """Upper bound of the whole deployment; AWS allows 600-28800, the provider waits 3600 at most."""

    def total_wait_seconds(self) -> int:
        if self.strategy is Strategy.LINEAR and self.step.type == "capacity-percent":
            return self.bake_seconds * math.ceil(100 / self.step.value) + self.termination_wait_seconds
        return self.bake_seconds + self.termination_wait_seconds

    @model_validator(mode="after")
    def _fits_provider_wait(self) -> Deployment:
        total = self.total_wait_seconds()
        if total > MAX_DEPLOYMENT_WAIT_SECONDS:
            raise FieldProblems(
                [
                    (
                        "bake_seconds",
                        f"bake and termination waits add up to {total}s; keep them under {MAX_DEPLOYMENT_WAIT_SECONDS}s (the provider waits 60 minutes)",
                    )
                ]
            )
        if total >= self.max_duration_seconds:
            raise FieldProblems([("max_duration_seconds", f"must exceed the total wait of {total}s")])
        return self


class Autoscaling(_Model):
    """Target tracking per variant (SageMaker instances or Kubernetes replicas)."""

    min_capacity: int = Field(ge=1, le=100)
    """Fewest instances or replicas."""
    max_capacity: int = Field(ge=1, le=100)
    """Most instances or replicas."""
    target_invocations_per_instance: float = Field(default=100, gt=0)
    """SageMaker: invocations per instance per minute to hold; Kubernetes: per-pod target of `custom_metric`."""
    target_cpu_percent: int = Field(default=70, ge=1, le=100)
    """Kubernetes: average CPU utilisation to hold when no custom metric is set."""
    custom_metric: str | None = Field(default=None, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    """Kubernetes: a per-pod metric served by the metrics adapter, used instead of CPU."""
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    """Wait after a scale-in before the next."""
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    """Wait after a scale-out before the next."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise FieldProblems([("min_capacity", "must not exceed max_capacity")])
        return self


class DataCapture(_Model):
    """Request/response capture to the artifact bucket's `data-capture/` prefix."""

    enabled: bool = True
    """Capture is on unless turned off."""
    sampling_percent: int = Field(default=100, ge=1, le=100)
    """Share of requests captured."""
    capture: list[Literal["input", "output"]] = Field(default=["input", "output"], min_length=1, max_length=2)
    """What is captured."""


class AlarmThresholds(_Model):
    """Thresholds of the alarms watching each variant."""

    error_rate_percent: float = Field(default=1.0, gt=0, le=100)
    """5XX errors as a share of invocations."""
    client_error_rate_percent: float = Field(default=10.0, gt=0, le=100)
    """4XX errors as a share of invocations."""
    latency_p99_ms: float = Field(default=500, gt=0)
    """p99 model latency."""
    overhead_latency_p99_ms: float = Field(default=100, gt=0)
    """p99 SageMaker overhead latency."""
    cpu_percent: float = Field(default=90, gt=0)
    """Average CPU utilisation (100 per vCPU)."""
    memory_percent: float = Field(default=85, gt=0, le=100)
    """Average memory utilisation."""
    disk_percent: float = Field(default=85, gt=0, le=100)
    """Average disk utilisation."""
    gpu_percent: float = Field(default=95, gt=0)
    """Average GPU utilisation (GPU instance types only)."""
    gpu_memory_percent: float = Field(default=90, gt=0)
    """Average GPU memory utilisation (GPU instance types only)."""
    serverless_concurrency_percent: float = Field(default=90, gt=0, le=100)
    """Peak concurrent executions as a share of `max_concurrency` (serverless variants only)."""
    period_seconds: Literal[60, 300] = 60
    """Metric period."""
    evaluation_periods: int = Field(default=5, ge=1, le=60)
    """Periods looked at."""
    datapoints_to_alarm: int = Field(default=3, ge=1, le=60)
    """Breaching periods, out of `evaluation_periods`, that raise the alarm."""

    @model_validator(mode="after")
    def _datapoints_within_periods(self) -> AlarmThresholds:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise FieldProblems([("datapoints_to_alarm", "must not exceed evaluation_periods")])
        return self


class AsyncInference(_Model):
    """Asynchronous inference: results land in the artifact bucket's `async-output/` prefix."""

    max_concurrent_invocations_per_instance: int = Field(default=4, ge=1, le=1000)
    """Requests each instance works on at once."""


class SmokeTest(_Model):
    """Sample request `modelplane verify --smoke` sends."""

    content_type: str = "application/json"
    """Content-Type of the body."""
    body: Annotated[str, Field(min_length=1, max_length=65536)]
    """Request body."""


class Resources(_Model):
    """Kubernetes container resources; requests equal limits for CPU and memory unless set apart."""

    cpu: str = Field(default="1", pattern=r"^\d+(\.\d+)?m?$")
    """CPU request."""
    memory: str = Field(default="2Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)?$")
    """Memory request and limit."""
    cpu_limit: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?m?$")
    """CPU limit; defaults to the request."""
    gpus: int = Field(default=0, ge=0, le=16)
    """`nvidia.com/gpu` devices per pod."""


class Toleration(_Model):
    """A pod toleration (e.g. for a GPU node pool taint)."""

    key: str
    """Taint key."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """How the value is compared."""
    value: str | None = None
    """Taint value for Equal."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    """Taint effect tolerated."""


class GatewayRoute(_Model):
    """Gateway API route that receives traffic for the service."""

    gateway_name: Name
    """Name of the Gateway to attach to."""
    gateway_namespace: Name
    """Namespace of that Gateway (also the only namespace allowed in by the NetworkPolicy)."""
    hostnames: list[str] = []
    """Host names matched by the route."""
    path_prefix: str = Field(default="/", pattern=r"^/")
    """Path prefix matched by the route."""


DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# Service names are DNS-1035 labels: they start with a letter.
SERVICE_NAME_PATTERN = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"


class KubernetesServing(_Model):
    """Fields that only the Kubernetes backend uses."""

    namespace: DnsLabel
    """Namespace created for the service (never `default`)."""
    port: int = Field(default=8080, ge=1024, le=65535)
    """Port the model server listens on (unprivileged)."""
    health_path: str = Field(default="/ping", pattern=r"^/")
    """HTTP path answering 200 when the model is loaded."""
    resources: Resources = Resources()
    """Container resources."""
    node_selector: dict[str, str] = {}
    """Node labels the pods require (e.g. a GPU pool)."""
    tolerations: list[Toleration] = []
    """Taints the pods tolerate."""
    gateway: GatewayRoute
    """Where traffic comes from."""
    service_monitor: bool = True
    """Create a prometheus-operator ServiceMonitor."""
    prometheus_namespace: DnsLabel = "monitoring"
    """Namespace of the Prometheus scraping the pods; the NetworkPolicy lets it in when service_monitor is on."""
    prometheus_rules: bool = True
    """Create a prometheus-operator PrometheusRule with the error and latency alerts."""

    @field_validator("namespace")
    @classmethod
    def _not_default(cls, namespace: str) -> str:
        if namespace in {"default", "kube-system", "kube-public", "kube-node-lease"}:
            raise ValueError(f"{namespace!r} is a system namespace; use one of your own")
        return namespace


class Endpoint(_Model):
    """One served model: a SageMaker endpoint or a Kubernetes service."""

    name: Name
    """Endpoint name; the deployed name is `<name>-<stack>`."""
    family: str
    """Model family (from `registry.families`) whose repository and registry it uses."""
    platform: Platform = Platform.SAGEMAKER
    """Where it runs."""
    variants: list[Variant] = Field(min_length=1, max_length=10)
    """Production variants sharing traffic by weight."""
    shadow: Variant | None = None
    """A variant receiving a copy of traffic; its answers go nowhere."""
    deployment: Deployment = Deployment()
    """How updates roll out."""
    autoscaling: Autoscaling | None = None
    """Target tracking for every instance-backed variant."""
    data_capture: DataCapture = DataCapture()
    """Request/response capture."""
    alarms: AlarmThresholds = AlarmThresholds()
    """Alarm thresholds."""
    secrets: list[str] = []
    """Names (from `secrets`) the model may read; passed by ARN, never by value."""
    async_inference: AsyncInference | None = None
    """Asynchronous inference instead of real-time responses (SageMaker only)."""
    smoke_test: SmokeTest | None = None
    """Sample request for `modelplane verify --smoke`."""
    kubernetes: KubernetesServing | None = None
    """Required with platform kubernetes, refused otherwise."""

    @field_validator("name")
    @classmethod
    def _sagemaker_endpoint_name(cls, name: str) -> str:
        if (why := aws_limits.check_name("EndpointName", name)) is not None:
            raise ValueError(why)
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Endpoint:
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for index, variant in enumerate(self.all_variants):
            path = f"variants[{index}].name" if index < len(self.variants) else "shadow.name"
            if variant.name in seen:
                problems.append((path, f"duplicate variant name {variant.name!r}"))
            seen.add(variant.name)
        if self.platform is Platform.SAGEMAKER:
            problems += self._sagemaker_problems()
        else:
            problems += self._kubernetes_problems()
        if problems:
            raise FieldProblems(problems)
        return self

    def _sagemaker_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.kubernetes is not None:
            problems.append(("kubernetes", "only allowed with platform kubernetes"))
        if self.shadow is not None and len(self.variants) != 1:
            problems.append(
                (
                    "shadow",
                    f"a SageMaker shadow variant needs exactly one production variant, found {len(self.variants)}",
                )
            )
        for path, variant in self.variant_paths():
            if variant.serverless is None and variant.instance_type is None:
                problems.append((f"{path}.instance_type", "set instance_type or serverless"))
            if variant.instance_type and aws_limits.is_burstable(variant.instance_type) and self.autoscaling:
                problems.append(
                    (
                        f"{path}.instance_type",
                        "burstable ml.t* instances cannot autoscale; remove autoscaling or pick another type",
                    )
                )
        serverless = [v for v in self.all_variants if v.serverless is not None]
        strategy = self.deployment.strategy
        if serverless and strategy in {Strategy.CANARY, Strategy.LINEAR, Strategy.ROLLING}:
            problems.append(
                ("deployment.strategy", f"{strategy} is not available for serverless variants; use all-at-once")
            )
        if serverless and self.async_inference is not None:
            problems.append(("async_inference", "asynchronous inference needs instance-backed variants"))
        if serverless and len(self.variants) > 1:
            problems.append(("variants", "a serverless endpoint takes exactly one production variant"))
        if serverless and self.shadow is not None:
            problems.append(("shadow", "shadow variants need instance-backed variants"))
        if serverless and self.data_capture.enabled:
            problems.append(
                ("data_capture.enabled", "data capture is not available for serverless endpoints; set it to false")
            )
        problems += self._step_problems()
        if self.autoscaling is not None:
            low, high = self.autoscaling.min_capacity, self.autoscaling.max_capacity
            for path, variant in self.variant_paths():
                if variant.serverless is None and not low <= variant.instance_count <= high:
                    problems.append(
                        (
                            f"{path}.instance_count",
                            f"must lie within autoscaling's {low}..{high}: each update resets capacity to it",
                        )
                    )
        if strategy is Strategy.ROLLING and (len(self.variants) != 1 or self.shadow is not None):
            problems.append(
                ("deployment.strategy", "rolling updates need exactly one production variant and no shadow")
            )
        if strategy is Strategy.ROLLING and self.deployment.step.type == "instance-count":
            count = self.variants[0].instance_count
            if self.deployment.step.value > count:
                problems.append(("deployment.step.value", f"batch size exceeds the variant's {count} instances"))
        return problems

    def _step_problems(self) -> list[tuple[str, str]]:
        """AWS's bounds on a traffic step or batch given as a share of capacity."""
        step = self.deployment.step
        bounds = {Strategy.CANARY: (1, 50), Strategy.LINEAR: (10, 50), Strategy.ROLLING: (5, 50)}.get(
            self.deployment.strategy
        )
        if bounds is None or step.type != "capacity-percent" or bounds[0] <= step.value <= bounds[1]:
            return []
        return [
            (
                "deployment.step.value",
                f"{self.deployment.strategy} steps must be {bounds[0]}-{bounds[1]} percent of capacity",
            )
        ]

    def _kubernetes_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.kubernetes is None:
            problems.append(("kubernetes", "required with platform kubernetes"))
        for path, variant in self.variant_paths():
            if variant.serverless is not None:
                problems.append((f"{path}.serverless", "serverless is SageMaker only"))
            if variant.instance_type is not None:
                problems.append(
                    (f"{path}.instance_type", "instance types are SageMaker only; size pods with kubernetes.resources")
                )
            object_name = f"{self.name}-{variant.name}"
            if not re.fullmatch(SERVICE_NAME_PATTERN, object_name):
                problems.append(
                    (
                        f"{path}.name",
                        f"Deployment and Service name {object_name} must be a lowercase DNS label starting with a letter, at most 63 characters",
                    )
                )
        for index, variant in enumerate(self.variants):
            if not variant.weight.is_integer():
                problems.append((f"variants[{index}].weight", "Gateway API route weights are whole numbers"))
        if self.async_inference is not None:
            problems.append(("async_inference", "asynchronous inference is SageMaker only"))
        if self.deployment.strategy is Strategy.LINEAR:
            problems.append(
                (
                    "deployment.strategy",
                    "on Kubernetes, move weights step by step with config changes (canary or all-at-once)",
                )
            )
        return problems

    def variant_paths(self) -> list[tuple[str, Variant]]:
        paths = [(f"variants[{index}]", variant) for index, variant in enumerate(self.variants)]
        if self.shadow is not None:
            paths.append(("shadow", self.shadow))
        return paths

    @property
    def all_variants(self) -> list[Variant]:
        return [*self.variants, *([self.shadow] if self.shadow else [])]

    def traffic_shares(self) -> dict[str, float]:
        """Each production variant's share of traffic, from the relative weights."""
        total = sum(variant.weight for variant in self.variants)
        return {variant.name: variant.weight / total for variant in self.variants}


class Rotation(_Model):
    """Automatic rotation by a rotation Lambda."""

    lambda_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"
    )
    """Rotation function."""
    lambda_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")
    """Execution role of the rotation function; the secret's resource policy lets it read the value."""
    automatically_after_days: int | None = Field(default=None, ge=1, le=1000)
    """Rotate every N days (at most 90 in prod)."""
    schedule_expression: str | None = Field(default=None, pattern=r"^(rate|cron)\(.+\)$")
    """Or a `rate(...)` / `cron(...)` schedule."""

    @model_validator(mode="after")
    def _one_schedule(self) -> Rotation:
        if (self.automatically_after_days is None) == (self.schedule_expression is None):
            raise FieldProblems(
                [("automatically_after_days", "set exactly one of automatically_after_days or schedule_expression")]
            )
        return self


class SecretSpec(_Model):
    """A secret in Secrets Manager. Its value comes only from Pulumi secret config, never from YAML."""

    description: Annotated[str, Field(min_length=1, max_length=2048)]
    """What the secret is for."""
    rotation: Rotation | None = None
    """Automatic rotation."""


class Monitoring(_Model):
    """Who is told, and how long logs are kept."""

    emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    """E-mail addresses subscribed to the alarm topic."""
    https_endpoints: list[Annotated[str, Field(pattern=r"^https://[^\s]+$")]] = []
    """HTTPS webhooks (pager, chat) subscribed to the alarm topic."""
    log_retention_days: int | None = None
    """Endpoint log retention; default 365 in prod, 30 in staging, 14 elsewhere."""

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int | None) -> int | None:
        if days is not None and days not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return days


class KubernetesCluster(_Model):
    """How the Kubernetes provider reaches the cluster (the kubeconfig itself is secret config `modelplane:kubeconfig`)."""

    context: str | None = None
    """kubeconfig context; the ambient one when unset."""
    render_yaml_to_directory: str | None = None
    """Write manifests to this directory instead of applying them (GitOps)."""
    oidc_provider_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+$")
    """EKS OIDC provider, for IAM roles of service accounts (IRSA)."""


class LocalEmulator(_Model):
    """A local AWS emulator (moto server) for the `local` environment."""

    endpoint_url: str = Field(pattern=r"^http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{2,5}/?$")
    """Loopback URL of the emulator."""


class Settings(_Model):
    """Everything a stack config may say."""

    environment: Environment
    """dev, staging, prod or local; decides protection, defaults and policy enforcement."""
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """AWS region (`aws:region`)."""
    tags: Tags
    """Tags for every taggable resource."""
    network: Network | None = None
    """VPC placement of models (required in prod)."""
    registry: Registry
    """Model families, artifact bucket and repositories."""
    endpoints: list[Endpoint] = []
    """Served models."""
    monitoring: Monitoring = Monitoring()
    """Notifications and logs."""
    secrets: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)], SecretSpec] = {}
    """Secrets by name; values via `pulumi config set --secret --path 'modelplane:secret_values.<name>'`."""
    kubernetes: KubernetesCluster = KubernetesCluster()
    """Cluster access for platform kubernetes endpoints."""
    local_emulator: LocalEmulator | None = None
    """Point the AWS provider at a local emulator (environment local only)."""

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Settings:
        problems: list[tuple[str, str]] = []
        stack = (info.context or {}).get("stack")
        names: set[str] = set()
        namespaces: set[str] = set()
        for index, endpoint in enumerate(self.endpoints):
            path = f"endpoints[{index}]"
            if endpoint.name in names:
                problems.append((f"{path}.name", f"duplicate endpoint name {endpoint.name!r}"))
            names.add(endpoint.name)
            deployed_endpoint = naming.endpoint_name(endpoint, stack or "")
            if stack and (why := aws_limits.check_name("EndpointName", deployed_endpoint)):
                problems.append((f"{path}.name", f"deployed name {deployed_endpoint} {why}"))
            if endpoint.family not in self.registry.families:
                problems.append(
                    (f"{path}.family", f"unknown model family {endpoint.family!r}; declare it in registry.families")
                )
            for position, secret in enumerate(endpoint.secrets):
                if secret not in self.secrets:
                    problems.append(
                        (f"{path}.secrets[{position}]", f"unknown secret {secret!r}; declare it in secrets")
                    )
            if self.environment is Environment.PROD:
                problems += self._prod_problems(path, endpoint)
            if endpoint.kubernetes is not None:
                problems += self._cluster_problems(path, endpoint, endpoint.kubernetes, namespaces)
        for family in self.registry.families:
            deployed = naming.family_resource_name(family, stack or "")
            if stack and (why := aws_limits.check_name("EntityName", deployed)):
                problems.append((f"registry.families.{family}", f"deployed name {deployed} {why}"))
            elif stack and deployed != deployed.lower():
                problems.append((f"registry.families.{family}", f"deployed name {deployed} must be lowercase (ECR)"))
        if self.environment is Environment.PROD and self.network is None:
            problems.append(("network", "required in prod: models run in private subnets"))
        if self.environment is Environment.PROD:
            problems += self._prod_rotation_problems()
        if self.local_emulator is not None and self.environment is not Environment.LOCAL:
            problems.append(("local_emulator", "only allowed with environment local"))
        if problems:
            raise FieldProblems(problems)
        return self

    def _prod_rotation_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for name, spec in self.secrets.items():
            rotation = spec.rotation
            path = f"secrets.{name}.rotation"
            if rotation is None:
                problems.append(
                    (path, f"required in prod: secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days")
                )
                continue
            days = rotation.automatically_after_days
            if days is not None and days > MAX_PROD_ROTATION_DAYS:
                problems.append(
                    (
                        f"{path}.automatically_after_days",
                        f"prod secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days",
                    )
                )
            rate = re.fullmatch(r"rate\((\d+) days?\)", rotation.schedule_expression or "")
            if rate and int(rate.group(1)) > MAX_PROD_ROTATION_DAYS:
                problems.append(
                    (f"{path}.schedule_expression", f"prod secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days")
                )
        return problems

    def _cluster_problems(
        self, path: str, endpoint: Endpoint, serving: KubernetesServing, namespaces: set[str]
    ) -> list[tuple[str, str]]:
        """A Kubernetes endpoint owns its namespace, can read its secrets safely, and keeps 2 replicas in prod."""
        problems: list[tuple[str, str]] = []
        if serving.namespace in namespaces:
            problems.append(
                (f"{path}.kubernetes.namespace", f"namespace {serving.namespace!r} belongs to another endpoint")
            )
        namespaces.add(serving.namespace)
        if endpoint.secrets and self.kubernetes.render_yaml_to_directory is not None:
            problems.append(
                (
                    f"{path}.secrets",
                    "kubernetes.render_yaml_to_directory would write the Kubernetes Secret holding these values to disk in plain text",
                )
            )
        for position, secret in enumerate(endpoint.secrets):
            spec = self.secrets.get(secret)
            if spec is not None and spec.rotation is not None and self.kubernetes.oidc_provider_arn is None:
                problems.append(
                    (
                        f"{path}.secrets[{position}]",
                        f"{secret!r} rotates, so the pods re-read it from Secrets Manager through IRSA: set kubernetes.oidc_provider_arn",
                    )
                )
        if self.environment is Environment.PROD:
            if endpoint.autoscaling is not None and endpoint.autoscaling.min_capacity < 2:
                problems.append((f"{path}.autoscaling.min_capacity", "prod keeps at least 2 replicas per variant"))
            if endpoint.autoscaling is None:
                problems += [
                    (f"{path}.variants[{index}].instance_count", "prod keeps at least 2 replicas per variant")
                    for index, variant in enumerate(endpoint.variants)
                    if variant.instance_count < 2
                ]
        return problems

    def _prod_problems(self, path: str, endpoint: Endpoint) -> list[tuple[str, str]]:
        if endpoint.platform is not Platform.SAGEMAKER:
            return []
        serverless = [(p, v) for p, v in endpoint.variant_paths() if v.serverless is not None]
        if serverless:
            variant_path = serverless[0][0]
            return [
                (
                    f"{path}.{variant_path}.serverless",
                    "serverless endpoints cannot run in private subnets or with network isolation; use instances in prod",
                )
            ]
        if endpoint.deployment.strategy is Strategy.ALL_AT_ONCE:
            return [
                (f"{path}.deployment.strategy", "prod endpoints shift traffic gradually: use canary, linear or rolling")
            ]
        return []

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: object) -> object:
        """Prod endpoints default to a canary deployment (serverless ones to all-at-once, their only option)."""
        if not isinstance(data, dict) or data.get("environment") != Environment.PROD.value:
            return data
        if not isinstance(data.get("endpoints"), list):
            return data
        endpoints = []
        for endpoint in data["endpoints"]:
            if isinstance(endpoint, dict) and _needs_default_strategy(endpoint):
                serverless = any(
                    isinstance(v, dict) and v.get("serverless")
                    for v in [*_as_list(endpoint.get("variants")), endpoint.get("shadow")]
                )
                strategy = Strategy.ALL_AT_ONCE if serverless else Strategy.CANARY
                deployment = dict(endpoint.get("deployment") or {})
                deployment["strategy"] = strategy.value
                endpoint = {**endpoint, "deployment": deployment}
            endpoints.append(endpoint)
        return {**data, "endpoints": endpoints}

    def log_retention_days(self) -> int:
        if self.monitoring.log_retention_days is not None:
            return self.monitoring.log_retention_days
        return {Environment.PROD: 365, Environment.STAGING: 30}.get(self.environment, 14)

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    def base_tags(self, project: str, stack: str) -> dict[str, str]:
        """The tags every taggable resource carries."""
        return {
            **self.tags.extra,
            "owner": self.tags.owner,
            "cost-center": self.tags.cost_center,
            "data-classification": self.tags.data_classification,
            "environment": self.environment.value,
            "project": project,
            "stack": stack,
            "managed-by": "pulumi",
        }


def _needs_default_strategy(endpoint: dict[str, object]) -> bool:
    deployment = endpoint.get("deployment")
    return deployment is None or (isinstance(deployment, dict) and "strategy" not in deployment)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
