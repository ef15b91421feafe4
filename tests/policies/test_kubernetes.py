"""Rules of `policies/modelplane_guard/kubernetes.py` (Kubernetes workloads: Pod Security Standards, hardening,
probes, resources, ephemeral storage, static credentials, read-only models, encrypted capture, disruption
budgets, autoscaling):
compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from policies.modelplane_guard import kubernetes
from tests.policies.harness import (
    DELETE,
    DEPLOYMENT,
    IMAGE,
    LABELS,
    NOT_APPLICABLE,
    PREVIEW,
    PRODUCTION_OFF,
    RBAC,
    UNKNOWN,
    UNKNOWN_BOOLEAN,
    Case,
    Res,
    case_id,
    container,
    deployment,
    one,
    patched,
    run,
    uncovered,
)


def pdb(namespace: str = "recommender", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "recommender-v6", "namespace": namespace},
        "spec": {"selector": {"matchLabels": LABELS}, **(spec or {"maxUnavailable": 1})},
    }


def hpa(target: str = "recommender-v6") -> dict[str, Any]:
    return {
        "metadata": {"name": "recommender-v6", "namespace": "recommender"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 6,
        },
    }


def pod_spec(**changes: Any) -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container()],
        **changes,
    }


RESTRICTIVE = {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}


PRIVILEGED_INIT = {
    "name": "setup",
    "image": IMAGE,
    "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}},
}


ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


SERVING_RUNTIME = "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime"


def custom(spec: dict[str, Any]) -> dict[str, Any]:
    """A custom resource as a manifest writes it; the pack knows nothing of its kind."""
    return {"metadata": {"name": "ranker", "namespace": "ml-serving"}, "spec": spec}


def step(**changes: Any) -> dict[str, Any]:
    """A workflow step's container, hardened as the restricted profile asks."""
    context = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}, **RESTRICTIVE["securityContext"]}
    return {**container(), "securityContext": {**container()["securityContext"], **context}, **changes}


def fetch_model(**changes: Any) -> dict[str, Any]:
    """An init container as the Kubernetes component renders it for a pinned version: it writes the model volume."""
    fetcher = {
        key: value for key, value in container().items() if key not in ("readinessProbe", "livenessProbe", "ports")
    }
    return {
        **fetcher,
        "name": "fetch-model",
        "args": ["fetch-model"],
        "env": [{"name": "MODELPLANE_MODEL_SHA256", "value": "0" * 64}],
        "volumeMounts": [{"name": "model", "mountPath": "/opt/ml/model"}],
        **changes,
    }


def pinned(serving_mounts: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A Deployment whose fetch-model init container fills the model volume the serving container mounts."""
    pod = patched(deployment(), "spec.template.spec.initContainers", [fetch_model()])
    pod = patched(pod, "spec.template.spec.volumes", [{"name": "model", "emptyDir": {}}])
    pod = patched(pod, "spec.template.spec.containers.0.volumeMounts", serving_mounts)
    for key, value in spec.items():
        pod = patched(pod, f"spec.template.spec.{key}", value)
    return pod


def capture(*key: dict[str, Any]) -> list[dict[str, Any]]:
    """The serving container's capture settings, with the key variable given (or none)."""
    return [{"name": "MODELPLANE_CAPTURE_DESTINATION", "value": "s3://artifacts/data-capture/recommender-prod"}, *key]


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example
READ_ONLY_MODEL = {"name": "model", "mountPath": "/opt/ml/model", "readOnly": True}
STORAGE = "kubernetes-ephemeral-storage-limits"


CASES: list[Case] = [
    one("kubernetes-pod-security-restricted", "restricted", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-pod-security-restricted",
        "privileged-escalating-root",
        DEPLOYMENT,
        patched(
            patched(
                patched(
                    deployment(),
                    "spec.template.spec.containers.0.securityContext",
                    {"privileged": True, "runAsUser": 0},
                ),
                "spec.template.spec.securityContext",
                {},
            ),
            "spec.template.spec.containers.0.ports.0.hostPort",
            8080,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) is privileged.",
            "container 'model' (spec.template.spec.containers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'model' (spec.template.spec.containers[0]) may run as root: set runAsNonRoot true on the pod or the container.",
            "container 'model' (spec.template.spec.containers[0]) sets runAsUser 0 (root).",
            "container 'model' (spec.template.spec.containers[0]) does not drop ALL capabilities.",
            "container 'model' (spec.template.spec.containers[0]) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
            "container 'model' (spec.template.spec.containers[0]) ports[0] binds hostPort 8080.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "host-namespaces-and-volumes",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.hostNetwork", True),
            "spec.template.spec.volumes.0",
            {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
        ),
        [
            "spec.template.spec.hostNetwork is true: the pod shares the node's namespaces.",
            "volume 'docker' (spec.template.spec.volumes[0]) uses hostPath, not allowed by the restricted profile.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "cronjob-init-container-adds-capability",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"namespace": "batch"},
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                **deployment()["spec"]["template"]["spec"],
                                "initContainers": [
                                    patched(
                                        container(),
                                        "securityContext.capabilities.add",
                                        ["NET_BIND_SERVICE", "SYS_ADMIN"],
                                    )
                                ],
                            }
                        }
                    }
                }
            },
        },
        [
            "container 'model' (spec.jobTemplate.spec.template.spec.initContainers[0]) adds capabilities SYS_ADMIN; only NET_BIND_SERVICE is allowed."
        ],
    ),
    one("kubernetes-container-hardening", "hardened", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-container-hardening",
        "writable-low-uid",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem", False),
            "spec.template.spec.securityContext.runAsUser",
            1000,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) has a writable root filesystem; set readOnlyRootFilesystem and mount an emptyDir where it writes.",
            "container 'model' (spec.template.spec.containers[0]) runs with runAsUser 1000; use a UID of at least 10000 so it matches no host user.",
        ],
    ),
    one("kubernetes-probes", "probed", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-probes",
        "batch-jobs-need-none",
        "kubernetes:batch/v1:Job",
        {"spec": {"template": {"spec": {"containers": [patched(container(), "readinessProbe", DELETE)]}}}},
        [],
    ),
    one(
        "kubernetes-probes",
        "unprobed",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.readinessProbe", DELETE),
            "spec.template.spec.containers.0.livenessProbe",
            DELETE,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) has no readinessProbe.",
            "container 'model' (spec.template.spec.containers[0]) has no livenessProbe.",
        ],
    ),
    one("kubernetes-resource-requests-and-limits", "bounded", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-resource-requests-and-limits",
        "no-limits",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.resources.limits", DELETE),
        ["container 'model' (spec.template.spec.containers[0]) does not set resources limits.cpu, limits.memory."],
    ),
    one(STORAGE, "bounded", DEPLOYMENT, deployment(), []),
    one(
        STORAGE,
        "unbounded-volume-and-container",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.volumes.0.emptyDir", {}),
            "spec.template.spec.containers.0.resources.limits.ephemeral-storage",
            DELETE,
        ),
        [
            "emptyDir volume 'tmp' (spec.template.spec.volumes[0]) has no sizeLimit: what its containers write can fill the node's disk.",
            "container 'model' (spec.template.spec.containers[0]) does not set resources limits.ephemeral-storage.",
        ],
    ),
    one(
        STORAGE,
        "memory-backed-volume-takes-no-disk",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.volumes.0.emptyDir", {"medium": "Memory"}),
        [],
    ),
    one(
        STORAGE,
        "stateful-set-init-container-and-cache",
        "kubernetes:apps/v1:StatefulSet",
        {
            "metadata": {"name": "feature-cache", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        initContainers=[patched(container(), "resources.limits", {"cpu": "1", "memory": "2Gi"})],
                        volumes=[{"name": "cache", "emptyDir": {"sizeLimit": ""}}],
                    )
                }
            },
        },
        [
            "emptyDir volume 'cache' (spec.template.spec.volumes[0]) has no sizeLimit: what its containers write can fill the node's disk.",
            "container 'model' (spec.template.spec.initContainers[0]) does not set resources limits.ephemeral-storage.",
        ],
    ),
    one(
        STORAGE,
        "cronjob-scratch",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"name": "retrain", "namespace": "batch"},
            "spec": {
                "jobTemplate": {"spec": {"template": {"spec": pod_spec(volumes=[{"name": "scratch", "emptyDir": {}}])}}}
            },
        },
        [
            "emptyDir volume 'scratch' (spec.jobTemplate.spec.template.spec.volumes[0]) has no sizeLimit: what its containers write can fill the node's disk."
        ],
    ),
    one(
        STORAGE,
        "bare-pod-without-a-storage-limit",
        "kubernetes:core/v1:Pod",
        {
            "metadata": {"name": "scorer-debug", "namespace": "recommender"},
            "spec": pod_spec(containers=[patched(container(), "resources.limits.ephemeral-storage", DELETE)]),
        },
        ["container 'model' (spec.containers[0]) does not set resources limits.ephemeral-storage."],
    ),
    one(
        STORAGE,
        "an-unknown-size-limit-is-judged-once-known",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.volumes.0.emptyDir.sizeLimit", UNKNOWN),
        [f"{PREVIEW}string value at .spec.template.spec.volumes.0.emptyDir.sizeLimit can't be known during preview"],
    ),
    one("kubernetes-no-service-account-token", "not-mounted", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-no-service-account-token",
        "mounted-by-default",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.automountServiceAccountToken", DELETE),
        ["spec.template.spec.automountServiceAccountToken is not false: every container can call the Kubernetes API."],
    ),
    one("kubernetes-secrets-as-files", "no-secret-env", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-secrets-as-files",
        "secret-env",
        DEPLOYMENT,
        patched(
            patched(
                deployment(),
                "spec.template.spec.containers.0.env.0",
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "api"}}},
            ),
            "spec.template.spec.containers.0.envFrom",
            [{"secretRef": {"name": "db"}}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) reads secret 'tokens' into environment variable 'API_TOKEN'.",
            "container 'model' (spec.template.spec.containers[0]) loads secret 'db' into its environment.",
        ],
    ),
    one("kubernetes-no-default-namespace", "own-namespace", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-no-default-namespace",
        "cluster-scoped",
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "recommender"}},
        [],
    ),
    one(
        "kubernetes-no-default-namespace",
        "provider-namespace",
        "kubernetes:core/v1:Service",
        {"metadata": {"name": "recommender"}},
        [],
        provider_props={"namespace": "recommender"},
    ),
    one(
        "kubernetes-no-default-namespace",
        "default",
        "kubernetes:core/v1:Service",
        {"metadata": {"name": "recommender", "namespace": "default"}},
        ["Service is placed in the default namespace; give each service its own namespace."],
    ),
    one(
        "kubernetes-no-default-namespace",
        "unset",
        DEPLOYMENT,
        patched(deployment(), "metadata.namespace", DELETE),
        ["Deployment is placed in the default namespace; give each service its own namespace."],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-selects-pods",
        [Res(DEPLOYMENT, "deployment", deployment()), Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb())],
        [],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-in-other-namespace",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb("other")),
        ],
        ["deployment: Deployment 'recommender-v6' has no PodDisruptionBudget selecting its pods."],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-blocks-drains",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb(minAvailable=2)),
        ],
        [
            "deployment: the PodDisruptionBudget of Deployment 'recommender-v6' allows no disruption, which blocks node drains."
        ],
    ),
    Case(
        "kubernetes-pod-disruption-budgets",
        "budget-zero-unavailable",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", pdb(maxUnavailable="0%")),
        ],
        [
            "deployment: the PodDisruptionBudget of Deployment 'recommender-v6' allows no disruption, which blocks node drains."
        ],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "scaled",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", hpa()),
        ],
        [],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "scaler-targets-another-deployment",
        [
            Res(DEPLOYMENT, "deployment", deployment()),
            Res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", hpa("other")),
        ],
        ["deployment: Deployment 'recommender-v6' has no HorizontalPodAutoscaler."],
    ),
    Case(
        "kubernetes-autoscaling-in-production",
        "not-production",
        [Res(DEPLOYMENT, "deployment", deployment())],
        NOT_APPLICABLE,
        PRODUCTION_OFF,
    ),
    one(
        "kubernetes-pod-security-restricted",
        "cron-job",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"name": "retrain", "namespace": "recommender"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": pod_spec(restartPolicy="OnFailure")}}},
            },
        },
        [],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "cron-job-privileged-init",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"name": "retrain", "namespace": "recommender"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": pod_spec(initContainers=[PRIVILEGED_INIT])}}},
            },
        },
        [
            "container 'setup' (spec.jobTemplate.spec.template.spec.initContainers[0]) is privileged.",
            "container 'setup' (spec.jobTemplate.spec.template.spec.initContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "pod-ephemeral-debugger",
        "kubernetes:core/v1:Pod",
        {
            "metadata": {"name": "scorer-debug", "namespace": "recommender"},
            "spec": pod_spec(
                ephemeralContainers=[
                    {
                        "name": "debug",
                        "image": IMAGE,
                        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]}},
                    }
                ]
            ),
        },
        [
            "container 'debug' (spec.ephemeralContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'debug' (spec.ephemeralContainers[0]) adds capabilities SYS_PTRACE; only NET_BIND_SERVICE is allowed.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "daemon-set-host-access",
        "kubernetes:apps/v1:DaemonSet",
        {
            "metadata": {"name": "node-exporter", "namespace": "monitoring"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        hostPID=True,
                        volumes=[{"name": "proc", "hostPath": {"path": "/proc"}}],
                        securityContext={
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "kernel.msgmax", "value": "65536"}],
                        },
                    )
                }
            },
        },
        [
            "spec.template.spec.hostPID is true: the pod shares the node's namespaces.",
            "volume 'proc' (spec.template.spec.volumes[0]) uses hostPath, not allowed by the restricted profile.",
            "spec.template.spec.securityContext.sysctls sets kernel.msgmax, which the baseline profile does not allow.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "stateful-set-unmasked-proc-and-selinux",
        "kubernetes:apps/v1:StatefulSet",
        {
            "metadata": {"name": "feature-cache", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        containers=[
                            patched(
                                patched(container(), "securityContext.procMount", "Unmasked"),
                                "securityContext.seLinuxOptions",
                                {"type": "spc_t"},
                            )
                        ]
                    )
                }
            },
        },
        [
            "container 'model' (spec.template.spec.containers[0]) securityContext.seLinuxOptions sets a custom SELinux user, role or type.",
            "container 'model' (spec.template.spec.containers[0]) sets procMount Unmasked: the node's /proc is unmasked.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "replica-set-unconfined-apparmor",
        "kubernetes:apps/v1:ReplicaSet",
        {
            "metadata": {"name": "scorer", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        securityContext={
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "appArmorProfile": {"type": "Unconfined"},
                        }
                    )
                }
            },
        },
        ["spec.template.spec.securityContext.appArmorProfile is Unconfined."],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "job-with-ephemeral-debugger",
        "kubernetes:batch/v1:Job",
        {
            "metadata": {"name": "backfill", "namespace": "recommender"},
            "spec": {
                "template": {"spec": pod_spec(ephemeralContainers=[{"name": "debug", "image": IMAGE, **RESTRICTIVE}])}
            },
        },
        [],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "init-container-unbounded",
        "kubernetes:batch/v1:Job",
        {
            "metadata": {"name": "backfill", "namespace": "recommender"},
            "spec": {"template": {"spec": pod_spec(initContainers=[{"name": "fetch", "image": IMAGE, **RESTRICTIVE}])}},
        },
        [
            "container 'fetch' (spec.template.spec.initContainers[0]) does not set resources requests.cpu, requests.memory, limits.cpu, limits.memory."
        ],
    ),
    one(
        "kubernetes-no-default-namespace",
        "cluster-role-patch-is-cluster-scoped",
        f"{RBAC}:ClusterRolePatch",
        {"metadata": {"name": "view"}, "rules": []},
        [],
    ),
    # --- custom resources, searched for pods by shape -----------------------------------------------------
    one(
        "kubernetes-pod-security-restricted",
        "rollout-compliant",
        ROLLOUT,
        custom({"replicas": 3, "template": {"spec": pod_spec()}}),
        [],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "rollout-privileged",
        ROLLOUT,
        custom(
            {
                "template": {
                    "spec": pod_spec(
                        containers=[{**container(), "securityContext": PRIVILEGED_INIT["securityContext"]}]
                    )
                }
            }
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) is privileged.",
            "container 'model' (spec.template.spec.containers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "workflow-step-as-root",
        WORKFLOW,
        custom({"templates": [{"name": "train", "container": step(securityContext={"runAsUser": 0})}]}),
        [
            "container 'model' (spec.templates[0].container) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'model' (spec.templates[0].container) may run as root: set runAsNonRoot true on the pod or the container.",
            "container 'model' (spec.templates[0].container) sets runAsUser 0 (root).",
            "container 'model' (spec.templates[0].container) does not drop ALL capabilities.",
            "container 'model' (spec.templates[0].container) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "workflow-host-path",
        WORKFLOW,
        custom(
            {
                "templates": [
                    {"name": "train", "container": step(), "volumes": [{"name": "d", "hostPath": {"path": "/mnt"}}]}
                ]
            }
        ),
        ["volume 'd' (spec.templates[0].volumes[0]) uses hostPath, not allowed by the restricted profile."],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "a-resource-without-containers",
        "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
        custom({"endpoints": [{"port": "metrics"}]}),
        [],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "built-in-kinds-are-not-searched",
        "kubernetes:core/v1:ConfigMap",
        {"metadata": {"name": "pods", "namespace": "ml"}, "data": {"pod": "containers: [{image: x}]"}},
        [],
    ),
    one(
        "kubernetes-no-service-account-token",
        "inference-service-predictor",
        INFERENCE_SERVICE,
        custom({"predictor": {"containers": [container()]}}),
        ["spec.predictor.automountServiceAccountToken is not false: every container can call the Kubernetes API."],
    ),
    one(
        "kubernetes-no-service-account-token",
        "a-runtime-fragment-leaves-the-token-to-its-pods",
        SERVING_RUNTIME,
        custom({"supportedModelFormats": [{"name": "sklearn"}], "containers": [container()]}),
        [],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "a-runtime-fragment-is-judged-for-what-it-sets",
        SERVING_RUNTIME,
        custom({"containers": [step(securityContext={**step()["securityContext"], "privileged": True})]}),
        ["container 'model' (spec.containers[0]) is privileged."],
    ),
    one(
        "kubernetes-no-service-account-token",
        "a-workflow-step-is-no-pod-spec",
        WORKFLOW,
        custom({"templates": [{"name": "train", "container": step()}]}),
        [],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "tekton-step",
        "kubernetes:tekton.dev/v1:Task",
        custom({"steps": [{"name": "build", "image": IMAGE, "script": "make image"}]}),
        [
            "container 'build' (spec.steps[0]) does not set resources requests.cpu, requests.memory, limits.cpu, limits.memory."
        ],
    ),
    one(
        "kubernetes-secrets-as-files",
        "spark-driver",
        "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication",
        custom(
            {
                "driver": {
                    **container(),
                    "name": "driver",
                    "env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}],
                }
            }
        ),
        ["container 'driver' (spec.driver) reads secret 'db' into environment variable 'DB'."],
    ),
    one("kubernetes-no-static-cloud-credentials", "irsa", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-no-static-cloud-credentials",
        "keys-in-an-init-container",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.initContainers",
            [
                {
                    **container(),
                    "name": "fetch-model",
                    "env": [
                        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "aws", "key": "id"}}},
                        {"name": "aws_secret_access_key", "value": "literal"},
                    ],
                    "volumeMounts": [{"name": "aws", "mountPath": "/home/app/.aws", "readOnly": True}],
                }
            ],
        ),
        [
            "container 'fetch-model' (spec.template.spec.initContainers[0]) passes cloud credentials in"
            " 'AWS_ACCESS_KEY_ID' (from a secret); give the pod an identity instead.",
            "container 'fetch-model' (spec.template.spec.initContainers[0]) passes cloud credentials in"
            " 'aws_secret_access_key' (from a literal value); give the pod an identity instead.",
            "container 'fetch-model' (spec.template.spec.initContainers[0]) mounts 'aws' at /home/app/.aws, where"
            " the cloud SDKs read credentials files.",
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "gcp-key-file",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env.0",
            {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"},
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) passes cloud credentials in"
            " 'GOOGLE_APPLICATION_CREDENTIALS' (from a literal value); give the pod an identity instead."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "legacy-and-java-sdk-variable-names",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            [
                {"name": "AWS_SECURITY_TOKEN", "value": "FwoGZXIvYXdzE"},
                {"name": "AWS_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws", "key": "id"}}},
                {"name": "AWS_SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "aws", "key": "secret"}}},
            ],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) passes cloud credentials in"
            " 'AWS_SECURITY_TOKEN' (from a literal value); give the pod an identity instead.",
            "container 'model' (spec.template.spec.containers[0]) passes cloud credentials in"
            " 'AWS_ACCESS_KEY' (from a secret); give the pod an identity instead.",
            "container 'model' (spec.template.spec.containers[0]) passes cloud credentials in"
            " 'AWS_SECRET_KEY' (from a secret); give the pod an identity instead.",
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "access-key-id-in-a-variable-of-another-name",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.env.0", {"name": "S3_KEY", "value": EXAMPLE_KEY_ID}),
        [
            "container 'model' (spec.template.spec.containers[0]) passes an AWS access key id in 'S3_KEY';"
            " give the pod an identity instead."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "keys-on-the-command-line-and-a-credentials-file-in-a-variable",
        DEPLOYMENT,
        patched(
            patched(
                deployment(),
                "spec.template.spec.containers.0.args",
                ["sync", "--access-key", EXAMPLE_KEY_ID, "--secret-key", "wJalrXUtnFEMI"],
            ),
            "spec.template.spec.containers.0.env.0",
            {"name": "BOTO_CONFIG_TEXT", "value": "[default]\naws_secret_access_key = wJalrXUtnFEMI\n"},
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) passes an AWS credentials file in"
            " 'BOTO_CONFIG_TEXT'; give the pod an identity instead.",
            "container 'model' (spec.template.spec.containers[0]) passes an AWS access key id in its args; give the"
            " pod an identity instead.",
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "config-file-from-a-projected-secret",
        DEPLOYMENT,
        patched(
            patched(
                patched(
                    deployment(),
                    "spec.template.spec.volumes",
                    [
                        {"name": "aws", "projected": {"sources": [{"secret": {"name": "aws-profile"}}]}},
                        {"name": "settings", "configMap": {"name": "aws-settings"}},
                    ],
                ),
                "spec.template.spec.containers.0.volumeMounts",
                [{"name": "aws", "mountPath": "/etc/aws"}, {"name": "settings", "mountPath": "/etc/settings"}],
            ),
            "spec.template.spec.containers.0.env",
            [{"name": "AWS_CONFIG_FILE", "value": "/etc/aws/config"}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) points AWS_CONFIG_FILE at /etc/aws/config, a file"
            " from a Secret: an AWS configuration file kept secret holds keys; give the pod an identity instead."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "config-file-from-a-config-map",
        DEPLOYMENT,
        patched(
            patched(
                patched(
                    deployment(),
                    "spec.template.spec.volumes",
                    [{"name": "settings", "configMap": {"name": "aws-settings"}}],
                ),
                "spec.template.spec.containers.0.volumeMounts",
                [{"name": "settings", "mountPath": "/etc/aws"}],
            ),
            "spec.template.spec.containers.0.env",
            [{"name": "AWS_CONFIG_FILE", "value": "/etc/aws/config"}],
        ),
        [],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "a-secret-key-that-is-not-aws",
        SECRET,
        {"metadata": {"name": "web", "namespace": "recommender"}, "stringData": {"SECRET_KEY": "django"}},
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "read-only",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.volumeMounts",
            [{"name": "model", "mountPath": "/opt/ml/model", "readOnly": True}],
        ),
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "the-fetching-init-container-writes-it",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.initContainers",
            [{**container(), "name": "fetch-model", "volumeMounts": [{"name": "model", "mountPath": "/opt/ml/model"}]}],
        ),
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "writable",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.volumeMounts",
            [{"name": "model", "mountPath": "/opt/ml/model/"}, {"name": "kserve", "mountPath": "/mnt/models"}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) mounts its model directory /opt/ml/model writable:"
            " the served model could be changed after it was verified.",
            "container 'model' (spec.template.spec.containers[0]) mounts its model directory /mnt/models writable:"
            " the served model could be changed after it was verified.",
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "configured-path",
        DEPLOYMENT,
        patched(deployment(), "spec.template.spec.containers.0.volumeMounts", [{"name": "m", "mountPath": "/models"}]),
        [
            "container 'model' (spec.template.spec.containers[0]) mounts its model directory /models writable:"
            " the served model could be changed after it was verified."
        ],
        config={"modelPaths": ["/models"]},
    ),
    one("kubernetes-data-capture-encrypted", "no-capture", DEPLOYMENT, deployment(), []),
    one(
        "kubernetes-data-capture-encrypted",
        "stack-key",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            [
                {"name": "MODELPLANE_CAPTURE_DESTINATION", "value": "s3://artifacts/data-capture/recommender-prod"},
                {"name": "MODELPLANE_CAPTURE_KMS_KEY_ID", "value": "arn:aws:kms:eu-west-1:123456789012:key/1234"},
            ],
        ),
        [],
    ),
    one(
        "kubernetes-data-capture-encrypted",
        "no-key",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            [{"name": "MODELPLANE_CAPTURE_DESTINATION", "value": "s3://artifacts/data-capture/recommender-prod"}],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) captures requests without"
            " MODELPLANE_CAPTURE_KMS_KEY_ID: the capture would not be encrypted with a customer key."
        ],
    ),
    one(
        "kubernetes-data-capture-encrypted",
        "aws-managed-key",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            [
                {"name": "MODELPLANE_CAPTURE_DESTINATION", "value": "s3://artifacts/data-capture/recommender-prod"},
                {"name": "MODELPLANE_CAPTURE_KMS_KEY_ID", "value": "alias/aws/s3"},
            ],
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) encrypts its capture with the AWS managed key"
            " alias/aws/s3, not a customer key."
        ],
    ),
    one("kubernetes-pod-security-restricted", "fetch-model-init-container", DEPLOYMENT, pinned([READ_ONLY_MODEL]), []),
    one("kubernetes-container-hardening", "fetch-model-init-container", DEPLOYMENT, pinned([READ_ONLY_MODEL]), []),
    one(
        "kubernetes-pod-security-restricted",
        "fetch-model-init-container-escalating",
        DEPLOYMENT,
        pinned([READ_ONLY_MODEL], initContainers=[fetch_model(securityContext={"readOnlyRootFilesystem": True})]),
        [
            "container 'fetch-model' (spec.template.spec.initContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'fetch-model' (spec.template.spec.initContainers[0]) does not drop ALL capabilities.",
        ],
    ),
    one(
        "kubernetes-container-hardening",
        "fetch-model-init-container-writable-root",
        DEPLOYMENT,
        pinned(
            [READ_ONLY_MODEL],
            initContainers=[fetch_model(securityContext={**RESTRICTIVE["securityContext"], "runAsUser": 1000})],
        ),
        [
            "container 'fetch-model' (spec.template.spec.initContainers[0]) has a writable root filesystem; set readOnlyRootFilesystem and mount an emptyDir where it writes.",
            "container 'fetch-model' (spec.template.spec.initContainers[0]) runs with runAsUser 1000; use a UID of at least 10000 so it matches no host user.",
        ],
    ),
    one("kubernetes-no-static-cloud-credentials", "pinned-with-irsa", DEPLOYMENT, pinned([READ_ONLY_MODEL]), []),
    one(
        "kubernetes-no-static-cloud-credentials",
        "ephemeral-container-session-token",
        "kubernetes:core/v1:Pod",
        {
            "metadata": {"name": "scorer-debug", "namespace": "recommender"},
            "spec": pod_spec(
                ephemeralContainers=[
                    {"name": "debug", "image": IMAGE, "env": [{"name": "AWS_SESSION_TOKEN", "value": "FwoGZXIvYXdzE"}]}
                ]
            ),
        },
        [
            "container 'debug' (spec.ephemeralContainers[0]) passes cloud credentials in 'AWS_SESSION_TOKEN' (from a"
            " literal value); give the pod an identity instead."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "job-mounts-a-credentials-file",
        "kubernetes:batch/v1:Job",
        {
            "metadata": {"name": "backfill", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        initContainers=[
                            fetch_model(
                                volumeMounts=[
                                    {"name": "keys", "mountPath": "/root/.aws/credentials", "subPath": "credentials"}
                                ]
                            )
                        ]
                    )
                }
            },
        },
        [
            "container 'fetch-model' (spec.template.spec.initContainers[0]) mounts 'keys' at /root/.aws/credentials,"
            " where the cloud SDKs read credentials files."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "inference-service-keys-from-a-secret",
        INFERENCE_SERVICE,
        custom(
            {
                "predictor": {
                    "model": {
                        **container(),
                        "name": "kserve-container",
                        "env": [
                            {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "k"}}}
                        ],
                    }
                }
            }
        ),
        [
            "container 'kserve-container' (spec.predictor.model) passes cloud credentials in 'AWS_SECRET_ACCESS_KEY'"
            " (from a secret); give the pod an identity instead."
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "secret-for-env-from",
        SECRET,
        {
            "metadata": {"name": "s3", "namespace": "recommender"},
            "stringData": {"AWS_ACCESS_KEY_ID": "id", "aws_secret_access_key": "key", "BUCKET": "artifacts"},
        },
        [
            "Secret key 'AWS_ACCESS_KEY_ID' names static cloud credentials, which a pod reading it (env, envFrom or a"
            " volume) runs on.",
            "Secret key 'aws_secret_access_key' names static cloud credentials, which a pod reading it (env, envFrom or"
            " a volume) runs on.",
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "secret-for-env-from-with-an-aws-prefix",
        SECRET,
        {
            "metadata": {"name": "s3", "namespace": "recommender"},
            "stringData": {"ACCESS_KEY_ID": "id", "SECRET_ACCESS_KEY": "key", "REGION": "eu-west-1"},
        },
        [
            "Secret key 'ACCESS_KEY_ID' names static cloud credentials, which a pod reading it (env, envFrom or a"
            " volume) runs on.",
            "Secret key 'SECRET_ACCESS_KEY' names static cloud credentials, which a pod reading it (env, envFrom or"
            " a volume) runs on.",
        ],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "secret-credentials-file-for-a-volume",
        SECRET,
        {
            "metadata": {"name": "aws", "namespace": "recommender"},
            "data": {
                "credentials": encoded("[default]\naws_access_key_id = id\naws_secret_access_key = key\n"),
                "ca.pem": encoded("-----BEGIN CERTIFICATE-----"),
            },
        },
        ["Secret key 'credentials' holds an AWS credentials file: static credentials for any pod that reads it."],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "config-map-access-key-id",
        CONFIG_MAP,
        {"metadata": {"name": "settings", "namespace": "recommender"}, "data": {"S3_KEY": EXAMPLE_KEY_ID}},
        ["ConfigMap key 'S3_KEY' holds an AWS access key id: static credentials for any pod that reads it."],
    ),
    one(
        "kubernetes-no-static-cloud-credentials",
        "config-map-settings",
        CONFIG_MAP,
        {
            "metadata": {"name": "settings", "namespace": "recommender"},
            "data": {"AWS_REGION": "eu-west-1", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/recommender"},
            "binaryData": {"model.cfg": encoded("threshold = 0.4")},
        },
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "pinned-read-only",
        DEPLOYMENT,
        pinned([READ_ONLY_MODEL, {"name": "scratch", "mountPath": "/var/cache/scorer"}]),
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "a-sidecar-writes-the-served-volume",
        DEPLOYMENT,
        pinned(
            [READ_ONLY_MODEL],
            containers=[
                {**container(), "volumeMounts": [READ_ONLY_MODEL]},
                {**container(), "name": "sync", "volumeMounts": [{"name": "model", "mountPath": "/data"}]},
                {**container(), "name": "reader", "volumeMounts": [{**READ_ONLY_MODEL, "mountPath": "/data"}]},
            ],
        ),
        [
            "container 'sync' (spec.template.spec.containers[1]) mounts 'model' at /data writable, the volume"
            " container 'model' serves its model directory /opt/ml/model from: the served model could be changed"
            " after it was verified."
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "a-native-sidecar-writes-the-served-volume",
        DEPLOYMENT,
        pinned(
            [READ_ONLY_MODEL],
            initContainers=[
                fetch_model(),
                fetch_model(
                    name="refresh", restartPolicy="Always", volumeMounts=[{"name": "model", "mountPath": "/m"}]
                ),
            ],
        ),
        [
            "container 'refresh' (spec.template.spec.initContainers[1]) mounts 'model' at /m writable, the volume"
            " container 'model' serves its model directory /opt/ml/model from: the served model could be changed"
            " after it was verified."
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "a-sidecar-writes-another-sub-path-of-the-volume",
        DEPLOYMENT,
        pinned(
            [{**READ_ONLY_MODEL, "subPath": "model"}],
            containers=[
                {**container(), "volumeMounts": [{**READ_ONLY_MODEL, "subPath": "model"}]},
                {
                    **container(),
                    "name": "logs",
                    "volumeMounts": [{"name": "model", "mountPath": "/logs", "subPath": "logs"}],
                },
                {
                    **container(),
                    "name": "sync",
                    "volumeMounts": [{"name": "model", "mountPath": "/data", "subPath": "model/v2"}],
                },
            ],
        ),
        [
            "container 'sync' (spec.template.spec.containers[2]) mounts 'model' at /data writable, the volume"
            " container 'model' serves its model directory /opt/ml/model from: the served model could be changed"
            " after it was verified."
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "writable-parent",
        DEPLOYMENT,
        pinned([{"name": "model", "mountPath": "/opt/ml"}]),
        [
            "container 'model' (spec.template.spec.containers[0]) mounts /opt/ml, which holds its model directory"
            " /opt/ml/model, writable: the served model could be changed after it was verified."
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "writable-parent-shadowed-by-a-read-only-model-mount",
        DEPLOYMENT,
        pinned([{"name": "scratch", "mountPath": "/opt/ml"}, READ_ONLY_MODEL]),
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "writable-inside",
        DEPLOYMENT,
        pinned([READ_ONLY_MODEL, {"name": "cache", "mountPath": "/opt/ml/model/cache"}]),
        [
            "container 'model' (spec.template.spec.containers[0]) mounts /opt/ml/model/cache, inside its model"
            " directory /opt/ml/model, writable: the served model could be changed after it was verified."
        ],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "read-only-claim",
        DEPLOYMENT,
        pinned(
            [{"name": "model", "mountPath": "/opt/ml/model"}],
            volumes=[{"name": "model", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}}],
        ),
        [],
    ),
    one(
        "kubernetes-read-only-model-volume",
        "inference-service-writable-storage",
        INFERENCE_SERVICE,
        custom(
            {
                "predictor": {
                    "model": {
                        **container(),
                        "name": "kserve-container",
                        "volumeMounts": [{"name": "storage", "mountPath": "/mnt/models"}],
                    }
                }
            }
        ),
        [
            "container 'kserve-container' (spec.predictor.model) mounts its model directory /mnt/models writable: the"
            " served model could be changed after it was verified."
        ],
    ),
    one(
        "kubernetes-data-capture-encrypted",
        "key-from-a-config-map",
        DEPLOYMENT,
        patched(
            deployment(),
            "spec.template.spec.containers.0.env",
            capture(
                {
                    "name": "MODELPLANE_CAPTURE_KMS_KEY_ID",
                    "valueFrom": {"configMapKeyRef": {"name": "keys", "key": "capture"}},
                }
            ),
        ),
        [],
    ),
    one(
        "kubernetes-data-capture-encrypted",
        "rollout-empty-key",
        ROLLOUT,
        custom(
            {
                "template": {
                    "spec": pod_spec(
                        containers=[
                            {**container(), "env": capture({"name": "MODELPLANE_CAPTURE_KMS_KEY_ID", "value": ""})}
                        ]
                    )
                }
            }
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) captures requests without"
            " MODELPLANE_CAPTURE_KMS_KEY_ID: the capture would not be encrypted with a customer key."
        ],
    ),
]

# --- patches and lists of built-in kinds ----------------------------------------------------------------
PRIVILEGED = {"name": "sidecar", "image": IMAGE, "securityContext": {"privileged": True}}
RESTRICTED = "kubernetes-pod-security-restricted"
HARDENING = "kubernetes-container-hardening"
SPARK = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"
KNATIVE = "kubernetes:serving.knative.dev/v1:Service"
HARDENED_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
SECRET_ENV = [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"}]


def patch(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "recommender-v6", "namespace": "recommender"}, "spec": spec}


CASES += [
    # A patch (server-side apply) changes only what it names: what it sets is judged, what it leaves out is not.
    one(
        RESTRICTED,
        "deployment-patch-makes-a-container-privileged",
        "kubernetes:apps/v1:DeploymentPatch",
        patch({"template": {"spec": {"containers": [PRIVILEGED]}}}),
        ["container 'sidecar' (spec.template.spec.containers[0]) is privileged."],
    ),
    one(
        RESTRICTED,
        "cron-job-patch-joins-the-host-network",
        "kubernetes:batch/v1:CronJobPatch",
        patch({"jobTemplate": {"spec": {"template": {"spec": {"hostNetwork": True}}}}}),
        ["spec.jobTemplate.spec.template.spec.hostNetwork is true: the pod shares the node's namespaces."],
    ),
    one(
        RESTRICTED,
        "pod-patch-changing-only-the-image",
        "kubernetes:core/v1:PodPatch",
        patch({"containers": [{"name": "model", "image": IMAGE}]}),
        [],
    ),
    one(
        HARDENING,
        "stateful-set-patch-with-a-writable-root-filesystem",
        "kubernetes:apps/v1:StatefulSetPatch",
        patch(
            {
                "template": {
                    "spec": {"containers": [{"name": "model", "securityContext": {"readOnlyRootFilesystem": False}}]}
                }
            }
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) has a writable root filesystem; set readOnlyRootFilesystem and mount an emptyDir where it writes."
        ],
    ),
    one(
        "kubernetes-no-service-account-token",
        "deployment-patch-leaving-the-token-as-it-is",
        "kubernetes:apps/v1:DeploymentPatch",
        patch({"replicas": 3}),
        [],
    ),
    one(
        RESTRICTED,
        "a-list-of-deployments",
        "kubernetes:apps/v1:DeploymentList",
        {
            "items": [
                deployment(),
                patched(deployment(), "spec.template.spec.containers.0.securityContext.privileged", True),
            ]
        },
        ["container 'model' (items[1].spec.template.spec.containers[0]) is privileged."],
    ),
    # --- containers whose shape says so, whatever supplies the image ---------------------------------
    one(
        RESTRICTED,
        "knative-container-with-only-an-image",
        KNATIVE,
        custom({"template": {"spec": pod_spec(containers=[{"image": IMAGE}])}}),
        [
            "container '?' (spec.template.spec.containers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container '?' (spec.template.spec.containers[0]) does not drop ALL capabilities.",
        ],
    ),
    one(
        RESTRICTED,
        "kserve-model-whose-runtime-supplies-the-image",
        INFERENCE_SERVICE,
        custom(
            {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "sklearn"},
                        "storageUri": "s3://models/fraud",
                        "securityContext": {"privileged": True},
                        "env": SECRET_ENV,
                    }
                }
            }
        ),
        [
            "container 'model' (spec.predictor.model) is privileged.",
            "container 'model' (spec.predictor.model) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'model' (spec.predictor.model) may run as root: set runAsNonRoot true on the pod or the container.",
            "container 'model' (spec.predictor.model) does not drop ALL capabilities.",
            "container 'model' (spec.predictor.model) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
        ],
    ),
    one(
        RESTRICTED,
        "kserve-model-without-container-settings-is-the-runtimes-business",
        INFERENCE_SERVICE,
        custom({"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/fraud"}}}),
        [],
    ),
    one(
        RESTRICTED,
        "operator-pod-settings-without-containers-are-no-container",
        "kubernetes:monitoring.coreos.com/v1:Prometheus",
        custom(
            {
                "replicas": 2,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 2000},
                "resources": {"requests": {"memory": "400Mi"}},
            }
        ),
        [],
    ),
    one(
        RESTRICTED,
        "spark-driver-privileged-and-its-sidecar",
        SPARK,
        custom(
            {
                "image": IMAGE,
                "driver": {
                    "cores": 1,
                    "securityContext": {**HARDENED_CONTEXT, "privileged": True},
                    "sidecars": [PRIVILEGED],
                },
                "executor": {"instances": 2, "securityContext": HARDENED_CONTEXT},
                "securityContext": {"runAsNonRoot": True},
            }
        ),
        [
            # The application's pod-level securityContext applies to the driver's and the executors' pods.
            "container 'executor' (spec.executor) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
            "container 'driver' (spec.driver) is privileged.",
            "container 'driver' (spec.driver) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
            "container 'sidecar' (spec.driver.sidecars[0]) is privileged.",
            "container 'sidecar' (spec.driver.sidecars[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'sidecar' (spec.driver.sidecars[0]) does not drop ALL capabilities.",
            "container 'sidecar' (spec.driver.sidecars[0]) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
        ],
    ),
    one(
        STORAGE,
        "argo-workflow-scratch-and-step",
        WORKFLOW,
        custom(
            {
                "templates": [
                    {
                        "name": "train",
                        "container": step(resources={"limits": {"cpu": "1", "memory": "2Gi"}}),
                        "volumes": [{"name": "work", "emptyDir": {}}],
                    }
                ]
            }
        ),
        [
            "emptyDir volume 'work' (spec.templates[0].volumes[0]) has no sizeLimit: what its containers write can fill the node's disk.",
            "container 'model' (spec.templates[0].container) does not set resources limits.ephemeral-storage.",
        ],
    ),
    one(
        STORAGE,
        "spark-executor-sized-by-its-operator",
        SPARK,
        custom({"image": IMAGE, "executor": {"instances": 2, "cores": 2, "memory": "4g"}}),
        [],
    ),
    one(
        STORAGE,
        "deployment-patch-leaves-what-it-does-not-name",
        "kubernetes:apps/v1:DeploymentPatch",
        patch(
            {
                "template": {
                    "spec": {
                        "containers": [{"name": "model", "image": IMAGE}],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    }
                }
            }
        ),
        [],
    ),
    one(
        STORAGE,
        "batch-job-pod-scratch",
        "aws:batch/jobDefinition:JobDefinition",
        {
            "type": "container",
            "eksProperties": {
                "podProperties": {
                    "containers": [{"name": "train", "image": IMAGE}],
                    "volumes": [{"name": "scratch", "emptyDir": {"medium": ""}}],
                }
            },
        },
        [
            "emptyDir volume 'scratch' (eksProperties.podProperties.volumes[0]) has no sizeLimit: what its containers write can fill the node's disk."
        ],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "spark-executor-sized-by-its-operator",
        SPARK,
        custom(
            {
                "image": IMAGE,
                "executor": {"instances": 2, "cores": 2, "memory": "4g", "securityContext": HARDENED_CONTEXT},
            }
        ),
        [],
    ),
    # --- the Kubernetes pod of a Batch job on EKS: what it sets, and the host network Batch defaults to --
    one(
        RESTRICTED,
        "batch-job-pod-on-the-host-network",
        "aws:batch/jobDefinition:JobDefinition",
        {
            "type": "container",
            "eksProperties": {
                "podProperties": {
                    "containers": [{"name": "train", "image": IMAGE, "securityContext": {"privileged": True}}]
                }
            },
        },
        [
            "eksProperties.podProperties.hostNetwork is not set, so it is true (the default): the pod shares the node's namespaces.",
            "container 'train' (eksProperties.podProperties.containers[0]) is privileged.",
        ],
    ),
    one(
        RESTRICTED,
        "batch-job-pod-off-the-host-network",
        "aws:batch/jobDefinition:JobDefinition",
        {
            "type": "container",
            "eksProperties": {
                "podProperties": {
                    "hostNetwork": False,
                    "containers": [
                        {
                            "name": "train",
                            "image": IMAGE,
                            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "privileged": False},
                        }
                    ],
                }
            },
        },
        [],
    ),
    # --- pod-level settings above the containers (Argo workflows) ------------------------------------
    one(
        RESTRICTED,
        "workflow-level-pod-security-context",
        WORKFLOW,
        custom(
            {
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "templates": [{"name": "train", "container": {**container(), "securityContext": HARDENED_CONTEXT}}],
            }
        ),
        [],
    ),
    one(
        HARDENING,
        "workflow-level-user",
        WORKFLOW,
        custom(
            {
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "templates": [{"name": "train", "container": {**container(), "securityContext": HARDENED_CONTEXT}}],
            }
        ),
        [],
    ),
    one(
        RESTRICTED,
        "workflow-level-host-network-and-host-path",
        WORKFLOW,
        custom(
            {
                "hostNetwork": True,
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "volumes": [{"name": "data", "hostPath": {"path": "/"}}],
                "templates": [
                    {"name": "train", "container": {**container(), "securityContext": HARDENED_CONTEXT}},
                    {"name": "score", "container": {**container(), "securityContext": HARDENED_CONTEXT}},
                ],
            }
        ),
        [
            "spec.hostNetwork is true: the pod shares the node's namespaces.",
            "volume 'data' (spec.volumes[0]) uses hostPath, not allowed by the restricted profile.",
        ],
    ),
    one(
        RESTRICTED,
        "a-template-overrides-the-workflow-context",
        WORKFLOW,
        custom(
            {
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "templates": [
                    {
                        "name": "train",
                        "securityContext": {"runAsNonRoot": False},
                        "container": {**container(), "securityContext": HARDENED_CONTEXT},
                    }
                ],
            }
        ),
        [
            "container 'model' (spec.templates[0].container) may run as root: set runAsNonRoot true on the pod or the container."
        ],
    ),
    one(
        "kubernetes-no-service-account-token",
        "workflow-level-token",
        WORKFLOW,
        custom({"automountServiceAccountToken": True, "templates": [{"name": "train", "container": step()}]}),
        ["spec.automountServiceAccountToken is not false: every container can call the Kubernetes API."],
    ),
    # --- values not known during preview cost only the verdicts that read them -----------------------
    one(
        RESTRICTED,
        "an-unknown-value-beside-a-privileged-container",
        ROLLOUT,
        custom(
            {
                "template": {
                    "spec": pod_spec(
                        serviceAccountName=UNKNOWN,
                        containers=[
                            {**container(), "securityContext": {**RESTRICTIVE["securityContext"], "privileged": True}}
                        ],
                    )
                }
            }
        ),
        ["container 'model' (spec.template.spec.containers[0]) is privileged."],
    ),
    one(
        RESTRICTED,
        "an-unknown-image-is-still-a-container",
        INFERENCE_SERVICE,
        custom(
            {
                "predictor": pod_spec(
                    containers=[{"name": "m", "image": UNKNOWN, "securityContext": {"privileged": True}}]
                )
            }
        ),
        [
            "container 'm' (spec.predictor.containers[0]) is privileged.",
            "container 'm' (spec.predictor.containers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'm' (spec.predictor.containers[0]) does not drop ALL capabilities.",
        ],
    ),
    one(
        RESTRICTED,
        "an-unknown-setting-of-one-container",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.containers.0.securityContext.privileged", UNKNOWN_BOOLEAN),
            "spec.template.spec.initContainers",
            [PRIVILEGED],
        ),
        [
            "container 'sidecar' (spec.template.spec.initContainers[0]) is privileged.",
            "container 'sidecar' (spec.template.spec.initContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'sidecar' (spec.template.spec.initContainers[0]) does not drop ALL capabilities.",
            f"{PREVIEW}boolean value at .spec.template.spec.containers.0.securityContext.privileged can't be known during preview",
        ],
    ),
    one(
        RESTRICTED,
        "an-unknown-pod-level-setting-waits-only-for-the-checks-that-read-it",
        DEPLOYMENT,
        patched(
            patched(deployment(), "spec.template.spec.securityContext.runAsNonRoot", UNKNOWN_BOOLEAN),
            "spec.template.spec.containers.0.securityContext.privileged",
            True,
        ),
        [
            "container 'model' (spec.template.spec.containers[0]) is privileged.",
            f"{PREVIEW}boolean value at .spec.template.spec.securityContext.runAsNonRoot can't be known during preview",
        ],
    ),
    # A Helm release's values configure the pods its chart renders: searched by shape.
    one(
        RESTRICTED,
        "helm-release-values-join-the-host",
        "kubernetes:helm.sh/v3:Release",
        {
            "chart": "node-exporter",
            "namespace": "monitoring",
            "values": {"hostNetwork": True, "hostPID": True, "securityContext": HARDENED_CONTEXT},
        },
        [
            "values.hostNetwork is true: the pod shares the node's namespaces.",
            "values.hostPID is true: the pod shares the node's namespaces.",
            "container 'values' (values) may run as root: set runAsNonRoot true on the pod or the container.",
            "container 'values' (values) has no RuntimeDefault or Localhost seccompProfile (pod or container).",
        ],
    ),
    one(
        RESTRICTED,
        "helm-release-values-without-pod-settings",
        "kubernetes:helm.sh/v3:Release",
        {"chart": "scorer", "namespace": "ml", "values": {"replicaCount": 2, "service": {"type": "ClusterIP"}}},
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(kubernetes.POLICIES, CASES) == []
