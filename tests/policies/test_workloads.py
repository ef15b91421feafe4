"""Rules of `policies/modelplane_guard/workloads.py` (what runs in a container: trusted pinned images, no secrets
in the environment): compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import json

import pytest

from policies.modelplane_guard import workloads
from tests.policies.harness import (
    DEPLOYMENT,
    IMAGE,
    MODEL,
    PREVIEW,
    SECRET_ARN,
    UNKNOWN,
    Case,
    case_id,
    container,
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
    # Named as a pointer (a secret's name, id or file), the value is judged only by what it looks like.
    one(
        "no-secrets-in-container-environment",
        "secret-passed-by-name-id-and-file",
        "aws:glue/connection:Connection",
        {
            "connectionProperties": {
                "SECRET_ID": "prod/glue/feature-db",
                "DB_PASSWORD_FILE": "/run/secrets/db-password",
                "API_TOKEN_NAME": "feature-store-token",
                "JDBC_CONNECTION_URL": "jdbc:postgresql://features.internal:5432/features",
            }
        },
        [],
    ),
    one(
        "no-secrets-in-container-environment",
        "access-key-under-a-pointer-name",
        "aws:glue/connection:Connection",
        {"connectionProperties": {"ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "PASSWORD": "hunter2"}},
        [
            "connectionProperties environment variable 'PASSWORD' is named like a secret and holds a literal value.",
            "connectionProperties environment variable 'ACCESS_KEY_ID' holds what looks like an AWS access key id.",
        ],
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
    # --- anywhere AWS takes variables, and in custom resources ----------------------------------------------
    one(
        "no-secrets-in-container-environment",
        "function-variables",
        "aws:lambda/function:Function",
        {"environment": {"variables": {"STRIPE_API_KEY": "sk_live_51Hx", "LOG_LEVEL": "INFO"}}},
        [
            "environment.variables environment variable 'STRIPE_API_KEY' is named like a secret and holds a literal value."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "build-variables-by-reference-and-inline",
        "aws:codebuild/project:Project",
        {
            "environment": {
                "environmentVariables": [
                    {"name": "NPM_TOKEN", "value": "/ci/npm-token", "type": "PARAMETER_STORE"},
                    {"name": "GH_TOKEN", "value": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "type": "PLAINTEXT"},
                ]
            }
        },
        ["environment.environmentVariables environment variable 'GH_TOKEN' holds what looks like a GitHub token."],
    ),
    one(
        "no-secrets-in-container-environment",
        "task-definition",
        "aws:ecs/taskDefinition:TaskDefinition",
        {
            "family": "scorer",
            "containerDefinitions": json.dumps(
                [
                    {
                        "name": "app",
                        "image": IMAGE,
                        "environment": [{"name": "DB_PASSWORD", "value": "hunter2!"}],
                        "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN}],
                    }
                ]
            ),
        },
        [
            "container 'app' (containerDefinitions[0]) environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "task-definition-by-reference",
        "aws:ecs/taskDefinition:TaskDefinition",
        {
            "family": "scorer",
            "containerDefinitions": json.dumps(
                [{"name": "app", "image": IMAGE, "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN}]}]
            ),
        },
        [],
    ),
    one(
        "container-images-pinned",
        "inference-service-latest",
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        {
            "metadata": {"name": "fraud", "namespace": "ml"},
            "spec": {"predictor": {"containers": [{**container(), "image": f"{IMAGE.rsplit(':', 1)[0]}:latest"}]}},
        },
        [
            f"container 'model' (spec.predictor.containers[0]) image '{IMAGE.rsplit(':', 1)[0]}:latest' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "trusted-image-registries",
        "ray-worker-from-docker-hub",
        "kubernetes:ray.io/v1:RayCluster",
        {
            "metadata": {"name": "tuning", "namespace": "ml"},
            "spec": {
                "workerGroupSpecs": [
                    {"template": {"spec": {"containers": [{**container(), "image": "rayproject/ray:2.34.0"}]}}}
                ]
            },
        },
        [
            "container 'model' (spec.workerGroupSpecs[0].template.spec.containers[0]) image 'rayproject/ray:2.34.0' is not from an allowed registry."
        ],
    ),
]

TASK = "aws:ecs/taskDefinition:TaskDefinition"
JOB = "aws:batch/jobDefinition:JobDefinition"
FUNCTION = "aws:lambda/function:Function"
LEAKED_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
DOCKER_HUB = "docker.io/library/nginx:latest"
CASES += [
    # --- ECS and Batch containers run images too --------------------------------------------------------
    one(
        "trusted-image-registries",
        "ecs-task-from-docker-hub",
        TASK,
        {"family": "web", "containerDefinitions": json.dumps([{"name": "web", "image": DOCKER_HUB}])},
        [f"container 'web' (containerDefinitions[0]) image '{DOCKER_HUB}' is not from an allowed registry."],
    ),
    one(
        "container-images-pinned",
        "ecs-task-latest",
        TASK,
        {"family": "web", "containerDefinitions": json.dumps([{"name": "web", "image": DOCKER_HUB}])},
        [
            f"container 'web' (containerDefinitions[0]) image '{DOCKER_HUB}' is not pinned: name an immutable tag or a digest, never latest."
        ],
    ),
    one(
        "trusted-image-registries",
        "batch-job-on-ecr",
        JOB,
        {"type": "container", "containerProperties": json.dumps({"image": IMAGE})},
        [],
    ),
    one(
        "no-secrets-in-container-environment",
        "multi-node-job-with-a-literal-key",
        JOB,
        {
            "type": "multinode",
            "nodeProperties": json.dumps(
                {
                    "nodeRangeProperties": [
                        {
                            "targetNodes": "0:",
                            "container": {
                                "image": IMAGE,
                                "environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": LEAKED_KEY}],
                            },
                        }
                    ]
                }
            ),
        },
        [
            "nodeProperties.nodeRangeProperties[0].container environment variable 'AWS_SECRET_ACCESS_KEY' is named like a secret and holds a literal value."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "batch-job-pod-on-eks",
        JOB,
        {
            "type": "container",
            "eksProperties": {
                "podProperties": {
                    "hostNetwork": False,
                    "containers": [
                        {"name": "train", "image": IMAGE, "envs": [{"name": "DB_PASSWORD", "value": "hunter2-literal"}]}
                    ],
                }
            },
        },
        [
            "container 'train' (eksProperties.podProperties.containers[0]) environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."
        ],
    ),
    # --- a value not known during preview is no literal; the literal beside it still is ----------------
    one(
        "no-secrets-in-container-environment",
        "unknown-value-beside-a-literal-secret",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            [{"name": "BUCKET", "value": UNKNOWN}, {"name": "DB_PASSWORD", "value": "hunter2-literal"}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "function-with-an-unknown-value-beside-a-literal-secret",
        FUNCTION,
        {
            "role": "arn:aws:iam::123456789012:role/f",
            "environment": {"variables": {"BUCKET": UNKNOWN, "DB_PASSWORD": "hunter2-literal"}},
        },
        ["environment.variables environment variable 'DB_PASSWORD' is named like a secret and holds a literal value."],
    ),
    one(
        "trusted-image-registries",
        "one-image-unknown-during-preview",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.image", UNKNOWN),
            "spec.template.spec.initContainers",
            [{**container(), "name": "fetch", "image": "ghcr.io/acme/fetch:1.0"}],
        ),
        [
            "container 'fetch' (spec.template.spec.initContainers[0]) image 'ghcr.io/acme/fetch:1.0' is not from an allowed registry.",
            f"{PREVIEW}string value at .spec.template.spec.containers.0.image can't be known during preview",
        ],
    ),
    one(
        "trusted-image-registries",
        "spark-driver-runs-the-applications-image",
        "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication",
        {
            "metadata": {"name": "features", "namespace": "ml"},
            "spec": {
                "image": "spark:3.5.1",
                "driver": {"cores": 1, "securityContext": {"allowPrivilegeEscalation": False}, "env": []},
            },
        },
        ["container 'driver' (spec.driver) image 'spark:3.5.1' is not from an allowed registry."],
    ),
    one(
        "no-secrets-in-container-environment",
        "kserve-model-with-a-literal-key",
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        {
            "metadata": {"name": "fraud", "namespace": "ml"},
            "spec": {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "sklearn"},
                        "resources": {"limits": {"cpu": "1"}},
                        "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": LEAKED_KEY}],
                    }
                }
            },
        },
        [
            "container 'model' (spec.predictor.model) environment variable 'AWS_SECRET_ACCESS_KEY' is named like a secret and holds a literal value."
        ],
    ),
    one(
        "no-secrets-in-container-environment",
        "glue-job-with-a-literal-password-argument",
        "aws:glue/job:Job",
        {
            "roleArn": "arn:aws:iam::123456789012:role/etl",
            "command": {"scriptLocation": "s3://ml-jobs/etl.py"},
            "defaultArguments": {"--db-password": "hunter2-prod", "--enable-metrics": "true"},
        },
        ["defaultArguments environment variable '--db-password' is named like a secret and holds a literal value."],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(workloads.POLICIES, CASES) == []
