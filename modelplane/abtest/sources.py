"""Where an endpoint's A/B observations come from: CloudWatch for SageMaker, Prometheus for Kubernetes,
business metrics from CloudWatch on both, at a period each source can answer for the window."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelplane.abtest import cloudwatch, prometheus, variants
from modelplane.abtest.observations import Observations
from modelplane.aws import Aws, endpoint_url_for
from modelplane.config import inputs
from modelplane.errors import BadInput
from modelplane.settings import Endpoint, Platform, Settings
from modelplane.timewindow import Window


class _SageMakerOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    endpoint_name: str


class _KubernetesOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    namespace: str
    services: dict[str, str]


def measurement_period(endpoint: Endpoint, requested: Window, now: datetime, notes: list[str]) -> int:
    """The experiment's period, coarsened where a source cannot give it for this window: Prometheus answers
    a limited number of points; CloudWatch (SageMaker's metrics, and business metrics on both platforms)
    answers an older window only in multiples of the resolution it still keeps."""
    configured = period = endpoint.experiment.period_seconds
    why = []
    if endpoint.platform is Platform.KUBERNETES and (finest := prometheus.minimum_period(requested.duration)) > period:
        period = finest
        why.append(f"Prometheus answers at most {prometheus.MAX_POINTS} points per series")
    if endpoint.platform is Platform.SAGEMAKER or endpoint.experiment.business_metrics:
        resolution = cloudwatch.minimum_period(requested.start, now)
        if period % resolution:
            period = -(-period // resolution) * resolution
            why.append(f"CloudWatch keeps data this old at {resolution} s resolution and answers only multiples of it")
    if period != configured:
        notes.append(f"periods of {period} s instead of {configured} s: {'; '.join(why)}")
    return period


def aligned_window(requested: Window, period: int) -> Window:
    """The window with its start on a period boundary; refused when not even one period fits."""
    window = requested.aligned(period)
    if window.duration < timedelta(seconds=period):
        raise BadInput(f"the window {requested.describe()} is shorter than one period of {period} s")
    return window


def observe(
    settings: Settings,
    endpoint: Endpoint,
    pair: variants.Pair,
    outputs: dict[str, Any],
    *,
    window: Window,
    period: int,
    endpoint_url: str | None,
    prometheus_url: str | None,
) -> tuple[Observations, str]:
    """Both variants' series from the endpoint's platform, and its deployed name."""
    raw = (outputs.get("endpoints") or {}).get(endpoint.name)
    if raw is None:
        raise BadInput(f"endpoint {endpoint.name!r} is not in the stack outputs; run `pulumi up` first")
    names = (pair.baseline.name, pair.candidate.name)
    business = endpoint.experiment.business_metrics
    where = f"stack outputs endpoints.{endpoint.name}"

    def aws() -> Aws:
        return Aws.connect(settings.region, endpoint_url_for(endpoint_url, settings))

    if endpoint.platform is Platform.SAGEMAKER:
        deployed = inputs.validated(_SageMakerOutputs, raw, where, "a SageMaker endpoint's outputs")
        observed = cloudwatch.sagemaker_observations(
            aws(), deployed.endpoint_name, names, business, window=window, period=period
        )
        return observed, deployed.endpoint_name
    if prometheus_url is None:
        raise BadInput(
            f"endpoint {endpoint.name!r} runs on Kubernetes: give --prometheus-url"
            " (e.g. `kubectl port-forward -n monitoring svc/prometheus-operated 9090`, then http://127.0.0.1:9090)"
        )
    deployed_k8s = inputs.validated(_KubernetesOutputs, raw, where, "a Kubernetes endpoint's outputs")
    missing = [name for name in names if name not in deployed_k8s.services]
    if missing:
        raise BadInput(f"{where}.services has no {', '.join(missing)}")
    services = (deployed_k8s.services[names[0]], deployed_k8s.services[names[1]])
    observed = prometheus.kubernetes_observations(
        prometheus_url, deployed_k8s.namespace, services, window=window, period=period
    )
    if business:
        answers = cloudwatch.business_answers(aws(), business, names, window=window, period=period)
        observed = replace(
            observed,
            baseline=replace(observed.baseline, business=cloudwatch.business_from(answers, business, names[0])),
            candidate=replace(observed.candidate, business=cloudwatch.business_from(answers, business, names[1])),
        )
    return observed, deployed_k8s.namespace
