"""How updates roll out (SageMaker deployment guardrails) and how variants scale.

Defaults come from the endpoint component, which also checks AWS's rules on them (waits, step sizes,
capacities); these models add what a stack file may say.
"""

from __future__ import annotations

from typing import Literal

from modelplane_components.sagemaker_endpoint_args import Autoscaling as ComponentAutoscaling
from modelplane_components.sagemaker_endpoint_args import Deployment as ComponentDeployment
from modelplane_components.sagemaker_endpoint_args import DeploymentStrategy as Strategy
from pydantic import Field

from modelplane.settings.base import SettingsModel

__all__ = ["Autoscaling", "Deployment", "StepSize", "Strategy"]


class StepSize(SettingsModel):
    """Traffic step for canary/linear shifts, or batch size for rolling updates."""

    type: Literal["capacity-percent", "instance-count"] = "capacity-percent"
    """Whether `value` counts percent of capacity or instances."""
    value: int = Field(default=ComponentDeployment.step_value, ge=1)
    """Size of the step: percent of capacity or number of instances, as `type` says."""


class Deployment(SettingsModel):
    """How a new endpoint configuration replaces the old one (SageMaker deployment guardrails)."""

    strategy: Strategy = ComponentDeployment.strategy
    """all-at-once, canary, linear (blue/green traffic shifting) or rolling; a prod stack defaults to canary."""
    step: StepSize = StepSize()
    """Canary size, linear step, or rolling batch size."""
    bake_seconds: int = Field(default=ComponentDeployment.bake_seconds, ge=0, le=3600)
    """Wait after each traffic shift while the rollback alarms watch."""
    termination_wait_seconds: int = Field(default=ComponentDeployment.termination_wait_seconds, ge=0, le=3600)
    """Wait before the old fleet is terminated."""
    max_duration_seconds: int = Field(default=ComponentDeployment.max_duration_seconds, ge=600, le=3600)
    """Upper bound of the whole deployment; AWS allows 600-28800, the provider waits 3600 at most."""


class Autoscaling(SettingsModel):
    """Target tracking per variant (SageMaker instances or Kubernetes replicas)."""

    min_capacity: int = Field(ge=1, le=100)
    """Fewest instances or replicas."""
    max_capacity: int = Field(ge=1, le=100)
    """Most instances or replicas."""
    target_invocations_per_instance: float = Field(default=ComponentAutoscaling.target_invocations_per_instance, gt=0)
    """SageMaker: invocations per instance per minute to hold; Kubernetes: per-pod target of `custom_metric`."""
    target_cpu_percent: int = Field(default=70, ge=1, le=100)
    """Kubernetes: average CPU utilisation to hold when no custom metric is set."""
    custom_metric: str | None = Field(default=None, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    """Kubernetes: a per-pod metric served by the metrics adapter, used instead of CPU."""
    scale_in_cooldown_seconds: int = Field(default=ComponentAutoscaling.scale_in_cooldown_seconds, ge=0, le=3600)
    """Wait after a scale-in before the next."""
    scale_out_cooldown_seconds: int = Field(default=ComponentAutoscaling.scale_out_cooldown_seconds, ge=0, le=3600)
    """Wait after a scale-out before the next."""
