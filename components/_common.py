"""What every component shares: its type token, the alias that keeps older stacks' URNs, argument checks."""

import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import TypeVar

import pulumi

PACKAGE = "modelplane"
"""Package name of the schema: resource tokens are `modelplane:index:<Class>` (the multi-language host serves only `index`)."""

Tags = Mapping[str, pulumi.Input[str]]
Problem = tuple[str, str]
"""(argument path such as `variants[0].instance_type`, what is wrong there)."""

T = TypeVar("T")

# A variant's image in its repository: an immutable tag or a digest, in the forms a registry accepts (ECR's too).
IMAGE_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"


def type_token(component: str) -> str:
    return f"{PACKAGE}:index:{component}"


def component_options(opts: pulumi.ResourceOptions | None, former_token: str) -> pulumi.ResourceOptions:
    """The caller's options plus an alias to the token the component had before it joined the `index` module.

    Every child's URN contains its parent's type, so the alias of the component carries the children's
    URNs over as well: stacks deployed with the former tokens update in place.
    """
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=former_token)]))


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """Options of a child: `parent`, plus the component's `retain_on_delete` for the child holding the data.

    Components pass this to the resource whose deletion would lose data (a key, bucket, repository,
    registry); `protect` needs no forwarding, children inherit it from their parent.
    """
    return pulumi.ResourceOptions(parent=parent, retain_on_delete=opts.retain_on_delete if opts else None)


def known(value: pulumi.Input[T] | None) -> T | None:
    """The value when it is plain (checkable now), None when it is an Output or awaitable resolved later."""
    if isinstance(value, pulumi.Output | Awaitable):
        return None
    return value


def check(component: str, name: str, problems: Sequence[Problem]) -> None:
    """Raise one ValueError naming the component and each argument field that is wrong."""
    if problems:
        details = "; ".join(f"{path}: {message}" for path, message in problems)
        raise ValueError(f"{component} {name!r}: {details}")


def at(prefix: str, problems: Sequence[Problem]) -> list[Problem]:
    """Problems of a nested argument, with their paths below `prefix`."""
    return [(f"{prefix}.{path}" if path else prefix, message) for path, message in problems]


def image_problems(tag: str | None, digest: str | None) -> list[Problem]:
    """A variant's image is exactly one of a tag or a digest, each well formed (paths relative to the variant)."""
    found: list[Problem] = []
    if (tag is None) == (digest is None):
        found.append(("image_tag", "set exactly one of image_tag or image_digest"))
    if tag is not None and not re.fullmatch(IMAGE_TAG_PATTERN, tag):
        found.append(("image_tag", f"must match the ECR image tag pattern {IMAGE_TAG_PATTERN}"))
    if digest is not None and not re.fullmatch(IMAGE_DIGEST_PATTERN, digest):
        found.append(("image_digest", f"must match {IMAGE_DIGEST_PATTERN}"))
    return found


def image_reference(tag: str | None, digest: str | None) -> str:
    """`:tag` or `@sha256:...`, to append to the repository URL."""
    return f"@{digest}" if digest else f":{tag}"
