"""`modelplane verify`: after `pulumi up`, check that what runs is what the stack declares."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config.outputs import add_deployed_stack_options, deployed_stack
from modelplane.errors import EXIT_FAILED, EXIT_OK
from modelplane.live.verify import Result, render, report, verify_stack


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a deployed stack against its settings (after `pulumi up`)",
        description="Check that each SageMaker endpoint of a deployed stack runs as its settings declare: "
        "status, endpoint config (silent rollback), variants, weights, shadow, instance counts, "
        "scalable targets, data capture, alarms; optionally a smoke request. Exit codes: 0 every check "
        "passed, 1 a check failed, 2 bad usage or input, or an AWS error.",
    )
    add_deployed_stack_options(parser)
    add_endpoint_url_option(parser)
    parser.add_argument("--smoke", action="store_true", help="also send each endpoint its smoke_test request")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the checks as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    deployed = deployed_stack(args)
    settings = deployed.settings
    url = endpoint_url_for(args.endpoint_url, settings)
    checks = verify_stack(settings, deployed.outputs, Aws.connect(settings.region, url), smoke=args.smoke)
    print(render(checks, stack=deployed.stack, region=settings.region, endpoint_url=url))
    if args.json is not None:
        document = report(checks, stack=deployed.stack, region=settings.region, endpoint_url=url)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return EXIT_FAILED if any(check.result is Result.FAIL for check in checks) else EXIT_OK
