"""What `modelplane image test` is given, made ready for the contract: the image's manifest (from its
registry when the image is named by one), the model archive unpacked as SageMaker unpacks it, and the
endpoint whose smoke request, port and health path apply."""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from modelplane.config import stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.errors import BadInput
from modelplane.images import daemon, manifests
from modelplane.images.contract import PING_PATH, SAGEMAKER_PORT, Smoke
from modelplane.images.push import ecr_login
from modelplane.images.registry import Reference, fetch_manifest
from modelplane.settings import Platform
from modelplane_serving import tar_safety


def manifest_verdict(client: docker.DockerClient, image: str) -> manifests.Verdict:
    """The registry's answer for an image named by its registry (pulled when absent); else the local image's."""
    first = image.split("/", 1)[0]
    if "/" not in image or not ("." in first or ":" in first or first == "localhost"):
        daemon.image_facts(client, image)
        return manifests.judge_local(client, image)
    reference = Reference.parse(image)
    credentials = ecr_login(None, image)
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


def check_model_data(archive: Path) -> None:
    """Before any container starts: the archive is there, and this Python can unpack it safely."""
    if not archive.is_file():
        raise daemon.ImageError(f"--model-data {archive}: no such file")
    if (reason := tar_safety.unsafe_reason()) is not None:
        raise daemon.ImageError(f"--model-data {archive}: {reason} to unpack it with: run modelplane on one")


@contextmanager
def unpacked_model(archive: Path | None) -> Iterator[Path | None]:
    """`--model-data` unpacked as SageMaker unpacks it, with the archive's own file modes."""
    if archive is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="modelplane-model-") as directory:
        target = Path(directory)
        try:
            with tarfile.open(archive, "r:*") as contents:
                contents.extractall(target, filter="data")
        except FileNotFoundError as error:
            raise daemon.ImageError(f"--model-data {archive}: no such file") from error
        except (OSError, tarfile.TarError) as error:
            raise daemon.ImageError(f"--model-data {archive}: not a readable tar archive: {error}") from error
        target.chmod(0o755)
        yield target


def endpoint_facts(stack: str | None, config: Path | None, endpoint: str | None) -> tuple[Smoke | None, int, str]:
    """The smoke request, port and health path of `--endpoint` (SageMaker's defaults without one)."""
    if endpoint is None:
        if stack or config:
            raise BadInput("--stack/--config need --endpoint (whose smoke_test to send)")
        return None, SAGEMAKER_PORT, PING_PATH
    path, name = stackfiles.resolve(stack, config)
    settings = load_stack_file(path, name)
    found = stackfiles.endpoint_named(settings, path, endpoint)
    sample = found.smoke_test
    smoke = Smoke(sample.content_type, sample.body, found.alarms.latency_p99_ms) if sample else None
    serving = found.kubernetes if found.platform is Platform.KUBERNETES else None
    if serving is None:
        return smoke, SAGEMAKER_PORT, PING_PATH
    return smoke, serving.port, serving.health_path
