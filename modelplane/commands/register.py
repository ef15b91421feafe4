"""`modelplane register`: put a model version (image by digest + model archive) into a stack's registry.

Exit codes: 0 registered (or already registered); 2 bad usage, a refused input (image by tag, missing
file, undeclared family, a bucket or key that is not the stack's), or an AWS error, named.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.config.outputs import add_outputs_option, read_outputs
from modelplane.errors import EXIT_OK
from modelplane.live.register import PENDING, next_commands, parse_image, register_model


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "register",
        help="put a model version (image by digest + model archive) into a stack's model registry",
        description="Upload a model archive to the stack's artifact bucket (SSE-KMS, stack key) and create a "
        f"{PENDING} version in the family's model package group, with the image digest, the archive's "
        "sha256 and the evaluation metrics. The same image and archive again create nothing new.",
    )
    parser.add_argument("--stack", required=True, help="stack whose registry receives the version")
    parser.add_argument("--family", required=True, help="model family (registry.families in the stack file)")
    parser.add_argument("--image", required=True, metavar="REPO@sha256:DIGEST", help="the image, by digest")
    parser.add_argument(
        "--model-data", required=True, metavar="FILE|s3://URI", help="model.tar.gz, local or in the artifact bucket"
    )
    parser.add_argument("--metrics", type=Path, metavar="FILE", help="evaluation metrics (JSON) to attach")
    parser.add_argument("--description", help="model package description")
    add_outputs_option(parser)
    add_endpoint_url_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_stack_file(stackfiles.stack_file(args.stack), args.stack)
    image = parse_image(args.image)
    outputs = read_outputs(args.outputs, args.stack, settings)
    registration = register_model(
        Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings)),
        settings,
        args.stack,
        outputs,
        family=args.family,
        image=image,
        model_data=args.model_data,
        metrics_path=args.metrics,
        description=args.description,
    )
    for line in registration.log:
        print(line)
    verb = "Registered" if registration.created else "Already registered:"
    print(f"{verb} {registration.group} version {registration.version} ({registration.status})")
    print(f"  image       {image.reference}")
    print(f"  model data  {registration.model_data_url} (sha256 {registration.sha256})")
    if registration.metrics_url:
        print(f"  metrics     {registration.metrics_url}")
    print("Next, pin it in the stack file (a reviewed change; --approve approves it in the registry):")
    for command in next_commands(settings, args.stack, args.family, registration.version, registration.status):
        print(f"  {command}")
    return EXIT_OK
