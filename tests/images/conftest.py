"""The image tests' real parts, once per session: the Docker daemon (`make unit` starts one), a base image
made here from Debian's packages (no public registry is reachable), our serving image, the broken images,
a small image for the tests of manifests and pushes, a model archive and a loopback registry."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from modelplane.images import build, daemon
from tests.archives import tar_of
from tests.images.harness import ensure_base_image
from tests.servers import docker_registry
from tests.serving.harness import fraud_model, model_archive

BROKEN_DIR = Path(__file__).resolve().parent / "broken"
FAULTS = ("port", "sigterm", "root", "bind-to-port")


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        return daemon.connect()
    except daemon.ImageError as error:
        pytest.fail(f"{error}: `make unit` starts one (tools/with-dockerd)")


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def serving_image(docker_client: docker.DockerClient, base_image: str) -> build.BuiltImage:
    """`modelplane image build` of this checkout on the test base."""
    return build.build(docker_client, family="fraud-detector", base=base_image, log=lambda _: None)


@pytest.fixture(scope="session")
def broken_images(docker_client: docker.DockerClient, base_image: str) -> dict[str, str]:
    """`modelplane-broken:<fault>` per fault, and `modelplane-broken:none` that keeps the contract."""
    images = {}
    for event in docker_client.api.build(
        path=str(BROKEN_DIR), buildargs={"BASE_IMAGE": base_image}, tag="modelplane-broken:none", decode=True
    ):
        assert "error" not in event, event
    images["none"] = "modelplane-broken:none"
    for fault in FAULTS:
        dockerfile = f"FROM modelplane-broken:none\nENV FAULT={fault}\n".encode()
        for event in docker_client.api.build(
            fileobj=io.BytesIO(dockerfile), tag=f"modelplane-broken:{fault}", decode=True
        ):
            assert "error" not in event, event
        images[fault] = f"modelplane-broken:{fault}"
    return images


@pytest.fixture(scope="session")
def small_image(docker_client: docker.DockerClient) -> str:
    """An image of two small layers on no base, by the daemon's classic builder (cached after the first run).

    For the tests of a push and of a manifest's type, which never run the image: the registry protocol and
    the media types are the same for any image, and the layers of one on the 217 MB base cost seconds to
    export, compress and upload each time."""
    files = {
        "Dockerfile": b"FROM scratch\nCOPY a /a\nCOPY b /b\nLABEL org.opencontainers.image.title=modelplane-small\n",
        "a": b"the first layer\n",
        "b": b"the second layer\n",
    }
    for event in docker_client.api.build(
        fileobj=io.BytesIO(tar_of(files)),
        custom_context=True,
        tag="modelplane-small:latest",
        network_mode="none",
        decode=True,
    ):
        assert "error" not in event, event
    return "modelplane-small:latest"


@pytest.fixture(scope="session")
def fraud_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_archive(tmp_path_factory.mktemp("model") / "model.tar.gz", fraud_model())


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback registry for the session: `127.0.0.1:<port>`."""
    with docker_registry(tmp_path_factory.mktemp("registry") / "storage") as address:
        yield address
