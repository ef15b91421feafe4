"""Fields of the Kubernetes backend: serving, routing and cluster access."""

from __future__ import annotations

from typing import Annotated, Literal

from modelplane_components.kubernetes_names import NAMESPACE_PATTERN, SERVICE_NAME_PATTERN, namespace_problem
from modelplane_components.kubernetes_service_args import (
    CPU_PATTERN,
    DEFAULT_MODEL_FILES_LIMIT,
    DEFAULT_MODEL_SIZE_LIMIT,
    DEFAULT_TMP_SIZE_LIMIT,
    MAX_MODEL_FILES_LIMIT,
    MEMORY_PATTERN,
    OIDC_PROVIDER_PATTERN,
    STORAGE_PATTERN,
)
from pydantic import Field, field_validator

from modelplane.settings.base import Name, SettingsModel

__all__ = [
    "SERVICE_NAME_PATTERN",
    "DnsLabel",
    "GatewayRoute",
    "KubernetesCluster",
    "KubernetesServing",
    "Resources",
    "Toleration",
]


class Resources(SettingsModel):
    """Kubernetes container resources; requests equal limits for CPU and memory unless set apart, and for
    ephemeral storage, which is what the pod's volumes may hold plus its logs."""

    cpu: str = Field(default="1", pattern=f"^{CPU_PATTERN}$")
    """CPU request (and limit, unless `cpu_limit`), a Kubernetes quantity such as `500m` or `2`."""
    memory: str = Field(default="2Gi", pattern=f"^{MEMORY_PATTERN}$")
    """Memory request and limit, a Kubernetes quantity such as `2Gi`."""
    cpu_limit: str | None = Field(default=None, pattern=f"^{CPU_PATTERN}$")
    """CPU limit; defaults to the request."""
    gpus: int = Field(default=0, ge=0, le=16)
    """`nvidia.com/gpu` devices per pod."""
    model_size_limit: str = Field(default=DEFAULT_MODEL_SIZE_LIMIT, pattern=f"^{STORAGE_PATTERN}$")
    """Most a pinned version's archive may weigh, and its model unpack to (a quantity such as `4Gi`): the
    `fetch-model` init container refuses a bigger one with its reason rather than fill the node's disk. The
    model volume's `sizeLimit` and the pods' `ephemeral-storage` requests and limits grow with it."""
    model_files_limit: int = Field(default=DEFAULT_MODEL_FILES_LIMIT, ge=1, le=MAX_MODEL_FILES_LIMIT)
    """Most files and directories a pinned version's archive may hold."""
    tmp_size_limit: str = Field(default=DEFAULT_TMP_SIZE_LIMIT, pattern=f"^{STORAGE_PATTERN}$")
    """`sizeLimit` of the `/tmp` volume, the containers' only writable place besides the model (the root
    filesystem is read-only); counted in their `ephemeral-storage`."""


class Toleration(SettingsModel):
    """A pod toleration (e.g. for a GPU node pool taint)."""

    key: str
    """Taint key."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """How the value is compared."""
    value: str | None = None
    """Taint value for Equal."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    """Taint effect tolerated."""


class GatewayRoute(SettingsModel):
    """Gateway API route that receives traffic for the service."""

    gateway_name: Name
    """Name of the Gateway to attach to."""
    gateway_namespace: Name
    """Namespace of that Gateway (also the only namespace allowed in by the NetworkPolicy)."""
    hostnames: list[str] = []
    """Host names matched by the route."""
    path_prefix: str = Field(default="/", pattern=r"^/")
    """Path prefix matched by the route."""


DnsLabel = Annotated[str, Field(pattern=f"^{NAMESPACE_PATTERN}$")]


class KubernetesServing(SettingsModel):
    """Fields that only the Kubernetes backend uses."""

    namespace: DnsLabel
    """Namespace created for the service (never `default`)."""
    port: int = Field(default=8080, ge=1024, le=65535)
    """Port the model server listens on (unprivileged)."""
    health_path: str = Field(default="/ping", pattern=r"^/")
    """HTTP path answering 200 when the model is loaded."""
    resources: Resources = Resources()
    """Container resources."""
    node_selector: dict[str, str] = {}
    """Node labels the pods require (e.g. a GPU pool)."""
    tolerations: list[Toleration] = []
    """Taints the pods tolerate."""
    gateway: GatewayRoute
    """Where traffic comes from."""
    service_monitor: bool = True
    """Create a prometheus-operator ServiceMonitor."""
    prometheus_namespace: DnsLabel = "monitoring"
    """Namespace of the Prometheus scraping the pods; the NetworkPolicy lets it in when service_monitor is on."""
    prometheus_rules: bool = True
    """Create a prometheus-operator PrometheusRule with the error and latency alerts."""

    @field_validator("namespace")
    @classmethod
    def _own_namespace(cls, namespace: str) -> str:
        if why := namespace_problem(namespace):
            raise ValueError(why)
        return namespace


class KubernetesCluster(SettingsModel):
    """How the Kubernetes provider reaches the cluster (the kubeconfig itself is secret config `modelplane:kubeconfig`)."""

    context: str | None = None
    """Context to use in the kubeconfig (the secret `modelplane:kubeconfig`, else the ambient one); its current context when unset."""
    render_yaml_to_directory: str | None = None
    """Write manifests to this directory instead of applying them (GitOps)."""
    oidc_provider_arn: str | None = Field(default=None, pattern=f"^{OIDC_PROVIDER_PATTERN}$")
    """EKS OIDC provider, for IAM roles of service accounts (IRSA)."""
