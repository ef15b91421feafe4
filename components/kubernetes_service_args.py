"""Arguments of `KubernetesModelService` and Kubernetes' rules on them.

Apart from the component so that the rules load without the Kubernetes SDK: modelplane's settings
run them on every stack file with a Kubernetes endpoint.
"""

import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi

from ._common import Problem, Tags, at, image_problems
from .kubernetes_names import NAMESPACE_PATTERN, namespace_problem, object_name_problem
from .monitoring_args import AlarmThresholdsArgs, threshold_problems
from .sagemaker_endpoint_args import DEFAULT_SAMPLING_PERCENT, DataCaptureArgs, captured_modes

CPU_PATTERN = r"\d+(\.\d+)?m?"
MEMORY_PATTERN = r"\d+(Ki|Mi|Gi|Ti)?"
STORAGE_PATTERN = MEMORY_PATTERN
BINARY_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
# What a pinned version's archive may cost the pods' disk unless raised (modelplane_serving.fetch_model's
# defaults): any single-file ONNX model (protobuf caps one at 2 GB), far more files than a model holds.
DEFAULT_MODEL_SIZE_LIMIT = "2Gi"
DEFAULT_MODEL_FILES_LIMIT = 10_000
# The /tmp every container writes scratch to: request bodies a server spools, a runtime's small caches.
DEFAULT_TMP_SIZE_LIMIT = "256Mi"
MAX_MODEL_FILES_LIMIT = 1_000_000
METRIC_NAME_PATTERN = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
OIDC_PROVIDER_PATTERN = r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+"


class PodResourcesArgs(TypedDict):
    """Container resources; CPU limit equals the request unless set apart, memory request equals the limit."""

    cpu: NotRequired[str]
    """CPU request (`500m`, `2`); default 1."""
    memory: NotRequired[str]
    """Memory request and limit (`2Gi`); default 2Gi."""
    cpu_limit: NotRequired[str]
    """CPU limit; default the request."""
    gpus: NotRequired[int]
    """`nvidia.com/gpu` devices per pod; default 0."""
    model_size_limit: NotRequired[str]
    """Most a pinned version's archive may weigh, and its model unpack to (`4Gi`); default 2Gi. `fetch-model`
    refuses a bigger one; the model volume and the pods' ephemeral storage are sized from it."""
    model_files_limit: NotRequired[int]
    """Most files and directories a pinned version's archive may hold; default 10000."""
    tmp_size_limit: NotRequired[str]
    """Size limit of the `/tmp` volume, the containers' only writable place besides the model (`1Gi`);
    default 256Mi."""


class TolerationArgs(TypedDict):
    """A pod toleration (e.g. for a GPU node pool taint)."""

    key: str
    """Taint key."""
    operator: NotRequired[str]
    """`Equal` or `Exists`; default Equal."""
    value: NotRequired[str]
    """Taint value for Equal."""
    effect: NotRequired[str]
    """`NoSchedule`, `PreferNoSchedule` or `NoExecute`; default NoSchedule."""


class PodAutoscalingArgs(TypedDict):
    """A HorizontalPodAutoscaler per variant: CPU utilisation, or a per-pod custom metric."""

    min_replicas: int
    """Fewest pods per variant."""
    max_replicas: int
    """Most pods per variant."""
    target_cpu_percent: NotRequired[int]
    """Average CPU utilisation to hold when no custom metric is set; default 70."""
    custom_metric: NotRequired[str]
    """A per-pod metric served by the metrics adapter, used instead of CPU."""
    custom_metric_target: NotRequired[float]
    """Per-pod value of `custom_metric` to hold; default 100."""
    scale_in_cooldown_seconds: NotRequired[int]
    """Scale-down stabilisation window; default 300."""
    scale_out_cooldown_seconds: NotRequired[int]
    """Scale-up stabilisation window; default 60."""


class GatewayRouteArgs(TypedDict):
    """The Gateway (already running in the cluster) the route attaches to, and what the route matches."""

    gateway_name: str
    """Name of the Gateway."""
    gateway_namespace: str
    """Namespace of the Gateway, also the only namespace the NetworkPolicy lets in."""
    hostnames: NotRequired[Sequence[str]]
    """Host names matched by the route; default any."""
    path_prefix: NotRequired[str]
    """Path prefix matched by the route; default `/`."""


class KubernetesVariantArgs(TypedDict):
    """One model version serving traffic (or a mirrored copy, for the shadow)."""

    name: str
    """Variant name; its Deployment and Service are `<instance_name>-<name>`."""
    image_tag: NotRequired[str]
    """Immutable tag of the image in the repository; set this or `image_digest`."""
    image_digest: NotRequired[str]
    """Digest of the image (`sha256:...`); set this or `image_tag`."""
    model_package_version: NotRequired[int]
    """Version in the model package group: its pods run the image the version records, and an init container
    fetches the version's archive and checks its recorded sha256 before the server starts."""
    replicas: NotRequired[int]
    """Pods when there is no autoscaling; default 1."""
    weight: NotRequired[int]
    """Gateway API route weight (a whole number); ignored for the shadow; default 1."""
    environment: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Container environment variables; never secret values (pass `secrets`)."""


class ServedSecretArgs(TypedDict):
    """A secret of the service: mounted as the file `/var/run/secrets/modelplane/<name>` when its value is given, else read by ARN."""

    arn: pulumi.Input[str]
    """ARN in Secrets Manager."""
    value: NotRequired[pulumi.Input[str]]
    """The value (kept secret); leave out for a value set out of band, which the pods read at run time."""
    rotates: NotRequired[bool]
    """Secrets Manager rotates it, so a mounted copy would go stale: the pods read it at run time."""


class WorkloadIdentityArgs(TypedDict):
    """What an IAM role for the service account (IRSA, EKS only) needs: for secrets read at run time, pinned
    model versions and data capture."""

    oidc_provider_arn: str
    """The cluster's IAM OIDC provider, trusted to vouch for the service account."""
    secrets_kms_key_arn: NotRequired[pulumi.Input[str]]
    """KMS key encrypting the secrets read at run time; GetSecretValue needs Decrypt on it."""
    region: str
    """Region of Secrets Manager and S3; the keys are used only through them."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the IAM role."""


class KubernetesModelServiceArgs(TypedDict):
    """The variants, where their images come from, how pods run and scale, and where traffic comes from."""

    instance_name: str
    """Name of the served model: the `app.kubernetes.io/instance` label and the prefix of its objects' names."""
    app_name: str
    """The `app.kubernetes.io/name` label (e.g. the model family)."""
    namespace: str
    """Namespace created for the service (never a system namespace)."""
    repository_url: pulumi.Input[str]
    """Image repository; each variant appends `:tag` or `@sha256:...`."""
    variants: Sequence[KubernetesVariantArgs]
    """Production variants sharing traffic by weight."""
    shadow: NotRequired[KubernetesVariantArgs]
    """A variant receiving a mirrored copy of every request; its answers are dropped."""
    gateway: GatewayRouteArgs
    """Where traffic comes from."""
    port: NotRequired[int]
    """Port the model server listens on, 1024-65535 (unprivileged); default 8080."""
    health_path: NotRequired[str]
    """HTTP path answering 200 when the model is loaded; default `/ping`."""
    resources: NotRequired[PodResourcesArgs]
    """Container resources."""
    node_selector: NotRequired[Mapping[str, str]]
    """Node labels the pods require (e.g. a GPU pool)."""
    tolerations: NotRequired[Sequence[TolerationArgs]]
    """Taints the pods tolerate."""
    autoscaling: NotRequired[PodAutoscalingArgs]
    """A HorizontalPodAutoscaler per variant; left out, each variant runs its `replicas`."""
    service_monitor: NotRequired[bool]
    """Create a prometheus-operator ServiceMonitor; default true."""
    prometheus_namespace: NotRequired[str]
    """Namespace of the Prometheus scraping the pods, let in when `service_monitor` is on; default monitoring."""
    prometheus_rules: NotRequired[bool]
    """Create a prometheus-operator PrometheusRule with error and latency alerts; default true."""
    alerts: NotRequired[AlarmThresholdsArgs]
    """Thresholds of those alerts (error rate, p99 latency, period, evaluation periods, datapoints, anomalies)."""
    critical_alerts: NotRequired[bool]
    """Alerts of production variants are severity critical (they page); otherwise warning."""
    secrets: NotRequired[Mapping[str, ServedSecretArgs]]
    """The service's secrets by name."""
    workload_identity: NotRequired[WorkloadIdentityArgs]
    """Required when a secret is read at run time, a variant pins a model version or data is captured: the
    pods then get an IAM role for exactly that."""
    model_package_group_arn: NotRequired[pulumi.Input[str]]
    """The model package group of `model_package_version` variants (its versions are resolved when deploying)."""
    bucket_name: NotRequired[pulumi.Input[str]]
    """Bucket the captured data goes to (below `data-capture/<endpoint_name>/`)."""
    bucket_arn: NotRequired[pulumi.Input[str]]
    """ARN of that bucket, for the pods' write permission."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """KMS key of the registered archives and of the captured data (SSE-KMS)."""
    data_capture: NotRequired[DataCaptureArgs]
    """Request/response capture in SageMaker's format, written by the serving runtime; left out, nothing is captured."""
    endpoint_name: NotRequired[str]
    """Name of the endpoint in capture keys (`data-capture/<endpoint_name>/<endpoint_name>/<variant>/...`); default `instance_name`."""


def storage_bytes(quantity: str) -> int:
    """Bytes of a storage quantity matching `STORAGE_PATTERN` (`2Gi`, `256Mi`, `1048576`)."""
    match = re.fullmatch(r"(\d+)([KMGT]i)?", quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a quantity matching {STORAGE_PATTERN}")
    return int(match[1]) * BINARY_UNITS[match[2] or ""]


def reads_at_run_time(secret: ServedSecretArgs) -> bool:
    """The pods fetch the secret from Secrets Manager (by the ARN in `<NAME>_SECRET_ARN`, through IRSA)."""
    return secret.get("rotates", False) or "value" not in secret


def all_variants(args: KubernetesModelServiceArgs) -> list[KubernetesVariantArgs]:
    """The production variants, then the shadow."""
    shadow = args.get("shadow")
    return [*args["variants"], *([shadow] if shadow is not None else [])]


def pinned_variants(args: KubernetesModelServiceArgs) -> list[KubernetesVariantArgs]:
    """The variants (shadow included) that serve a registered model version."""
    return [variant for variant in all_variants(args) if variant.get("model_package_version") is not None]


def problems(args: KubernetesModelServiceArgs) -> list[Problem]:
    """Every rule for the arguments: how the service serves, and what the pods' IAM role needs."""
    found = serving_problems(args)
    fetched = sorted(name for name, spec in args.get("secrets", {}).items() if reads_at_run_time(spec))
    identity = args.get("workload_identity")
    pinned, captured = bool(pinned_variants(args)), "data_capture" in args
    needs = [
        *([f"read secrets {fetched} from Secrets Manager at run time (rotated or set out of band)"] if fetched else []),
        *(["fetch registered model versions"] if pinned else []),
        *(["write captured data"] if captured else []),
    ]
    if needs and identity is None:
        found.append(("workload_identity", f"required: the pods {' and '.join(needs)} as an IAM role (IRSA)"))
    if identity is not None:
        if not re.fullmatch(OIDC_PROVIDER_PATTERN, identity["oidc_provider_arn"]):
            found.append(("workload_identity.oidc_provider_arn", f"must match {OIDC_PROVIDER_PATTERN}"))
        if fetched and identity.get("secrets_kms_key_arn") is None:
            found.append(("workload_identity.secrets_kms_key_arn", "required when the pods read secrets at run time"))
    for field, needed, why in (
        ("model_package_group_arn", pinned, "a variant pins a model_package_version"),
        ("kms_key_arn", pinned or captured, "the pods read registered archives or write captured data"),
        ("bucket_name", captured, "data is captured"),
        ("bucket_arn", captured, "data is captured"),
    ):
        if needed and args.get(field) is None:
            found.append((field, f"required when {why}"))
    return found


def serving_problems(args: KubernetesModelServiceArgs) -> list[Problem]:
    """Kubernetes' naming rules, unprivileged ports, quantities, scaling bounds and alert thresholds.

    Reads no resource inputs, so modelplane's settings check a stack file with it before any resource exists.
    """
    found: list[Problem] = []
    if why := namespace_problem(args["namespace"]):
        found.append(("namespace", why))
    if not args["variants"]:
        found.append(("variants", "serve at least one production variant"))
    paths = [(f"variants[{index}]", variant) for index, variant in enumerate(args["variants"])]
    if "shadow" in args:
        paths.append(("shadow", args["shadow"]))
    seen: set[str] = set()
    for path, variant in paths:
        if variant["name"] in seen:
            found.append((f"{path}.name", f"duplicate variant name {variant['name']!r}"))
        seen.add(variant["name"])
        if why := object_name_problem(args["instance_name"], variant["name"]):
            found.append((f"{path}.name", why))
        found += at(path, image_problems(variant.get("image_tag"), variant.get("image_digest")))
        if variant.get("replicas", 1) < 1:
            found.append((f"{path}.replicas", "must be at least 1"))
        weight = variant.get("weight", 1)
        if not isinstance(weight, int) or weight < 0:
            found.append((f"{path}.weight", "Gateway API route weights are whole numbers, at least 0"))
        version = variant.get("model_package_version")
        if version is not None and (not isinstance(version, int) or version < 1):
            found.append((f"{path}.model_package_version", "a model package version is a whole number from 1"))
    if not 1024 <= args.get("port", 8080) <= 65535:
        found.append(("port", "must be between 1024 and 65535: the pods run as a non-root user"))
    for path, value in (
        ("health_path", args.get("health_path", "/")),
        ("gateway.path_prefix", args["gateway"].get("path_prefix", "/")),
    ):
        if not value.startswith("/"):
            found.append((path, "must start with /"))
    if not re.fullmatch(NAMESPACE_PATTERN, args["gateway"]["gateway_namespace"]):
        found.append(("gateway.gateway_namespace", "must be a lowercase DNS label of at most 63 characters"))
    resources = args.get("resources", {})
    for field, pattern in (
        ("cpu", CPU_PATTERN),
        ("cpu_limit", CPU_PATTERN),
        ("memory", MEMORY_PATTERN),
        ("model_size_limit", STORAGE_PATTERN),
        ("tmp_size_limit", STORAGE_PATTERN),
    ):
        value = resources.get(field)
        if value is not None and not re.fullmatch(pattern, value):
            found.append((f"resources.{field}", f"must be a Kubernetes quantity matching {pattern}"))
        elif value is not None and field.endswith("_size_limit") and storage_bytes(value) < 1 << 20:
            found.append((f"resources.{field}", "must be at least 1Mi"))
    files = resources.get("model_files_limit", DEFAULT_MODEL_FILES_LIMIT)
    if isinstance(files, bool) or not isinstance(files, int) or not 1 <= files <= MAX_MODEL_FILES_LIMIT:
        found.append(("resources.model_files_limit", f"must be a whole number from 1 to {MAX_MODEL_FILES_LIMIT}"))
    autoscaling = args.get("autoscaling")
    if autoscaling is not None:
        if not 1 <= autoscaling["min_replicas"] <= autoscaling["max_replicas"]:
            found.append(("autoscaling.min_replicas", "must be at least 1 and not exceed max_replicas"))
        metric = autoscaling.get("custom_metric")
        if metric is not None and not re.fullmatch(METRIC_NAME_PATTERN, metric):
            found.append(("autoscaling.custom_metric", f"must be a metric name matching {METRIC_NAME_PATTERN}"))
    capture = args.get("data_capture")
    if capture is not None:
        if not 1 <= capture.get("sampling_percent", DEFAULT_SAMPLING_PERCENT) <= 100:
            found.append(("data_capture.sampling_percent", "must be between 1 and 100"))
        if not captured_modes(capture):
            found.append(("data_capture", "capture input, output or both"))
    return found + at("alerts", threshold_problems(args.get("alerts", {})))
