"""Kubernetes access and exposure: RBAC that grants no cluster takeover, services and ingresses that
expose nothing by accident, namespaces that enforce a Pod Security level.

Rules read the object itself, in any API version pulumi-kubernetes offers (`kubernetes:<group>/<version>:<Kind>`),
so they judge a role from a Helm chart or a hand-written manifest as they judge modelplane's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    ReachingPolicy,
    Report,
    applies_to,
    as_list,
    as_mapping,
    config_schema,
    dig,
    is_world,
    per_resource,
    production_gate,
    rule,
    sources,
    value_at,
)
from .kubernetes import is_custom_resource, plain_inputs

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_VERSIONS = ("v1", "v1beta1", "v1alpha1")
# Every form pulumi-kubernetes offers a kind in: the object, a server-side apply patch of it (which
# sets the fields it lists), and a list of them (`items[]`).
KIND_FORMS = ("", "Patch", "List")
ROLE_TYPES = tuple(
    f"kubernetes:{RBAC_GROUP}/{version}:{kind}{form}"
    for version in RBAC_VERSIONS
    for kind in ("Role", "ClusterRole")
    for form in KIND_FORMS
)
BINDING_TYPES = tuple(
    f"kubernetes:{RBAC_GROUP}/{version}:{kind}{form}"
    for version in RBAC_VERSIONS
    for kind in ("RoleBinding", "ClusterRoleBinding")
    for form in KIND_FORMS
)
# How deep the search for RBAC rules in a custom resource goes (an operator bundle keeps them at
# `spec.install.spec.clusterPermissions[].rules`).
MAX_DEPTH = 8
SERVICE = "kubernetes:core/v1:Service"
# A Service in any form: a patch (server-side apply) that sets the type states the exposure it makes.
SERVICE_TYPES = tuple(f"{SERVICE}{form}" for form in KIND_FORMS)
INGRESS_TYPES = (
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1beta1:Ingress",
    "kubernetes:extensions/v1beta1:Ingress",
)
NAMESPACE = "kubernetes:core/v1:Namespace"
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
PRIVILEGED_ROLES = ["cluster-admin"]
ESCALATION_VERBS = ("escalate", "bind", "impersonate")
READ_VERBS = ("get", "list", "watch", "*")
# Annotations that make a LoadBalancer Service internal, per cloud (value compared case-insensitively).
INTERNAL_LOAD_BALANCER_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    "service.beta.kubernetes.io/oci-load-balancer-internal": "true",
}
# AWS's cloud provider makes the load balancer internal for any value of this one but "false"
# (older manifests, and AWS's own examples, write "0.0.0.0/0").
AWS_INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
# Annotations by which an ingress controller terminates TLS with a certificate it holds itself.
TLS_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/certificate-arn",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "networking.gke.io/managed-certificates",
)
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
PSS_ADMISSION_URL = "https://kubernetes.io/docs/concepts/security/pod-security-admission/"
RBAC_URL = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"


def _kind(args: ResourceValidationArgs) -> str:
    """The RBAC kind a resource declares, whatever its form (`ClusterRolePatch` and `ClusterRoleList` are ClusterRoles)."""
    kind = args.resource_type.rsplit(":", 1)[-1]
    for form in KIND_FORMS[1:]:
        kind = kind.removesuffix(form)
    return kind


def _objects(args: ResourceValidationArgs) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of a resource with their path prefix: the object itself, or each item of a list kind."""
    if args.resource_type.endswith("List"):
        return [(f"items[{index}].", as_mapping(item)) for index, item in enumerate(as_list(args.props.get("items")))]
    return [("", args.props)]


def _rules(args: ResourceValidationArgs) -> list[tuple[str, Mapping[str, Any]]]:
    """The RBAC rules a resource grants: a Role's or ClusterRole's `rules` (each item's, in a list kind),
    and, in a custom resource, every list of rules shaped as RBAC's wherever it keeps them (an operator
    bundle's `clusterPermissions[].rules`, which its installer turns into a ClusterRole)."""
    if args.resource_type in ROLE_TYPES:
        return [
            (f"{prefix}rules[{index}]", as_mapping(raw))
            for prefix, role_object in _objects(args)
            for index, raw in enumerate(as_list(role_object.get("rules")))
        ]
    if is_custom_resource(args.resource_type):
        return _rules_of_custom_resource(args.props)
    return []


@per_resource
def _rules_of_custom_resource(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(path, as_mapping(value_at(props, keys))) for path, keys in _rules_by_shape(plain_inputs(props), (), "", 0)]


def _is_rbac_rule(view: Any) -> bool:
    """Whether a plain value is an RBAC PolicyRule: verbs, and the resources or URLs they apply to."""
    return type(view) is dict and "verbs" in view and ("resources" in view or "nonResourceURLs" in view)


def _rules_by_shape(
    view: Any, keys: tuple[str | int, ...], path: str, depth: int
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Where the RBAC rules of a custom resource's plain inputs are (in a list under `rules`), with the keys that lead there."""
    if depth > MAX_DEPTH:
        return
    if type(view) is dict:
        for key, value in view.items():
            if type(value) not in (dict, list) or key in ("metadata", "status"):
                continue
            where = f"{path}.{key}" if path else str(key)
            if key == "rules" and type(value) is list and any(_is_rbac_rule(item) for item in value):
                for index, item in enumerate(value):
                    if _is_rbac_rule(item):
                        yield f"{where}[{index}]", (*keys, key, index)
            else:
                yield from _rules_by_shape(value, (*keys, key), where, depth + 1)
    elif type(view) is list:
        for index, item in enumerate(view):
            if type(item) in (dict, list):
                yield from _rules_by_shape(item, (*keys, index), f"{path}[{index}]", depth + 1)


def grants_rules(resource_type: str) -> bool:
    """Whether a resource type may grant RBAC rules: a Role or ClusterRole in any form, or a custom resource."""
    return resource_type in ROLE_TYPES or is_custom_resource(resource_type)


def _values(rbac_rule: Mapping[str, Any], key: str) -> list[str]:
    return [str(value) for value in as_list(rbac_rule.get(key))]


def _subjects(binding: Mapping[str, Any]) -> str:
    subjects = [
        f"{dig(subject, 'kind') or '?'} {'/'.join(str(part) for part in (dig(subject, 'namespace'), dig(subject, 'name')) if part)}"
        for subject in as_list(binding.get("subjects"))
    ]
    return ", ".join(subjects) or "no subjects yet"


def _no_privileged_binding(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in BINDING_TYPES:
        return
    privileged = [str(name) for name in as_list(args.get_config().get("privilegedRoles", PRIVILEGED_ROLES))]
    for prefix, binding in _objects(args):
        role = as_mapping(binding.get("roleRef"))
        if role.get("kind") == "ClusterRole" and role.get("name") in privileged:
            where = "the whole cluster" if _kind(args) == "ClusterRoleBinding" else "its namespace"
            report(
                f"{prefix}roleRef binds ClusterRole {role.get('name')} to {_subjects(binding)}: they can do anything in {where}."
            )


no_privileged_binding = ResourceValidationPolicy(
    name="kubernetes-rbac-no-cluster-admin-binding",
    description="No RoleBinding or ClusterRoleBinding grants cluster-admin (or another configured all-powerful role).",
    validate=rule(_no_privileged_binding),
    severity=Severity.CRITICAL,
    remediation_steps="Bind a Role listing the resources and verbs the subject needs, in its own namespace; keep cluster-admin to break-glass access outside the program.",
    tags=["kubernetes", "rbac", *sources("cis-k8s:5.1.1"), *applies_to(*BINDING_TYPES)],
    url=RBAC_URL,
    config_schema=config_schema(
        {
            "privilegedRoles": {
                "type": "array",
                "items": {"type": "string"},
                "default": PRIVILEGED_ROLES,
                "description": "ClusterRoles no binding may grant.",
            }
        }
    ),
)


def _no_wildcards(args: ResourceValidationArgs, report: Report) -> None:
    for path, rbac_rule in _rules(args):
        wild = [key for key in ("apiGroups", "resources", "verbs", "nonResourceURLs") if "*" in _values(rbac_rule, key)]
        if wild:
            report(f"{path} uses '*' in {', '.join(wild)}: it grants whatever the API or a new CRD adds later.")


no_wildcards = ReachingPolicy(
    grants_rules,
    name="kubernetes-rbac-no-wildcards",
    description="Roles and ClusterRoles (and the RBAC rules a custom resource such as an operator bundle carries) name their API groups, resources and verbs instead of '*'.",
    validate=rule(_no_wildcards),
    severity=Severity.HIGH,
    remediation_steps="List the API groups, resources and verbs the subject uses (kubectl auth can-i --list shows what it has).",
    tags=["kubernetes", "rbac", *sources("CKV_K8S_49", "cis-k8s:5.1.3"), *applies_to(*ROLE_TYPES)],
    url=RBAC_URL,
)


def _no_cluster_secret_reads(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in BINDING_TYPES and _kind(args) == "ClusterRoleBinding":
        readers = [str(name) for name in as_list(args.get_config().get("secretReadingClusterRoles"))]
        for prefix, binding in _objects(args):
            role = as_mapping(binding.get("roleRef"))
            if role.get("kind") == "ClusterRole" and role.get("name") in readers:
                report(
                    f"{prefix}roleRef grants ClusterRole {role.get('name')}, which reads secrets, to {_subjects(binding)} in every namespace."
                )
        return
    if args.resource_type not in ROLE_TYPES or _kind(args) != "ClusterRole":
        return
    for path, rbac_rule in _rules(args):
        core = any(group in ("", "*") for group in _values(rbac_rule, "apiGroups"))
        secrets = any(resource in ("secrets", "*") for resource in _values(rbac_rule, "resources"))
        reads = [verb for verb in _values(rbac_rule, "verbs") if verb in READ_VERBS]
        if core and secrets and reads and not rbac_rule.get("resourceNames"):
            report(f"{path} lets its subjects {', '.join(reads)} secrets in every namespace.")


no_cluster_secret_reads = ResourceValidationPolicy(
    name="kubernetes-rbac-no-cluster-wide-secret-reads",
    description="Nothing reads Secrets in every namespace: no ClusterRole with get, list or watch on secrets (without resourceNames), no ClusterRoleBinding to a built-in role that reads them.",
    validate=rule(_no_cluster_secret_reads),
    severity=Severity.HIGH,
    remediation_steps="Grant secret reads with a Role in the namespace that holds the secrets, limited by resourceNames; bind edit or admin with a RoleBinding in one namespace.",
    tags=["kubernetes", "rbac", "secrets", *sources("cis-k8s:5.1.2"), *applies_to(*ROLE_TYPES, *BINDING_TYPES)],
    url=RBAC_URL,
    config_schema=config_schema(
        {
            "secretReadingClusterRoles": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["admin", "edit"],
                "description": "ClusterRoles that read secrets and must not be bound cluster-wide (cluster-admin has its own rule).",
            }
        }
    ),
)


def _no_escalation_verbs(args: ResourceValidationArgs, report: Report) -> None:
    for path, rbac_rule in _rules(args):
        verbs = [verb for verb in _values(rbac_rule, "verbs") if verb in ESCALATION_VERBS]
        if verbs:
            resources = ", ".join(_values(rbac_rule, "resources")) or "?"
            report(
                f"{path} grants {', '.join(verbs)} on {resources}: its subjects can give themselves or act with permissions they do not hold."
            )


no_escalation_verbs = ReachingPolicy(
    grants_rules,
    name="kubernetes-rbac-no-escalation-verbs",
    description="Roles and ClusterRoles (and the RBAC rules a custom resource such as an operator bundle carries) do not grant the escalate, bind or impersonate verbs.",
    validate=rule(_no_escalation_verbs),
    severity=Severity.HIGH,
    remediation_steps="Remove escalate, bind and impersonate; let a dedicated, audited administrator identity manage RBAC.",
    tags=["kubernetes", "rbac", *sources("CKV_K8S_157", "CKV_K8S_158", "cis-k8s:5.1.8"), *applies_to(*ROLE_TYPES)],
    url=RBAC_URL,
)


def is_internal_load_balancer(metadata: Mapping[str, Any]) -> bool:
    annotations = {str(key): str(value).lower() for key, value in as_mapping(metadata.get("annotations")).items()}
    if annotations.get(AWS_INTERNAL_ANNOTATION, "") not in ("", "false"):
        return True
    return any(annotations.get(key) == value for key, value in INTERNAL_LOAD_BALANCER_ANNOTATIONS.items())


def _service_not_public(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in SERVICE_TYPES:
        return
    for prefix, service in _objects(args):
        if dig(service, "spec", "type") != "LoadBalancer" or is_internal_load_balancer(
            as_mapping(service.get("metadata"))
        ):
            continue
        ranges = [str(item).strip() for item in as_list(dig(service, "spec", "loadBalancerSourceRanges"))]
        if not ranges:
            report(
                f"{prefix}spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
            )
        elif world := [item for item in ranges if is_world(item)]:
            report(
                f"{prefix}spec.loadBalancerSourceRanges includes {', '.join(world)}: the whole internet can reach it."
            )


service_not_public = ResourceValidationPolicy(
    name="kubernetes-load-balancer-not-public",
    description="LoadBalancer Services are internal, or accept only the source ranges they list.",
    validate=rule(_service_not_public),
    severity=Severity.HIGH,
    remediation_steps="Annotate the Service as internal (service.beta.kubernetes.io/aws-load-balancer-scheme: internal) or set spec.loadBalancerSourceRanges to the callers' CIDRs; publish public APIs through an Ingress with TLS.",
    tags=["kubernetes", "network", "public-exposure", *applies_to(*SERVICE_TYPES)],
    url="https://kubernetes.io/docs/concepts/services-networking/service/#internal-load-balancer",
)


def _no_node_ports(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in SERVICE_TYPES:
        return
    node_ports = [prefix for prefix, service in _objects(args) if dig(service, "spec", "type") == "NodePort"]
    if node_ports:
        production_gate(args)
    for prefix in node_ports:
        report(
            f"{prefix}spec.type is NodePort: the service listens on every node's address, around load balancers and ingress rules."
        )


no_node_ports = ResourceValidationPolicy(
    name="kubernetes-no-node-ports-in-production",
    description="Production Services do not open NodePorts on every node.",
    validate=rule(_no_node_ports),
    severity=Severity.MEDIUM,
    remediation_steps="Use a ClusterIP Service behind an Ingress, or an internal LoadBalancer.",
    tags=["kubernetes", "network", *applies_to(*SERVICE_TYPES)],
    config_schema=config_schema({PRODUCTION_PROPERTY: PRODUCTION_SCHEMA}),
)


def certifies(tls_host: str, host: str) -> bool:
    """Whether a TLS host entry covers a rule's host: equal, or a `*.` wildcard for one more label."""
    if tls_host == host:
        return True
    if tls_host.startswith("*."):
        name, _, parent = host.partition(".")
        return bool(name) and parent == tls_host[2:]
    return False


def _ingress_tls(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in INGRESS_TYPES:
        return
    annotations = as_mapping(dig(args.props, "metadata", "annotations"))
    if any(annotations.get(key) for key in TLS_ANNOTATIONS):
        return
    tls = [as_mapping(entry) for entry in as_list(dig(args.props, "spec", "tls"))]
    if not tls:
        report(
            "spec.tls is empty: the ingress serves plain HTTP, so requests and credentials cross the network unencrypted."
        )
        return
    if any(not as_list(entry.get("hosts")) for entry in tls):
        return
    covered = [str(host) for entry in tls for host in as_list(entry.get("hosts"))]
    hosts = [str(dig(item, "host")) for item in as_list(dig(args.props, "spec", "rules")) if dig(item, "host")]
    uncovered = [host for host in hosts if not any(certifies(name, host) for name in covered)]
    if uncovered:
        report(f"spec.tls does not cover host(s) {', '.join(uncovered)}, which are served over plain HTTP.")


ingress_tls = ResourceValidationPolicy(
    name="kubernetes-ingress-tls",
    description="Ingresses terminate TLS for every host they serve.",
    validate=rule(_ingress_tls),
    severity=Severity.HIGH,
    remediation_steps="Add spec.tls with the hosts and a certificate secret (cert-manager), or the load balancer's certificate annotation (alb.ingress.kubernetes.io/certificate-arn).",
    tags=["kubernetes", "network", "encryption-in-transit", *applies_to(*INGRESS_TYPES)],
    url="https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
)


def _namespace_pod_security(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in (NAMESPACE, NAMESPACE_PATCH):
        return
    config = args.get_config()
    name = dig(args.props, "metadata", "name") or args.name
    if name in [str(item) for item in as_list(config.get("exemptNamespaces"))]:
        return
    level = as_mapping(dig(args.props, "metadata", "labels")).get(ENFORCE_LABEL)
    allowed = [str(item) for item in as_list(config.get("allowedLevels"))]
    if level is None and args.resource_type == NAMESPACE:
        report(
            f"metadata.labels has no {ENFORCE_LABEL}: pods in the namespace get the cluster's default level, usually privileged."
        )
    elif level is not None and level not in allowed:
        report(f"metadata.labels sets {ENFORCE_LABEL}={level}; allowed: {', '.join(allowed)}.")


namespace_pod_security = ResourceValidationPolicy(
    name="kubernetes-namespace-pod-security",
    description="Namespaces enforce a Pod Security Standards level (pod-security.kubernetes.io/enforce), never privileged.",
    validate=rule(_namespace_pod_security),
    severity=Severity.HIGH,
    remediation_steps="Label the namespace pod-security.kubernetes.io/enforce: restricted (modelplane's namespaces do), or baseline where a workload needs it.",
    tags=[
        "kubernetes",
        "pod-security",
        *sources("pod-security:admission-labels"),
        *applies_to(NAMESPACE, NAMESPACE_PATCH),
    ],
    url=PSS_ADMISSION_URL,
    config_schema=config_schema(
        {
            "allowedLevels": {
                "type": "array",
                "items": {"type": "string", "enum": ["privileged", "baseline", "restricted"]},
                "default": ["baseline", "restricted"],
                "description": "Pod Security levels a namespace may enforce.",
            },
            "exemptNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["kube-system"],
                "description": "Namespaces (by name) left to the cluster's own policy, such as kube-system.",
            },
        }
    ),
)

POLICIES = [
    no_privileged_binding,
    no_wildcards,
    no_cluster_secret_reads,
    no_escalation_verbs,
    service_not_public,
    no_node_ports,
    ingress_tls,
    namespace_pod_security,
]
