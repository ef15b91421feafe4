"""Kubernetes workloads: Pod Security Standards (restricted), workload hygiene, workload identity instead of
static credentials, read-only model volumes, encrypted data capture, disruption budgets and autoscaling.

The pod rules judge every pod spec: where each built-in workload kind keeps it (the paths come from
pulumi-kubernetes' schema, in the property index), and wherever a custom resource holds containers
(Argo Rollouts and Workflows, KServe, Knative, Ray, Kubeflow, Seldon, Tekton, Spark...), found by
shape since no schema describes those kinds.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    ReachingPolicy,
    Report,
    Unknowns,
    applies_to,
    as_list,
    as_mapping,
    as_number,
    concern_tag,
    config_schema,
    dig,
    is_false,
    is_mapping,
    is_sequence,
    is_true,
    is_unknown,
    number_text,
    of_type,
    per_resource,
    plain,
    production_gate,
    rule,
    sources,
    value_at,
)
from .properties import entries_of, property_index, resolve
from .property_map import PODS, Kind

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA_TYPES = (
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
)
KEDA_SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
# Where each built-in workload kind keeps its pod spec, in every API version pulumi-kubernetes offers:
# derived from its schema (a path to `core.v1.PodSpec`) by `make generate` (Patch and List kinds left out).
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = property_index().pod_spec_paths
# Long-running workloads: probes make sense for these, not for batch jobs or bare templates.
SERVING_WORKLOADS = tuple(
    token
    for token in POD_SPEC_PATHS
    if token.rsplit(":", 1)[-1]
    in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "ReplicationController"}
)
# Sysctls the baseline profile allows (Kubernetes 1.29+ list); any other can reach the node's kernel.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUME_TYPES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
# Pulumi's own Kubernetes components (manifests, charts), not API objects with metadata.
NON_OBJECT_GROUPS = frozenset({"yaml", "helm.sh", "kustomize"})
# A Helm release's values configure the pods its chart renders (`securityContext`, `hostNetwork`,
# `containers`): searched by shape as a custom resource's inputs are.
CHART_RELEASES = frozenset({"kubernetes:helm.sh/v3:Release"})
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"
# Kinds without a namespace; every other Kubernetes resource lives in one.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "GatewayClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "CertificateSigningRequest",
        "FlowSchema",
        "PriorityLevelConfiguration",
    }
)


# Where a pod spec keeps containers: the pod's lists, and the single containers (Argo's `container`
# and `script`) and step lists (Tekton's `steps`, Argo's and Spark's `sidecars`) of workflow custom resources.
RUNNING_KINDS = ("containers", "initContainers", "container", "script", "sidecars", "steps")
CONTAINER_KINDS = (*RUNNING_KINDS, "ephemeralContainers")
RUNNING_KEYS = frozenset(RUNNING_KINDS)
# Keys of a container that a mapping with an `image` outside a container list must have one of to be read as a container.
CONTAINER_KEYS = frozenset(
    {"command", "args", "env", "envFrom", "securityContext", "resources", "ports", "volumeMounts", "name"}
)
# Settings only a container's securityContext has (a pod's has none of them): a mapping whose
# securityContext sets one is a container whatever supplies its image (a KServe model's runtime, a
# SparkApplication's `spec.image`).
CONTAINER_ONLY_CONTEXT = frozenset(
    {"privileged", "allowPrivilegeEscalation", "capabilities", "readOnlyRootFilesystem", "procMount"}
)
# Pod-level settings: where a custom resource keeps them above the mapping that holds its containers
# (an Argo workflow's `securityContext`, `hostNetwork`, `volumes`), they apply to that pod too.
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
POD_CONTEXT_KEYS = ("securityContext", "podSecurityContext")
POD_LEVEL_KEYS = frozenset({*POD_CONTEXT_KEYS, *HOST_NAMESPACES, "volumes", "automountServiceAccountToken"})
# How an operator sizes the pod of a container that sets no `resources` (the Spark operator's driver and executor).
SIZING_KEYS = ("cores", "memory")
# Containers listed at the very root of a custom resource's spec are a fragment that pods another object
# creates take in (a KServe serving runtime, an OpenKruise sidecar set): an object that runs pods itself
# nests their template (`template.spec`, `podTemplate`, a role's name). Pod-level settings the fragment
# leaves out, such as the service account token, belong to that pod; what the fragment sets is judged.
FRAGMENT_PATH = "spec"
# Parts of an object that never hold a pod spec.
NOT_SPEC = frozenset({"metadata", "status", "apiVersion", "kind", "data", "binaryData", "stringData"})
MAX_DEPTH = 12


class _WithImage(Mapping[str, Any]):
    """A lone container that names no image, with the image of the mapping that encloses it (a Spark
    driver runs its SparkApplication's `spec.image`). Read through both mappings, so an unknown image
    is unknown here too."""

    def __init__(self, container: Mapping[str, Any], image_from: Mapping[str, Any]) -> None:
        self._container, self._image_from = container, image_from

    def __getitem__(self, key: str) -> Any:
        if key == "image" and key not in self._container:
            return self._image_from[key]
        return self._container[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._container
        if "image" not in self._container:
            yield "image"

    def __len__(self) -> int:
        return len(self._container) + ("image" not in self._container)


@dataclass(frozen=True)
class PodSpec:
    """A pod spec of a workload, or a mapping of a custom resource that holds containers or is one."""

    path: str
    spec: Mapping[str, Any]
    complete: bool
    """A whole pod spec (a built-in kind's, or one holding a `containers` list), where pod-level fields
    such as `automountServiceAccountToken` belong even when left out; a workflow step's single container is not."""
    outer: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """The enclosing mappings of a custom resource that carry pod-level settings, nearest first."""
    lone: bool = False
    """`spec` is itself a container (a Spark driver, a KServe model), which may hold sidecars of its own."""
    image_from: Mapping[str, Any] | None = None
    """The enclosing mapping whose `image` a lone container without one runs (a SparkApplication's spec)."""
    partial: bool = False
    """Only the fields it sets are judged: a patch (server-side apply) changes only those, and an AWS
    service's pod properties lack most of a pod's security fields."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Pod-level settings a service documents for a pod that leaves them out (Batch on EKS: `hostNetwork` true)."""

    def containers(self, kinds: tuple[str, ...] = CONTAINER_KINDS) -> list[tuple[str, Mapping[str, Any]]]:
        """Its containers of the given kinds, each with a label naming it and its path; a lone one counts as `containers`."""
        found = containers_at(self.path, self.spec, kinds=kinds)
        if self.lone and "containers" in kinds:
            own = self.spec if self.image_from is None else _WithImage(self.spec, self.image_from)
            name = plain(self.spec).get("name")
            shown = name if isinstance(name, str) and not is_unknown(name) else self.path.rsplit(".", 1)[-1]
            found.insert(0, (f"container {shown!r} ({self.path})", own))
        return found

    def levels(self) -> list[tuple[str, Mapping[str, Any]]]:
        """The mappings whose pod-level settings apply to this pod: its own, then the enclosing ones."""
        return [(self.path, self.spec), *self.outer]

    def contexts(self) -> list[tuple[str, Mapping[str, Any]]]:
        """The pod security contexts that apply, nearest first: `podSecurityContext` wherever it is, and
        `securityContext` of the mappings that are not themselves a container."""
        found = []
        for index, (path, holder) in enumerate(self.levels()):
            for key in POD_CONTEXT_KEYS:
                if key == "securityContext" and index == 0 and self.lone:
                    continue
                context = holder.get(key)
                if is_mapping(context):
                    found.append((f"{path}.{key}", context))
        return found

    def pod_setting(self, *path: str) -> Any:
        """The nearest pod security context's value for a setting (`runAsNonRoot`, `seccompProfile.type`)."""
        for _, context in self.contexts():
            value = dig(context, *path)
            if value is not None:
                return value
        return None


def is_custom_resource(resource_type: str) -> bool:
    """A Kubernetes kind pulumi-kubernetes does not know: a custom resource, searched for pods by shape."""
    package, _, module_and_kind = resource_type.partition(":")
    group = module_and_kind.partition(":")[0].split("/")[0]
    return (
        package == "kubernetes"
        and group not in NON_OBJECT_GROUPS
        and resource_type not in property_index().builtin_kubernetes
    )


def holds_pods(resource_type: str) -> bool:
    """Whether a resource type may embed a pod spec: a built-in workload kind, any custom resource, or
    an AWS type whose inputs hold a Kubernetes pod (a Batch job on EKS)."""
    return (
        resource_type in POD_SPEC_PATHS
        or is_custom_resource(resource_type)
        or resource_type in CHART_RELEASES
        or any(entry.signal.kind == Kind.POD for entry in entries_of(PODS, resource_type))
    )


def pod_specs(resource_type: str, props: Mapping[str, Any]) -> list[PodSpec]:
    """Every pod spec of a resource: at its kind's path (each item's, in a list kind), at the inputs of
    an AWS type the property index lists, or, for a custom resource or a Helm release's values, wherever its inputs hold containers
    (an InferenceService's predictor, a Rollout's template, a Ray cluster's worker groups, an Argo
    workflow's templates, a Spark application's driver)."""
    path = POD_SPEC_PATHS.get(resource_type)
    if path is not None:
        partial = resource_type.endswith("Patch")
        return [PodSpec(where, spec, True, partial=partial) for where, spec in _at(props, path, "")]
    if is_custom_resource(resource_type) or resource_type in CHART_RELEASES:
        return _pods_by_shape(props)
    return _aws_pods(resource_type, props)


def _aws_pods(resource_type: str, props: Mapping[str, Any]) -> list[PodSpec]:
    """The Kubernetes pods an AWS resource runs, with the defaults its service documents for their host settings."""
    entries = entries_of(PODS, resource_type)
    defaults = {
        entry.path: entry.default == "true" for entry in entries if entry.signal.kind == Kind.SWITCH and entry.default
    }
    pods = []
    for entry in entries:
        if entry.signal.kind != Kind.POD:
            continue
        for found in resolve(props, entry.steps):
            if is_mapping(found.known()):
                documented = {
                    path.removeprefix(f"{entry.path}."): value
                    for path, value in defaults.items()
                    if path.startswith(f"{entry.path}.")
                }
                pods.append(PodSpec(found.path, found.value, False, partial=True, defaults=documented))
    return pods


def _at(node: Any, path: tuple[str, ...], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The mappings at a pod spec path (`items[]` visits every item of a list kind)."""
    if not path:
        yield prefix.rstrip("."), as_mapping(node)
        return
    step, rest = path[0], path[1:]
    name = step.removesuffix("[]")
    value = as_mapping(node).get(name)
    if step.endswith("[]"):
        for number, item in enumerate(as_list(value)):
            yield from _at(item, rest, f"{prefix}{name}[{number}].")
    else:
        yield from _at(value, rest, f"{prefix}{name}.")


@dataclass(frozen=True)
class _Shape:
    """Where the search found a pod: the keys that lead to it and to the mappings around it."""

    path: str
    keys: tuple[str | int, ...]
    complete: bool
    outer: tuple[tuple[str, tuple[str | int, ...]], ...]
    lone: bool = False
    image_from: tuple[str | int, ...] | None = None


@per_resource
def _pods_by_shape(props: Mapping[str, Any]) -> list[PodSpec]:
    """The pods of a custom resource: searched for on a plain copy of its inputs (no proxy, no check
    for unknown values: none decides where a pod is), and handed to the rules as the SDK's proxies."""
    return [
        PodSpec(
            shape.path,
            value_at(props, shape.keys),
            shape.complete,
            tuple((path, value_at(props, keys)) for path, keys in shape.outer),
            lone=shape.lone,
            image_from=None if shape.image_from is None else value_at(props, shape.image_from),
        )
        for shape in _shapes(plain_inputs(props), (), "", 0, outer=(), image_from=None)
    ]


@per_resource
def plain_inputs(props: Mapping[str, Any]) -> Any:
    """A resource's inputs as plain dicts and lists (a value not known yet as the SDK's marker string),
    copied once per resource for the searches by shape that visit every value."""
    return _unwrapped(props)


def _unwrapped(value: Any) -> Any:
    """The dicts and lists behind the SDK's read-only proxies, all the way down."""
    if isinstance(value, str) or value is None or isinstance(value, bool | int | float):
        return value
    view = plain(value)
    if is_mapping(view):
        return {key: _unwrapped(item) for key, item in view.items()}
    if is_sequence(view):
        return [_unwrapped(item) for item in view]
    return view


def _is_container(view: Any, listed: bool = False) -> bool:
    """Whether a plain value is a container: a mapping with an image (in a container list, nothing else
    is needed; elsewhere one more container key), or one shaped like a container whose image its
    operator supplies; never one that encloses containers (a SparkApplication's spec, with its `image`,
    holds the driver)."""
    if not _container_shaped(view, listed):
        return False
    return listed or not any(_container_shaped(child, False) for child in view.values())


def _container_shaped(view: Any, listed: bool) -> bool:
    if type(view) is not dict:
        return False
    if isinstance(view.get("image"), str):
        return listed or not CONTAINER_KEYS.isdisjoint(view)
    context = view.get("securityContext")
    if type(context) is dict and not CONTAINER_ONLY_CONTEXT.isdisjoint(context):
        return True
    return "env" in view and len(CONTAINER_KEYS.intersection(view)) >= 2


def _shapes(
    view: Any,
    keys: tuple[str | int, ...],
    path: str,
    depth: int,
    *,
    outer: tuple[tuple[str, tuple[str | int, ...]], ...],
    image_from: tuple[str | int, ...] | None,
) -> Iterator[_Shape]:
    """Where the pods of a custom resource's plain inputs are, with the mappings around each that carry
    pod-level settings (nearest first) and the one whose image a lone container without one runs."""
    if depth > MAX_DEPTH:
        return
    if type(view) is dict:
        if not RUNNING_KEYS.isdisjoint(view):
            lists = [
                kind for kind in RUNNING_KINDS if any(_is_container(item, True) for item in _items(view.get(kind)))
            ]
            if lists:
                whole = "containers" in lists and path != FRAGMENT_PATH
                yield _Shape(path or "(inputs)", keys, whole, outer)
        if not POD_LEVEL_KEYS.isdisjoint(view):
            outer = ((path or "(inputs)", keys), *outer)
        if isinstance(view.get("image"), str):
            image_from = keys
        for key, value in view.items():
            if key in NOT_SPEC or key in CONTAINER_KINDS or type(value) not in (dict, list):
                continue
            where = f"{path}.{key}" if path else str(key)
            if _is_container(value):
                has_image = isinstance(value.get("image"), str)
                yield _Shape(where, (*keys, key), False, outer, True, None if has_image else image_from)
            else:
                yield from _shapes(value, (*keys, key), where, depth + 1, outer=outer, image_from=image_from)
    elif type(view) is list:
        for number, item in enumerate(view):
            if type(item) in (dict, list):
                yield from _shapes(
                    item, (*keys, number), f"{path}[{number}]", depth + 1, outer=outer, image_from=image_from
                )


def _items(view: Any) -> list[Any]:
    """A plain container list's items, or a single container mapping (Argo's `container`)."""
    if type(view) is dict:
        return [view]
    return view if type(view) is list else []


def containers_at(
    spec_path: str, spec: Mapping[str, Any], *, kinds: tuple[str, ...] = CONTAINER_KINDS
) -> list[tuple[str, Mapping[str, Any]]]:
    """Every container of the given kinds (all, by default) with a label naming it and its path."""
    found = []
    for kind in kinds:
        value = spec.get(kind)
        if is_mapping(value):  # a workflow step's single `container` or `script`
            found.append((f"container {_name(value)!r} ({spec_path}.{kind})", value))
            continue
        for index, raw in enumerate(as_list(value)):
            container = as_mapping(raw)
            found.append((f"container {_name(container)!r} ({spec_path}.{kind}[{index}])", container))
    return found


def _name(container: Mapping[str, Any]) -> str:
    """A container's name for messages, read without minding whether it is known yet."""
    name = plain(container).get("name")
    return "?" if name is None or is_unknown(name) else str(name)


PodSpecValidation = Callable[[ResourceValidationArgs, Report, PodSpec], None]


def workload_validation(
    validate: PodSpecValidation, *, complete_only: bool = False
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Run a pod-spec check on every pod spec of a resource (with `complete_only`, on whole pod specs
    and on those whose enclosing mappings carry pod-level settings: checks of pod-level settings).

    A message is reported once per resource (pods of one custom resource share the settings that
    enclose them), and an unknown value (preview) costs only the pod whose check read it."""

    def run(args: ResourceValidationArgs, report: Report) -> None:
        reported: set[str] = set()

        def once(message: str, urn: str | None = None) -> None:
            if message not in reported:
                reported.add(message)
                report(message)

        unknowns = Unknowns()
        with unknowns:
            pods = pod_specs(args.resource_type, args.props)
            for pod in pods:
                if pod.complete or pod.outer or not complete_only:
                    with unknowns:
                        validate(args, once, pod)
        unknowns.settle()

    run.__doc__ = validate.__doc__
    return rule(run)


def pod_policy(**kwargs: Any) -> ReachingPolicy:
    """A rule of every pod spec: built-in workload kinds, and custom resources found by shape."""
    return ReachingPolicy(holds_pods, **kwargs)


def _restricted_profile(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    checks = Unknowns()
    for path, holder in pod.levels():
        with checks:
            _host_access(path, holder, report)
    for setting, value in pod.defaults.items():
        with checks:
            if value is True and pod.spec.get(setting) is None:
                report(
                    f"{pod.path}.{setting} is not set, so it is true (the default): the pod shares the node's namespaces."
                )
    for path, context in pod.contexts():
        with checks:
            _pod_context(path, context, report)
    for label, container in pod.containers():
        context: Mapping[str, Any] = {}
        with checks:
            context = as_mapping(container.get("securityContext"))
        with checks:
            _baseline_context(f"{label} securityContext", context, report)
            if context.get("procMount") not in (None, "Default"):
                report(f"{label} sets procMount {context.get('procMount')}: the node's /proc is unmasked.")
        with checks:
            if is_true(context.get("privileged")):
                report(f"{label} is privileged.")
        with checks:
            escalation = context.get("allowPrivilegeEscalation")
            if is_true(escalation) or (not pod.partial and not is_false(escalation)):
                report(f"{label} does not set securityContext.allowPrivilegeEscalation to false.")
        with checks:
            non_root = context.get("runAsNonRoot")
            if is_false(non_root) or (
                non_root is None and not pod.partial and not is_true(pod.pod_setting("runAsNonRoot"))
            ):
                report(f"{label} may run as root: set runAsNonRoot true on the pod or the container.")
        with checks:
            if as_number(context.get("runAsUser")) == 0:
                report(f"{label} sets runAsUser 0 (root).")
        with checks:
            _capabilities(label, as_mapping(context.get("capabilities")), pod.partial, report)
        with checks:
            seccomp = dig(context, "seccompProfile", "type") or pod.pod_setting("seccompProfile", "type")
            if seccomp == "Unconfined" or (not pod.partial and seccomp not in ("RuntimeDefault", "Localhost")):
                report(f"{label} has no RuntimeDefault or Localhost seccompProfile (pod or container).")
        for port_index, port in enumerate(as_list(container.get("ports"))):
            with checks:
                host_port = as_number(dig(port, "hostPort"))
                if host_port:
                    report(f"{label} ports[{port_index}] binds hostPort {number_text(host_port)}.")
    checks.settle()


def _host_access(path: str, holder: Mapping[str, Any], report: Report) -> None:
    """Host namespaces and volumes outside the restricted profile's list, wherever a pod's settings are."""
    for setting in HOST_NAMESPACES:
        if is_true(holder.get(setting)):
            report(f"{path}.{setting} is true: the pod shares the node's namespaces.")
    for index, raw in enumerate(as_list(holder.get("volumes"))):
        volume = as_mapping(raw)
        kinds = sorted(key for key in volume if key != "name" and volume.get(key) is not None)
        disallowed = [kind for kind in kinds if kind not in RESTRICTED_VOLUME_TYPES]
        if disallowed:
            report(
                f"volume {volume.get('name', '?')!r} ({path}.volumes[{index}]) uses {', '.join(disallowed)}, not allowed by the restricted profile."
            )


def _pod_context(path: str, context: Mapping[str, Any], report: Report) -> None:
    if as_number(context.get("runAsUser")) == 0:
        report(f"{path}.runAsUser is 0 (root).")
    unsafe = [
        str(dig(item, "name")) for item in as_list(context.get("sysctls")) if dig(item, "name") not in SAFE_SYSCTLS
    ]
    if unsafe:
        report(f"{path}.sysctls sets {', '.join(unsafe)}, which the baseline profile does not allow.")
    _baseline_context(path, context, report)


def _capabilities(label: str, capabilities: Mapping[str, Any], partial: bool, report: Report) -> None:
    if not partial and "ALL" not in [str(item) for item in as_list(capabilities.get("drop"))]:
        report(f"{label} does not drop ALL capabilities.")
    added = [str(item) for item in as_list(capabilities.get("add")) if str(item) != "NET_BIND_SERVICE"]
    if added:
        report(f"{label} adds capabilities {', '.join(added)}; only NET_BIND_SERVICE is allowed.")


def _baseline_context(path: str, context: Mapping[str, Any], report: Report) -> None:
    """The baseline profile's checks shared by pod and container security contexts."""
    if is_true(dig(context, "windowsOptions", "hostProcess")):
        report(f"{path}.windowsOptions.hostProcess is true: a Windows host process has the node's privileges.")
    selinux = as_mapping(context.get("seLinuxOptions"))
    if selinux.get("user") or selinux.get("role") or selinux.get("type") not in (None, "", *SELINUX_TYPES):
        report(f"{path}.seLinuxOptions sets a custom SELinux user, role or type.")
    if dig(context, "appArmorProfile", "type") == "Unconfined":
        report(f"{path}.appArmorProfile is Unconfined.")


pod_security_restricted = pod_policy(
    name="kubernetes-pod-security-restricted",
    description="Kubernetes workloads meet the Pod Security Standards restricted profile.",
    validate=workload_validation(_restricted_profile),
    severity=Severity.CRITICAL,
    remediation_steps="Run as non-root with allowPrivilegeEscalation false, drop ALL capabilities, use the RuntimeDefault seccomp profile, and no host namespaces, host ports or hostPath volumes.",
    tags=[
        "kubernetes",
        "pod-security",
        *sources("pod-security:restricted", "CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_31", "CKV_K8S_37"),
        *applies_to(*POD_SPEC_PATHS),
        concern_tag(PODS),
    ],
    url=PSS_URL,
)


def _hardening(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    minimum_uid = as_number(args.get_config().get("minRunAsUser")) or 10000
    checks = Unknowns()
    pod_user = None
    with checks:
        pod_user = as_number(pod.pod_setting("runAsUser"))
    for label, container in pod.containers():
        context: Mapping[str, Any] = {}
        with checks:
            context = as_mapping(container.get("securityContext"))
        with checks:
            read_only = context.get("readOnlyRootFilesystem")
            if is_false(read_only) or (not pod.partial and not is_true(read_only)):
                report(
                    f"{label} has a writable root filesystem; set readOnlyRootFilesystem and mount an emptyDir where it writes."
                )
        with checks:
            user = as_number(context.get("runAsUser"))
            effective = user if user is not None else pod_user
            if (effective is None and not pod.partial) or (effective is not None and effective < minimum_uid):
                shown = "no runAsUser" if effective is None else f"runAsUser {number_text(effective)}"
                report(
                    f"{label} runs with {shown}; use a UID of at least {number_text(minimum_uid)} so it matches no host user."
                )
    checks.settle()


container_hardening = pod_policy(
    name="kubernetes-container-hardening",
    description="Kubernetes containers use a read-only root filesystem and a high, non-host user id.",
    validate=workload_validation(_hardening),
    severity=Severity.MEDIUM,
    remediation_steps="Set securityContext.readOnlyRootFilesystem true with emptyDir mounts for scratch space, and runAsUser to a UID of at least 10000.",
    tags=[
        "kubernetes",
        "hardening",
        *sources("CKV_K8S_22", "CKV_K8S_40"),
        *applies_to(*POD_SPEC_PATHS),
        concern_tag(PODS),
    ],
    config_schema=config_schema(
        {
            "minRunAsUser": {
                "type": "number",
                "minimum": 1,
                "default": 10000,
                "description": "Lowest acceptable container UID.",
            }
        }
    ),
)


def _probes(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    if args.resource_type not in SERVING_WORKLOADS:
        return
    checks = Unknowns()
    for label, container in pod.containers(kinds=("containers",)):
        for probe in ("readinessProbe", "livenessProbe"):
            with checks:
                if container.get(probe) is None:
                    report(f"{label} has no {probe}.")
    checks.settle()


probes = ResourceValidationPolicy(
    name="kubernetes-probes",
    description="Serving Kubernetes containers declare readiness and liveness probes, so traffic reaches only loaded models and hung ones restart.",
    validate=workload_validation(_probes),
    severity=Severity.MEDIUM,
    remediation_steps="Add readinessProbe and livenessProbe (e.g. an HTTP GET of the model server's health path).",
    tags=["kubernetes", "availability", *sources("CKV_K8S_8", "CKV_K8S_9"), *applies_to(*SERVING_WORKLOADS)],
)


def _resources(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    if pod.partial:  # a patch leaves the resources it does not name as they are
        return
    checks = Unknowns()
    # The API refuses resources on ephemeral (debug) containers, which share the pod's.
    for label, container in pod.containers(kinds=RUNNING_KINDS):
        with checks:
            resources = as_mapping(container.get("resources"))
            if not resources and any(container.get(key) is not None for key in SIZING_KEYS):
                continue  # its operator sizes the pod (the Spark operator, from cores and memory)
            missing = [
                f"{kind}.{name}"
                for kind in ("requests", "limits")
                for name in ("cpu", "memory")
                if dig(resources, kind, name) in (None, "")
            ]
            if missing:
                report(f"{label} does not set resources {', '.join(missing)}.")
    checks.settle()


resource_limits = pod_policy(
    name="kubernetes-resource-requests-and-limits",
    description="Kubernetes containers and init containers request and limit CPU and memory, so one model cannot starve its neighbours.",
    validate=workload_validation(_resources),
    severity=Severity.MEDIUM,
    remediation_steps="Set resources.requests and resources.limits for cpu and memory on every container.",
    tags=[
        "kubernetes",
        "availability",
        *sources("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"),
        *applies_to(*POD_SPEC_PATHS),
        concern_tag(PODS),
    ],
)


EPHEMERAL_STORAGE_URL = "https://kubernetes.io/docs/concepts/storage/ephemeral-storage/"


def _ephemeral_storage(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    """Disk the kubelet bounds: each container's own (logs, writable layer) and, summed over the pod, its
    `emptyDir` volumes too, by the ephemeral-storage limits; each `emptyDir` on its own by `sizeLimit`. A
    volume on another medium (`Memory`: tmpfs, charged to the memory limit) takes no disk."""
    checks = Unknowns()
    if not args.resource_type.endswith("Patch"):  # a patch leaves the sizeLimit it does not name as it is
        for path, holder in pod.levels():
            for index, raw in enumerate(as_list(holder.get("volumes"))):
                with checks:
                    volume = as_mapping(raw)
                    empty_dir = volume.get("emptyDir")
                    if (
                        is_mapping(empty_dir)
                        and not empty_dir.get("medium")
                        and empty_dir.get("sizeLimit") in (None, "")
                    ):
                        report(
                            f"emptyDir volume {volume.get('name', '?')!r} ({path}.volumes[{index}]) has no sizeLimit:"
                            " what its containers write can fill the node's disk."
                        )
    if pod.partial:  # an AWS service's pod sizes no ephemeral storage; a patch leaves the limits as they are
        checks.settle()
        return
    # The API refuses resources on ephemeral (debug) containers, which share the pod's.
    for label, container in pod.containers(kinds=RUNNING_KINDS):
        with checks:
            resources = as_mapping(container.get("resources"))
            if not resources and any(container.get(key) is not None for key in SIZING_KEYS):
                continue  # its operator builds the pod (the Spark operator, from cores and memory)
            if dig(resources, "limits", "ephemeral-storage") in (None, ""):
                report(f"{label} does not set resources limits.ephemeral-storage.")
    checks.settle()


ephemeral_storage_limits = pod_policy(
    name="kubernetes-ephemeral-storage-limits",
    description="Kubernetes pods cannot fill their node's disk: every container and init container limits its ephemeral-storage (which bounds the pod's emptyDir volumes, logs and writable layers together), and every emptyDir on disk has a sizeLimit.",
    validate=workload_validation(_ephemeral_storage),
    severity=Severity.MEDIUM,
    remediation_steps="Set resources.limits.ephemeral-storage (a request defaults to it) on every container, and emptyDir.sizeLimit on every emptyDir volume; modelplane's pods size both from kubernetes.resources (model_size_limit, tmp_size_limit).",
    tags=[
        "kubernetes",
        "availability",
        *sources("gatekeeper:k8scontainerephemeralstoragelimit", "kyverno:add-emptydir-sizelimit"),
        *applies_to(*POD_SPEC_PATHS),
        concern_tag(PODS),
    ],
    url=EPHEMERAL_STORAGE_URL,
)


def _service_account_token(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    for path, holder in pod.levels():
        mounted = holder.get("automountServiceAccountToken")
        if mounted is not None:
            if not is_false(mounted):
                report(
                    f"{path}.automountServiceAccountToken is not false: every container can call the Kubernetes API."
                )
            return
    if pod.complete and not pod.partial:
        report(f"{pod.path}.automountServiceAccountToken is not false: every container can call the Kubernetes API.")


service_account_token = pod_policy(
    name="kubernetes-no-service-account-token",
    description="Kubernetes pods do not mount a Kubernetes API token they do not need (IRSA tokens are projected separately).",
    validate=workload_validation(_service_account_token, complete_only=True),
    severity=Severity.MEDIUM,
    remediation_steps="Set automountServiceAccountToken false on the pod spec.",
    tags=["kubernetes", "access", *sources("CKV_K8S_38"), *applies_to(*POD_SPEC_PATHS), concern_tag(PODS)],
)


def _secrets_as_files(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    checks = Unknowns()
    for label, container in pod.containers():
        with checks:
            for env in as_list(container.get("env")):
                with checks:
                    if dig(env, "valueFrom", "secretKeyRef") is not None:
                        report(
                            f"{label} reads secret {dig(env, 'valueFrom', 'secretKeyRef', 'name')!r} into environment variable {dig(env, 'name')!r}."
                        )
        with checks:
            for source in as_list(container.get("envFrom")):
                with checks:
                    if dig(source, "secretRef") is not None:
                        report(f"{label} loads secret {dig(source, 'secretRef', 'name')!r} into its environment.")
    checks.settle()


secrets_as_files = pod_policy(
    name="kubernetes-secrets-as-files",
    description="Kubernetes containers read secrets from mounted files, not environment variables (which leak into logs, crash dumps and child processes).",
    validate=workload_validation(_secrets_as_files),
    severity=Severity.MEDIUM,
    remediation_steps="Mount the secret as a volume (secret or CSI secrets-store) and read it from the file.",
    tags=["kubernetes", "secrets", *sources("CKV_K8S_35"), *applies_to(*POD_SPEC_PATHS), concern_tag(PODS)],
)


# Variables the cloud SDKs read static credentials (or a file of them) from; a pod gets an identity instead
# (EKS IRSA or Pod Identity, GKE Workload Identity, Azure Workload Identity).
STATIC_CREDENTIAL_VARIABLES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",  # botocore's and the CLI's older name of the session token
        "AWS_ACCESS_KEY",  # the Java SDK's alternate names
        "AWS_SECRET_KEY",
        "AWS_SHARED_CREDENTIALS_FILE",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    }
)
# Keys of a Secret or ConfigMap that become those variables through `envFrom` with `prefix: AWS_` (the
# standard names only: `SECRET_KEY` alone is as often a web framework's signing key).
PREFIXED_CREDENTIAL_KEYS = frozenset({"ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"})
# Where the SDKs look for credentials files: ~/.aws, gcloud's and Azure's configuration directories.
CREDENTIAL_DIRECTORIES = re.compile(r"(^|/)(\.aws|\.config/gcloud|\.azure)(/|$)")
# What static AWS credentials look like inside a Secret or ConfigMap that pods read (through env, envFrom
# or a volume): an access key id (AWS's documented prefixes), or an AWS credentials file.
CREDENTIAL_CONTENTS = {
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    "an AWS credentials file": re.compile(
        r"^\s*aws_(secret_access_key|session_token)\s*=", re.IGNORECASE | re.MULTILINE
    ),
}
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
# Where each carrier keeps its entries, and whether that field is base64-encoded.
CARRIER_FIELDS: Mapping[str, tuple[tuple[str, bool], ...]] = {
    SECRET: (("stringData", False), ("data", True)),
    CONFIG_MAP: (("data", False), ("binaryData", True)),
}
CREDENTIAL_CARRIERS = tuple(CARRIER_FIELDS)
IRSA_URL = "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html"


# The SDKs' configuration file: it holds keys as the credentials file does (`aws_secret_access_key`).
CONFIG_FILE_VARIABLE = "AWS_CONFIG_FILE"


def _secret_volumes(pod: PodSpec) -> set[str]:
    """Volumes with a Secret's contents: a `secret` volume, or a `projected` one with a secret source."""
    return {
        str(dig(volume, "name"))
        for volume in as_list(pod.spec.get("volumes"))
        if dig(volume, "secret") is not None
        or any(dig(source, "secret") is not None for source in as_list(dig(volume, "projected", "sources")))
    }


def _static_credentials(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    secret_volumes = _secret_volumes(pod)
    for label, container in pod.containers():
        secret_mounts = [
            str(dig(mount, "mountPath") or "").rstrip("/")
            for mount in as_list(container.get("volumeMounts"))
            if str(dig(mount, "name")) in secret_volumes
        ]
        for env in as_list(container.get("env")):
            name = str(dig(env, "name") or "")
            if name.upper() in STATIC_CREDENTIAL_VARIABLES:
                source = "a secret" if dig(env, "valueFrom") is not None else "a literal value"
                report(
                    f"{label} passes cloud credentials in {name!r} (from {source}); give the pod an identity instead."
                )
            elif found := _credential_contents(str(dig(env, "value") or "")):
                report(f"{label} passes {found} in {name!r}; give the pod an identity instead.")
            elif name == CONFIG_FILE_VARIABLE and any(
                _within(str(dig(env, "value") or ""), path) for path in secret_mounts if path
            ):
                report(
                    f"{label} points {name} at {dig(env, 'value')}, a file from a Secret: an AWS configuration file"
                    " kept secret holds keys; give the pod an identity instead."
                )
        for argument_field in ("command", "args"):
            if found := _credential_contents("\n".join(str(item) for item in as_list(container.get(argument_field)))):
                report(f"{label} passes {found} in its {argument_field}; give the pod an identity instead.")
        for mount in as_list(container.get("volumeMounts")):
            path = str(dig(mount, "mountPath") or "")
            if CREDENTIAL_DIRECTORIES.search(path):
                report(f"{label} mounts {dig(mount, 'name')!r} at {path}, where the cloud SDKs read credentials files.")


def _credential_contents(text: str) -> str | None:
    """What static credentials `text` holds (an access key id, a credentials file), if any."""
    return next((what for what, pattern in CREDENTIAL_CONTENTS.items() if pattern.search(text)), None)


def _entries(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
    """(key, text) of each entry of a Secret or ConfigMap, base64-encoded fields decoded, in key order."""
    for entries, encoded in CARRIER_FIELDS[args.resource_type]:
        for key, value in sorted(as_mapping(args.props.get(entries)).items()):
            text = str(value)
            if encoded:
                # Not base64: the API server would refuse it; the text is judged as it is.
                with contextlib.suppress(binascii.Error):
                    text = base64.b64decode(text, validate=True).decode("utf-8", "replace")
            yield str(key), text


def _credential_carrier(args: ResourceValidationArgs, report: Report) -> None:
    kind = args.resource_type.rsplit(":", 1)[-1]
    for key, text in _entries(args):
        if key.upper() in STATIC_CREDENTIAL_VARIABLES | PREFIXED_CREDENTIAL_KEYS:
            report(
                f"{kind} key {key!r} names static cloud credentials, which a pod reading it (env, envFrom or a volume) runs on."
            )
            continue
        if found := _credential_contents(text):
            report(f"{kind} key {key!r} holds {found}: static credentials for any pod that reads it.")


_pods_static_credentials = workload_validation(_static_credentials)


def _no_static_credentials(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in CREDENTIAL_CARRIERS:
        _credential_carrier(args, report)
    else:
        _pods_static_credentials(args, report)


def hands_out_credentials(resource_type: str) -> bool:
    """Resources that give a pod credentials: its spec, or a Secret or ConfigMap it reads."""
    return resource_type in CREDENTIAL_CARRIERS or holds_pods(resource_type)


no_static_cloud_credentials = ReachingPolicy(
    hands_out_credentials,
    name="kubernetes-no-static-cloud-credentials",
    description="Kubernetes containers, init and ephemeral containers included, get no static cloud credentials (access keys in the environment or on the command line, credentials files mounted where the SDKs read them or named by AWS_SHARED_CREDENTIALS_FILE or a Secret's AWS_CONFIG_FILE, Secrets or ConfigMaps holding keys for env, envFrom or volumes): the pod's workload identity (IRSA, Pod Identity) issues short-lived ones.",
    validate=rule(_no_static_credentials),
    severity=Severity.HIGH,
    remediation_steps="Remove the access keys, credentials files and the Secrets holding them; annotate the service account with an IAM role (IRSA, eks.amazonaws.com/role-arn) or use EKS Pod Identity, and let the SDK's default chain find it.",
    tags=[
        "kubernetes",
        "credentials",
        *sources("CKV_SECRET_2", "aws-eks-best-practices:irsa"),
        *applies_to(*POD_SPEC_PATHS, *CREDENTIAL_CARRIERS),
        concern_tag(PODS),
    ],
    url=IRSA_URL,
)

# Where serving containers load a model from: SageMaker's directory (modelplane's image), KServe's.
MODEL_PATHS = ["/opt/ml/model", "/mnt/models"]


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def _read_only_models(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    """The mount a model directory is served from (the deepest one at or above it), and any below it, are
    read-only: set on the mount, or on a volume source that takes `readOnly` (a claim, a CSI driver)."""
    model_paths = [str(path).rstrip("/") for path in args.get_config().get("modelPaths", MODEL_PATHS)]
    read_only_volumes = {
        str(dig(volume, "name"))
        for volume in as_list(pod.spec.get("volumes"))
        if any(is_true(dig(source, "readOnly")) for source in as_mapping(volume).values() if is_mapping(source))
    }
    # The volume each serving mount comes from: another container writing it changes the served model too.
    served: dict[str, tuple[str, str]] = {}
    reported: set[tuple[str, str]] = set()
    containers = pod.containers(kinds=("containers", "container"))
    for label, container in containers:
        mounts = {
            str(dig(mount, "mountPath") or "").rstrip("/"): mount for mount in as_list(container.get("volumeMounts"))
        }
        writable = {
            path
            for path, mount in mounts.items()
            if not is_true(dig(mount, "readOnly")) and str(dig(mount, "name")) not in read_only_volumes
        }
        for model_path in model_paths:
            above = [path for path in mounts if path and _within(model_path, path)]
            serving = max(above, key=len, default=None)
            if serving is not None:
                serving_mount = mounts[serving]
                served.setdefault(
                    str(dig(serving_mount, "name")),
                    (
                        f"{label.split(' (')[0]} serves its model directory {model_path}",
                        str(dig(serving_mount, "subPath") or "").strip("/"),
                    ),
                )
            exposed = sorted({path for path in writable if _within(path, model_path) and path != model_path})
            if serving in writable:
                exposed.insert(0, serving)
            reported.update((label, path) for path in exposed)
            for path in exposed:
                if path == model_path:
                    where = f"its model directory {path}"
                elif _within(path, model_path):
                    where = f"{path}, inside its model directory {model_path},"
                else:
                    where = f"{path}, which holds its model directory {model_path},"
                report(f"{label} mounts {where} writable: the served model could be changed after it was verified.")
    # Native sidecars (init containers that keep running, `restartPolicy: Always`) run beside the server too.
    sidecars = [
        (label, container)
        for label, container in pod.containers(kinds=("initContainers",))
        if dig(container, "restartPolicy") == "Always"
    ]
    _other_writers([*containers, *sidecars], served, reported, read_only_volumes, report)


def _other_writers(
    containers: list[tuple[str, Mapping[str, Any]]],
    served: Mapping[str, tuple[str, str]],
    reported: set[tuple[str, str]],
    read_only_volumes: set[str],
    report: Report,
) -> None:
    """Writable mounts, at any path, of a volume a model directory is served from (a sidecar's, or the serving
    container's own second mount), unless both mount different sub-paths of it."""
    for label, container in containers:
        for mount in as_list(container.get("volumeMounts")):
            volume, path = str(dig(mount, "name")), str(dig(mount, "mountPath") or "").rstrip("/")
            if volume not in served or (label, path) in reported or volume in read_only_volumes:
                continue
            what, served_under = served[volume]
            under = str(dig(mount, "subPath") or "").strip("/")
            apart = served_under and under and not (_within(under, served_under) or _within(served_under, under))
            if not is_true(dig(mount, "readOnly")) and not apart:
                report(
                    f"{label} mounts {volume!r} at {path} writable, the volume {what} from: the served model could"
                    " be changed after it was verified."
                )


read_only_model_volume = pod_policy(
    name="kubernetes-read-only-model-volume",
    description="Serving containers mount the model directory read-only, and no other container mounts its volume writable: what an init container fetched and verified stays what is served.",
    validate=workload_validation(_read_only_models),
    severity=Severity.MEDIUM,
    remediation_steps="Set readOnly: true on the serving container's mount of the model volume; only the init container that fetches the model writes it.",
    tags=["kubernetes", "supply-chain", *applies_to(*POD_SPEC_PATHS), concern_tag(PODS)],
    config_schema=config_schema(
        {
            "modelPaths": {
                "type": "array",
                "items": {"type": "string"},
                "default": MODEL_PATHS,
                "description": "Directories serving containers load models from.",
            }
        }
    ),
)

CAPTURE_DESTINATION = "MODELPLANE_CAPTURE_DESTINATION"
CAPTURE_KEY = "MODELPLANE_CAPTURE_KMS_KEY_ID"


def _capture_encrypted(args: ResourceValidationArgs, report: Report, pod: PodSpec) -> None:
    for label, container in pod.containers():
        variables = {str(dig(env, "name")): env for env in as_list(container.get("env"))}
        if CAPTURE_DESTINATION not in variables:
            continue
        key = variables.get(CAPTURE_KEY)
        value = dig(key, "value") if key is not None else None
        if key is None or (value is not None and not str(value).strip()):
            report(
                f"{label} captures requests without {CAPTURE_KEY}: the capture would not be encrypted with a customer key."
            )
        elif value is not None and ":alias/aws/" in f":{value}":
            report(f"{label} encrypts its capture with the AWS managed key {value}, not a customer key.")


data_capture_encrypted = pod_policy(
    name="kubernetes-data-capture-encrypted",
    description="Serving containers that capture requests in SageMaker's format (modelplane's image on Kubernetes) encrypt the capture with a customer-managed KMS key, as a SageMaker endpoint's data capture must.",
    validate=workload_validation(_capture_encrypted),
    severity=Severity.HIGH,
    remediation_steps="Set MODELPLANE_CAPTURE_KMS_KEY_ID to the stack key's ARN (the Kubernetes component does when data_capture is on).",
    tags=["kubernetes", "encryption", *sources("CKV_AWS_98"), *applies_to(*POD_SPEC_PATHS), concern_tag(PODS)],
)


def _namespaced(args: ResourceValidationArgs, report: Report) -> None:
    package, _, module_and_kind = args.resource_type.partition(":")
    group, _, kind = module_and_kind.partition(":")
    kind = kind.removesuffix("Patch")
    if package != "kubernetes" or group.split("/")[0] in NON_OBJECT_GROUPS or kind in CLUSTER_SCOPED_KINDS:
        return
    namespace = dig(args.props, "metadata", "namespace")
    if namespace is None and args.provider is not None:
        namespace = args.provider.props.get("namespace")
    if namespace in (None, "", "default"):
        report(f"{kind} is placed in the default namespace; give each service its own namespace.")


no_default_namespace = ResourceValidationPolicy(
    name="kubernetes-no-default-namespace",
    description="Namespaced Kubernetes resources live in a namespace of their own, not `default`.",
    validate=rule(_namespaced),
    severity=Severity.LOW,
    remediation_steps="Set metadata.namespace (modelplane: kubernetes.namespace) to the service's namespace.",
    tags=["kubernetes", "isolation", *sources("CKV_K8S_21"), *applies_to("kubernetes:*")],
)


def _namespace_of(resource: PolicyResource) -> str:
    return str(dig(resource.props, "metadata", "namespace") or "default")


def _template_labels(workload: PolicyResource) -> Mapping[str, Any]:
    return as_mapping(dig(workload.props, "spec", "template", "metadata", "labels"))


def _selects(budget: PolicyResource, workload: PolicyResource) -> bool:
    selector = as_mapping(dig(budget.props, "spec", "selector", "matchLabels"))
    labels = _template_labels(workload)
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _blocks_evictions(budget: PolicyResource, replicas: float | None) -> bool:
    """Whether the budget allows no voluntary disruption at all, which blocks node drains."""
    spec = as_mapping(budget.props.get("spec"))
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        return str(max_unavailable).strip() in {"0", "0%", "0.0"}
    if min_available is None:
        return False
    if str(min_available).strip() == "100%":
        return True
    minimum = as_number(min_available)
    return minimum is not None and replicas is not None and minimum >= replicas


def _disruption_budgets(args: StackValidationArgs, report: Report) -> None:
    budgets = of_type(args.resources, PDB)
    for workload in of_type(args.resources, DEPLOYMENT, STATEFUL_SET):
        name = dig(workload.props, "metadata", "name")
        matching = [
            budget
            for budget in budgets
            if _namespace_of(budget) == _namespace_of(workload) and _selects(budget, workload)
        ]
        kind = workload.resource_type.rsplit(":", 1)[-1]
        if not matching:
            report(f"{kind} {name!r} has no PodDisruptionBudget selecting its pods.", workload.urn)
            continue
        replicas = as_number(dig(workload.props, "spec", "replicas"))
        if all(_blocks_evictions(budget, replicas) for budget in matching):
            report(
                f"the PodDisruptionBudget of {kind} {name!r} allows no disruption, which blocks node drains.",
                workload.urn,
            )


disruption_budgets = StackValidationPolicy(
    name="kubernetes-pod-disruption-budgets",
    description="Every Kubernetes Deployment and StatefulSet has a PodDisruptionBudget that keeps pods up during node drains yet allows them.",
    validate=rule(_disruption_budgets),
    severity=Severity.MEDIUM,
    remediation_steps="Create a PodDisruptionBudget in the same namespace selecting the pod labels, with maxUnavailable 1 (or minAvailable below the replica count).",
    tags=["kubernetes", "availability", *applies_to(DEPLOYMENT, STATEFUL_SET, PDB)],
)


def _scales(scaler: PolicyResource, workload: PolicyResource) -> bool:
    target = as_mapping(dig(scaler.props, "spec", "scaleTargetRef"))
    kind = target.get("kind") or ("Deployment" if scaler.resource_type == KEDA_SCALED_OBJECT else None)
    return (
        _namespace_of(scaler) == _namespace_of(workload)
        and kind == workload.resource_type.rsplit(":", 1)[-1]
        and target.get("name") == dig(workload.props, "metadata", "name")
    )


def _autoscaled(args: StackValidationArgs, report: Report) -> None:
    production_gate(args)
    scalers = of_type(args.resources, *HPA_TYPES, KEDA_SCALED_OBJECT)
    for workload in of_type(args.resources, DEPLOYMENT):
        if not any(_scales(scaler, workload) for scaler in scalers):
            name = dig(workload.props, "metadata", "name")
            report(f"Deployment {name!r} has no HorizontalPodAutoscaler.", workload.urn)


autoscaled = StackValidationPolicy(
    name="kubernetes-autoscaling-in-production",
    description="Every Kubernetes Deployment in production is scaled by a HorizontalPodAutoscaler.",
    validate=rule(_autoscaled),
    severity=Severity.MEDIUM,
    remediation_steps="Set autoscaling (min_capacity, max_capacity and a CPU or custom metric target) on the endpoint.",
    tags=["kubernetes", "availability", *applies_to(DEPLOYMENT, *HPA_TYPES, KEDA_SCALED_OBJECT)],
    config_schema=config_schema({PRODUCTION_PROPERTY: PRODUCTION_SCHEMA}),
)

POLICIES = [
    pod_security_restricted,
    container_hardening,
    probes,
    resource_limits,
    ephemeral_storage_limits,
    service_account_token,
    secrets_as_files,
    no_static_cloud_credentials,
    read_only_model_volume,
    data_capture_encrypted,
    no_default_namespace,
    disruption_budgets,
    autoscaled,
]
