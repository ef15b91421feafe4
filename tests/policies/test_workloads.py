"""Rules of `policies/modelplane_guard/workloads.py` (what runs in a container: trusted pinned images, no secrets in the environment): compliant and non-compliant
inputs, with the exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import workloads
from tests.policies.harness import (
    DEPLOYMENT,
    IMAGE,
    MODEL,
    SECRET_ARN,
    Case,
    case_id,
    deployment,
    model,
    one,
    patched,
    run,
    uncovered,
)

CASES: list[Case] = [
    one("trusted-image-registries", "ecr-image", MODEL, model(), []),
    one(
        "trusted-image-registries",
        "registry-model-package",
        MODEL,
        patched(model(), "primaryContainer", {"modelPackageName": "arn:aws:sagemaker:eu-west-1:1:model-package/f/1"}),
        [],
    ),
    one(
        "trusted-image-registries",
        "docker-hub-model",
        MODEL,
        patched(model(), "primaryContainer.image", "docker.io/library/python:3.11"),
        ["primaryContainer image 'docker.io/library/python:3.11' is not from an allowed registry."],
    ),
    one(
        "trusted-image-registries",
        "ghcr-deployment",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "ghcr.io/acme/model:1.0"),
        [
            "container 'model' (spec.template.spec.containers[0]) image 'ghcr.io/acme/model:1.0' is not from an allowed registry."
        ],
    ),
    one(
        "trusted-image-registries",
        "configured-registry",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "registry.acme.internal/model:1.0"),
        [],
        config={"allowedRegistries": [r"^registry\.acme\.internal/"]},
    ),
    one("container-images-pinned", "immutable-tag", MODEL, model(), []),
    one(
        "container-images-pinned",
        "digest-required-and-given",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", f"{IMAGE}@sha256:{'a' * 64}"),
        [],
        config={"requireDigest": True},
    ),
    one(
        "container-images-pinned",
        "latest",
        MODEL,
        patched(model(), "primaryContainer.image", IMAGE.replace(":2.3.1", ":latest")),
        [
            f"primaryContainer image '{IMAGE.replace(':2.3.1', ':latest')}' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "container-images-pinned",
        "no-tag",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.image", "localhost:5000/model"),
        [
            "container 'model' (spec.template.spec.containers[0]) image 'localhost:5000/model' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "container-images-pinned",
        "tag-where-digest-required",
        MODEL,
        model(),
        [f"primaryContainer image '{IMAGE}' is pinned by tag only; a digest is required here."],
        config={"requireDigest": True},
    ),
    one(
        "no-secrets-in-container-environment",
        "secret-passed-by-arn",
        MODEL,
        patched(model(), "primaryContainer.environment.FEATURE_STORE_TOKEN_SECRET_ARN", SECRET_ARN),
        [],
    ),
    one(
        "no-secrets-in-container-environment",
        "password-literal",
        MODEL,
        patched(model(), "primaryContainer.environment.DB_PASSWORD", "hunter2"),
        ["primaryContainer environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."],
    ),
    one(
        "no-secrets-in-container-environment",
        "access-key-under-innocent-name",
        MODEL,
        patched(model(), "primaryContainer.environment.UPSTREAM", "AKIAIOSFODNN7EXAMPLE"),
        ["primaryContainer environment variable 'UPSTREAM' holds what looks like an AWS access key id."],
    ),
    one(
        "no-secrets-in-container-environment",
        "kubernetes-url-with-credentials",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env.0",
            {"name": "FEATURES_URL", "value": "https://svc:pa55@features.internal/"},
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) environment variable 'FEATURES_URL' holds what looks like credentials in a URL."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "kubernetes-secret-reference",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env.0",
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "api"}}},
        ),
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(workloads.POLICIES, CASES) == []
