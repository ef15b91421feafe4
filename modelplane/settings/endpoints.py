"""A served model: its variants, deployment, capture, alarms and backend."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from modelplane import aws_limits, naming
from modelplane.settings.base import FieldProblems, Name, Platform, SettingsModel
from modelplane.settings.deployment import Autoscaling, Deployment, Strategy
from modelplane.settings.kubernetes import SERVICE_NAME_PATTERN, KubernetesServing
from modelplane.settings.monitoring import AlarmThresholds, DataCapture
from modelplane.settings.variants import Variant


class AsyncInference(SettingsModel):
    """Asynchronous inference: results land in the artifact bucket's `async-output/` prefix."""

    max_concurrent_invocations_per_instance: int = Field(default=4, ge=1, le=1000)
    """Requests each instance works on at once."""


class SmokeTest(SettingsModel):
    """Sample request `modelplane verify --smoke` sends."""

    content_type: str = "application/json"
    """Content-Type of the body."""
    body: Annotated[str, Field(min_length=1, max_length=65536)]
    """Request body."""


class Endpoint(SettingsModel):
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
            model = naming.model_resource_name(self.name, variant.name)
            if (why := aws_limits.check_auto_name("ModelName", model)) is not None:
                problems.append(("name", f"the model of variant {variant.name!r} would be {why}"))
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
