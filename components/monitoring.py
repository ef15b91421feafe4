"""Alarms, dashboard and log group of one SageMaker endpoint, wired to it by known names.

The alarms watch the endpoint (dimension `EndpointName`) and the endpoint's automatic rollback
watches the alarms (by name). Taking either name from the other resource's outputs would be a
dependency cycle, so both are known strings: the endpoint's is an argument here, the alarms' come
from `alarm_name` below. The alarms are created first; the endpoint lists `rollback_alarm_names`
and depends on this component.

An alarm is a (variant, signal) pair: `variant_signals` decides which signals a variant gets, and
`_WATCHES` says how each signal is measured and what the on-call person reads. Most signals have a
static threshold; the anomaly signals compare a variant's traffic and latency with the band
CloudWatch learns for that hour and weekday (`ANOMALY_DETECTION_BAND`, trained by CloudWatch from the
metric's history). Besides the per-variant alarms, an endpoint may alarm on the input drift
`modelplane drift --publish` reports.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from . import aws_limits
from ._common import check, component_options, type_token
from .monitoring_args import (
    DEFAULT_LOG_RETENTION_DAYS,
    MAX_ROLLBACK_ALARMS,
    AlarmThresholdsArgs,
    AnomalyBand,
    AnomalyDetectionArgs,
    EndpointMonitoringArgs,
    MonitoredVariantArgs,
    Thresholds,
    problems,
)
from .naming import DRIFT_NAMESPACE, DRIFTED_FEATURES, ENDPOINT_DIMENSION, endpoint_log_group

__all__ = [
    "ANOMALY_SIGNALS",
    "INSTANCE_NAMESPACE",
    "MAX_ROLLBACK_ALARMS",
    "AlarmThresholdsArgs",
    "AnomalyDetectionArgs",
    "EndpointMonitoring",
    "EndpointMonitoringArgs",
    "MonitoredVariantArgs",
    "Signal",
    "alarm_name",
    "drift_alarm_name",
    "rollback_alarm_names",
    "variant_signals",
]

FORMER_TOKEN = "modelplane:monitoring:EndpointMonitoring"
INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
RUNBOOK = "docs/alarms.md"
# Query ids of an anomaly alarm's metric math: the observed metric and the band around it.
OBSERVED_ID = "observed"
BAND_ID = "band"
DRIFT_SIGNAL = "input-drift"
# `modelplane drift` runs on a schedule (CI or cron); its metric arrives once per run.
DRIFT_PERIOD_SECONDS = 3600


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
    TRAFFIC_ANOMALY = "invocations-anomaly"
    LATENCY_ANOMALY = "model-latency-anomaly"


# Unusual is not broken: never rollback alarms, since a new model version legitimately changes the shape.
ANOMALY_SIGNALS = (Signal.TRAFFIC_ANOMALY, Signal.LATENCY_ANOMALY)
# What a bad model version changes, in the order the 10 rollback slots are filled: errors of every
# variant before latency of any, so errors stay covered even with 10 variants.
ROLLBACK_SIGNALS = (Signal.SERVER_ERRORS, Signal.MODEL_LATENCY)


@dataclass(frozen=True)
class _Watch:
    """How a signal is measured and judged, and what the on-call person reads about it."""

    metric: str
    statistic: str
    threshold: Callable[["Thresholds"], float]
    meaning: str
    action: str
    namespace: str = INVOCATION_NAMESPACE
    as_rate: bool = False
    """Alarm on `metric` as a percentage of `Invocations` (metric math) instead of on its value."""
    band_comparison: str | None = None
    """Compare `metric` with its anomaly band (this operator) instead of the threshold, which is the band width."""


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
    # Traffic may be unusual either way (a caller stopped, or a retry storm); latency only upwards.
    Signal.TRAFFIC_ANOMALY: _Watch(
        "Invocations",
        "Sum",
        lambda t: t.anomaly_band.width,
        "invocations outside the expected band ({threshold:g} standard deviations)",
        "Traffic left its usual shape for this hour and weekday: did a caller stop, change its retries, or "
        "did the variant weights change?",
        band_comparison="LessThanLowerOrGreaterThanUpperThreshold",
    ),
    Signal.LATENCY_ANOMALY: _Watch(
        "ModelLatency",
        "Average",
        lambda t: t.anomaly_band.width,
        "average model latency above the expected band ({threshold:g} standard deviations)",
        "The model answers slower than usual for this time: compare with the other variants and the "
        "utilisation graphs on the dashboard; after a release, decide whether the new shape is expected.",
        band_comparison="GreaterThanUpperThreshold",
    ),
}


def alarm_name(endpoint_name: str, variant_name: str, signal: Signal) -> str:
    """The one place alarm names are made: `<endpoint-name>-<variant>-<signal>`."""
    return f"{endpoint_name}-{variant_name}-{signal}"


def variant_signals(
    variant: MonitoredVariantArgs, *, shadow: bool, alarm_on_no_traffic: bool, anomaly_detection: bool = False
) -> list[Signal]:
    """The signals a variant publishes and that are worth waking someone for.

    Serverless variants publish no instance metrics (CPU, disk, GPU); they are watched for their
    concurrency ceiling instead.
    The shadow gets no zero-traffic alarm: it only ever sees a copy of the production traffic.
    With anomaly detection every variant, the shadow included, also gets the anomaly signals.
    """
    signals = [Signal.SERVER_ERRORS, Signal.CLIENT_ERRORS, Signal.MODEL_LATENCY, Signal.OVERHEAD_LATENCY]
    if alarm_on_no_traffic and not shadow:
        signals.append(Signal.NO_INVOCATIONS)
    instance_type = variant.get("instance_type")
    if instance_type is None:
        signals.append(Signal.SERVERLESS_CONCURRENCY)
    else:
        signals += [Signal.CPU, Signal.MEMORY, Signal.DISK]
        if aws_limits.is_gpu(instance_type):
            signals += [Signal.GPU, Signal.GPU_MEMORY]
    if anomaly_detection:
        signals += ANOMALY_SIGNALS
    return signals


def rollback_alarm_names(endpoint_name: str, variant_names: Sequence[str]) -> list[str]:
    """Alarms that roll a deployment back: errors, then latency, of the production variants; at most 10.

    The shadow is left out: it answers no caller, so its failures must not undo a production release.
    """
    ranked = [alarm_name(endpoint_name, variant, signal) for signal in ROLLBACK_SIGNALS for variant in variant_names]
    return ranked[:MAX_ROLLBACK_ALARMS]


def drift_alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-{DRIFT_SIGNAL}"


class EndpointMonitoring(pulumi.ComponentResource):
    """Per-variant alarms, the rollback subset, an A/B dashboard and the pre-created log group."""

    alarm_names: pulumi.Output[list[str]]
    """Every alarm of the endpoint."""
    rollback_alarm_names: pulumi.Output[list[str]]
    """The alarms (at most 10) the endpoint's deployments roll back on."""
    anomaly_alarm_names: pulumi.Output[list[str]]
    """Anomaly-detection and drift alarms: part of `alarm_names`, never of the rollback alarms."""
    dashboard_name: pulumi.Output[str]
    """CloudWatch dashboard comparing the variants."""
    log_group_name: pulumi.Output[str]
    """Log group SageMaker writes the containers' logs to, created here with retention and encryption."""

    def __init__(self, name: str, args: EndpointMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("EndpointMonitoring", name, problems(args))
        super().__init__(type_token("EndpointMonitoring"), name, None, component_options(opts, FORMER_TOKEN))
        child = pulumi.ResourceOptions(parent=self)
        endpoint_name = args["endpoint_name"]
        thresholds = Thresholds(**args.get("alarms", {}))
        watched = _watched_variants(args)
        planned = [
            (variant, shadow, signal)
            for variant, shadow in watched
            for signal in variant_signals(
                variant,
                shadow=shadow,
                alarm_on_no_traffic=args.get("alarm_on_no_traffic", False),
                anomaly_detection=thresholds.anomaly_detection is not None,
            )
        ]
        # The static alarms of every variant first, then the anomaly alarms: the order of `alarm_names`
        # and of the dashboard's alarm widget.
        planned.sort(key=lambda plan: plan[2] in ANOMALY_SIGNALS)
        names = [alarm_name(endpoint_name, variant["name"], signal) for variant, _, signal in planned]
        topic = args["alarm_topic_arn"]
        alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{variant['name']}-{signal}",
                name=physical_name,
                actions_enabled=True,
                alarm_actions=[topic],
                ok_actions=[topic],
                tags=args.get("tags"),
                opts=child,
                **_alarm_args(signal, endpoint_name, variant["name"], thresholds, shadow=shadow),
            )
            for physical_name, (variant, shadow, signal) in zip(names, planned, strict=True)
        ]
        unusual = [
            physical_name for physical_name, plan in zip(names, planned, strict=True) if plan[2] in ANOMALY_SIGNALS
        ]
        if args.get("drift_alarm", False):
            drift_name = drift_alarm_name(endpoint_name)
            alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{DRIFT_SIGNAL}",
                    name=drift_name,
                    actions_enabled=True,
                    alarm_actions=[topic],
                    ok_actions=[topic],
                    tags=args.get("tags"),
                    opts=child,
                    **_drift_alarm_args(endpoint_name),
                )
            )
            names.append(drift_name)
            unusual.append(drift_name)

        log_group = endpoint_log_group(endpoint_name)
        aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group,
            retention_in_days=args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
            kms_key_id=args["kms_key_arn"],
            tags=args.get("tags"),
            opts=child,
        )

        region = args.get("region") or aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=endpoint_name,
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(
                    [variant for variant, _ in watched],
                    endpoint_name,
                    region,
                    thresholds.period_seconds,
                    [alarm.arn for alarm in alarms],
                    anomaly_band=thresholds.anomaly_band if thresholds.anomaly_detection is not None else None,
                )
            ),
            opts=child,
        )
        self.alarm_names = pulumi.Output.from_input(names)
        self.rollback_alarm_names = pulumi.Output.from_input(
            rollback_alarm_names(endpoint_name, [variant["name"] for variant in args["variants"]])
        )
        self.anomaly_alarm_names = pulumi.Output.from_input(unusual)
        self.dashboard_name = pulumi.Output.from_input(endpoint_name)
        self.log_group_name = pulumi.Output.from_input(log_group)
        self.register_outputs(
            {
                "alarm_names": self.alarm_names,
                "rollback_alarm_names": self.rollback_alarm_names,
                "anomaly_alarm_names": self.anomaly_alarm_names,
                "dashboard_name": self.dashboard_name,
                "log_group_name": self.log_group_name,
            }
        )


def _watched_variants(args: EndpointMonitoringArgs) -> list[tuple[MonitoredVariantArgs, bool]]:
    """Every variant with whether it is the shadow.

    The shadow is watched too, with the same signals: its errors and latency under live traffic are
    what decides whether it may be promoted, and its descriptions say not to roll back for it.
    """
    return [(variant, False) for variant in args["variants"]] + ([(args["shadow"], True)] if "shadow" in args else [])


def _alarm_args(
    signal: Signal, endpoint_name: str, variant_name: str, thresholds: Thresholds, *, shadow: bool
) -> dict[str, Any]:
    """Metric, threshold, missing-data handling and on-call description of one alarm."""
    watch = _WATCHES[signal]
    threshold = watch.threshold(thresholds)
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
    if watch.band_comparison is not None:
        return _band_alarm_args(signal, endpoint_name, dimensions, threshold, thresholds.anomaly_band, shadow=shadow)
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


def _band_alarm_args(
    signal: Signal, endpoint_name: str, dimensions: Mapping[str, str], width: float, band: AnomalyBand, *, shadow: bool
) -> dict[str, Any]:
    """An anomaly alarm: the observed metric, its `ANOMALY_DETECTION_BAND` as the threshold (`ThresholdMetricId`).

    Missing data does not breach: a quiet period publishes no datapoints, and silence of a prod
    variant is the static `no-invocations` alarm's job.
    """
    watch = _WATCHES[signal]
    role = "Shadow variant (answers no caller)" if shadow else "Variant"
    return {
        "metric_queries": [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=OBSERVED_ID,
                return_data=True,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=watch.namespace,
                    metric_name=watch.metric,
                    dimensions=dict(dimensions),
                    period=band.period_seconds,
                    stat=watch.statistic,
                ),
            ),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=BAND_ID,
                expression=_band_expression(OBSERVED_ID, width),
                label=f"{watch.metric} (expected)",
                return_data=True,
            ),
        ],
        "threshold_metric_id": BAND_ID,
        "comparison_operator": watch.band_comparison,
        "evaluation_periods": band.evaluation_periods,
        "datapoints_to_alarm": band.datapoints_to_alarm,
        "treat_missing_data": "notBreaching",
        "alarm_description": (
            f"{role} {dimensions['VariantName']} of {endpoint_name}: {watch.meaning.format(threshold=width)} in "
            f"{band.datapoints_to_alarm} of {band.evaluation_periods} periods of {band.period_seconds} s. "
            f"{watch.action} Not a rollback alarm. Runbook: {RUNBOOK}#{signal}"
        ),
    }


def _band_expression(metric_id: str, width: float) -> str:
    return f"ANOMALY_DETECTION_BAND({metric_id}, {width:g})"


def _drift_alarm_args(endpoint_name: str) -> dict[str, Any]:
    """ALARM while the latest drift report `modelplane drift --publish` wrote names at least one drifted feature.

    Missing data keeps the alarm's state (`ignore`): a drifted report holds the alarm in ALARM until a
    later run reports no drifted feature.
    """
    return {
        "namespace": DRIFT_NAMESPACE,
        "metric_name": DRIFTED_FEATURES,
        "dimensions": {ENDPOINT_DIMENSION: endpoint_name},
        "statistic": "Maximum",
        "period": DRIFT_PERIOD_SECONDS,
        "evaluation_periods": 1,
        "threshold": 0,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "ignore",
        "alarm_description": (
            f"Inputs of {endpoint_name} drifted from the training baseline (modelplane drift --publish): "
            f"run `modelplane drift` for the per-feature report. Runbook: {RUNBOOK}#{DRIFT_SIGNAL}"
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
    variants: Sequence[MonitoredVariantArgs],
    endpoint_name: str,
    region: pulumi.Input[str],
    period: int,
    alarm_arns: list[pulumi.Output[str]],
    *,
    anomaly_band: AnomalyBand | None = None,
) -> dict[str, Any]:
    """The A/B view: each graph draws every variant (shadow included) side by side, plus the alarm states
    and, with anomaly detection, each variant's traffic and latency within their expected bands."""

    def line(namespace: str, metric: str, variant: MonitoredVariantArgs, **options: Any) -> list[Any]:
        return [namespace, metric, "EndpointName", endpoint_name, "VariantName", variant["name"], options]

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
                        "label": f"{variant['name']} %",
                        "id": rate,
                    }
                ],
            ]
        return lines

    def utilisation(variant: MonitoredVariantArgs) -> list[list[Any]]:
        instance_type = variant.get("instance_type")
        if instance_type is None:
            return [
                line(
                    INVOCATION_NAMESPACE,
                    "ServerlessConcurrentExecutionsUtilization",
                    variant,
                    stat="Maximum",
                    label=f"{variant['name']} concurrency (fraction of max)",
                    yAxis="right",
                )
            ]
        signals = [Signal.CPU, Signal.MEMORY, Signal.DISK]
        if aws_limits.is_gpu(instance_type):
            signals += [Signal.GPU, Signal.GPU_MEMORY]
        return [
            line(INSTANCE_NAMESPACE, _WATCHES[s].metric, variant, stat="Average", label=f"{variant['name']} {s}")
            for s in signals
        ]

    graphs: list[tuple[str, list[list[Any]]]] = [
        (
            "Invocations per variant",
            [line(INVOCATION_NAMESPACE, "Invocations", v, stat="Sum", label=v["name"]) for v in variants],
        ),
        ("5XX errors, % of invocations", error_rates("Invocation5XXErrors")),
        ("4XX errors, % of invocations", error_rates("Invocation4XXErrors")),
        (
            "Model latency p50 / p99 (microseconds)",
            [
                line(INVOCATION_NAMESPACE, "ModelLatency", v, stat=stat, label=f"{v['name']} {stat}")
                for v in variants
                for stat in ("p50", "p99")
            ],
        ),
        (
            "Overhead latency p99, serverless cold starts (microseconds)",
            [line(INVOCATION_NAMESPACE, "OverheadLatency", v, stat="p99", label=v["name"]) for v in variants]
            + [
                line(INVOCATION_NAMESPACE, "ModelSetupTime", v, stat="p99", label=f"{v['name']} model setup")
                for v in variants
                if v.get("instance_type") is None
            ],
        ),
        ("Utilisation", [entry for v in variants for entry in utilisation(v)]),
    ]

    def within_bands(signal: Signal, id_prefix: str, band: AnomalyBand) -> list[list[Any]]:
        watch = _WATCHES[signal]
        lines: list[list[Any]] = []
        for index, variant in enumerate(variants):
            metric_id = f"{id_prefix}{index}"
            lines += [
                line(watch.namespace, watch.metric, variant, id=metric_id, stat=watch.statistic, label=variant["name"]),
                [{"expression": _band_expression(metric_id, band.width), "label": f"{variant['name']} expected"}],
            ]
        return lines

    periodic = [(title, metrics, period) for title, metrics in graphs]
    if anomaly_band is not None:
        periodic += [
            (
                "Invocations and their expected band",
                within_bands(Signal.TRAFFIC_ANOMALY, "traffic", anomaly_band),
                anomaly_band.period_seconds,
            ),
            (
                "Average model latency and its expected band (microseconds)",
                within_bands(Signal.LATENCY_ANOMALY, "latency", anomaly_band),
                anomaly_band.period_seconds,
            ),
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
