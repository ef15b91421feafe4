"""What runs in a model container, on SageMaker or Kubernetes: trusted pinned images, no secrets in the environment."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import Report, applies_to, as_list, as_mapping, config_schema, dig, rule, sources
from .kubernetes import POD_SPEC_PATHS, containers, pod_spec
from .sagemaker import MODEL, sagemaker_containers
from .waivers import NON_WAIVABLE

ECR_PRIVATE_REGISTRY = r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
# Names that announce a secret; matched on the upper-cased name with `-` read as `_`.
SECRET_NAME_PATTERN = r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL"
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


def images(args: ResourceValidationArgs) -> list[tuple[str, str]]:
    """Every container image of a SageMaker model or a Kubernetes workload, with a label for messages."""
    if args.resource_type == MODEL:
        return [
            (label, str(container["image"]))
            for label, container in sagemaker_containers(args.props)
            if container.get("image") is not None
        ]
    found = pod_spec(args.resource_type, args.props)
    if found is None:
        return []
    return [(label, str(container["image"])) for label, container in containers(*found) if container.get("image")]


def _trusted_registries(args: ResourceValidationArgs, report: Report) -> None:
    allowed = [str(pattern) for pattern in args.get_config().get("allowedRegistries", [ECR_PRIVATE_REGISTRY])]
    for label, image in images(args):
        if not any(re.match(pattern, image) for pattern in allowed):
            report(f"{label} image {image!r} is not from an allowed registry.")


trusted_registries = ResourceValidationPolicy(
    name="trusted-image-registries",
    description="Model containers (SageMaker models and Kubernetes workloads) pull images only from the allowed registries.",
    validate=rule(_trusted_registries),
    severity=Severity.CRITICAL,
    remediation_steps="Push the image to the model family's ECR repository and reference it there (modelplane does this from image_tag or image_digest).",
    tags=["supply-chain", "sagemaker", "kubernetes", *applies_to(MODEL, *POD_SPEC_PATHS)],
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
    for label, image in images(args):
        tag, digest = image_reference(image)
        if digest is None and tag in (None, "latest"):
            report(f"{label} image {image!r} is not pinned: name an immutable tag or a digest, never latest.")
        elif digest is None and require_digest:
            report(f"{label} image {image!r} is pinned by tag only; a digest is required here.")


pinned_images = ResourceValidationPolicy(
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


def environments(args: ResourceValidationArgs) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Each container's literal environment variables as (name, value) pairs."""
    if args.resource_type == MODEL:
        return [
            (label, [(str(name), value) for name, value in as_mapping(container.get("environment")).items()])
            for label, container in sagemaker_containers(args.props)
        ]
    found = pod_spec(args.resource_type, args.props)
    if found is None:
        return []
    return [
        (
            label,
            [
                (str(dig(env, "name")), dig(env, "value"))
                for env in as_list(container.get("env"))
                if dig(env, "value") is not None
            ],
        )
        for label, container in containers(*found)
    ]


def _no_secrets_in_environment(args: ResourceValidationArgs, report: Report) -> None:
    config = args.get_config()
    name_pattern = re.compile(str(config.get("secretNamePattern", SECRET_NAME_PATTERN)))
    references = [re.compile(str(pattern)) for pattern in config.get("referencePatterns", SECRET_REFERENCE_PATTERNS)]
    for label, variables in environments(args):
        for name, value in variables:
            text = "" if value is None else str(value)
            if any(pattern.search(text) for pattern in references):
                continue
            kinds = [kind for kind, pattern in SECRET_VALUE_PATTERNS.items() if re.search(pattern, text)]
            if kinds:
                report(f"{label} environment variable {name!r} holds what looks like {kinds[0]}.")
            elif text and name_pattern.search(name.upper().replace("-", "_")):
                report(f"{label} environment variable {name!r} is named like a secret and holds a literal value.")


no_secrets_in_environment = ResourceValidationPolicy(
    name="no-secrets-in-container-environment",
    description="Container environment variables of SageMaker models and Kubernetes workloads hold no secret values; secrets are passed by reference.",
    validate=rule(_no_secrets_in_environment),
    severity=Severity.CRITICAL,
    remediation_steps="Store the value in Secrets Manager (modelplane `secrets`) and pass its ARN; the model reads it with its role.",
    tags=[
        "secrets",
        "sagemaker",
        "kubernetes",
        NON_WAIVABLE,
        *sources("CKV_AWS_45"),
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
