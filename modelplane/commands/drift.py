"""`modelplane drift`: is what an endpoint receives still what its model was trained on?

Aggregates the endpoint's captured requests of a window (data capture in the artifact bucket, in
SageMaker's format: SageMaker's own, or on Kubernetes the serving image's; no Model Monitor) with one SQL query, compares each input feature with the training baseline,
and exits 0 (no drift), 1 (drift), 3 (too few captured rows to judge) or 2 (bad usage, unreadable input,
an AWS error). The query runs in this process on DuckDB (`--engine duckdb`, the default) or on Athena
over the Glue table the stack declares (`--engine athena`). `modelplane drift baseline --from
train.csv` writes the baseline file.

Only production variants are read: a shadow variant receives a copy of the same requests.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.config.outputs import add_deployed_stack_options, read_outputs
from modelplane.drift import athena, embedded
from modelplane.drift.baseline import baseline_from_training, load_baseline
from modelplane.drift.query import WindowAggregates
from modelplane.drift.report import Judged, plot, publish, render_json, render_markdown, render_text
from modelplane.drift.statistics import Verdict, compare
from modelplane.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, BadInput
from modelplane.report.writers import write_report
from modelplane.timewindow import add_window_options, window_from

DEFAULT_WINDOW = "24h"
ENGINES = ("duckdb", "athena")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drift",
        help="compare an endpoint's captured requests with its training baseline",
        description="Read an endpoint's data capture (SageMaker's, or the serving image's on Kubernetes) for a window and judge each input feature against "
        "the training baseline: population stability index and Kolmogorov-Smirnov test for numeric features, "
        "chi-squared and new or missing categories for categorical ones; thresholds from the endpoint's "
        "`drift` settings. Exit 0 no drift, 1 drift, 3 too little data, 2 bad usage.",
    )
    add_deployed_stack_options(parser)
    parser.add_argument("--endpoint", metavar="NAME", help="endpoint name in the settings")
    parser.add_argument(
        "--baseline", type=Path, metavar="FILE", help="baseline JSON (`modelplane drift baseline`) or a training CSV"
    )
    _add_training_options(parser, "with a training CSV as --baseline: ")
    add_window_options(parser, default=DEFAULT_WINDOW)
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="duckdb",
        help="where the drift query runs: duckdb in this process over the capture files (default), or athena "
        "over the stack's Glue table and workgroup (stack output endpoints.<name>.capture_table)",
    )
    add_endpoint_url_option(parser)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report as Markdown")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="also draw baseline and window per feature (PNG)")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="put the per-feature drift into CloudWatch (namespace modelplane/DataDrift)",
    )
    parser.set_defaults(handler=run)
    baseline = parser.add_subparsers(dest="drift_command", metavar="baseline").add_parser(
        "baseline",
        help="write a baseline file from a training CSV",
        description="Learn each column of a training CSV: decile bins and a sample for numeric columns, category "
        "shares for the others. The columns left, in order, are the columns of a CSV request.",
    )
    baseline.add_argument("--from", dest="source", type=Path, required=True, metavar="CSV", help="training data")
    baseline.add_argument(
        "--out", type=Path, default=Path("baseline.json"), metavar="FILE", help="default baseline.json"
    )
    _add_training_options(baseline)
    baseline.set_defaults(handler=run_baseline)


def _add_training_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """How a training CSV becomes a baseline: the same options for `drift baseline` and `drift --baseline x.csv`."""
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COLUMN",
        help=f"{prefix}a column requests do not carry (label, id)",
    )
    parser.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMN",
        help=f"{prefix}a numeric column holding categories",
    )


def run_baseline(args: argparse.Namespace) -> int:
    baseline = baseline_from_training(args.source, drop=args.drop, categorical=args.categorical)
    write_report(args.out, baseline.model_dump(mode="json"))
    kinds = [feature.kind for feature in baseline.features.values()]
    print(
        f"{args.out}: {len(kinds)} features ({kinds.count('numeric')} numeric, {kinds.count('categorical')} "
        f"categorical) from {baseline.rows} rows of {args.source}"
    )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    judged, aws = _judge(args)
    print(render_text(judged))
    if args.json is not None:
        write_report(args.json, render_json(judged))
    if args.markdown is not None:
        write_report(args.markdown, render_markdown(judged))
    if args.plot is not None:
        plot(judged, args.plot)
    if args.publish:
        count = publish(aws.client("cloudwatch"), judged)
        print(f"published {count} datapoints to CloudWatch")
    return {Verdict.DRIFT: EXIT_FAILED, Verdict.NO_DRIFT: EXIT_OK, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}[
        judged.report.verdict
    ]


def _judge(args: argparse.Namespace) -> tuple[Judged, Aws]:
    """The judged window, and the AWS session it was read through (`--publish` writes through it too)."""
    if args.endpoint is None or args.baseline is None:
        raise BadInput("give --endpoint NAME and --baseline FILE (or `modelplane drift baseline --from train.csv`)")
    now = datetime.now(UTC)
    window = window_from(args, now)
    path, stack = stackfiles.resolve(args.stack, args.config)
    settings = load_stack_file(path, stack)
    endpoint = stackfiles.endpoint_named(settings, path, args.endpoint)
    if not (endpoint.data_capture.enabled and "input" in endpoint.data_capture.capture):
        raise BadInput(
            f"{stackfiles.shown(path)}: endpoint {endpoint.name!r} does not capture its requests: drift has nothing"
            " to read (data_capture: enabled, with input in capture)"
        )
    baseline = load_baseline(args.baseline, drop=args.drop, categorical=args.categorical)
    outputs = read_outputs(args.outputs, stack, settings)
    deployed = (outputs.get("endpoints") or {}).get(endpoint.name)
    bucket = (outputs.get("registry") or {}).get("bucket_name")
    if not isinstance(deployed, dict) or not deployed.get("endpoint_name") or not bucket:
        raise BadInput(
            f"the stack outputs lack registry.bucket_name or endpoints.{endpoint.name}.endpoint_name; run `pulumi up`"
        )
    table = _capture_table(deployed, endpoint.name) if args.engine == "athena" else None
    aws = Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings))
    variants = [variant.name for variant in endpoint.variants]
    details = ""
    aggregates: WindowAggregates
    if table is None:
        aggregates = embedded.judge_bucket(
            aws.client("s3"),
            bucket,
            endpoint_name=deployed["endpoint_name"],
            variants=variants,
            window=window,
            baseline=baseline,
        )
    else:
        run = athena.judge(aws.client("athena"), table, variants=variants, window=window, baseline=baseline, now=now)
        aggregates = run.aggregates
        details = f"query {run.query_execution_id}, {run.scanned_bytes / 1e6:.1f} MB scanned in {table.workgroup}"
    report = compare(baseline, aggregates, endpoint.drift)
    judged = Judged(
        endpoint.name,
        deployed["endpoint_name"],
        variants,
        window.start,
        window.end,
        baseline,
        aggregates,
        endpoint.drift,
        report,
        args.engine,
        details,
    )
    return judged, aws


def _capture_table(deployed: dict[str, Any], endpoint: str) -> athena.CaptureTable:
    """The Glue table and workgroup the stack declared for the endpoint's capture."""
    declared = deployed.get("capture_table")
    if not isinstance(declared, dict) or not all(declared.get(key) for key in ("database", "table", "workgroup")):
        raise BadInput(
            f"the stack outputs lack endpoints.{endpoint}.capture_table (database, table, workgroup): deploy the "
            "stack with this version of modelplane (`pulumi up`), or use --engine duckdb"
        )
    table = athena.CaptureTable(str(declared["database"]), str(declared["table"]), str(declared["workgroup"]))
    if declared.get("projected_hours_range"):
        table = dataclasses.replace(table, projected_hours_range=str(declared["projected_hours_range"]))
    return table
