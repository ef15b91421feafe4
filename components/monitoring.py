"""Alarms, dashboard and log group of one SageMaker endpoint, wired to it by known names.

The alarms watch the endpoint (dimension `EndpointName`) and the endpoint's automatic rollback
watches the alarms (by name). Taking either name from the other resource's outputs would be a
dependency cycle, so both are known strings: the endpoint's from `naming.endpoint_name`, the
alarms' from `alarm_name` below. The alarms are created first; the endpoint lists
`rollback_alarm_names` and depends on this component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from components.anomaly_detection import (
    AnomalyBand,
    AnomalySignal,
    anomaly_alarm_name,
    anomaly_alarms,
    anomaly_graphs,
)
from components.drift_alarm import drift_alarm, drift_alarm_name
from modelplane import aws_limits
from modelplane.naming import endpoint_log_group
from modelplane.settings import AlarmThresholds, Endpoint, Variant

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
# SageMaker accepts 1 to 10 alarms in `auto_rollback_configuration`.
MAX_ROLLBACK_ALARMS = 10
RUNBOOK = "docs/alarms.md"


class Signal(StrEnum):
    """What an alarm watches; the value ends the alarm name and is the runbook anchor."""

    SERVER_ERRORS = "5xx-rate"
    CLIENT_ERRORS = "4xx-rate"
    MODEL_LATENCY = "model-latency-p99"
    OVERHEAD_LATENCY = "overhead-latency-p99"
    NO_INVOCATIONS = "no-invocations"
    CPU = "cpu"
    MEMORY = "memory"
    DISK = "disk"
    GPU = "gpu"
    GPU_MEMORY = "gpu-memory"
    SERVERLESS_CONCURRENCY = "serverless-concurrency"


# What a bad model version changes, in the order the 10 rollback slots are filled: errors of every
# variant before latency of any, so errors stay covered even with 10 variants.
ROLLBACK_SIGNALS = (Signal.SERVER_ERRORS, Signal.MODEL_LATENCY)


@dataclass(frozen=True)
class _Watch:
    """How a signal is measured and judged, and what the on-call person reads about it."""

    metric: str
    statistic: str
    threshold: Callable[[AlarmThresholds], float]
    meaning: str
    action: str
    namespace: str = INVOCATION_NAMESPACE
    as_rate: bool = False
    """Alarm on `metric` as a percentage of `Invocations` (metric math) instead of on its value."""


# Settings give latencies in milliseconds; SageMaker publishes them in microseconds.
MICROSECONDS_PER_MS = 1000
_UTILISATION_ACTION = (
    "Scale out (raise autoscaling.max_capacity) or pick a larger instance type; compare with the other "
    "variants on the dashboard to see whether one model version needs more than the others."
)
_WATCHES: dict[Signal, _Watch] = {
    Signal.SERVER_ERRORS: _Watch(
        "Invocation5XXErrors",
        "Sum",
        lambda t: t.error_rate_percent,
        "5XX errors above {threshold:g}% of invocations",
        "The model container fails requests. During a deployment SageMaker rolls back on this alarm; otherwise "
        "read the endpoint's log group for tracebacks and shift traffic away from a failing variant.",
        as_rate=True,
    ),
    Signal.CLIENT_ERRORS: _Watch(
        "Invocation4XXErrors",
        "Sum",
        lambda t: t.client_error_rate_percent,
        "4XX errors above {threshold:g}% of invocations",
        "Callers send requests the model rejects: did a client change, or did a new model version change its "
        "input contract?",
        as_rate=True,
    ),
    Signal.MODEL_LATENCY: _Watch(
        "ModelLatency",
        "p99",
        lambda t: t.latency_p99_ms * MICROSECONDS_PER_MS,
        "p99 model latency above {threshold:g} microseconds",
        "Check utilisation on the dashboard (scale out if saturated) and whether a newly deployed version "
        "is slower: during a deployment SageMaker rolls back on this alarm.",
    ),
    Signal.OVERHEAD_LATENCY: _Watch(
        "OverheadLatency",
        "p99",
        lambda t: t.overhead_latency_p99_ms * MICROSECONDS_PER_MS,
        "p99 SageMaker overhead latency above {threshold:g} microseconds",
        "Time SageMaker adds around the model: large payloads, cold starts on serverless, throttling. "
        "Check payload sizes and the AWS Health Dashboard.",
    ),
    Signal.NO_INVOCATIONS: _Watch(
        "Invocations",
        "Sum",
        lambda _: 1,
        "no invocations in any of the evaluated periods",
        "Production traffic stopped reaching this variant: check the callers, their network path and IAM "
        "permissions, and the variant weights.",
    ),
    Signal.CPU: _Watch(
        "CPUUtilization",
        "Average",
        lambda t: t.cpu_percent,
        "average CPU utilisation above {threshold:g} (100 per vCPU)",
        _UTILISATION_ACTION,
        namespace=INSTANCE_NAMESPACE,
    ),
    Signal.MEMORY: _Watch(
        "MemoryUtilization",
        "Average",
        lambda t: t.memory_percent,
        "average memory utilisation above {threshold:g}%",
        "Growth without more traffic points to a leak in the model server. " + _UTILISATION_ACTION,
        namespace=INSTANCE_NAMESPACE,
    ),
    Signal.DISK: _Watch(
        "DiskUtilization",
        "Average",
        lambda t: t.disk_percent,
        "average disk utilisation above {threshold:g}%",
        "The container fills its volume (temporary files, local logs, model cache) and will fail requests "
        "when it is full: fix the container or pick an instance type with more storage.",
        namespace=INSTANCE_NAMESPACE,
    ),
    Signal.GPU: _Watch(
        "GPUUtilization",
        "Average",
        lambda t: t.gpu_percent,
        "average GPU utilisation above {threshold:g} (100 per GPU)",
        _UTILISATION_ACTION,
        namespace=INSTANCE_NAMESPACE,
    ),
    Signal.GPU_MEMORY: _Watch(
        "GPUMemoryUtilization",
        "Average",
        lambda t: t.gpu_memory_percent,
        "average GPU memory utilisation above {threshold:g} (100 per GPU)",
        "GPU out-of-memory fails requests: reduce the batch or model size, or pick an instance type with more "
        "GPU memory.",
        namespace=INSTANCE_NAMESPACE,
    ),
    Signal.SERVERLESS_CONCURRENCY: _Watch(
        "ServerlessConcurrentExecutionsUtilization",
        "Maximum",
        # Published as a fraction of max_concurrency, configured as a percentage.
        lambda t: t.serverless_concurrency_percent / 100,
        "peak concurrent executions above {threshold:g} of max_concurrency",
        "Requests beyond max_concurrency are throttled: raise serverless.max_concurrency or "
        "provisioned_concurrency, or move the variant to instances.",
    ),
}


def alarm_name(endpoint_name: str, variant_name: str, signal: Signal) -> str:
    """The one place alarm names are made: `<endpoint-name>-<variant>-<signal>`."""
    return f"{endpoint_name}-{variant_name}-{signal}"


def variant_signals(variant: Variant, *, shadow: bool, prod: bool) -> list[Signal]:
    """The signals a variant publishes and that are worth waking someone for.

    Serverless variants publish no instance metrics (CPU, disk, GPU); they are watched for their
    concurrency ceiling instead.
    The shadow gets no zero-traffic alarm: it only ever sees a copy of the production traffic.
    """
    signals = [Signal.SERVER_ERRORS, Signal.CLIENT_ERRORS, Signal.MODEL_LATENCY, Signal.OVERHEAD_LATENCY]
    if prod and not shadow:
        signals.append(Signal.NO_INVOCATIONS)
    if variant.instance_type is None:
        return [*signals, Signal.SERVERLESS_CONCURRENCY]
    signals += [Signal.CPU, Signal.MEMORY, Signal.DISK]
    if aws_limits.is_gpu(variant.instance_type):
        signals += [Signal.GPU, Signal.GPU_MEMORY]
    return signals


def rollback_alarm_names(endpoint: Endpoint, endpoint_name: str) -> list[str]:
    """Alarms that roll a deployment back: errors, then latency, of the production variants; at most 10.

    The shadow is left out: it answers no caller, so its failures must not undo a production release.
    """
    ranked = [alarm_name(endpoint_name, v.name, signal) for signal in ROLLBACK_SIGNALS for v in endpoint.variants]
    return ranked[:MAX_ROLLBACK_ALARMS]


@dataclass(frozen=True)
class EndpointMonitoringArgs:
    endpoint: Endpoint
    """The endpoint's settings: variants, shadow and alarm thresholds."""
    endpoint_name: str
    """Deployed endpoint name (`naming.endpoint_name`), known before the endpoint exists."""
    topic_arn: pulumi.Input[str]
    """Alarm topic receiving ALARM and OK notifications."""
    kms_key_arn: pulumi.Input[str]
    """Stack key encrypting the endpoint's log group."""
    log_retention_days: int
    """Days CloudWatch Logs keeps the endpoint's container logs."""
    prod: bool
    """Prod also alarms when a production variant receives no traffic."""
    region: str
    """Region of the metrics, for the dashboard widgets."""
    tags: Mapping[str, str]
    """Tags of the alarms and the log group."""
    anomaly_band: AnomalyBand | None = None
    """Anomaly-detection alarms on every variant's traffic and latency, with this band; None for none."""
    drift_alarm: bool = False
    """Alarm on the input drift `modelplane drift --publish` reports for the endpoint."""


class EndpointMonitoring(pulumi.ComponentResource):
    """Per-variant alarms, the rollback subset, an A/B dashboard and the pre-created log group."""

    alarm_names: list[str]
    """Every alarm of the endpoint, for `modelplane verify` and the stack output."""
    rollback_alarm_names: list[str]
    """The alarms (at most 10) the endpoint's deployments roll back on."""
    anomaly_alarm_names: list[str]
    """Anomaly-detection and drift alarms: part of `alarm_names`, never of the rollback alarms."""
    dashboard_name: str
    """CloudWatch dashboard comparing the variants."""
    log_group_name: str
    """Log group SageMaker writes the containers' logs to, created here with retention and encryption."""

    def __init__(self, name: str, args: EndpointMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:monitoring:EndpointMonitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        endpoint = args.endpoint
        planned = [
            (variant, shadow, signal)
            for variant, shadow in _watched_variants(endpoint)
            for signal in variant_signals(variant, shadow=shadow, prod=args.prod)
        ]
        self.alarm_names = [alarm_name(args.endpoint_name, variant.name, signal) for variant, _, signal in planned]
        alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{variant.name}-{signal}",
                name=physical_name,
                actions_enabled=True,
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                tags=dict(args.tags),
                opts=child,
                **_alarm_args(signal, args.endpoint_name, variant.name, endpoint.alarms, shadow=shadow),
            )
            for physical_name, (variant, shadow, signal) in zip(self.alarm_names, planned, strict=True)
        ]
        self.rollback_alarm_names = rollback_alarm_names(endpoint, args.endpoint_name)
        unusual: list[aws.cloudwatch.MetricAlarm] = []
        self.anomaly_alarm_names = []
        if args.anomaly_band is not None:
            for variant, shadow in _watched_variants(endpoint):
                unusual += anomaly_alarms(
                    name,
                    endpoint_name=args.endpoint_name,
                    variant_name=variant.name,
                    band=args.anomaly_band,
                    topic_arn=args.topic_arn,
                    tags=args.tags,
                    parent=self,
                    shadow=shadow,
                )
                self.anomaly_alarm_names += [
                    anomaly_alarm_name(args.endpoint_name, variant.name, signal) for signal in AnomalySignal
                ]
        if args.drift_alarm:
            unusual.append(
                drift_alarm(
                    name, endpoint_name=args.endpoint_name, topic_arn=args.topic_arn, tags=args.tags, parent=self
                )
            )
            self.anomaly_alarm_names.append(drift_alarm_name(args.endpoint_name))
        self.alarm_names += self.anomaly_alarm_names
        alarms += unusual

        self.log_group_name = endpoint_log_group(args.endpoint_name)
        aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=self.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=dict(args.tags),
            opts=child,
        )

        self.dashboard_name = args.endpoint_name
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(
                    endpoint, args.endpoint_name, args.region, [alarm.arn for alarm in alarms], args.anomaly_band
                )
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "alarm_names": self.alarm_names,
                "rollback_alarm_names": self.rollback_alarm_names,
                "anomaly_alarm_names": self.anomaly_alarm_names,
                "dashboard_name": self.dashboard_name,
                "log_group_name": self.log_group_name,
            }
        )


def _watched_variants(endpoint: Endpoint) -> list[tuple[Variant, bool]]:
    """Every variant with whether it is the shadow.

    The shadow is watched too, with the same signals: its errors and latency under live traffic are
    what decides whether it may be promoted, and its descriptions say not to roll back for it.
    """
    return [(variant, False) for variant in endpoint.variants] + (
        [(endpoint.shadow, True)] if endpoint.shadow is not None else []
    )


def _alarm_args(
    signal: Signal, endpoint_name: str, variant_name: str, thresholds: AlarmThresholds, *, shadow: bool
) -> dict[str, Any]:
    """Metric, threshold, missing-data handling and on-call description of one alarm."""
    watch = _WATCHES[signal]
    threshold = watch.threshold(thresholds)
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
    if watch.as_rate:
        measurement: dict[str, Any] = {
            "metric_queries": _rate_queries(watch.metric, dimensions, thresholds.period_seconds)
        }
    else:
        statistic_key = "extended_statistic" if watch.statistic.startswith("p") else "statistic"
        measurement = {
            "namespace": watch.namespace,
            "metric_name": watch.metric,
            "dimensions": dimensions,
            "period": thresholds.period_seconds,
            statistic_key: watch.statistic,
        }
    # Silence is the symptom of NO_INVOCATIONS: a missing datapoint breaches, and only a window
    # without any traffic alarms. Everywhere else, no traffic publishes no datapoints and is no outage.
    silence = signal is Signal.NO_INVOCATIONS
    role = (
        "Shadow variant (answers no caller: never roll back for it; tell the model owner before promoting it)"
        if shadow
        else "Variant"
    )
    return {
        **measurement,
        "threshold": threshold,
        "comparison_operator": "LessThanThreshold" if silence else "GreaterThanThreshold",
        "evaluation_periods": thresholds.evaluation_periods,
        "datapoints_to_alarm": thresholds.evaluation_periods if silence else thresholds.datapoints_to_alarm,
        "treat_missing_data": "breaching" if silence else "notBreaching",
        "alarm_description": (
            f"{role} {variant_name} of {endpoint_name}: {watch.meaning.format(threshold=threshold)}. "
            f"{watch.action} Runbook: {RUNBOOK}#{signal}"
        ),
    }


def _rate_queries(
    error_metric: str, dimensions: Mapping[str, str], period: int
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """`error_metric` as a percentage of `Invocations`, guarded against dividing by zero."""

    def summed(query_id: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=INVOCATION_NAMESPACE,
                metric_name=metric_name,
                dimensions=dict(dimensions),
                period=period,
                stat="Sum",
            ),
        )

    return [
        summed("errors", error_metric),
        summed("invocations", "Invocations"),
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="rate",
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            label=f"{error_metric} per 100 invocations",
            return_data=True,
        ),
    ]


def dashboard_body(
    endpoint: Endpoint,
    endpoint_name: str,
    region: str,
    alarm_arns: list[pulumi.Output[str]],
    anomaly_band: AnomalyBand | None = None,
) -> dict[str, Any]:
    """The A/B view: each graph draws every variant (shadow included) side by side, plus the alarm states
    and, with anomaly detection, each variant's traffic and latency within their expected bands."""
    variants = endpoint.all_variants
    period = endpoint.alarms.period_seconds

    def line(namespace: str, metric: str, variant: Variant, **options: Any) -> list[Any]:
        return [namespace, metric, "EndpointName", endpoint_name, "VariantName", variant.name, options]

    def error_rates(error_metric: str) -> list[list[Any]]:
        lines: list[list[Any]] = []
        for index, variant in enumerate(variants):
            errors, calls, rate = f"errors{index}", f"calls{index}", f"rate{index}"
            lines += [
                line(INVOCATION_NAMESPACE, error_metric, variant, id=errors, stat="Sum", visible=False),
                line(INVOCATION_NAMESPACE, "Invocations", variant, id=calls, stat="Sum", visible=False),
                [
                    {
                        "expression": f"IF({calls} > 0, 100 * {errors} / {calls}, 0)",
                        "label": f"{variant.name} %",
                        "id": rate,
                    }
                ],
            ]
        return lines

    def utilisation(variant: Variant) -> list[list[Any]]:
        if variant.instance_type is None:
            return [
                line(
                    INVOCATION_NAMESPACE,
                    "ServerlessConcurrentExecutionsUtilization",
                    variant,
                    stat="Maximum",
                    label=f"{variant.name} concurrency (fraction of max)",
                    yAxis="right",
                )
            ]
        signals = [Signal.CPU, Signal.MEMORY, Signal.DISK]
        if aws_limits.is_gpu(variant.instance_type):
            signals += [Signal.GPU, Signal.GPU_MEMORY]
        return [
            line(INSTANCE_NAMESPACE, _WATCHES[s].metric, variant, stat="Average", label=f"{variant.name} {s}")
            for s in signals
        ]

    graphs: list[tuple[str, list[list[Any]]]] = [
        (
            "Invocations per variant",
            [line(INVOCATION_NAMESPACE, "Invocations", v, stat="Sum", label=v.name) for v in variants],
        ),
        ("5XX errors, % of invocations", error_rates("Invocation5XXErrors")),
        ("4XX errors, % of invocations", error_rates("Invocation4XXErrors")),
        (
            "Model latency p50 / p99 (microseconds)",
            [
                line(INVOCATION_NAMESPACE, "ModelLatency", v, stat=stat, label=f"{v.name} {stat}")
                for v in variants
                for stat in ("p50", "p99")
            ],
        ),
        (
            "Overhead latency p99, serverless cold starts (microseconds)",
            [line(INVOCATION_NAMESPACE, "OverheadLatency", v, stat="p99", label=v.name) for v in variants]
            + [
                line(INVOCATION_NAMESPACE, "ModelSetupTime", v, stat="p99", label=f"{v.name} model setup")
                for v in variants
                if v.instance_type is None
            ],
        ),
        ("Utilisation", [entry for v in variants for entry in utilisation(v)]),
    ]
    periodic = [(title, metrics, period) for title, metrics in graphs]
    if anomaly_band is not None:
        periodic += [
            (title, metrics, anomaly_band.period_seconds)
            for title, metrics in anomaly_graphs(endpoint_name, [v.name for v in variants], anomaly_band)
        ]
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "properties": {
                "title": f"Alarms of {endpoint_name}",
                "alarms": alarm_arns,
                "sortBy": "stateUpdatedTimestamp",
            },
        }
    ] + [
        {
            "type": "metric",
            "properties": {
                "title": title,
                "region": region,
                "view": "timeSeries",
                "stacked": False,
                "period": graph_period,
                "metrics": metrics,
            },
        }
        for title, metrics, graph_period in periodic
    ]
    width, height = 12, 6
    return {
        "widgets": [
            {**widget, "x": (index % 2) * width, "y": (index // 2) * height, "width": width, "height": height}
            for index, widget in enumerate(widgets)
        ]
    }
