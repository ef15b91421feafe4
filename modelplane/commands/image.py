"""`modelplane image build|test|push`: the model-serving image, from the lock to a registered digest.

Exit codes: 0 every check passed; 1 a check failed (the contract test, or a manifest SageMaker would
refuse); 2 bad usage, no Docker daemon, an unreadable input or a registry's refusal, named.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path
from typing import Any

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.config.outputs import add_outputs_option
from modelplane.errors import EXIT_FAILED, EXIT_OK
from modelplane.images import build as image_build
from modelplane.images import contract, daemon, inputs, push, table
from modelplane.report.writers import write_report

MEGABYTE = 1024 * 1024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "image",
        help="build, contract-test and push the model-serving image",
        description="The model-serving image for SageMaker and Kubernetes: build it from uv.lock (no network"
        " during the build), test an image against both platforms' serving contracts, push it by digest.",
    )
    commands = parser.add_subparsers(dest="image_command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="build the serving image (serving/Dockerfile)",
        description="Build the serving image on the pinned base (or --base), check that it pushes as a Docker"
        " v2 schema 2 manifest of one platform, and print its ID and the size of its layers above the base.",
    )
    build.add_argument("--family", required=True, help="model family the image serves (names its local tag)")
    build.add_argument("--base", metavar="IMAGE", help="base image with Python 3.11+ (default: the Dockerfile's pin)")
    build.add_argument("--json", type=Path, metavar="FILE", help="also write id, tags, size and manifest as JSON")
    build.set_defaults(handler=run_build)

    test = commands.add_parser(
        "test",
        help="contract-test an image as SageMaker and Kubernetes run it",
        description="Run IMAGE as SageMaker runs it, with SAGEMAKER_BIND_TO_PORT, and under the Kubernetes"
        " component's pod security; check port, readiness, /ping, the smoke request, bad input, metrics and"
        " SIGTERM. The image's server is asked to bind 127.0.0.1 (MODELPLANE_HOST) on the host network.",
    )
    test.add_argument("image", metavar="IMAGE", help="image ID, name or <repository>@sha256:<digest>")
    test.add_argument("--stack", help="stack whose endpoint gives the smoke request (stacks/Pulumi.<stack>.yaml)")
    test.add_argument("--config", type=Path, metavar="FILE", help="settings file instead of --stack")
    test.add_argument("--endpoint", help="endpoint of the stack: its smoke_test, latency threshold, port, health path")
    test.add_argument("--model-data", type=Path, metavar="FILE", help="model.tar.gz, unpacked into /opt/ml/model")
    test.add_argument(
        "--readiness-timeout",
        type=_seconds,
        default=contract.READINESS_LIMIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for the port and /ping (default: SageMaker's 240)",
    )
    test.add_argument(
        "--stop-timeout",
        type=_seconds,
        default=contract.STOP_GRACE_SECONDS,
        metavar="SECONDS",
        help="how long after SIGTERM the server may take to exit (default: the platforms' 30)",
    )
    test.set_defaults(handler=run_test)

    push_parser = commands.add_parser(
        "push",
        help="push an image to the family's ECR repository by a content tag; print its digest",
        description="Push IMAGE to the family's ECR repository from the stack outputs (or --registry) under a"
        " tag derived from its content, read back its digest and manifest type, and print the `modelplane"
        " register` command to run next.",
    )
    push_parser.add_argument("image", metavar="IMAGE", help="image ID or name (usually from `image build`)")
    push_parser.add_argument("--stack", required=True, help="stack whose registry receives the image")
    push_parser.add_argument("--family", required=True, help="model family (registry.families in the stack file)")
    push_parser.add_argument(
        "--registry", metavar="URL", help="push to this registry (host[:port][/repository]) instead of ECR"
    )
    push_parser.add_argument(
        "--model-data", metavar="FILE|s3://URI", help="the model archive, for the printed `register` command"
    )
    push_parser.add_argument("--json", type=Path, metavar="FILE", help="also write the pushed reference as JSON")
    add_outputs_option(push_parser)
    add_endpoint_url_option(push_parser)
    push_parser.set_defaults(handler=run_push)


def run_build(args: argparse.Namespace) -> int:
    image_build.check_family(args.family)
    client = daemon.connect()
    built = image_build.build(client, family=args.family, base=args.base, log=_progress)
    verdict = built.manifest
    print(f"image     {built.id}")
    print(f"tags      {', '.join(built.tags)}")
    print(f"base      {built.base}")
    print(f"size      {built.layers_above_base / MEGABYTE:.1f} MB in the layers above the base")
    print(f"manifest  {'pass' if verdict.ok else 'FAIL'}: {verdict.detail}")
    print(
        f"Next: modelplane image test {built.tags[0]} --stack <stack> --endpoint <endpoint> --model-data model.tar.gz"
    )
    document = {
        "id": built.id,
        "tags": built.tags,
        "base": built.base,
        "layers_above_base_bytes": built.layers_above_base,
        "manifest": {"ok": verdict.ok, "detail": verdict.detail},
    }
    if args.json is not None:
        write_report(args.json, document)
    return EXIT_OK if verdict.ok else EXIT_FAILED


def run_test(args: argparse.Namespace) -> int:
    smoke, port, health_path = inputs.endpoint_facts(args.stack, args.config, args.endpoint)
    if args.model_data is not None:
        inputs.check_model_data(args.model_data)
    client = daemon.connect()
    verdict = inputs.manifest_verdict(client, args.image)
    with inputs.unpacked_model(args.model_data) as model_dir:
        checks = contract.run_contract(
            client,
            contract.Contract(
                image=args.image,
                manifest=verdict,
                smoke=smoke,
                model_dir=model_dir,
                kubernetes_port=port,
                health_path=health_path,
                readiness_timeout=args.readiness_timeout,
                stop_timeout=args.stop_timeout,
            ),
        )
    print(table.render(args.image, checks))
    return EXIT_FAILED if any(check.result is contract.Result.FAIL for check in checks) else EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    settings = load_stack_file(stackfiles.stack_file(args.stack), args.stack)
    aws = Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings))
    target = push.target_of(settings, args.stack, args.family, registry=args.registry, outputs=args.outputs, aws=aws)
    client = daemon.connect()
    pushed = push.push(client, args.image, target, _progress)
    print(f"{'Already in' if pushed.already_there else 'Pushed to'} {pushed.repository}:{pushed.tag}")
    print(f"  digest    {pushed.digest}")
    print(f"  manifest  {'pass' if pushed.verdict.ok else 'FAIL'}: {pushed.verdict.detail}")
    if not pushed.verdict.ok:
        return EXIT_FAILED
    command = ["modelplane", "register", "--stack", args.stack, "--family", args.family]
    command += ["--image", pushed.reference, "--model-data", args.model_data or "model.tar.gz"]
    if args.outputs is not None:
        command += ["--outputs", str(args.outputs)]
    print("Next, register it with its model archive:")
    print("  " + shlex.join(command))
    if args.registry:
        print(f"  (register takes only the family's ECR repository; {pushed.repository} is not it)")
    document = {
        "repository": pushed.repository,
        "tag": pushed.tag,
        "digest": pushed.digest,
        "reference": pushed.reference,
        "manifest": {"ok": pushed.verdict.ok, "detail": pushed.verdict.detail},
        "register": shlex.join(command),
    }
    if args.json is not None:
        write_report(args.json, document)
    return EXIT_OK


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse names the option and exits 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number of seconds: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value
