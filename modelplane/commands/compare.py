"""`modelplane compare`: decide an A/B, canary or shadow test from live metrics.

The baseline and the candidate variant of one endpoint are compared over a window: error rates,
latency, traffic and the endpoint's business metrics, each against a non-inferiority margin, with a
minimum sample and Holm's correction across metrics (`modelplane/abtest/decision.py`). SageMaker
endpoints are read from CloudWatch, Kubernetes endpoints from Prometheus; business metrics from
CloudWatch on both (`modelplane/abtest/sources.py`).

Exit codes: 0 promote, 1 rollback, 3 inconclusive, 2 bad usage, an unknown endpoint or variant, or a
CloudWatch or Prometheus error (named, no traceback).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelplane.abtest import variants
from modelplane.abtest.decision import Assessment, Verdict, assess
from modelplane.abtest.observations import Observations
from modelplane.abtest.report import Context, VariantIdentity, document, render_markdown, render_table
from modelplane.abtest.sources import aligned_window, measurement_period, observe
from modelplane.aws import add_endpoint_url_option, http_url
from modelplane.config.outputs import add_deployed_stack_options, deployed_stack
from modelplane.config.stackfiles import endpoint_named, shown
from modelplane.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, BadInput
from modelplane.settings import Endpoint, Platform, Variant
from modelplane.timewindow import add_window_options, window_from

DEFAULT_WINDOW = "24h"
EXIT_CODES = {Verdict.PROMOTE: EXIT_OK, Verdict.ROLLBACK: EXIT_FAILED, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}


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
    requested = window_from(args, now)
    deployed = deployed_stack(args)
    endpoint = endpoint_named(deployed.settings, deployed.path, args.endpoint)
    try:
        pair = variants.choose(endpoint, args.baseline, args.candidate)
    except ValueError as error:
        raise BadInput(f"{shown(deployed.path)}: {error}") from None
    if args.prometheus_url is not None and endpoint.platform is not Platform.KUBERNETES:
        raise BadInput(f"--prometheus-url is for Kubernetes endpoints; {endpoint.name} runs on SageMaker")
    notes: list[str] = []
    period = measurement_period(endpoint, requested, now, notes)
    window = aligned_window(requested, period)
    observations, deployed_name = observe(
        deployed.settings,
        endpoint,
        pair,
        deployed.outputs,
        window=window,
        period=period,
        endpoint_url=args.endpoint_url,
        prometheus_url=args.prometheus_url,
    )
    assessment = assess(observations, endpoint.experiment, pair.expected_candidate_share(endpoint))
    context = Context(
        stack=deployed.stack,
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
    _write_reports(args, context, observations, assessment, endpoint, now=now)
    return EXIT_CODES[assessment.verdict]


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
