"""Is this image's manifest one SageMaker accepts: Docker v2 schema 2, one platform, no index?

SageMaker (and Lambda) refuse OCI image manifests and image indexes ("Unsupported manifest media
type"). BuildKit's default provenance attestation alone turns a single-platform build into an index.
So the type is read from what exists, never assumed from the builder: the image as the daemon exports
it (`docker save`) before a push, and the registry's answer after one.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker

from modelplane.images.daemon import daemon_errors, uses_containerd_store
from modelplane.images.registry import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, Manifest

# BuildKit marks the manifests of its attestations (provenance, SBOM) in an index with this annotation.
REFERENCE_TYPE = "vnd.docker.reference.type"
INDEX_TYPES = {OCI_INDEX, DOCKER_MANIFEST_LIST}
SMALL_BLOB_BYTES = 1 << 20
FIX = (
    "build single-platform with Docker media types: the classic builder, or buildx with"
    " --provenance=false --sbom=false --output type=image,oci-mediatypes=false"
)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


def judge_registry(manifest: Manifest) -> Verdict:
    """The registry's answer for the image: the type SageMaker will be given."""
    return _judge(manifest.media_type, manifest.document, where="the registry holds")


def judge_local(client: docker.DockerClient, image: str) -> Verdict:
    """The manifest a push of `image` will send, before it is pushed.

    The classic image store (graph drivers: overlay2, vfs) keeps no manifest: `docker push` writes a
    Docker v2 schema 2 manifest for the image's one config, whatever built it. Docker's containerd image
    store keeps the manifest or index the builder made and pushes it as is: that is read from the image
    as `docker save` exports it. `image push` checks the registry's answer either way.
    """
    if not uses_containerd_store(client):
        return Verdict(True, f"{DOCKER_MANIFEST} on push (classic image store: one config, no index)")
    exported = _exported(client, image)
    (entry, *others) = (exported.get("index.json") or {}).get("manifests") or [{}]
    if others:
        return Verdict(False, f"the image store holds an index of {1 + len(others)} entries for {image}: {FIX}")
    media_type = str(entry.get("mediaType", ""))
    document = exported["blobs"].get(str(entry.get("digest", "")), {})
    return _judge(media_type, document, where="the containerd image store holds")


def _judge(media_type: str, document: dict[str, Any], *, where: str) -> Verdict:
    if media_type == DOCKER_MANIFEST:
        return Verdict(True, f"{where} {DOCKER_MANIFEST}, one platform")
    if media_type in INDEX_TYPES:
        entries = document.get("manifests") or []
        attestations = sum(1 for e in entries if (e.get("annotations") or {}).get(REFERENCE_TYPE))
        platforms = sorted(
            {
                f"{e['platform'].get('os')}/{e['platform'].get('architecture')}"
                for e in entries
                if isinstance(e.get("platform"), dict) and not (e.get("annotations") or {}).get(REFERENCE_TYPE)
            }
        )
        what = f"an image index ({media_type}) of {len(entries)} manifests"
        if attestations:
            what += f", {attestations} of them attestations"
        if platforms:
            what += f" (platforms {', '.join(platforms)})"
        return Verdict(False, f"{where} {what}: SageMaker refuses image indexes; {FIX}")
    if media_type == OCI_MANIFEST:
        return Verdict(False, f"{where} an OCI manifest ({OCI_MANIFEST}): SageMaker refuses it; {FIX}")
    return Verdict(
        False, f"{where} a manifest of type {media_type or '(none)'}: SageMaker takes only {DOCKER_MANIFEST}"
    )


def _exported(client: docker.DockerClient, image: str) -> dict[str, Any]:
    """`manifest.json`, `index.json` and the small blobs (manifests, indexes) of `docker save`, streamed."""
    found: dict[str, Any] = {"blobs": {}}
    with daemon_errors(f"docker save {image}"):
        stream = client.api.get_image(image, chunk_size=1 << 20)
        reader = io.BufferedReader(_ChunkReader(iter(stream)), buffer_size=1 << 20)
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                small = member.isfile() and member.size < SMALL_BLOB_BYTES
                if not small or not (name in {"manifest.json", "index.json"} or name.startswith("blobs/sha256/")):
                    continue
                content = archive.extractfile(member)
                if content is None:
                    continue
                try:
                    document = json.loads(content.read())
                except ValueError:
                    continue
                if name.startswith("blobs/"):
                    found["blobs"]["sha256:" + name.rsplit("/", 1)[-1]] = document
                else:
                    found[name] = document
    return found


class _ChunkReader(io.RawIOBase):
    """A readable stream over the chunks the Engine API yields, copying each byte once."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk, self._offset = chunk, 0
        count = min(len(buffer), len(self._chunk) - self._offset)
        buffer[:count] = self._chunk[self._offset : self._offset + count]
        self._offset += count
        return count
