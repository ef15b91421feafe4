"""The pods of a Kubernetes model service: restricted security context, probes, resources, spreading, autoscaling.

A variant pinned to a registered model version gets an init container, `fetch-model`, from the same image:
it downloads the version's archive as the pod's IAM role into a scratch `emptyDir` of its own, checks the
sha256 `modelplane register` recorded, and unpacks it into an `emptyDir` the server mounts read-only at
`/opt/ml/model`.

Nothing a pod writes is unbounded on the node's disk: every `emptyDir` has a `sizeLimit`, and every
container requests and limits the `ephemeral-storage` of the volumes it fills plus its logs (the kubelet
evicts a pod past either). The model volume and the scratch take what `fetch-model` is allowed to unpack and
download (`resources.model_size_limit`, which it enforces first, with its reason), `/tmp` is small.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .kubernetes_service_args import (
    DEFAULT_MODEL_FILES_LIMIT,
    DEFAULT_MODEL_SIZE_LIMIT,
    DEFAULT_TMP_SIZE_LIMIT,
    PodAutoscalingArgs,
    PodResourcesArgs,
    TolerationArgs,
    storage_bytes,
)

NON_ROOT_ID = 10001
SECRETS_DIR = "/var/run/secrets/modelplane"
PORT_NAME = "http"
# Where SageMaker unpacks the model archive, and the serving image loads it from.
MODEL_DIR = "/opt/ml/model"
MODEL_VOLUME = "model"
TMP_VOLUME = "tmp"
# The init container's own /tmp, where the archive waits for its hash: empty again once it has unpacked.
FETCH_SCRATCH_VOLUME = "fetch-scratch"
FETCH_CONTAINER = "fetch-model"
# The serving image's command that fetches, verifies and unpacks a registered archive (modelplane_serving).
FETCH_COMMAND = "fetch-model"
MODEL_DATA_URL_ENV = "MODELPLANE_MODEL_DATA_URL"
MODEL_SHA256_ENV = "MODELPLANE_MODEL_SHA256"
MODEL_PACKAGE_ENV = "MODELPLANE_MODEL_PACKAGE"
# fetch-model's limits (modelplane_serving.fetch_model): bytes downloaded, bytes unpacked, archive members.
MODEL_MAX_ARCHIVE_BYTES_ENV = "MODELPLANE_MODEL_MAX_ARCHIVE_BYTES"
MODEL_MAX_BYTES_ENV = "MODELPLANE_MODEL_MAX_BYTES"
MODEL_MAX_FILES_ENV = "MODELPLANE_MODEL_MAX_FILES"
# What a file takes on disk beyond its bytes, at most: the rest of its last block (and a directory, one block).
BLOCK_BYTES = 4 << 10
# A container's own ephemeral storage besides its volumes: its logs (the kubelet keeps 5 files of 10Mi by
# default, rotated every 10 s) and the writable layer of a read-only root filesystem.
CONTAINER_OWN_BYTES = 128 << 20
# What `modelplane verify` reads back from a running Deployment's pod template.
MODEL_PACKAGE_VERSION_LABEL = "modelplane.io/model-package-version"
MODEL_PACKAGE_ANNOTATION = "modelplane.io/model-package-arn"
MODEL_SHA256_ANNOTATION = "modelplane.io/model-data-sha256"
# The model server's metrics contract: Prometheus text on the serving port.
METRICS_PATH = "/metrics"
# What modelplane's serving image listens on unless told otherwise (SageMaker's contract), and the
# variables that tell it otherwise (docs/containers.md).
SERVER_DEFAULT_PORT = 8080
SERVER_DEFAULT_HEALTH_PATH = "/ping"
SERVER_PORT_ENV = "MODELPLANE_PORT"
SERVER_HEALTH_PATH_ENV = "MODELPLANE_HEALTH_PATH"


def server_environment(port: int, health_path: str) -> dict[str, str]:
    """The serving image's settings for a port or health path other than SageMaker's (none otherwise, so
    that pods of services on the defaults keep their spec)."""
    environment = {}
    if port != SERVER_DEFAULT_PORT:
        environment[SERVER_PORT_ENV] = str(port)
    if health_path != SERVER_DEFAULT_HEALTH_PATH:
        environment[SERVER_HEALTH_PATH_ENV] = health_path
    return environment


@dataclass(frozen=True)
class RegisteredModel:
    """A pinned version as resolved when deploying (outputs of the registry lookup)."""

    arn: pulumi.Input[str]
    data_url: pulumi.Input[str]
    sha256: pulumi.Input[str]


@dataclass(frozen=True)
class PodInputs:
    """What every variant's pods share."""

    port: int
    health_path: str
    resources: PodResourcesArgs
    node_selector: Mapping[str, str]
    tolerations: Sequence[TolerationArgs]
    repository_url: pulumi.Input[str]
    service_account: pulumi.Input[str]
    secret_object: pulumi.Input[str] | None
    """Kubernetes Secret holding the mounted values, if any."""
    mounted_secrets: Sequence[str]
    environment: Sequence[k8s.core.v1.EnvVarArgs]
    """Variables every variant gets (the ARNs of secrets read at run time)."""
    aws_environment: Sequence[k8s.core.v1.EnvVarArgs] = ()
    """Where the AWS SDK finds its region, for containers that call AWS as the pods' role."""


def pod_spec(
    pod: PodInputs,
    image: pulumi.Input[str],
    environment: Mapping[str, pulumi.Input[str]],
    selector: Mapping[str, str],
    *,
    model: RegisteredModel | None = None,
    capture: Sequence[k8s.core.v1.EnvVarArgs] = (),
) -> k8s.core.v1.PodSpecArgs:
    """A pod the Pod Security "restricted" profile admits: non-root, no escalation, no capabilities.

    With `model`, the init container fetches the registered archive into the model volume; `capture` holds
    the serving runtime's data capture settings.
    """
    resources = pod.resources
    cpu, memory = resources.get("cpu", "1"), resources.get("memory", "2Gi")
    limits = {"cpu": resources.get("cpu_limit") or cpu, "memory": memory}
    # The init container runs before the server, so the same CPU and memory cost the pod nothing more; no GPU.
    fetch_limits = dict(limits)
    if gpus := resources.get("gpus", 0):
        limits["nvidia.com/gpu"] = str(gpus)
    sizes = VolumeSizes.of(resources)
    volumes = [_empty_dir(TMP_VOLUME, sizes.tmp)]
    scratch = k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path="/tmp")  # noqa: S108 - the pod's own emptyDir
    mounts = [scratch]
    server_storage = sizes.tmp + CONTAINER_OWN_BYTES
    init_containers = None
    if model is not None:
        volumes += [_empty_dir(MODEL_VOLUME, sizes.model), _empty_dir(FETCH_SCRATCH_VOLUME, sizes.fetch_scratch)]
        mounts.append(k8s.core.v1.VolumeMountArgs(name=MODEL_VOLUME, mount_path=MODEL_DIR, read_only=True))
        # The model stays on the pod's disk while it serves; the scratch is emptied before the server starts.
        server_storage += sizes.model
        fetch_storage = _mebibytes(sizes.fetch_scratch + sizes.model + CONTAINER_OWN_BYTES)
        init_containers = [
            k8s.core.v1.ContainerArgs(
                name=FETCH_CONTAINER,
                image=image,
                image_pull_policy="IfNotPresent",
                args=[FETCH_COMMAND],
                env=[
                    k8s.core.v1.EnvVarArgs(name=MODEL_DATA_URL_ENV, value=model.data_url),
                    k8s.core.v1.EnvVarArgs(name=MODEL_SHA256_ENV, value=model.sha256),
                    k8s.core.v1.EnvVarArgs(name=MODEL_PACKAGE_ENV, value=model.arn),
                    k8s.core.v1.EnvVarArgs(name=MODEL_MAX_ARCHIVE_BYTES_ENV, value=str(sizes.model_bytes)),
                    k8s.core.v1.EnvVarArgs(name=MODEL_MAX_BYTES_ENV, value=str(sizes.model_bytes)),
                    k8s.core.v1.EnvVarArgs(name=MODEL_MAX_FILES_ENV, value=str(sizes.model_files)),
                    *pod.aws_environment,
                ],
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": cpu, "memory": memory, "ephemeral-storage": fetch_storage},
                    limits={**fetch_limits, "ephemeral-storage": fetch_storage},
                ),
                security_context=_restricted_context(),
                volume_mounts=[
                    k8s.core.v1.VolumeMountArgs(name=FETCH_SCRATCH_VOLUME, mount_path="/tmp"),  # noqa: S108 - its emptyDir
                    k8s.core.v1.VolumeMountArgs(name=MODEL_VOLUME, mount_path=MODEL_DIR),
                ],
                # The reason a fetch failed (missing, not the registered archive) is what `kubectl describe` shows.
                termination_message_policy="FallbackToLogsOnError",
            )
        ]
    if pod.secret_object is not None:
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="secrets",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=pod.secret_object,
                    items=[k8s.core.v1.KeyToPathArgs(key=secret, path=secret) for secret in pod.mounted_secrets],
                    default_mode=0o440,
                ),
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR, read_only=True))
    container = k8s.core.v1.ContainerArgs(
        name="model",
        image=image,
        image_pull_policy="IfNotPresent",
        ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=pod.port, protocol="TCP")],
        env=[
            *(
                k8s.core.v1.EnvVarArgs(name=key, value=value)
                for key, value in sorted({**environment, **server_environment(pod.port, pod.health_path)}.items())
            ),
            *pod.environment,
            *capture,
            *(pod.aws_environment if capture else ()),
        ]
        or None,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": cpu, "memory": memory, "ephemeral-storage": _mebibytes(server_storage)},
            limits={**limits, "ephemeral-storage": _mebibytes(server_storage)},
        ),
        # Startup waits for the model to load (up to 5 minutes); readiness takes a busy pod out of
        # rotation quickly; liveness restarts only a pod that stays unhealthy for a minute.
        startup_probe=_probe(pod.health_path, period_seconds=10, failure_threshold=30, timeout_seconds=5),
        readiness_probe=_probe(pod.health_path, period_seconds=5, failure_threshold=3, timeout_seconds=2),
        liveness_probe=_probe(pod.health_path, period_seconds=15, failure_threshold=4, timeout_seconds=5),
        security_context=_restricted_context(),
        volume_mounts=mounts,
    )
    spread = [
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=topology_key,
            # Spread when capacity allows; a GPU pool in fewer zones must not leave pods pending.
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            match_label_keys=["pod-template-hash"],
        )
        for topology_key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return k8s.core.v1.PodSpecArgs(
        service_account_name=pod.service_account,
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=NON_ROOT_ID,
            run_as_group=NON_ROOT_ID,
            fs_group=NON_ROOT_ID,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        init_containers=init_containers,
        containers=[container],
        volumes=volumes,
        node_selector=dict(pod.node_selector) or None,
        tolerations=[
            k8s.core.v1.TolerationArgs(
                key=toleration["key"],
                operator=toleration.get("operator", "Equal"),
                value=toleration.get("value"),
                effect=toleration.get("effect", "NoSchedule"),
            )
            for toleration in pod.tolerations
        ]
        or None,
        topology_spread_constraints=spread,
    )


@dataclass(frozen=True)
class VolumeSizes:
    """Bytes each `emptyDir` may hold: what fetch-model may unpack and download, with the filesystem's slack."""

    model_bytes: int
    """fetch-model's limit on bytes downloaded and bytes unpacked."""
    model_files: int
    """fetch-model's limit on archive members."""
    tmp_bytes: int

    @classmethod
    def of(cls, resources: PodResourcesArgs) -> "VolumeSizes":
        return cls(
            model_bytes=storage_bytes(resources.get("model_size_limit", DEFAULT_MODEL_SIZE_LIMIT)),
            model_files=resources.get("model_files_limit", DEFAULT_MODEL_FILES_LIMIT),
            tmp_bytes=storage_bytes(resources.get("tmp_size_limit", DEFAULT_TMP_SIZE_LIMIT)),
        )

    @property
    def tmp(self) -> int:
        return _whole_mebibytes(self.tmp_bytes)

    @property
    def model(self) -> int:
        """The unpacked model, each member taking up to a block more than its bytes: fetch-model refuses
        an archive before the kubelet would evict the pod."""
        return _whole_mebibytes(self.model_bytes + self.model_files * BLOCK_BYTES)

    @property
    def fetch_scratch(self) -> int:
        """The downloaded archive, one file."""
        return _whole_mebibytes(self.model_bytes + BLOCK_BYTES)


def _whole_mebibytes(size: int) -> int:
    """`size` rounded up to a whole Mi, so that sums of sizes are what their quantities add up to."""
    return -(-size // (1 << 20)) << 20


def _mebibytes(size: int) -> str:
    """The quantity of a size in whole Mi."""
    return f"{_whole_mebibytes(size) >> 20}Mi"


def _empty_dir(name: str, size: int) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=_mebibytes(size))
    )


def _restricted_context() -> k8s.core.v1.SecurityContextArgs:
    """Every container's: numeric non-root user, read-only root, no capabilities, no escalation, RuntimeDefault seccomp."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=NON_ROOT_ID,
        run_as_group=NON_ROOT_ID,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def _probe(
    health_path: str, *, period_seconds: int, failure_threshold: int, timeout_seconds: int
) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=health_path, port=PORT_NAME),
        period_seconds=period_seconds,
        failure_threshold=failure_threshold,
        timeout_seconds=timeout_seconds,
    )


def autoscaler_spec(
    autoscaling: PodAutoscalingArgs, deployment_name: pulumi.Input[str]
) -> k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs:
    """CPU utilisation, or the per-pod custom metric when one is set; cooldowns become stabilisation windows."""
    custom_metric = autoscaling.get("custom_metric")
    if custom_metric is None:
        metric = k8s.autoscaling.v2.MetricSpecArgs(
            type="Resource",
            resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                name="cpu",
                target=k8s.autoscaling.v2.MetricTargetArgs(
                    type="Utilization", average_utilization=autoscaling.get("target_cpu_percent", 70)
                ),
            ),
        )
    else:
        metric = k8s.autoscaling.v2.MetricSpecArgs(
            type="Pods",
            pods=k8s.autoscaling.v2.PodsMetricSourceArgs(
                metric=k8s.autoscaling.v2.MetricIdentifierArgs(name=custom_metric),
                target=k8s.autoscaling.v2.MetricTargetArgs(
                    type="AverageValue", average_value=quantity(autoscaling.get("custom_metric_target", 100.0))
                ),
            ),
        )
    return k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
        scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=deployment_name
        ),
        min_replicas=autoscaling["min_replicas"],
        max_replicas=autoscaling["max_replicas"],
        metrics=[metric],
        behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
            scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                stabilization_window_seconds=autoscaling.get("scale_in_cooldown_seconds", 300)
            ),
            scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                stabilization_window_seconds=autoscaling.get("scale_out_cooldown_seconds", 60)
            ),
        ),
    )


def version_label(image_tag: str | None, image_digest: str | None) -> str:
    """`app.kubernetes.io/version`: the tag, or `sha256-<12 hex>` (a label value has no `:`, at most 63 chars)."""
    if image_digest:
        return image_digest.replace(":", "-")[:19]
    return (image_tag or "")[:63].strip("_.-")


def quantity(value: float) -> str:
    """A Kubernetes quantity for a metric target: whole numbers as is, fractions in milli-units."""
    return str(int(value)) if float(value).is_integer() else f"{round(value * 1000)}m"
