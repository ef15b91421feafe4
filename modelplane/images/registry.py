"""What a registry holds for an image reference: the manifest's media type, digest and content.

The registry answers a manifest `GET` with the type it stores in `Content-Type`, chosen among those
the `Accept` header lists; SageMaker asks for the same manifest and refuses OCI manifests and image
indexes, so this is the answer that decides (docs/containers.md#the-manifest-trap).

Authentication: none for a loopback registry, HTTP Basic (ECR: user `AWS` and the token of
`ecr:GetAuthorizationToken`), and the token exchange of registries that answer 401 with a
`Bearer` challenge (Docker Hub, GHCR), anonymous or with the Basic credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from docker.auth import resolve_repository_name

from modelplane.images.daemon import ImageError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join([DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST])
TIMEOUT_SECONDS = 30
LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Reference:
    registry: str
    """Host and port, as in the image name (`docker.io` for Docker Hub)."""
    repository: str
    """The path in the registry (`library/python` on Docker Hub)."""
    reference: str
    """A tag or a `sha256:` digest."""

    @classmethod
    def parse(cls, name: str) -> Reference:
        repository, _, digest = name.partition("@")
        tag = None
        if not digest:
            last = repository.rsplit("/", 1)[-1]
            if ":" in last:
                repository, tag = repository.rsplit(":", 1)
        registry, path = resolve_repository_name(repository)
        if registry == "docker.io":
            registry, path = "registry-1.docker.io", path if "/" in path else f"library/{path}"
        return cls(registry, path, digest or tag or "latest")

    @property
    def base_url(self) -> str:
        scheme = "http" if LOOPBACK.match(self.registry) else "https"
        return f"{scheme}://{self.registry}"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    """`sha256:` of the bytes the registry returned (what `<repo>@<digest>` pulls)."""
    document: dict[str, Any]

    @property
    def config_digest(self) -> str | None:
        """The image ID of a single-image manifest."""
        config = self.document.get("config")
        return config.get("digest") if isinstance(config, dict) else None

    def is_image(self, image_id: str) -> bool:
        """Is this the image whose ID the daemon gives? The classic image store's ID is the config's digest;
        Docker's containerd image store's is the digest of the manifest or index itself (pushed as is)."""
        return image_id in {self.config_digest, self.digest}


def fetch_manifest(reference: Reference, credentials: Credentials | None = None) -> Manifest | None:
    """The manifest `reference` names, None when the registry has no such tag or digest."""
    url = f"{reference.base_url}/v2/{reference.repository}/manifests/{reference.reference}"
    try:
        body, headers = _get(url, reference, credentials)
    except _NotFound:
        return None
    media_type = headers.get("Content-Type", "").split(";")[0].strip()
    document = _json_object(body, f"registry {reference.registry}: the manifest of {reference.repository}")
    return Manifest(media_type, f"sha256:{hashlib.sha256(body).hexdigest()}", document)


class _NotFound(Exception):
    pass


def _get(url: str, reference: Reference, credentials: Credentials | None) -> tuple[bytes, Any]:
    headers = {"Accept": ACCEPT}
    if credentials is not None:
        headers["Authorization"] = "Basic " + _basic(credentials)
    try:
        return _open(url, headers)
    except urllib.error.HTTPError as error:
        challenge = error.headers.get("WWW-Authenticate", "")
        if error.code != 401 or not challenge.lower().startswith("bearer"):
            raise _refusal(error, reference) from error
        headers["Authorization"] = "Bearer " + _token(challenge, reference, credentials)
    try:
        return _open(url, headers)
    except urllib.error.HTTPError as error:
        raise _refusal(error, reference) from error


def _open(url: str, headers: dict[str, str]) -> tuple[bytes, Any]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) URL of the image's registry
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read(), response.headers
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ImageError(f"registry {urllib.parse.urlsplit(url).netloc}: {reason}") from error


def _refusal(error: urllib.error.HTTPError, reference: Reference) -> Exception:
    if error.code == 404:
        return _NotFound()
    return ImageError(
        f"registry {reference.registry}: HTTP {error.code} for the manifest of"
        f" {reference.repository}:{reference.reference}: {_error_text(error)}"
    )


def _token(challenge: str, reference: Reference, credentials: Credentials | None) -> str:
    """The distribution token exchange: GET the realm with the service and scope the 401 named."""
    fields = dict(_CHALLENGE.findall(challenge))
    realm = fields.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise ImageError(f"registry {reference.registry}: an authentication challenge without a realm")
    fields.setdefault("scope", f"repository:{reference.repository}:pull")
    headers = {"Authorization": "Basic " + _basic(credentials)} if credentials else {}
    try:
        body, _ = _open(f"{realm}?{urllib.parse.urlencode(fields)}", headers)
    except urllib.error.HTTPError as error:
        raise ImageError(f"registry {reference.registry}: token request refused: HTTP {error.code}") from error
    document = _json_object(body, f"registry {reference.registry}: the token answer of {realm}")
    token = document.get("token") or document.get("access_token")
    if not isinstance(token, str) or not token:
        raise ImageError(f"registry {reference.registry}: the token answer of {realm} holds no token")
    return token


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    """A registry's answer that must be a JSON object; ImageError naming `what` otherwise."""
    try:
        document = json.loads(body)
    except ValueError as error:  # UnicodeDecodeError too
        raise ImageError(f"{what} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ImageError(f"{what} is JSON but not an object")
    return document


def _basic(credentials: Credentials) -> str:
    return base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()


def _error_text(error: urllib.error.HTTPError) -> str:
    """The distribution spec's `{"errors": [{"code", "message"}]}`, else the HTTP reason."""
    try:
        document = json.loads(error.read())
    except (ValueError, OSError):
        return str(error.reason)
    errors = document.get("errors") if isinstance(document, dict) else None
    items = [item for item in errors if isinstance(item, dict)] if isinstance(errors, list) else []
    return "; ".join(f"{item.get('code')}: {item.get('message')}" for item in items) or str(error.reason)
