"""`modelplane verify`: after `pulumi up`, check that what runs is what the stack declares (AWS and the cluster)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config.outputs import add_deployed_stack_options, deployed_stack, stack_secret
from modelplane.errors import EXIT_FAILED, EXIT_OK
from modelplane.live.verify import Result, render, report, verify_stack
from modelplane.live.verify_kubernetes import KUBECONFIG_KEY, cluster_checks, connect
from modelplane.settings import Platform


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a deployed stack against its settings (after `pulumi up`)",
        description="Check that each endpoint of a deployed stack runs as its settings declare. SageMaker: "
        "status, endpoint config (silent rollback), variants, weights, shadow, instance counts, "
        "scalable targets, data capture, alarms; optionally a smoke request. Kubernetes (through the API "
        "server): each variant's Deployment runs the declared image or the pinned version's, names the "
        "pinned version and archive sha256, has finished its rollout, captures as declared. Exit codes: 0 "
        "every check passed, 1 a check failed, 2 bad usage or input, or an AWS or Kubernetes API error.",
    )
    add_deployed_stack_options(parser)
    add_endpoint_url_option(parser)
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="kubeconfig of the cluster of the Kubernetes endpoints (default the stack's secret modelplane:kubeconfig "
        "through the Pulumi CLI, as `pulumi up` uses it, else $KUBECONFIG, else ~/.kube/config)",
    )
    parser.add_argument(
        "--context",
        metavar="NAME",
        help="kubeconfig context (default the stack file's modelplane:kubernetes.context, else the current one)",
    )
    parser.add_argument("--smoke", action="store_true", help="also send each endpoint its smoke_test request")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the checks as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    deployed = deployed_stack(args)
    settings = deployed.settings
    url = endpoint_url_for(args.endpoint_url, settings)
    aws = Aws.connect(settings.region, url)
    kubernetes = (
        cluster_checks(
            connect(
                args.kubeconfig,
                args.context or settings.kubernetes.context,
                None if args.kubeconfig else stack_secret(deployed.stack, KUBECONFIG_KEY, "--kubeconfig FILE"),
            ),
            aws.client("sagemaker"),
            aws.client("ecr"),
            deployed.outputs,
        )
        if any(endpoint.platform is Platform.KUBERNETES for endpoint in settings.endpoints)
        else None
    )
    checks = verify_stack(settings, deployed.outputs, aws, smoke=args.smoke, kubernetes=kubernetes)
    print(render(checks, stack=deployed.stack, region=settings.region, endpoint_url=url))
    if args.json is not None:
        document = report(checks, stack=deployed.stack, region=settings.region, endpoint_url=url)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return EXIT_FAILED if any(check.result is Result.FAIL for check in checks) else EXIT_OK
