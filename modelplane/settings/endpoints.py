"""A served model: its variants, deployment, capture, alarms and backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from modelplane_components import aws_limits, kubernetes_service_args, monitoring_args, sagemaker_endpoint_args
from pydantic import Field, field_validator, model_validator

from modelplane.settings.base import FieldProblems, Name, Platform, SettingsModel
from modelplane.settings.deployment import Autoscaling, Deployment, Strategy
from modelplane.settings.drift import DataDrift
from modelplane.settings.experiments import Experiment
from modelplane.settings.kubernetes import KubernetesServing
from modelplane.settings.monitoring import AlarmThresholds, DataCapture
from modelplane.settings.variants import Variant

if TYPE_CHECKING:
    from modelplane_components.kubernetes_service_args import KubernetesModelServiceArgs
    from modelplane_components.sagemaker_endpoint_args import SageMakerEndpointArgs

# Where the Kubernetes component's argument paths live in a stack file's endpoint.
KUBERNETES_PATHS = (
    ("namespace", "kubernetes.namespace"),
    ("port", "kubernetes.port"),
    ("health_path", "kubernetes.health_path"),
    ("resources", "kubernetes.resources"),
    ("gateway", "kubernetes.gateway"),
    ("autoscaling.min_replicas", "autoscaling.min_capacity"),
    ("alerts", "alarms"),
)


class AsyncInference(SettingsModel):
    """Asynchronous inference: results land in the artifact bucket's `async-output/` prefix."""

    max_concurrent_invocations_per_instance: int = Field(default=4, ge=1, le=1000)
    """Requests each instance works on at once."""


class SmokeTest(SettingsModel):
    """Sample request `modelplane verify --smoke` sends."""

    content_type: str = "application/json"
    """Content-Type of the body."""
    body: Annotated[str, Field(min_length=1, max_length=65536)]
    """Request body, sent as it is written."""


class Endpoint(SettingsModel):
    """One served model: a SageMaker endpoint or a Kubernetes service."""

    name: Name
    """Endpoint name; the deployed name is `<name>-<stack>`."""
    family: str
    """Model family (from `registry.families`) whose repository and registry it uses."""
    platform: Platform = Platform.SAGEMAKER
    """`sagemaker`: a SageMaker endpoint; `kubernetes`: a Deployment per variant behind a Gateway API route."""
    variants: list[Variant] = Field(min_length=1, max_length=10)
    """Production variants sharing traffic by weight."""
    shadow: Variant | None = None
    """A variant receiving a copy of traffic; its answers go nowhere."""
    deployment: Deployment = Deployment()
    """How updates roll out."""
    autoscaling: Autoscaling | None = None
    """Target tracking for every instance-backed variant."""
    data_capture: DataCapture = DataCapture()
    """Capture of requests and responses to the artifact bucket, in SageMaker's format on both platforms (by SageMaker;
    on Kubernetes by the serving image, as the pods' IAM role); not available serverless."""
    alarms: AlarmThresholds = AlarmThresholds()
    """Thresholds of the alarms on each variant (SageMaker: CloudWatch alarms; Kubernetes: PrometheusRule alerts)."""
    drift: DataDrift = DataDrift()
    """Input drift thresholds of `modelplane drift`, and drift alarms (SageMaker, with data capture)."""
    secrets: list[str] = []
    """Names (from `secrets`) the model may read; passed by ARN, never by value."""
    async_inference: AsyncInference | None = None
    """Asynchronous inference instead of real-time responses (SageMaker only)."""
    smoke_test: SmokeTest | None = None
    """Sample request for `modelplane verify --smoke`."""
    kubernetes: KubernetesServing | None = None
    """Required with platform kubernetes, refused otherwise."""
    experiment: Experiment = Experiment()
    """How `modelplane compare` judges an A/B test between two of its variants."""

    @field_validator("name")
    @classmethod
    def _sagemaker_endpoint_name(cls, name: str) -> str:
        if (why := aws_limits.name_problem("EndpointName", name)) is not None:
            raise ValueError(why)
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Endpoint:
        """The platform's rules: the components' own checks, at this endpoint's field paths."""
        problems: list[tuple[str, str]] = []
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
        shape = self.sagemaker_shape()
        for path, message in sagemaker_endpoint_args.serving_problems(shape):
            if path == "data_capture":
                # The component is given no capture when it is off; here capture is a switch.
                problems.append(("data_capture.enabled", f"{message}; set it to false"))
            else:
                problems.append((path, message))
        # The program names the endpoint's component after the endpoint.
        problems += sagemaker_endpoint_args.model_name_problems(self.name, shape)
        if self.drift.enabled and not (self.data_capture.enabled and "input" in self.data_capture.capture):
            problems.append(("drift.enabled", "drift is judged on captured requests: capture input in data_capture"))
        thresholds = self.alarms.component_args()
        return problems + [
            (f"alarms.{path}", message) for path, message in monitoring_args.threshold_problems(thresholds)
        ]

    def _kubernetes_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.kubernetes is None:
            return [("kubernetes", "required with platform kubernetes")]
        for path, variant in self.variant_paths():
            if variant.serverless is not None:
                problems.append((f"{path}.serverless", "serverless is SageMaker only"))
            if variant.instance_type is not None:
                problems.append(
                    (f"{path}.instance_type", "instance types are SageMaker only; size pods with kubernetes.resources")
                )
            if variant.model_artifact is not None:
                problems.append(
                    (
                        f"{path}.model_artifact",
                        "on Kubernetes a model archive is served as a registered version: `modelplane register` it"
                        " and pin its model_package_version",
                    )
                )
        for index, variant in enumerate(self.variants):
            if not variant.weight.is_integer():
                problems.append((f"variants[{index}].weight", "Gateway API route weights are whole numbers"))
        if self.async_inference is not None:
            problems.append(("async_inference", "asynchronous inference is SageMaker only"))
        if self.drift.enabled:
            problems.append(
                (
                    "drift.enabled",
                    "drift alarms are CloudWatch alarms of SageMaker endpoints; on Kubernetes, schedule"
                    " `modelplane drift` on the captured requests (it exits 1 on drift)",
                )
            )
        if self.deployment.strategy is Strategy.LINEAR:
            problems.append(
                (
                    "deployment.strategy",
                    "on Kubernetes, move weights step by step with config changes (canary or all-at-once)",
                )
            )
        shape = self.kubernetes_shape()
        return problems + [
            (_stack_file_path(path), message) for path, message in kubernetes_service_args.serving_problems(shape)
        ]

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

    def sagemaker_shape(self) -> SageMakerEndpointArgs:
        """What the settings say of a SageMaker endpoint's variants, deployment, scaling and capture; the program
        adds what other components create, the validators run the component's checks on it."""
        shape: dict[str, Any] = {
            "endpoint_name": self.name,
            "variants": [variant.sagemaker_args() for variant in self.variants],
            "deployment": self.deployment.model_dump(mode="json"),
        }
        if self.shadow is not None:
            shape["shadow"] = self.shadow.sagemaker_args()
        if self.autoscaling is not None:
            shape["autoscaling"] = self.autoscaling.model_dump(
                include={
                    "min_capacity",
                    "max_capacity",
                    "target_invocations_per_instance",
                    "scale_in_cooldown_seconds",
                    "scale_out_cooldown_seconds",
                }
            )
        if self.data_capture.enabled:
            shape["data_capture"] = self.data_capture.component_args()
        if self.async_inference is not None:
            shape["async_inference"] = self.async_inference.model_dump()
        return cast("SageMakerEndpointArgs", shape)

    def kubernetes_shape(self) -> KubernetesModelServiceArgs:
        """What the settings say of a Kubernetes endpoint's pods, variants, scaling, routing and alerts."""
        serving = self.kubernetes
        if serving is None:
            raise ValueError(f"endpoint {self.name!r} has no kubernetes settings")
        shape: dict[str, Any] = {
            "instance_name": self.name,
            "app_name": self.family,
            "variants": [variant.kubernetes_args() for variant in self.variants],
            "alerts": self.alarms.component_args(),
            **serving.model_dump(exclude_none=True),
        }
        if self.shadow is not None:
            shape["shadow"] = self.shadow.kubernetes_args()
        if self.data_capture.enabled:
            shape["data_capture"] = self.data_capture.component_args()
        scaling = self.autoscaling
        if scaling is not None:
            shape["autoscaling"] = {
                "min_replicas": scaling.min_capacity,
                "max_replicas": scaling.max_capacity,
                "target_cpu_percent": scaling.target_cpu_percent,
                "custom_metric_target": scaling.target_invocations_per_instance,
                "scale_in_cooldown_seconds": scaling.scale_in_cooldown_seconds,
                "scale_out_cooldown_seconds": scaling.scale_out_cooldown_seconds,
                **({"custom_metric": scaling.custom_metric} if scaling.custom_metric else {}),
            }
        return cast("KubernetesModelServiceArgs", shape)


def _stack_file_path(path: str) -> str:
    """A Kubernetes component argument path as the stack file names it."""
    path = path.replace(".replicas", ".instance_count")
    for argument, field in KUBERNETES_PATHS:
        if path == argument or path.startswith(f"{argument}."):
            return field + path.removeprefix(argument)
    return path
