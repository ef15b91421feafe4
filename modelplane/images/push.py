"""`modelplane image push`: the image into the family's ECR repository (or `--registry`), by a tag derived
from its content, then read back from the registry: the digest to register and the manifest type.

ECR repositories of modelplane are tag-immutable: a tag, once pushed, names the same image forever. The
tag is therefore the image's own ID (`img-<20 hex>`): pushing the same image again finds it and pushes
nothing; another image gets another tag.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from modelplane.aws import Aws
from modelplane.config import stackfiles
from modelplane.config.outputs import read_outputs
from modelplane.images.build import content_tag
from modelplane.images.daemon import ImageError, daemon_errors, image_facts
from modelplane.images.manifests import Verdict, judge_registry
from modelplane.images.registry import Credentials, Reference, fetch_manifest
from modelplane.settings import Settings

ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True)
class Target:
    repository: str
    """`<registry host>/<path>`, without tag."""
    credentials: Credentials | None = None


@dataclass(frozen=True)
class Pushed:
    repository: str
    tag: str
    digest: str
    verdict: Verdict
    already_there: bool

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


def family_repository(outputs: dict[str, Any], family: str, stack: str) -> str:
    """The family's ECR repository URL from the stack outputs (`registry.families.<family>.repository_url`)."""
    families = (outputs.get("registry") or {}).get("families") or {}
    repository = (families.get(family) or {}).get("repository_url")
    if not isinstance(repository, str) or not repository:
        known = ", ".join(sorted(families)) or "none"
        raise ImageError(
            f"family {family!r} has no repository_url in the outputs of stack {stack} (families: {known});"
            " run `pulumi up` first, or give --registry"
        )
    return repository


def registry_target(url: str, family: str) -> Target:
    """`--registry HOST[:PORT][/PATH]` (an `http://` or `https://` prefix is allowed): PATH, else the family."""
    address = re.sub(r"^https?://", "", url).strip("/")
    host, _, path = address.partition("/")
    if not host:
        raise ImageError(f"--registry {url}: not a registry address (host[:port][/repository])")
    return Target(f"{host}/{path or family}")


def target_of(
    settings: Settings, stack: str, family: str, *, registry: str | None, outputs: Path | None, aws: Aws
) -> Target:
    """Where `image push` sends the image: `--registry`, else the family's ECR repository from the stack
    outputs, with ECR's token."""
    if family not in settings.registry.families:
        known = ", ".join(settings.registry.families)
        shown = stackfiles.shown(stackfiles.stack_file(stack))
        raise ImageError(f"{shown}: no model family {family!r} (families: {known})")
    if registry:
        return registry_target(registry, family)
    repository = family_repository(read_outputs(outputs, stack, settings), family, stack)
    return Target(repository, ecr_login(aws, repository))


def ecr_login(aws: Aws | None, repository: str) -> Credentials | None:
    """ECR's token for an ECR repository (in its own region), None for any other registry."""
    region = ecr_region(repository)
    if region is None:
        return None
    session = (
        aws if aws is not None and aws.region == region else Aws.connect(region, aws.endpoint_url if aws else None)
    )
    return ecr_credentials(session.client("ecr"))


def ecr_credentials(ecr: Any) -> Credentials:
    """`ecr:GetAuthorizationToken`: user `AWS` and a 12-hour password, for `docker push` and the manifest read.

    AWS's own errors propagate (the command names the operation); an answer without a usable token is an
    ImageError."""
    answer = ecr.get_authorization_token()
    data = (answer.get("authorizationData") or [{}])[0]
    try:
        username, separator, password = (
            base64.b64decode(data["authorizationToken"], validate=True).decode().partition(":")
        )
    except (KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ImageError(
            "ecr:GetAuthorizationToken answered without a token of the form base64(user:password)"
        ) from error
    if not separator or not username or not password:
        raise ImageError("ecr:GetAuthorizationToken answered without a token of the form base64(user:password)")
    return Credentials(username, password)


def ecr_region(repository: str) -> str | None:
    match = ECR_HOST.match(repository.split("/", 1)[0])
    return match["region"] if match else None


def push(client: docker.DockerClient, image: str, target: Target, log: Any) -> Pushed:
    """Push under the content tag unless the registry already holds this image there; read the result back."""
    facts = image_facts(client, image)
    tag = content_tag(facts.id)
    location = Reference.parse(f"{target.repository}:{tag}")
    existing = fetch_manifest(location, target.credentials)
    already_there = existing is not None and existing.is_image(facts.id)
    if existing is not None and not already_there:
        raise ImageError(
            f"{target.repository}:{tag} already holds another image ({existing.digest}, config"
            f" {existing.config_digest}); tags are immutable there"
        )
    if not already_there:
        _push(client, facts.id, target, tag, log)
    manifest = fetch_manifest(location, target.credentials)
    if manifest is None:
        raise ImageError(f"the registry has no {target.repository}:{tag} after the push")
    if not manifest.is_image(facts.id):
        raise ImageError(
            f"{target.repository}:{tag} holds {manifest.digest} (config {manifest.config_digest}), not image {facts.id}"
        )
    return Pushed(target.repository, tag, manifest.digest, judge_registry(manifest), already_there)


def _push(client: docker.DockerClient, image_id: str, target: Target, tag: str, log: Any) -> None:
    auth = (
        {"username": target.credentials.username, "password": target.credentials.password}
        if target.credentials
        else None
    )
    with daemon_errors(f"docker push {target.repository}:{tag}"):
        client.api.tag(image_id, target.repository, tag)
        for event in client.api.push(target.repository, tag, auth_config=auth, stream=True, decode=True):
            if "error" in event:
                raise ImageError(f"docker push {target.repository}:{tag} failed: {event['error']}")
            if event.get("status") in {"Pushed", "Layer already exists", "Mounted from"} and event.get("id"):
                log(f"{event['id']}: {event['status']}")
