"""The Docker daemon, and the facts about an image the commands read from it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound
from requests.exceptions import RequestException
from urllib3.exceptions import HTTPError as StreamError

from modelplane.errors import BadInput

# Images that carry it accept `SAGEMAKER_BIND_TO_PORT` (SageMaker sets it only for them).
BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
CONTAINERD_STORE = "io.containerd.snapshotter.v1"


class ImageError(BadInput):
    """The command cannot run as asked (exit 2): no daemon, an unknown image, bad input; the message says why."""


def connect() -> docker.DockerClient:
    """A client of the daemon at $DOCKER_HOST (default the local socket), at the API version both speak."""
    try:
        client = docker.from_env(version="auto", timeout=120)
        client.ping()
    except DockerException as error:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise ImageError(f"no Docker daemon answers at {where}: {_reason(error)}") from error
    return client


@contextmanager
def daemon_errors(what: str) -> Iterator[None]:
    """An Engine API refusal during `what`, or the daemon no longer answering, as one ImageError line (the
    SDK's error its cause, for MODELPLANE_TRACEBACK)."""
    try:
        yield
    except ImageNotFound as error:
        raise ImageError(f"{what}: {error.explanation or error}") from error
    except (APIError, DockerException) as error:
        raise ImageError(f"{what}: {_reason(error)}") from error
    except (RequestException, StreamError) as error:  # a streamed answer (push, build, save) cut off: urllib3's
        raise ImageError(f"{what}: the Docker daemon stopped answering: {_reason(error)}") from error


@dataclass(frozen=True)
class ImageFacts:
    id: str
    """`sha256:<hex>`, the digest of the image's config: content-derived."""
    layers: tuple[str, ...]
    """Diff ids of its file-system layers, base first."""
    labels: dict[str, str]


def image_facts(client: docker.DockerClient, reference: str) -> ImageFacts:
    with daemon_errors(f"image {reference}"):
        document: dict[str, Any] = client.api.inspect_image(reference)
    return ImageFacts(
        id=document["Id"],
        layers=tuple(document.get("RootFS", {}).get("Layers") or ()),
        labels=dict((document.get("Config") or {}).get("Labels") or {}),
    )


def uses_containerd_store(client: docker.DockerClient) -> bool:
    """Docker's containerd image store keeps the manifest an image was built with and pushes it as is; the
    classic store of graph drivers (overlay2, vfs) writes a Docker v2 schema 2 manifest at push time."""
    status = client.info().get("DriverStatus") or []
    return any(value == CONTAINERD_STORE for _, value in status)


def layers_size_above(client: docker.DockerClient, image: str, base: str) -> int:
    """Bytes of the layers `image` adds on top of `base` (`docker history` sizes of the steps above it)."""
    with daemon_errors(f"history of {image}"):
        history = client.api.history(image)
        base_history = client.api.history(base)
    above = history[: len(history) - len(base_history)]
    return sum(int(step.get("Size") or 0) for step in above)


def _reason(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    text = str(explanation or error)
    return " ".join(text.split())
