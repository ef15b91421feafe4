"""How updates roll out (SageMaker deployment guardrails) and how variants scale."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from modelplane.settings.base import FieldProblems, SettingsModel

# Largest total wait (bake + termination) we allow, well under the provider's 60-minute update wait.
MAX_DEPLOYMENT_WAIT_SECONDS = 3000
PROVIDER_UPDATE_WAIT_SECONDS = 3600


class Strategy(StrEnum):
    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"
    LINEAR = "linear"
    ROLLING = "rolling"


class StepSize(SettingsModel):
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


class Deployment(SettingsModel):
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


class Autoscaling(SettingsModel):
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
