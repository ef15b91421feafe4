"""`modelplane capacity`: can the account run the stack? Run before each deploy (`pulumi up`).

Exit 0 when every SageMaker instance type the stack needs at peak fits its quota beside the account's
other endpoints, 1 when one does not (naming the type and the quota code to raise), 2 on bad usage,
invalid settings or an AWS error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.errors import EXIT_FAILED, EXIT_OK
from modelplane.live.capacity import assess, render, report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "capacity",
        help="check the account's SageMaker quotas against what the stack runs at peak (before `pulumi up`)",
        description="Add up, per instance type, what the stack's SageMaker endpoints run at peak (autoscaling "
        "maxima, shadow variants) and what an update adds (blue/green's second fleet, a rolling batch); compare "
        "it with the applied quota 'ml.<type> for endpoint usage' (Service Quotas) minus the instances the "
        "account's other endpoints run. Kubernetes endpoints are summed per node selector from the settings "
        "only. Exit 0 enough quota, 1 a type lacks headroom, 2 bad usage or an AWS error.",
    )
    parser.add_argument("--stack", help="stack name; settings from stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings file (stack name from --stack or it)")
    add_endpoint_url_option(parser)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the assessment as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path, stack = stackfiles.resolve(args.stack, args.config)
    settings = load_stack_file(path, stack)
    aws = Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings))
    assessment = assess(settings, stack, quotas_client=aws.client("service-quotas"), sagemaker=aws.client("sagemaker"))
    print(render(assessment))
    if args.json is not None:
        args.json.write_text(json.dumps(report(assessment), indent=2) + "\n", encoding="utf-8")
    return EXIT_FAILED if assessment.problems else EXIT_OK
