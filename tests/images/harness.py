"""The test base image, made here from Debian's packages (no public image registry is reachable); and
images a Docker 20.10 classic builder cannot make: the same image under an OCI manifest, or inside an image
index with an attestation (what BuildKit's provenance default gives), written into a registry with its own
HTTP API (distribution spec: blob uploads, manifest PUT); and an HTTP server on loopback whose answers a
test scripts."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import docker
from docker.errors import ImageNotFound

from modelplane.images.registry import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.archives import tar_of
from tests.servers import serving

# Debian 13: Python 3.13, whose tarfile has the data filter fetch-model needs (`modelplane image build` refuses
# Debian 12's 3.11.2, which has none).
BASE_SUITE = "trixie"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
PROVENANCE = b'{"predicateType": "https://slsa.dev/provenance/v0.2"}'


def ensure_base_image(client: docker.DockerClient, suite: str = BASE_SUITE) -> str:
    """Debian `suite` with its python3 (mmdebstrap minbase, about 25 s), imported once and kept in the daemon."""
    image = f"modelplane-test-base:{suite}"
    try:
        client.api.inspect_image(image)
        return image
    except ImageNotFound:
        pass
    command = ["mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", suite, "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as builder:
        assert builder.stdout is not None
        repository, tag = image.split(":")
        client.api.import_image_from_stream(builder.stdout, repository=repository, tag=tag)
    assert builder.returncode == 0, "mmdebstrap failed: is it installed (`make tools`)?"
    return image


@dataclass(frozen=True)
class Document:
    """A blob or a manifest of an image: its bytes, media type and digest."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


@dataclass(frozen=True)
class ImageDocuments:
    """An image as a registry and an OCI layout hold it: blobs, then manifests, children first; the last
    manifest is the image's (what its reference names)."""

    blobs: list[Document]
    manifests: list[Document]

    @property
    def top(self) -> Document:
        return self.manifests[-1]


def image_documents(client: docker.DockerClient, image: str, *, media: str) -> ImageDocuments:
    """`image` (from the daemon) under a Docker v2 manifest (`docker`), an OCI manifest (`oci`), or an OCI
    index of the OCI manifest and a provenance attestation, as BuildKit makes it (`index`)."""
    config, layers = _exported(client, image)
    if media == "docker":
        blobs = [Document(config, DOCKER_CONFIG)] + [
            Document(gzip.compress(layer, compresslevel=1, mtime=0), DOCKER_LAYER) for layer in layers
        ]
        manifest_type = DOCKER_MANIFEST
    else:
        blobs = [Document(config, OCI_CONFIG)] + [Document(layer, OCI_LAYER) for layer in layers]
        manifest_type = OCI_MANIFEST
    manifest = _manifest(manifest_type, blobs[0], blobs[1:])
    if media != "index":
        return ImageDocuments(blobs, [manifest])
    provenance = [Document(b"{}", OCI_CONFIG), Document(PROVENANCE, "application/vnd.in-toto+json")]
    attestation = _manifest(OCI_MANIFEST, provenance[0], provenance[1:])
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            manifest.descriptor(platform={"architecture": "amd64", "os": "linux"}),
            attestation.descriptor(
                platform={"architecture": "unknown", "os": "unknown"},
                annotations={
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": manifest.digest,
                },
            ),
        ],
    }
    return ImageDocuments(blobs + provenance, [manifest, attestation, Document(json.dumps(index).encode(), OCI_INDEX)])


def push_documents(documents: ImageDocuments, registry: str, repository: str, tag: str) -> str:
    """Write the image into the registry with its HTTP API; returns `<registry>/<repository>@<digest>`."""
    base = f"http://{registry}/v2/{repository}"
    for blob in documents.blobs:
        _put_blob(base, blob)
    for manifest in documents.manifests:
        reference = tag if manifest is documents.top else manifest.digest
        request = urllib.request.Request(  # noqa: S310 - the loopback registry
            f"{base}/manifests/{reference}",
            data=manifest.data,
            method="PUT",
            headers={"Content-Type": manifest.media_type},
        )
        with urllib.request.urlopen(request):  # noqa: S310 - the loopback registry
            pass
    return f"{registry}/{repository}@{documents.top.digest}"


def push_oci(client: docker.DockerClient, image: str, registry: str, repository: str, *, index: bool) -> str:
    """`image` (from the daemon) as an OCI manifest, or an OCI index of it plus an attestation; returns
    `<registry>/<repository>@<digest>` of what was pushed."""
    documents = image_documents(client, image, media="index" if index else "oci")
    return push_documents(documents, registry, repository, "index" if index else "image")


def saved_oci_layout(documents: ImageDocuments, name: str) -> bytes:
    """`docker save` of the image from Docker's containerd image store (Engine 25+): an OCI layout whose
    index.json names the image's manifest or index, with its blobs, and Docker's manifest.json beside it."""
    tag = name.rsplit(":", 1)[1]
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            documents.top.descriptor(
                annotations={"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}
            )
        ],
    }
    image_manifest = next(m for m in documents.manifests if m.media_type in {DOCKER_MANIFEST, OCI_MANIFEST})
    layers = json.loads(image_manifest.data)["layers"]
    config = json.loads(image_manifest.data)["config"]["digest"]
    legacy = [
        {
            "Config": "blobs/sha256/" + config.removeprefix("sha256:"),
            "RepoTags": [name],
            "Layers": ["blobs/sha256/" + layer["digest"].removeprefix("sha256:") for layer in layers],
        }
    ]
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index).encode(),
        "manifest.json": json.dumps(legacy).encode(),
    }
    for document in documents.blobs + documents.manifests:
        files["blobs/sha256/" + document.digest.removeprefix("sha256:")] = document.data
    return tar_of(files)


def _manifest(media_type: str, config: Document, layers: list[Document]) -> Document:
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    return Document(json.dumps(document).encode(), media_type)


@functools.cache
def _exported(client: docker.DockerClient, image: str) -> tuple[bytes, list[bytes]]:
    """The image's config and uncompressed layers, as `docker save` exports them (once per test process:
    an export takes seconds)."""
    archive = io.BytesIO(b"".join(client.api.get_image(image)))
    with tarfile.open(fileobj=archive) as contents:

        def read(name: str) -> bytes:
            member = contents.extractfile(name)
            assert member is not None, name
            return member.read()

        (entry,) = json.loads(read("manifest.json"))
        return read(entry["Config"]), [read(layer) for layer in entry["Layers"]]


def _put_blob(base: str, blob: Document) -> None:
    started = urllib.request.Request(f"{base}/blobs/uploads/", method="POST")  # noqa: S310 - loopback registry
    with urllib.request.urlopen(started) as response:  # noqa: S310 - the loopback registry
        location = response.headers["Location"]
    upload = location if location.startswith("http") else base.split("/v2/", maxsplit=1)[0] + location
    separator = "&" if "?" in upload else "?"
    put = urllib.request.Request(  # noqa: S310 - the loopback registry
        f"{upload}{separator}digest={blob.digest}",
        data=blob.data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(put):  # noqa: S310 - the loopback registry
        pass


Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def scripted_server(answers: dict[str, Answer] | Callable[[str, str], Answer]) -> Iterator[str]:
    """`127.0.0.1:<port>`, answering each path's GET with its scripted (status, headers, body), by path or by
    (path, Authorization header); 404 for any other path. `{host}` in a header is the registry's address."""

    def answer(path: str, authorization: str) -> Answer:
        if callable(answers):
            return answers(path, authorization)
        return answers.get(path, (404, {}, b""))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = answer(self.path.split("?")[0], self.headers.get("Authorization", ""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value.format(host=address))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    address = f"127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield address


class ContainerdStoreDaemon:
    """A daemon on Docker's containerd image store holding `name` as `documents`, as its Engine API answers
    (Engine 25+, moby's daemon/containerd): `info` says the snapshotter, the image's `Id` is the digest of
    its manifest or index (the rest of `docker image inspect` is the real daemon's for `source`), `docker
    save` is an OCI layout, and a push sends the manifest as built. Graph drivers (this machine's daemon)
    answer none of these so."""

    def __init__(
        self, real: docker.DockerClient, source: str, name: str, documents: ImageDocuments, registry: str
    ) -> None:
        self.api = _ContainerdStoreApi(real, source, name, documents, registry)

    def info(self) -> dict[str, Any]:
        return {"Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]}


class _ContainerdStoreApi:
    def __init__(
        self, real: docker.DockerClient, source: str, name: str, documents: ImageDocuments, registry: str
    ) -> None:
        self._real, self._source, self._name, self._documents, self._registry = real, source, name, documents, registry
        self.tags: list[str] = []

    def inspect_image(self, reference: str) -> dict[str, Any]:
        if reference not in {self._name, self._documents.top.digest}:
            raise ImageNotFound(f"No such image: {reference}")
        document = self._real.api.inspect_image(self._source)
        top = self._documents.top
        return {**document, "Id": top.digest, "RepoTags": [self._name], "Descriptor": top.descriptor()}

    def get_image(self, image: str, chunk_size: int) -> Iterator[bytes]:
        self.inspect_image(image)
        saved = saved_oci_layout(self._documents, self._name)
        return (saved[start : start + chunk_size] for start in range(0, len(saved), chunk_size))

    def tag(self, image: str, repository: str, tag: str) -> None:
        self.inspect_image(image)
        self.tags.append(f"{repository}:{tag}")

    def push(self, repository: str, tag: str, **_: Any) -> Iterator[dict[str, str]]:
        assert f"{repository}:{tag}" in self.tags, "push of an untagged image"
        assert repository.startswith(f"{self._registry}/")
        push_documents(self._documents, self._registry, repository.removeprefix(f"{self._registry}/"), tag)
        yield {"status": "Pushed", "id": self._documents.top.digest[7:19]}
        yield {"status": f"{tag}: digest: {self._documents.top.digest} size: {len(self._documents.top.data)}"}
