"""Per-variant series from CloudWatch `GetMetricData`: SageMaker's endpoint metrics and business metrics.

SageMaker publishes per variant under `AWS/SageMaker` with the dimensions `EndpointName` and
`VariantName` (a shadow variant under its own name); `ModelLatency` is in microseconds. Business
metrics are the team's own, in a custom namespace with a `VariantName` dimension.

Percentiles come in a second call that may fail on its own: some sources cannot compute them (moto
answers `p99` with an internal error). The comparison then goes on without them and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane.abtest.observations import BusinessSeries, Observations, Series, SourceError, VariantSeries
from modelplane.aws import AWS_ERRORS, Aws, error_text
from modelplane.settings import BusinessMetric, MetricKind
from modelplane.settings.experiments import VARIANT_DIMENSION
from modelplane.timewindow import Window

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
MICROSECONDS_PER_MILLISECOND = 1000.0
# How long CloudWatch keeps data at each resolution: an older window is answered only in periods that are
# multiples of the resolution still kept, and a finer period returns no datapoints at all.
RETENTION = ((timedelta(days=15), 60), (timedelta(days=63), 300), (timedelta(days=455), 3600))
# The percentile call is optional: one retry, not the six a required call gets.
OPTIONAL_CALL_ATTEMPTS = 2
PERCENTILE = "p99"


def minimum_period(start: datetime, now: datetime) -> int:
    """The resolution CloudWatch still keeps for data from `start`: a period must be a multiple of it."""
    age = now - start
    return next((period for limit, period in RETENTION if age <= limit), RETENTION[-1][1])


@dataclass(frozen=True)
class _Query:
    key: tuple[str, str]
    """(variant, measure): where the answer goes."""
    namespace: str
    metric: str
    dimensions: Mapping[str, str]
    stat: str
    scale: float = 1.0

    def request(self, query_id: str, period: int) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions.items()],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def sagemaker_observations(
    aws: Aws,
    endpoint_name: str,
    variants: tuple[str, str],
    business_metrics: list[BusinessMetric],
    *,
    window: Window,
    period: int,
) -> Observations:
    """The baseline's and the candidate's series (in that order in `variants`) of a SageMaker endpoint."""
    queries = [query for variant in variants for query in _endpoint_queries(endpoint_name, variant)]
    queries += [query for variant in variants for query in _business_queries(business_metrics, variant)]
    answers = _run(aws.client("cloudwatch"), queries, window, period)
    notes: list[str] = []
    percentiles = _percentiles(aws, endpoint_name, variants, window, period, notes=notes)
    baseline, candidate = (
        VariantSeries(
            invocations=answers[(variant, "invocations")],
            server_errors=answers[(variant, "server_errors")],
            model_errors=answers[(variant, "model_errors")],
            latency_ms=answers[(variant, "latency")],
            latency_p99_ms=None if percentiles is None else percentiles[variant],
            business=business_from(answers, business_metrics, variant),
        )
        for variant in variants
    )
    return Observations(f"CloudWatch {aws.region}", baseline, candidate, notes)


def business_answers(
    aws: Aws, business_metrics: list[BusinessMetric], variants: Iterable[str], *, window: Window, period: int
) -> dict[tuple[str, str], Series]:
    """The business metrics alone, for endpoints whose operational metrics come from elsewhere."""
    queries = [query for variant in variants for query in _business_queries(business_metrics, variant)]
    return _run(aws.client("cloudwatch"), queries, window, period) if queries else {}


def business_from(
    answers: Mapping[tuple[str, str], Series], business_metrics: list[BusinessMetric], variant: str
) -> dict[str, BusinessSeries]:
    return {
        metric.name: BusinessSeries(
            answers[(variant, f"{metric.name}:values")],
            answers[(variant, f"{metric.name}:trials")] if metric.kind is MetricKind.PROPORTION else None,
        )
        for metric in business_metrics
    }


def _endpoint_queries(endpoint_name: str, variant: str) -> list[_Query]:
    dimensions = {"EndpointName": endpoint_name, VARIANT_DIMENSION: variant}
    return [
        _Query((variant, "invocations"), SAGEMAKER_NAMESPACE, "Invocations", dimensions, "Sum"),
        _Query((variant, "server_errors"), SAGEMAKER_NAMESPACE, "Invocation5XXErrors", dimensions, "Sum"),
        _Query((variant, "model_errors"), SAGEMAKER_NAMESPACE, "InvocationModelErrors", dimensions, "Sum"),
        _Query(
            (variant, "latency"),
            SAGEMAKER_NAMESPACE,
            "ModelLatency",
            dimensions,
            "Average",
            1 / MICROSECONDS_PER_MILLISECOND,
        ),
    ]


def _business_queries(business_metrics: list[BusinessMetric], variant: str) -> list[_Query]:
    queries = []
    for metric in business_metrics:
        dimensions = {**metric.dimensions, VARIANT_DIMENSION: variant}
        values_key, trials_key = (variant, f"{metric.name}:values"), (variant, f"{metric.name}:trials")
        if metric.kind is MetricKind.CONTINUOUS:
            queries.append(_Query(values_key, metric.namespace, metric.metric, dimensions, "Average"))
            continue
        queries.append(_Query(values_key, metric.namespace, metric.metric, dimensions, "Sum"))
        if metric.trials_metric is None:
            # One datapoint per trial, 1 for a success: the trials are the datapoints.
            queries.append(_Query(trials_key, metric.namespace, metric.metric, dimensions, "SampleCount"))
        else:
            queries.append(_Query(trials_key, metric.namespace, metric.trials_metric, dimensions, "Sum"))
    return queries


def _percentiles(
    aws: Aws, endpoint_name: str, variants: tuple[str, str], window: Window, period: int, *, notes: list[str]
) -> dict[str, Series] | None:
    """p99 model latency per variant, or None (with a note) when CloudWatch cannot give it."""
    queries = [
        _Query(
            (variant, "p99"),
            SAGEMAKER_NAMESPACE,
            "ModelLatency",
            {"EndpointName": endpoint_name, VARIANT_DIMENSION: variant},
            PERCENTILE,
            1 / MICROSECONDS_PER_MILLISECOND,
        )
        for variant in variants
    ]
    client = aws.client("cloudwatch", max_attempts=OPTIONAL_CALL_ATTEMPTS)
    try:
        answers = _run(client, queries, window, period)
    except SourceError as error:
        notes.append(f"p99 latency: CloudWatch could not give percentiles ({error}); decided on the mean latency")
        return None
    if not any(answers.values()):
        notes.append("p99 latency: CloudWatch returned no percentile data in the window; decided on the mean latency")
        return None
    return {variant: answers[(variant, "p99")] for variant in variants}


def _run(client: Any, queries: list[_Query], window: Window, period: int) -> dict[tuple[str, str], Series]:
    """One paginated GetMetricData for every query; each query's series by its key."""
    by_id = {f"q{index}": query for index, query in enumerate(queries)}
    answers: dict[tuple[str, str], Series] = {query.key: {} for query in queries}
    try:
        pages = client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=[query.request(query_id, period) for query_id, query in by_id.items()],
            StartTime=window.start,
            EndTime=window.end,
            ScanBy="TimestampAscending",
        )
        for page in pages:
            for result in page["MetricDataResults"]:
                query = by_id[result["Id"]]
                if result.get("StatusCode") in {"InternalError", "Forbidden"}:
                    messages = "; ".join(message.get("Value", "") for message in result.get("Messages", []))
                    raise SourceError(
                        f"GetMetricData {query.metric}: {result['StatusCode']}" + (f": {messages}" if messages else "")
                    )
                answers[query.key].update(
                    (timestamp.astimezone(UTC), value * query.scale)
                    for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True)
                )
    except AWS_ERRORS as error:
        raise SourceError(error_text(error)) from None
    return answers
