"""Data capture, alarm thresholds, notifications and log retention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, cast

from modelplane_components.alert_topic import EMAIL_PATTERN, HTTPS_PATTERN
from modelplane_components.aws_limits import LOG_RETENTION_DAYS
from modelplane_components.monitoring_args import Thresholds
from pydantic import Field, field_validator, model_validator

from modelplane.settings.base import Environment, FieldProblems, SettingsModel

if TYPE_CHECKING:
    from modelplane_components.monitoring_args import AlarmThresholdsArgs
    from modelplane_components.sagemaker_endpoint_args import DataCaptureArgs

SECONDS_PER_DAY = 86_400


class DataCapture(SettingsModel):
    """Request/response capture to the artifact bucket's `data-capture/` prefix."""

    enabled: bool = True
    """Capture requests and responses; serverless variants cannot (set it false), and the policy pack reports it off in prod."""
    sampling_percent: int = Field(default=100, ge=1, le=100)
    """Share of requests captured."""
    capture: list[Literal["input", "output"]] = Field(default=["input", "output"], min_length=1, max_length=2)
    """Which payloads are captured: requests (`input`), responses (`output`) or both; `modelplane drift` reads `input`."""

    def component_args(self) -> DataCaptureArgs:
        """The capture as both endpoint components take it (when enabled)."""
        return {
            "sampling_percent": self.sampling_percent,
            "capture_input": "input" in self.capture,
            "capture_output": "output" in self.capture,
        }


class AnomalyDetection(SettingsModel):
    """CloudWatch anomaly-detection alarms on each variant's Invocations and ModelLatency.

    CloudWatch trains a model of each metric's daily and weekly shape and alarms when the metric
    leaves the band around it. Unset fields take the environment's defaults (`ANOMALY_DEFAULTS`).
    """

    enabled: bool | None = None
    """Default: on in staging and prod, off in dev and local (too little steady traffic to learn from)."""
    band_width: float | None = Field(default=None, gt=0, le=10)
    """Standard deviations between the expected value and the band's edges; default 2 in prod, 3 in staging."""
    period_seconds: Literal[60, 300, 900, 3600] = 300
    """Metric period the model is trained and judged on."""
    evaluation_periods: int | None = Field(default=None, ge=1, le=24)
    """Periods looked at; default 3 in prod (15 minutes), 6 in staging."""
    datapoints_to_alarm: int | None = Field(default=None, ge=1, le=24)
    """Periods outside the band, out of `evaluation_periods`, that raise the alarm; default (and at most) all of them."""

    @model_validator(mode="after")
    def _consistent(self) -> AnomalyDetection:
        problems = []
        if (
            self.datapoints_to_alarm is not None
            and self.evaluation_periods is not None
            and self.datapoints_to_alarm > self.evaluation_periods
        ):
            problems.append(("datapoints_to_alarm", "must not exceed evaluation_periods"))
        if self.evaluation_periods is not None and self.evaluation_periods * self.period_seconds > SECONDS_PER_DAY:
            problems.append(("evaluation_periods", "evaluation_periods x period_seconds must not exceed one day"))
        if problems:
            raise FieldProblems(problems)
        return self

    def resolved(self, environment: Environment) -> ResolvedAnomalyDetection:
        """The stack file's values, else the environment's defaults."""
        defaults = ANOMALY_DEFAULTS.get(environment, ANOMALY_DEFAULTS[Environment.DEV])
        evaluation_periods = self.evaluation_periods or defaults.evaluation_periods
        return ResolvedAnomalyDetection(
            enabled=defaults.enabled if self.enabled is None else self.enabled,
            band_width=self.band_width or defaults.band_width,
            period_seconds=self.period_seconds,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=min(self.datapoints_to_alarm or evaluation_periods, evaluation_periods),
        )


@dataclass(frozen=True)
class ResolvedAnomalyDetection:
    """Anomaly detection of one endpoint in one environment, every value decided."""

    enabled: bool
    band_width: float
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int


# Staging traffic is mostly synthetic and bursty: a wider band, judged over a longer window. Dev
# and local see too little steady traffic for CloudWatch to learn a shape from.
ANOMALY_DEFAULTS = {
    Environment.PROD: ResolvedAnomalyDetection(
        True, band_width=2, period_seconds=300, evaluation_periods=3, datapoints_to_alarm=3
    ),
    Environment.STAGING: ResolvedAnomalyDetection(
        True, band_width=3, period_seconds=300, evaluation_periods=6, datapoints_to_alarm=6
    ),
    Environment.DEV: ResolvedAnomalyDetection(
        False, band_width=3, period_seconds=300, evaluation_periods=6, datapoints_to_alarm=6
    ),
}


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
    """Period of the static alarms' metrics, in seconds."""
    evaluation_periods: int = Field(default=Thresholds.evaluation_periods, ge=1, le=60)
    """Periods each static alarm evaluates."""
    datapoints_to_alarm: int = Field(default=Thresholds.datapoints_to_alarm, ge=1, le=60)
    """Breaching periods, out of `evaluation_periods`, that raise the alarm."""
    anomaly_detection: AnomalyDetection = AnomalyDetection()
    """Alarms on traffic and latency leaving their usual shape (CloudWatch anomaly detection)."""

    def component_args(self) -> AlarmThresholdsArgs:
        """The static thresholds; anomaly detection's defaults depend on the environment (the program adds them)."""
        return cast("AlarmThresholdsArgs", self.model_dump(exclude={"anomaly_detection"}))


class Monitoring(SettingsModel):
    """Who is told, and how long logs are kept."""

    emails: list[Annotated[str, Field(pattern=f"^{EMAIL_PATTERN}$")]] = []
    """E-mail addresses subscribed to the alarm topic; each must confirm the subscription from SNS's e-mail."""
    https_endpoints: list[Annotated[str, Field(pattern=f"^{HTTPS_PATTERN}$")]] = []
    """HTTPS webhooks (pager, chat) subscribed to the alarm topic."""
    log_retention_days: int | None = None
    """Endpoint log retention in days, one CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653); default 365 in prod, 30 in staging, 14 elsewhere."""
    drift_query_scan_limit_gb: float = Field(default=100, ge=0.01, le=1_000_000)
    """GB a query in the drift workgroup (Athena) may scan before Athena cancels it."""

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int | None) -> int | None:
        if days is not None and days not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return days
