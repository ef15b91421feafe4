"""Data capture, alarm thresholds, notifications and log retention."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from modelplane.settings.base import SettingsModel
from modelplane_components.alert_topic import EMAIL_PATTERN, HTTPS_PATTERN
from modelplane_components.aws_limits import LOG_RETENTION_DAYS
from modelplane_components.monitoring_args import Thresholds


class DataCapture(SettingsModel):
    """Request/response capture to the artifact bucket's `data-capture/` prefix."""

    enabled: bool = True
    """Capture is on unless turned off."""
    sampling_percent: int = Field(default=100, ge=1, le=100)
    """Share of requests captured."""
    capture: list[Literal["input", "output"]] = Field(default=["input", "output"], min_length=1, max_length=2)
    """What is captured."""


class AlarmThresholds(SettingsModel):
    """Thresholds of the alarms watching each variant."""

    error_rate_percent: float = Field(default=Thresholds.error_rate_percent, gt=0, le=100)
    """5XX errors as a share of invocations."""
    client_error_rate_percent: float = Field(default=Thresholds.client_error_rate_percent, gt=0, le=100)
    """4XX errors as a share of invocations."""
    latency_p99_ms: float = Field(default=Thresholds.latency_p99_ms, gt=0)
    """p99 model latency."""
    overhead_latency_p99_ms: float = Field(default=Thresholds.overhead_latency_p99_ms, gt=0)
    """p99 SageMaker overhead latency."""
    cpu_percent: float = Field(default=Thresholds.cpu_percent, gt=0)
    """Average CPU utilisation (100 per vCPU)."""
    memory_percent: float = Field(default=Thresholds.memory_percent, gt=0, le=100)
    """Average memory utilisation."""
    disk_percent: float = Field(default=Thresholds.disk_percent, gt=0, le=100)
    """Average disk utilisation."""
    gpu_percent: float = Field(default=Thresholds.gpu_percent, gt=0)
    """Average GPU utilisation (GPU instance types only)."""
    gpu_memory_percent: float = Field(default=Thresholds.gpu_memory_percent, gt=0)
    """Average GPU memory utilisation (GPU instance types only)."""
    serverless_concurrency_percent: float = Field(default=Thresholds.serverless_concurrency_percent, gt=0, le=100)
    """Peak concurrent executions as a share of `max_concurrency` (serverless variants only)."""
    period_seconds: Literal[60, 300] = 60
    """Metric period."""
    evaluation_periods: int = Field(default=Thresholds.evaluation_periods, ge=1, le=60)
    """Periods looked at."""
    datapoints_to_alarm: int = Field(default=Thresholds.datapoints_to_alarm, ge=1, le=60)
    """Breaching periods, out of `evaluation_periods`, that raise the alarm."""


class Monitoring(SettingsModel):
    """Who is told, and how long logs are kept."""

    emails: list[Annotated[str, Field(pattern=f"^{EMAIL_PATTERN}$")]] = []
    """E-mail addresses subscribed to the alarm topic."""
    https_endpoints: list[Annotated[str, Field(pattern=f"^{HTTPS_PATTERN}$")]] = []
    """HTTPS webhooks (pager, chat) subscribed to the alarm topic."""
    log_retention_days: int | None = None
    """Endpoint log retention; default 365 in prod, 30 in staging, 14 elsewhere."""

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int | None) -> int | None:
        if days is not None and days not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return days
