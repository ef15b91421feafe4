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


class MonitoredVariantArgs(TypedDict):
    """A variant the alarms watch."""

    name: str
    """Variant name, as the endpoint configuration names it."""
    instance_type: NotRequired[str]
    """Instance type (`ml.*`); leave out for a serverless variant, watched for its concurrency ceiling instead."""


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
    """Metric period: 10, 30 or a multiple of 60 (CloudWatch); default 60."""
    evaluation_periods: NotRequired[int]
    """Periods looked at; default 5."""
    datapoints_to_alarm: NotRequired[int]
    """Breaching periods, out of `evaluation_periods`, that raise the alarm; default 3."""


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
    region: NotRequired[pulumi.Input[str]]
    """Region of the metrics, for the dashboard; default the provider's region."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the alarms and the log group."""


def threshold_problems(alarms: AlarmThresholdsArgs) -> list[Problem]:
    """CloudWatch's rules for periods and datapoints."""
    found: list[Problem] = []
    resolved = Thresholds(**alarms)
    period = resolved.period_seconds
    if period not in (10, 30) and (period < 60 or period % 60):
        found.append(("period_seconds", "must be 10, 30 or a multiple of 60 (CloudWatch PutMetricAlarm)"))
    if resolved.evaluation_periods < 1:
        found.append(("evaluation_periods", "must be at least 1 (CloudWatch EvaluationPeriods)"))
    if not 1 <= resolved.datapoints_to_alarm <= resolved.evaluation_periods:
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
