"""`modelplane compare`: decide an A/B, canary or shadow test from live metrics.

The baseline and the candidate variant of one endpoint are compared over a window: error rates,
latency, traffic and the endpoint's business metrics, each against a non-inferiority margin, with a
minimum sample and Holm's correction across metrics (`modelplane/abtest/decision.py`). SageMaker
endpoints are read from CloudWatch, Kubernetes endpoints from Prometheus; business metrics from
CloudWatch on both.

Exit codes: 0 promote, 1 rollback, 3 inconclusive, 2 bad usage, an unknown endpoint or variant, or a
CloudWatch or Prometheus error (named, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from modelplane import stackfiles
from modelplane.abtest import cloudwatch, prometheus, variants
from modelplane.abtest.decision import Assessment, Verdict, assess
from modelplane.abtest.observations import Observations, SourceError
from modelplane.abtest.report import Context, VariantIdentity, document, render_markdown, render_table
from modelplane.aws_api import Aws, add_endpoint_url_option, endpoint_url_for, http_url
from modelplane.cli import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
from modelplane.loader import SettingsError, load_stack_file
from modelplane.settings import Endpoint, Platform, Settings, Variant
from modelplane.stack_outputs import InputError, add_deployed_stack_options, read_outputs
from modelplane.stackfiles import shown
from modelplane.timewindow import Window, add_window_options, window_from

DEFAULT_WINDOW = "24h"
EXIT_CODES = {Verdict.PROMOTE: EXIT_OK, Verdict.ROLLBACK: EXIT_FAILED, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}


_Outputs = TypeVar("_Outputs", bound=BaseModel)


class _SageMakerOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    endpoint_name: str


class _KubernetesOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    namespace: str
    services: dict[str, str]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="decide an A/B test from live metrics: promote, rollback or inconclusive",
        description="Compare an endpoint's candidate variant with its baseline over a window of live metrics "
        "(CloudWatch for SageMaker, Prometheus for Kubernetes; business metrics from CloudWatch) and give a "
        "verdict. Exit codes: 0 promote, 1 rollback, 3 inconclusive, 2 bad usage or a source error.",
    )
    add_deployed_stack_options(parser)
    parser.add_argument("--endpoint", required=True, help="endpoint name in the settings")
    parser.add_argument("--baseline", metavar="VARIANT", help="default: the production variant with the highest weight")
    parser.add_argument("--candidate", metavar="VARIANT", help="default: the other variant, or the shadow")
    add_window_options(parser, default=DEFAULT_WINDOW)
    add_endpoint_url_option(parser)
    parser.add_argument(
        "--prometheus-url", type=http_url, metavar="URL", help="Prometheus of a Kubernetes endpoint's cluster"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the verdict as JSON (promote reads it)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a pull-request comment")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="draw both variants' series as PNG")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        path, stack = stackfiles.resolve(args.stack, args.config)
        settings = load_stack_file(path, stack)
        endpoint = stackfiles.endpoint_named(settings, path, args.endpoint)
        try:
            pair = variants.choose(endpoint, args.baseline, args.candidate)
        except ValueError as error:
            raise ValueError(f"{shown(path)}: {error}") from None
        if args.prometheus_url is not None and endpoint.platform is not Platform.KUBERNETES:
            raise ValueError(f"--prometheus-url is for Kubernetes endpoints; {endpoint.name} runs on SageMaker")
        notes: list[str] = []
        requested = window_from(args, now)
        period = _period(endpoint, requested, now, notes)
        window = _aligned(requested, period)
        outputs = read_outputs(args.outputs, stack)
        observations, deployed_name = _observe(args, settings, endpoint, pair, outputs, window=window, period=period)
    except SettingsError as error:
        print("\n".join(error.lines), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, InputError, SourceError) as error:
        print(f"modelplane compare: {error}", file=sys.stderr)
        return EXIT_USAGE
    assessment = assess(observations, endpoint.experiment, pair.expected_candidate_share(endpoint))
    context = Context(
        stack=stack,
        endpoint=endpoint.name,
        deployed_name=deployed_name,
        platform=endpoint.platform.value,
        source=observations.source,
        window=window,
        period_seconds=period,
        baseline=_identity(pair.baseline),
        candidate=_identity(pair.candidate, shadow=pair.candidate_is_shadow),
        alpha=endpoint.experiment.alpha,
        notes=[*notes, *observations.notes],
    )
    print(render_table(context, assessment), end="")
    try:
        _write_reports(args, context, observations, assessment, endpoint, now=now)
    except OSError as error:
        print(f"modelplane compare: {error.filename}: cannot write: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_CODES[assessment.verdict]


def _period(endpoint: Endpoint, requested: Window, now: datetime, notes: list[str]) -> int:
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


def _aligned(requested: Window, period: int) -> Window:
    window = requested.aligned(period)
    if window.duration < timedelta(seconds=period):
        raise ValueError(f"the window {requested.describe()} is shorter than one period of {period} s")
    return window


def _observe(
    args: argparse.Namespace,
    settings: Settings,
    endpoint: Endpoint,
    pair: variants.Pair,
    outputs: dict[str, Any],
    *,
    window: Window,
    period: int,
) -> tuple[Observations, str]:
    """Both variants' series from the endpoint's platform, and its deployed name."""
    raw = (outputs.get("endpoints") or {}).get(endpoint.name)
    if raw is None:
        raise InputError(f"endpoint {endpoint.name!r} is not in the stack outputs; run `pulumi up` first")
    names = (pair.baseline.name, pair.candidate.name)
    business = endpoint.experiment.business_metrics

    def aws() -> Aws:
        return Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings))

    if endpoint.platform is Platform.SAGEMAKER:
        deployed = _validated(_SageMakerOutputs, raw, endpoint.name)
        observed = cloudwatch.sagemaker_observations(
            aws(), deployed.endpoint_name, names, business, window=window, period=period
        )
        return observed, deployed.endpoint_name
    if args.prometheus_url is None:
        raise ValueError(
            f"endpoint {endpoint.name!r} runs on Kubernetes: give --prometheus-url"
            " (e.g. `kubectl port-forward -n monitoring svc/prometheus-operated 9090`, then http://127.0.0.1:9090)"
        )
    deployed_k8s = _validated(_KubernetesOutputs, raw, endpoint.name)
    missing = [name for name in names if name not in deployed_k8s.services]
    if missing:
        raise InputError(f"stack outputs endpoints.{endpoint.name}.services has no {', '.join(missing)}")
    services = (deployed_k8s.services[names[0]], deployed_k8s.services[names[1]])
    observed = prometheus.kubernetes_observations(
        args.prometheus_url, deployed_k8s.namespace, services, window=window, period=period
    )
    if business:
        answers = cloudwatch.business_answers(aws(), business, names, window=window, period=period)
        observed = replace(
            observed,
            baseline=replace(observed.baseline, business=cloudwatch.business_from(answers, business, names[0])),
            candidate=replace(observed.candidate, business=cloudwatch.business_from(answers, business, names[1])),
        )
    return observed, deployed_k8s.namespace


def _validated(model: type[_Outputs], raw: Any, endpoint: str) -> _Outputs:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg'].lower()}" for d in error.errors())
        raise InputError(f"stack outputs endpoints.{endpoint}: {problems}") from None


def _identity(variant: Variant, *, shadow: bool = False) -> VariantIdentity:
    return VariantIdentity(
        variant.name, variant.model_package_version, variant.image_digest or variant.image_tag, shadow
    )


def _write_reports(
    args: argparse.Namespace,
    context: Context,
    observations: Observations,
    assessment: Assessment,
    endpoint: Endpoint,
    *,
    now: datetime,
) -> None:
    if args.json is not None:
        _write(args.json, json.dumps(document(context, assessment, now), indent=2) + "\n")
    if args.markdown is not None:
        _write(args.markdown, render_markdown(context, assessment))
    if args.plot is not None:
        from modelplane.abtest.plot import draw

        draw(args.plot, context, observations, assessment, endpoint.experiment.business_metrics)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
