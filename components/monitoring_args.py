"""Arguments of `EndpointMonitoring` and CloudWatch's rules on them (also the thresholds of Kubernetes alerts).

Apart from the component so that the rules load without the CloudWatch SDK module: modelplane's
settings run them on every stack file.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi

from . import aws_limits
from ._common import Problem, Tags, at, known

# SageMaker accepts 1 to 10 alarms in `auto_rollback_configuration`.
MAX_ROLLBACK_ALARMS = 10
DEFAULT_LOG_RETENTION_DAYS = 30
# CloudWatch PutMetricAlarm: periods x evaluation periods at most a week, or a day for periods under an hour.
MAX_EVALUATION_SECONDS = 7 * 86_400
MAX_SHORT_PERIOD_EVALUATION_SECONDS = 86_400
# Periods under a minute PutMetricAlarm accepts (for high-resolution metrics); longer ones are whole minutes.
HIGH_RESOLUTION_PERIODS = (10, 20, 30)


class MonitoredVariantArgs(TypedDict):
    """A variant the alarms watch."""

    name: str
    """Variant name, as the endpoint configuration names it."""
    instance_type: NotRequired[str]
    """Instance type (`ml.*`); leave out for a serverless variant, watched for its concurrency ceiling instead."""


class AnomalyDetectionArgs(TypedDict):
    """CloudWatch anomaly detection on a variant's traffic (`Invocations`) and latency (`ModelLatency`).

    CloudWatch trains a model of each metric's daily and weekly shape from its history and alarms when
    the metric leaves the band around it. Never a rollback alarm: a new model version legitimately
    changes the shape of its latency.
    """

    band_width: NotRequired[float]
    """Standard deviations between the expected value and each edge of the band; default 2."""
    period_seconds: NotRequired[int]
    """Metric period the model is trained and judged on: 10, 20, 30 or a multiple of 60 (CloudWatch); default 300."""
    evaluation_periods: NotRequired[int]
    """Periods looked at; default 3."""
    datapoints_to_alarm: NotRequired[int]
    """Periods outside the band, out of `evaluation_periods`, that raise the alarm; default all of them."""


@dataclass(frozen=True)
class AnomalyBand:
    """`AnomalyDetectionArgs` with the defaults filled in."""

    width: float
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int

    @classmethod
    def of(cls, args: AnomalyDetectionArgs) -> "AnomalyBand":
        evaluation_periods = args.get("evaluation_periods", 3)
        return cls(
            width=args.get("band_width", 2.0),
            period_seconds=args.get("period_seconds", 300),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=args.get("datapoints_to_alarm", evaluation_periods),
        )


class AlarmThresholdsArgs(TypedDict):
    """Thresholds of the alarms watching each variant; every field has a default."""

    error_rate_percent: NotRequired[float]
    """5XX errors as a share of invocations; default 1."""
    client_error_rate_percent: NotRequired[float]
    """4XX errors as a share of invocations; default 10."""
    latency_p99_ms: NotRequired[float]
    """p99 model latency in milliseconds; default 500."""
    overhead_latency_p99_ms: NotRequired[float]
    """p99 SageMaker overhead latency in milliseconds; default 100."""
    cpu_percent: NotRequired[float]
    """Average CPU utilisation (100 per vCPU); default 90."""
    memory_percent: NotRequired[float]
    """Average memory utilisation; default 85."""
    disk_percent: NotRequired[float]
    """Average disk utilisation; default 85."""
    gpu_percent: NotRequired[float]
    """Average GPU utilisation (100 per GPU, GPU instance types only); default 95."""
    gpu_memory_percent: NotRequired[float]
    """Average GPU memory utilisation (GPU instance types only); default 90."""
    serverless_concurrency_percent: NotRequired[float]
    """Peak concurrent executions as a share of `max_concurrency` (serverless variants only); default 90."""
    period_seconds: NotRequired[int]
    """Metric period: 10, 20, 30 or a multiple of 60 (CloudWatch); default 60."""
    evaluation_periods: NotRequired[int]
    """Periods looked at; default 5."""
    datapoints_to_alarm: NotRequired[int]
    """Breaching periods, out of `evaluation_periods`, that raise the alarm; default 3."""
    anomaly_detection: NotRequired[AnomalyDetectionArgs]
    """Also alarm when a variant's traffic or latency leaves its usual shape (Kubernetes: a z-score); none if left out."""


@dataclass(frozen=True)
class Thresholds:
    """`AlarmThresholdsArgs` with the defaults filled in."""

    error_rate_percent: float = 1.0
    client_error_rate_percent: float = 10.0
    latency_p99_ms: float = 500
    overhead_latency_p99_ms: float = 100
    cpu_percent: float = 90
    memory_percent: float = 85
    disk_percent: float = 85
    gpu_percent: float = 95
    gpu_memory_percent: float = 90
    serverless_concurrency_percent: float = 90
    period_seconds: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3
    anomaly_detection: AnomalyDetectionArgs | None = None
    """None when anomaly detection is off."""

    @property
    def anomaly_band(self) -> AnomalyBand:
        return AnomalyBand.of(self.anomaly_detection or {})


class EndpointMonitoringArgs(TypedDict):
    """The endpoint and variants to watch, where alarms notify, and the log group's retention."""

    endpoint_name: str
    """Deployed endpoint name, known before the endpoint exists (the alarms' `EndpointName` dimension)."""
    variants: Sequence[MonitoredVariantArgs]
    """Production variants."""
    shadow: NotRequired[MonitoredVariantArgs]
    """The shadow variant: watched with the same signals, never part of the rollback alarms."""
    alarm_topic_arn: pulumi.Input[str]
    """Topic receiving ALARM and OK notifications."""
    kms_key_arn: pulumi.Input[str]
    """KMS key encrypting the endpoint's log group (its policy must let CloudWatch Logs use it)."""
    log_retention_days: NotRequired[pulumi.Input[int]]
    """Days CloudWatch Logs keeps the containers' logs (a value CloudWatch Logs accepts); default 30."""
    alarm_on_no_traffic: NotRequired[bool]
    """Also alarm when a production variant receives no invocations (for endpoints that always have traffic)."""
    alarms: NotRequired[AlarmThresholdsArgs]
    """Alarm thresholds."""
    drift_alarm: NotRequired[bool]
    """Also alarm while the latest `modelplane drift --publish` report of the endpoint names a drifted feature."""
    region: NotRequired[pulumi.Input[str]]
    """Region of the metrics, for the dashboard; default the provider's region."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the alarms and the log group."""


def threshold_problems(alarms: AlarmThresholdsArgs) -> list[Problem]:
    """CloudWatch's rules for periods and datapoints, of the static alarms and of the anomaly bands."""
    resolved = Thresholds(**alarms)
    found = _evaluation_problems(resolved.period_seconds, resolved.evaluation_periods, resolved.datapoints_to_alarm)
    if resolved.anomaly_detection is None:
        return found
    band = resolved.anomaly_band
    band_problems = _evaluation_problems(band.period_seconds, band.evaluation_periods, band.datapoints_to_alarm)
    if not band.width > 0:
        band_problems.insert(0, ("band_width", "must be above 0 (standard deviations of ANOMALY_DETECTION_BAND)"))
    return found + at("anomaly_detection", band_problems)


def _evaluation_problems(period: int, evaluation_periods: int, datapoints_to_alarm: int) -> list[Problem]:
    found: list[Problem] = []
    if period not in HIGH_RESOLUTION_PERIODS and (period < 60 or period % 60):
        found.append(("period_seconds", "must be 10, 20, 30 or a multiple of 60 (CloudWatch PutMetricAlarm)"))
    if evaluation_periods < 1:
        found.append(("evaluation_periods", "must be at least 1 (CloudWatch EvaluationPeriods)"))
    longest = MAX_EVALUATION_SECONDS if period >= 3600 else MAX_SHORT_PERIOD_EVALUATION_SECONDS
    if period * evaluation_periods > longest:
        found.append(
            (
                "evaluation_periods",
                f"times period_seconds must not exceed {longest} seconds (CloudWatch's longest evaluation window)",
            )
        )
    if not 1 <= datapoints_to_alarm <= evaluation_periods:
        found.append(("datapoints_to_alarm", "must be between 1 and evaluation_periods (CloudWatch DatapointsToAlarm)"))
    return found


def problems(args: EndpointMonitoringArgs) -> list[Problem]:
    found: list[Problem] = []
    if why := aws_limits.name_problem("EndpointName", args["endpoint_name"]):
        found.append(("endpoint_name", why))
    if not args["variants"]:
        found.append(("variants", "watch at least one production variant"))
    for path, variant in _variant_paths(args):
        if why := aws_limits.name_problem("VariantName", variant["name"]):
            found.append((f"{path}.name", why))
        instance_type = variant.get("instance_type")
        if instance_type is not None and (why := aws_limits.instance_type_problem(instance_type)):
            found.append((f"{path}.instance_type", why))
    days = known(args.get("log_retention_days"))
    if days is not None and days not in aws_limits.LOG_RETENTION_DAYS:
        found.append(
            (
                "log_retention_days",
                f"CloudWatch Logs accepts only {', '.join(map(str, aws_limits.LOG_RETENTION_DAYS))}",
            )
        )
    return found + at("alarms", threshold_problems(args.get("alarms", {})))


def _variant_paths(args: EndpointMonitoringArgs) -> list[tuple[str, MonitoredVariantArgs]]:
    paths = [(f"variants[{index}]", variant) for index, variant in enumerate(args["variants"])]
    if "shadow" in args:
        paths.append(("shadow", args["shadow"]))
    return paths
