"""The test base image, made here from Debian's packages (no public image registry is reachable); and
images a Docker 20.10 classic builder cannot make: the same image under an OCI manifest, or inside an image
index with an attestation (what BuildKit's provenance default gives), written into a registry with its own
HTTP API (distribution spec: blob uploads, manifest PUT); and an HTTP server on loopback whose answers a
test scripts."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import docker
from docker.errors import ImageNotFound

from modelplane.images.registry import OCI_INDEX, OCI_MANIFEST

BASE_IMAGE = "modelplane-test-base:bookworm"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def ensure_base_image(client: docker.DockerClient) -> str:
    """Debian bookworm with Python 3.11 (mmdebstrap minbase, about 25 s), imported once and kept in the daemon."""
    try:
        client.api.inspect_image(BASE_IMAGE)
        return BASE_IMAGE
    except ImageNotFound:
        pass
    command = ["mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as builder:
        assert builder.stdout is not None
        repository, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_stream(builder.stdout, repository=repository, tag=tag)
    assert builder.returncode == 0, "mmdebstrap failed: is it installed (`make tools`)?"
    return BASE_IMAGE


def push_oci(client: docker.DockerClient, image: str, registry: str, repository: str, *, index: bool) -> str:
    """`image` (from the daemon) as an OCI manifest, or an OCI index of it plus an attestation; returns
    `<registry>/<repository>@<digest>` of what was pushed."""
    config, layers = _exported(client, image)
    base = f"http://{registry}/v2/{repository}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _blob(base, config, OCI_CONFIG),
        "layers": [_blob(base, layer, OCI_LAYER) for layer in layers],
    }
    digest = _put_manifest(base, "image", manifest, OCI_MANIFEST)
    if index:
        attestation = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _blob(base, b"{}", OCI_CONFIG),
            "layers": [
                _blob(base, b'{"predicateType": "https://slsa.dev/provenance/v0.2"}', "application/vnd.in-toto+json")
            ],
        }
        attestation_digest = _put_manifest(base, "attestation", attestation, OCI_MANIFEST)
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {**_descriptor(manifest, OCI_MANIFEST, digest), "platform": {"architecture": "amd64", "os": "linux"}},
                {
                    **_descriptor(attestation, OCI_MANIFEST, attestation_digest),
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": digest,
                    },
                },
            ],
        }
        digest = _put_manifest(base, "index", document, OCI_INDEX)
    return f"{registry}/{repository}@{digest}"


def _exported(client: docker.DockerClient, image: str) -> tuple[bytes, list[bytes]]:
    """The image's config and uncompressed layers, as `docker save` exports them."""
    archive = io.BytesIO(b"".join(client.api.get_image(image)))
    with tarfile.open(fileobj=archive) as contents:

        def read(name: str) -> bytes:
            member = contents.extractfile(name)
            assert member is not None, name
            return member.read()

        (entry,) = json.loads(read("manifest.json"))
        return read(entry["Config"]), [read(layer) for layer in entry["Layers"]]


def _blob(base: str, data: bytes, media_type: str) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = urllib.request.Request(f"{base}/blobs/uploads/", method="POST")  # noqa: S310 - loopback registry
    with urllib.request.urlopen(started) as response:  # noqa: S310 - the loopback registry
        location = response.headers["Location"]
    upload = location if location.startswith("http") else base.split("/v2/", maxsplit=1)[0] + location
    separator = "&" if "?" in upload else "?"
    put = urllib.request.Request(  # noqa: S310 - the loopback registry
        f"{upload}{separator}digest={digest}",
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(put):  # noqa: S310 - the loopback registry
        pass
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _put_manifest(base: str, tag: str, document: dict[str, Any], media_type: str) -> str:
    body = json.dumps(document).encode()
    request = urllib.request.Request(  # noqa: S310 - the loopback registry
        f"{base}/manifests/{tag}", data=body, method="PUT", headers={"Content-Type": media_type}
    )
    with urllib.request.urlopen(request):  # noqa: S310 - the loopback registry
        pass
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _descriptor(document: dict[str, Any], media_type: str, digest: str) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": len(json.dumps(document).encode())}


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
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield address
    finally:
        server.shutdown()
        server.server_close()
