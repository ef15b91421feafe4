"""`modelplane image build|test|push`: the model-serving image, from the lock to a registered digest.

Exit codes: 0 every check passed; 1 a check failed (the contract test, or a manifest SageMaker would
refuse); 2 bad usage, no Docker daemon, an unreadable input or a registry's refusal, named.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tarfile
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docker.errors import ImageNotFound

from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.config.outputs import add_outputs_option, read_outputs
from modelplane.errors import EXIT_FAILED, EXIT_OK, BadInput
from modelplane.images import build as image_build
from modelplane.images import contract, daemon, manifests, push
from modelplane.images.registry import Credentials, Reference, fetch_manifest
from modelplane.settings import Platform

TABLE_WIDTH = 80
CHECK_WIDTH = 12
DETAIL_INDENT = 2 + 4 + 2 + CHECK_WIDTH + 2
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
        _write_json(args.json, document)
    return EXIT_OK if verdict.ok else EXIT_FAILED


def run_test(args: argparse.Namespace) -> int:
    smoke, port, health_path = _endpoint_facts(args)
    if args.model_data is not None and not args.model_data.is_file():
        raise daemon.ImageError(f"--model-data {args.model_data}: no such file")
    client = daemon.connect()
    verdict = _manifest_verdict(client, args.image)
    with _model_dir(args.model_data) as model_dir:
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
    print(render(args.image, checks))
    return EXIT_FAILED if any(check.result is contract.Result.FAIL for check in checks) else EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    stack_file = stackfiles.stack_file(args.stack)
    settings = load_stack_file(stack_file, args.stack)
    if args.family not in settings.registry.families:
        known = ", ".join(settings.registry.families)
        raise daemon.ImageError(f"{stackfiles.shown(stack_file)}: no model family {args.family!r} (families: {known})")
    aws = Aws.connect(settings.region, endpoint_url_for(args.endpoint_url, settings))
    if args.registry:
        target = push.registry_target(args.registry, args.family)
    else:
        outputs = read_outputs(args.outputs, args.stack, settings)
        repository = push.family_repository(outputs, args.family, args.stack)
        target = push.Target(repository, _ecr_login(aws, repository))
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
        _write_json(args.json, document)
    return EXIT_OK


def render(image: str, checks: list[contract.Check]) -> str:
    """One line per check (details wrapped within 80 columns), then the verdict."""
    lines = [f"modelplane image test: {image}", ""]
    for check in checks:
        label = "FAIL" if check.result is contract.Result.FAIL else check.result.value
        detail = textwrap.wrap(check.detail, TABLE_WIDTH - DETAIL_INDENT, break_long_words=True, break_on_hyphens=False)
        detail = detail or [""]
        lines.append(f"  {label:<4}  {check.name:<{CHECK_WIDTH}}  {detail[0]}")
        lines += [" " * DETAIL_INDENT + line for line in detail[1:]]
    counts = {result: sum(check.result is result for check in checks) for result in contract.Result}
    verdict = "FAILED" if counts[contract.Result.FAIL] else "OK"
    passed, failed, skipped = (counts[r] for r in contract.Result)
    lines += ["", f"{verdict}: {passed} passed, {failed} failed, {skipped} skipped"]
    return "\n".join(lines)


def _endpoint_facts(args: argparse.Namespace) -> tuple[contract.Smoke | None, int, str]:
    """The smoke request, port and health path of `--endpoint` (SageMaker's defaults without one)."""
    if args.endpoint is None:
        if args.stack or args.config:
            raise BadInput("--stack/--config need --endpoint (whose smoke_test to send)")
        return None, contract.SAGEMAKER_PORT, contract.PING_PATH
    path, stack = stackfiles.resolve(args.stack, args.config)
    settings = load_stack_file(path, stack)
    endpoint = stackfiles.endpoint_named(settings, path, args.endpoint)
    sample = endpoint.smoke_test
    smoke = contract.Smoke(sample.content_type, sample.body, endpoint.alarms.latency_p99_ms) if sample else None
    serving = endpoint.kubernetes if endpoint.platform is Platform.KUBERNETES else None
    if serving is None:
        return smoke, contract.SAGEMAKER_PORT, contract.PING_PATH
    return smoke, serving.port, serving.health_path


def _manifest_verdict(client: Any, image: str) -> manifests.Verdict:
    """The registry's answer for an image named by its registry (pulled when absent); else the local image's."""
    first = image.split("/", 1)[0]
    if "/" not in image or not ("." in first or ":" in first or first == "localhost"):
        daemon.image_facts(client, image)
        return manifests.judge_local(client, image)
    reference = Reference.parse(image)
    credentials = _ecr_login(None, image)
    with daemon.daemon_errors(f"docker pull {image}"):
        try:
            client.api.inspect_image(image)
        except ImageNotFound:
            auth = {"username": credentials.username, "password": credentials.password} if credentials else None
            client.images.pull(image, auth_config=auth)
    manifest = fetch_manifest(reference, credentials)
    if manifest is None:
        raise daemon.ImageError(f"{image}: the registry {reference.registry} has no such manifest")
    return manifests.judge_registry(manifest)


@contextmanager
def _model_dir(archive: Path | None) -> Iterator[Path | None]:
    """`--model-data` unpacked as SageMaker unpacks it, with the archive's own file modes."""
    if archive is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="modelplane-model-") as directory:
        target = Path(directory)
        try:
            with tarfile.open(archive, "r:*") as contents:
                contents.extractall(target, filter="data")
        except FileNotFoundError:
            raise daemon.ImageError(f"--model-data {archive}: no such file") from None
        except (OSError, tarfile.TarError) as error:
            raise daemon.ImageError(f"--model-data {archive}: not a readable tar archive: {error}") from None
        target.chmod(0o755)
        yield target


def _ecr_login(aws: Aws | None, repository: str) -> Credentials | None:
    """ECR's token for an ECR repository (in its own region), None for any other registry."""
    region = push.ecr_region(repository)
    if region is None:
        return None
    session = (
        aws if aws is not None and aws.region == region else Aws.connect(region, aws.endpoint_url if aws else None)
    )
    return push.ecr_credentials(session.client("ecr"))


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value
