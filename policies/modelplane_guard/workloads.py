"""What runs in a container, on SageMaker, Kubernetes (built-in workloads and custom resources found by
shape) or anywhere AWS takes environment variables: trusted pinned images, no secrets in the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    ReachingPolicy,
    Report,
    Unknowns,
    applies_to,
    as_list,
    concern_tag,
    config_schema,
    is_mapping,
    is_unknown,
    plain,
    rule,
    scalar_text,
    sources,
)
from .containers import container_definitions, defines_containers
from .kubernetes import POD_SPEC_PATHS, holds_pods, pod_specs
from .properties import entries_of, resolve
from .property_map import CONTAINERS, ENVIRONMENT, PODS
from .sagemaker import MODEL, sagemaker_containers
from .waivers import NON_WAIVABLE

ECR_PRIVATE_REGISTRY = r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
# Names that announce a secret; matched on the upper-cased name with `-` read as `_`.
SECRET_NAME_PATTERN = r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL"
# A variable named as a pointer to a secret (`SECRET_ID`, `DB_PASSWORD_ARN`, Docker's `POSTGRES_PASSWORD_FILE`)
# holds a secret's name, ARN or path, not the secret: only the value patterns below judge it.
SECRET_POINTER_NAME = re.compile(r"_(ARN|NAME|ID|PATH|FILE)$")
# A value that only points at a secret (the container fetches it with its role) is fine.
SECRET_REFERENCE_PATTERNS = [r"^arn:aws[a-z-]*:(secretsmanager|ssm):"]
# Values that are credentials whatever the variable is called.
SECRET_VALUE_PATTERNS: dict[str, str] = {
    "an AWS access key id": r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    "a private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "a GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "a Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "a JSON web token": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.",
    "credentials in a URL": r"://[^/\s:@]+:[^/\s@]+@",
}


def containers_of(args: ResourceValidationArgs, unknowns: Unknowns) -> list[tuple[str, Mapping[str, Any]]]:
    """Every container a resource runs, with a label for messages: a SageMaker model's, a Kubernetes
    workload's or custom resource's (and a Batch job's pod), an ECS task's or a Batch job's definitions."""
    if args.resource_type == MODEL:
        return sagemaker_containers(args.props)
    found: list[tuple[str, Mapping[str, Any]]] = []
    with unknowns:
        found += [container for pod in pod_specs(args.resource_type, args.props) for container in pod.containers()]
    return [*found, *container_definitions(args, unknowns)]


def images(args: ResourceValidationArgs, unknowns: Unknowns) -> list[tuple[str, str]]:
    """Every container image a resource runs, with a label for messages (an image not known yet is
    skipped, and noted once the others are judged)."""
    found = []
    for label, container in containers_of(args, unknowns):
        with unknowns:
            image = container.get("image")
            if image is not None and image != "":
                found.append((label, image if isinstance(image, str) else str(image)))
    return found


def runs_images(resource_type: str) -> bool:
    return resource_type == MODEL or holds_pods(resource_type) or defines_containers(resource_type)


def _trusted_registries(args: ResourceValidationArgs, report: Report) -> None:
    allowed = [str(pattern) for pattern in args.get_config().get("allowedRegistries", [ECR_PRIVATE_REGISTRY])]
    unknowns = Unknowns()
    for label, image in images(args, unknowns):
        if not any(re.match(pattern, image) for pattern in allowed):
            report(f"{label} image {image!r} is not from an allowed registry.")
    unknowns.settle()


trusted_registries = ReachingPolicy(
    runs_images,
    name="trusted-image-registries",
    description="Model containers (SageMaker models and Kubernetes workloads) pull images only from the allowed registries.",
    validate=rule(_trusted_registries),
    severity=Severity.CRITICAL,
    remediation_steps="Push the image to the model family's ECR repository and reference it there (modelplane does this from image_tag or image_digest).",
    tags=["supply-chain", "sagemaker", "kubernetes", concern_tag(PODS), *applies_to(MODEL, *POD_SPEC_PATHS)],
    config_schema=config_schema(
        {
            "allowedRegistries": {
                "type": "array",
                "items": {"type": "string"},
                "default": [ECR_PRIVATE_REGISTRY],
                "description": "Regular expressions an image reference must match from its start (default: any private ECR registry).",
            }
        }
    ),
)


def image_reference(image: str) -> tuple[str | None, str | None]:
    """The tag and the digest of an image reference (`repo:tag`, `repo@sha256:...`, or both)."""
    name, _, digest = image.partition("@")
    last_segment = name.rsplit("/", 1)[-1]
    tag = last_segment.partition(":")[2] or None
    return tag, digest or None


def _pinned_images(args: ResourceValidationArgs, report: Report) -> None:
    require_digest = bool(args.get_config().get("requireDigest", False))
    unknowns = Unknowns()
    for label, image in images(args, unknowns):
        tag, digest = image_reference(image)
        if digest is None and tag in (None, "latest"):
            report(f"{label} image {image!r} is not pinned: name an immutable tag or a digest, never latest.")
        elif digest is None and require_digest:
            report(f"{label} image {image!r} is pinned by tag only; a digest is required here.")
    unknowns.settle()


pinned_images = ReachingPolicy(
    runs_images,
    name="container-images-pinned",
    description="Model container images are pinned to an immutable tag or a digest, never `latest`.",
    validate=rule(_pinned_images),
    severity=Severity.HIGH,
    remediation_steps="Set image_digest (preferred) or an immutable image_tag on every variant.",
    tags=[
        "supply-chain",
        "sagemaker",
        "kubernetes",
        *sources("CKV_K8S_14", "CKV_K8S_43"),
        concern_tag(PODS),
        *applies_to(MODEL, *POD_SPEC_PATHS),
    ],
    config_schema=config_schema(
        {
            "requireDigest": {
                "type": "boolean",
                "default": False,
                "description": "Accept only images pinned by digest (`@sha256:...`).",
            }
        }
    ),
)


# Environment entries that name where a value is kept, not the value (CodeBuild's variable types).
REFERENCE_TYPES = ("PARAMETER_STORE", "SECRETS_MANAGER")
# Where a container keeps its environment: Kubernetes' `env`, the `envs` of a Batch job's pod,
# SageMaker's and ECS's `environment`.
ENVIRONMENT_KEYS = ("env", "envs", "environment")


def variables(value: Any) -> list[tuple[str, Any]]:
    """Literal (name, value) pairs of an environment: a name -> value map, or a list of {name, value}.

    Read through `plain`: a value not known yet (preview) is no literal, so it is left out rather than
    stopping the rule, and a literal secret beside it is still found."""
    view = plain(value)
    if is_mapping(view):
        return [(str(name), item) for name, item in view.items() if not is_unknown(item)]
    pairs = []
    for raw in as_list(view):
        item = plain(raw)
        if not is_mapping(item):
            continue
        literal, kind = item.get("value"), item.get("type")
        if literal is None or is_unknown(literal) or (isinstance(kind, str) and kind in REFERENCE_TYPES):
            continue
        name = item.get("name")
        pairs.append(("?" if name is None or is_unknown(name) else scalar_text(name), literal))
    return pairs


def environments(args: ResourceValidationArgs, unknowns: Unknowns) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Each container's (or resource's) literal environment variables as (name, value) pairs: those of
    every container it runs, and those of any AWS type the property index names (a function's
    `environment.variables`, a build's `environment.environmentVariables`)."""
    found = []
    for label, container in containers_of(args, unknowns):
        for key in ENVIRONMENT_KEYS:
            with unknowns:
                environment = plain(container).get(key)
                if environment is not None and not is_unknown(environment):
                    found.append((label, variables(environment)))
    for entry in entries_of(ENVIRONMENT, args.resource_type, frozenset({MODEL})):
        with unknowns:
            found += [(place.path, variables(place.value)) for place in resolve(args.props, entry.steps)]
    return found


def has_environment(resource_type: str) -> bool:
    return runs_images(resource_type) or bool(entries_of(ENVIRONMENT, resource_type, frozenset({MODEL})))


def _no_secrets_in_environment(args: ResourceValidationArgs, report: Report) -> None:
    config = args.get_config()
    name_pattern = re.compile(str(config.get("secretNamePattern", SECRET_NAME_PATTERN)))
    references = [re.compile(str(pattern)) for pattern in config.get("referencePatterns", SECRET_REFERENCE_PATTERNS)]
    unknowns = Unknowns()
    for label, pairs in environments(args, unknowns):
        for name, value in pairs:
            text = scalar_text(value)
            if any(pattern.search(text) for pattern in references):
                continue
            kinds = [kind for kind, pattern in SECRET_VALUE_PATTERNS.items() if re.search(pattern, text)]
            if kinds:
                report(f"{label} environment variable {name!r} holds what looks like {kinds[0]}.")
            elif (
                text
                and name_pattern.search(normalized := name.upper().replace("-", "_"))
                and not SECRET_POINTER_NAME.search(normalized)
            ):
                report(f"{label} environment variable {name!r} is named like a secret and holds a literal value.")
    unknowns.settle()


no_secrets_in_environment = ReachingPolicy(
    has_environment,
    name="no-secrets-in-container-environment",
    description="Environment variables hold no secret values, wherever they are set: SageMaker models, Kubernetes workloads and custom resources, and any AWS resource that takes an environment (functions, builds, task definitions); secrets are passed by reference.",
    validate=rule(_no_secrets_in_environment),
    severity=Severity.CRITICAL,
    remediation_steps="Store the value in Secrets Manager (modelplane `secrets`) and pass its ARN; the model reads it with its role.",
    tags=[
        "secrets",
        "sagemaker",
        "kubernetes",
        NON_WAIVABLE,
        *sources("CKV_AWS_45"),
        concern_tag(PODS),
        concern_tag(ENVIRONMENT),
        concern_tag(CONTAINERS),
        *applies_to(MODEL, *POD_SPEC_PATHS),
    ],
    config_schema=config_schema(
        {
            "secretNamePattern": {
                "type": "string",
                "default": SECRET_NAME_PATTERN,
                "description": "Regular expression for variable names that announce a secret (searched in the upper-cased name).",
            },
            "referencePatterns": {
                "type": "array",
                "items": {"type": "string"},
                "default": SECRET_REFERENCE_PATTERNS,
                "description": "Regular expressions for values that only reference a secret, which are allowed.",
            },
        }
    ),
)

POLICIES = [trusted_registries, pinned_images, no_secrets_in_environment]
