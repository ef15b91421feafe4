"""Rules of `policies/modelplane_guard/kubernetes_access.py` (Kubernetes RBAC, exposure and namespace pod
security): compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import kubernetes_access
from tests.policies.harness import (
    ACCOUNT,
    NOT_APPLICABLE,
    PREVIEW,
    PRODUCTION_OFF,
    RBAC,
    UNKNOWN,
    Case,
    case_id,
    namespace,
    one,
    patched,
    role,
    run,
    uncovered,
)

SERVICE = "kubernetes:core/v1:Service"


INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


NAMESPACE = "kubernetes:core/v1:Namespace"


def rbac_rule(groups: list[str], resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


def binding(role_name: str, kind: str = "ClusterRoleBinding", role_kind: str = "ClusterRole") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"{role_name}-binding"}
    if kind == "RoleBinding":
        metadata["namespace"] = "recommender"
    return {
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [
            {"kind": "Group", "name": "ml-engineers", "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
        ],
    }


OPERATOR_BUNDLE = "kubernetes:operators.coreos.com/v1alpha1:ClusterServiceVersion"


def operator_bundle(*rules: dict[str, Any]) -> dict[str, Any]:
    """An operator bundle, whose installer turns `clusterPermissions` into a ClusterRole for the operator."""
    return {
        "metadata": {"name": "model-operator.v1.2.0", "namespace": "operators"},
        "spec": {
            "install": {
                "strategy": "deployment",
                "spec": {"clusterPermissions": [{"serviceAccountName": "model-operator", "rules": list(rules)}]},
            }
        },
    }


def service(kind: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "scorer", "namespace": "recommender", "annotations": annotations or {}},
        "spec": {"type": kind, "selector": {"app": "scorer"}, "ports": [{"port": 443, "targetPort": 8443}], **spec},
    }


def ingress_object(tls: list[dict[str, Any]] | None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    backend = {"service": {"name": "scorer", "port": {"number": 443}}}
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
            for host in ("score.example.com", "admin.example.com")
        ],
    }
    if tls is not None:
        spec["tls"] = tls
    return {"metadata": {"name": "scorer", "namespace": "recommender", "annotations": annotations or {}}, "spec": spec}


CASES: list[Case] = [
    one("kubernetes-rbac-no-cluster-admin-binding", "view", f"{RBAC}:ClusterRoleBinding", binding("view"), []),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "cluster-admin",
        f"{RBAC}:ClusterRoleBinding",
        binding("cluster-admin"),
        [
            "roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in the whole cluster."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "cluster-admin-in-a-namespace",
        f"{RBAC}:RoleBinding",
        binding("cluster-admin", kind="RoleBinding"),
        [
            "roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in its namespace."
        ],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "named",
        f"{RBAC}:Role",
        role(rbac_rule(["apps"], ["deployments"], ["get", "list", "watch"])),
        [],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "wildcards",
        f"{RBAC}:ClusterRole",
        role(rbac_rule(["*"], ["*"], ["get"]), rbac_rule(["batch"], ["jobs"], ["*"]), kind="ClusterRole"),
        [
            "rules[0] uses '*' in apiGroups, resources: it grants whatever the API or a new CRD adds later.",
            "rules[1] uses '*' in verbs: it grants whatever the API or a new CRD adds later.",
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "namespaced-role-for-one-secret",
        f"{RBAC}:Role",
        role(rbac_rule([""], ["secrets"], ["get"], resourceNames=["feature-store-token"])),
        [],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "cluster-role-reads-secrets",
        f"{RBAC}:ClusterRole",
        role(rbac_rule([""], ["configmaps", "secrets"], ["get", "list", "watch"]), kind="ClusterRole"),
        ["rules[0] lets its subjects get, list, watch secrets in every namespace."],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "view-everywhere",
        f"{RBAC}:ClusterRoleBinding",
        binding("view"),
        [],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "edit-everywhere",
        f"{RBAC}:ClusterRoleBinding",
        binding("edit"),
        [
            "roleRef grants ClusterRole edit, which reads secrets, to Group ml-engineers, ServiceAccount ci/deployer in every namespace."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "edit-in-one-namespace",
        f"{RBAC}:RoleBinding",
        binding("edit", kind="RoleBinding"),
        [],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "reader",
        f"{RBAC}:ClusterRole",
        role(rbac_rule(["rbac.authorization.k8s.io"], ["roles"], ["get", "list"]), kind="ClusterRole"),
        [],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "escalate-bind-impersonate",
        f"{RBAC}:Role",
        role(
            rbac_rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["escalate", "bind"]),
            rbac_rule([""], ["serviceaccounts"], ["impersonate"]),
        ),
        [
            "rules[0] grants escalate, bind on roles, rolebindings: its subjects can give themselves or act with permissions they do not hold.",
            "rules[1] grants impersonate on serviceaccounts: its subjects can give themselves or act with permissions they do not hold.",
        ],
    ),
    one("kubernetes-load-balancer-not-public", "cluster-ip", SERVICE, service("ClusterIP"), []),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-nlb",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-legacy-annotation",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-internal": "0.0.0.0/0"}),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-annotation-false",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-internal": "false"}),
        [
            "spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
        ],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "partner-ranges",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["203.0.113.0/24"]),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "public",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}),
        [
            "spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
        ],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "world-range",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", "0.0.0.0/0"]),
        ["spec.loadBalancerSourceRanges includes 0.0.0.0/0: the whole internet can reach it."],
    ),
    # The whole internet in halves (or any range /8 or wider outside private space) is the whole internet.
    one(
        "kubernetes-load-balancer-not-public",
        "world-in-halves",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["0.0.0.0/1", "128.0.0.0/1", "2000::/3"]),
        ["spec.loadBalancerSourceRanges includes 0.0.0.0/1, 128.0.0.0/1, 2000::/3: the whole internet can reach it."],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "private-wide-range",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", "fd00::/8"]),
        [],
    ),
    one("kubernetes-no-node-ports-in-production", "cluster-ip", SERVICE, service("ClusterIP"), []),
    one(
        "kubernetes-no-node-ports-in-production",
        "node-port",
        SERVICE,
        service("NodePort"),
        [
            "spec.type is NodePort: the service listens on every node's address, around load balancers and ingress rules."
        ],
    ),
    one(
        "kubernetes-no-node-ports-in-production",
        "not-production",
        SERVICE,
        service("NodePort"),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    one(
        "kubernetes-ingress-tls",
        "every-host",
        INGRESS,
        ingress_object([{"hosts": ["score.example.com", "admin.example.com"], "secretName": "scorer-tls"}]),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "wildcard-certificate",
        INGRESS,
        ingress_object([{"hosts": ["*.example.com"], "secretName": "wildcard-tls"}]),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "wildcard-covers-one-label-only",
        INGRESS,
        patched(
            ingress_object([{"hosts": ["*.example.com"], "secretName": "wildcard-tls"}]),
            "spec.rules.1.host",
            "eu.admin.example.com",
        ),
        ["spec.tls does not cover host(s) eu.admin.example.com, which are served over plain HTTP."],
    ),
    one(
        "kubernetes-ingress-tls",
        "alb-certificate",
        INGRESS,
        ingress_object(
            None, {"alb.ingress.kubernetes.io/certificate-arn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/1"}
        ),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "plain-http",
        INGRESS,
        ingress_object(None),
        [
            "spec.tls is empty: the ingress serves plain HTTP, so requests and credentials cross the network unencrypted."
        ],
    ),
    one(
        "kubernetes-ingress-tls",
        "one-host-uncovered",
        INGRESS,
        ingress_object([{"hosts": ["score.example.com"], "secretName": "scorer-tls"}]),
        ["spec.tls does not cover host(s) admin.example.com, which are served over plain HTTP."],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "restricted",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "restricted"}),
        [],
    ),
    # --- RBAC in every form a kind takes, and in custom resources -----------------------------------
    one(
        "kubernetes-rbac-no-wildcards",
        "cluster-role-patch",
        f"{RBAC}:ClusterRolePatch",
        role(rbac_rule(["*"], ["*"], ["*"]), kind="ClusterRole"),
        ["rules[0] uses '*' in apiGroups, resources, verbs: it grants whatever the API or a new CRD adds later."],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "a-list-of-roles",
        f"{RBAC}:RoleList",
        {"items": [role(rbac_rule([""], ["pods"], ["get"])), role(rbac_rule(["apps"], ["*"], ["get"]))]},
        ["items[1].rules[0] uses '*' in resources: it grants whatever the API or a new CRD adds later."],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "patch-leaving-rules-as-they-are",
        f"{RBAC}:RolePatch",
        {"metadata": {"name": "r"}},
        [],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "operator-bundle-permissions",
        OPERATOR_BUNDLE,
        operator_bundle(rbac_rule(["*"], ["*"], ["get", "list"])),
        [
            "spec.install.spec.clusterPermissions[0].rules[0] uses '*' in apiGroups, resources: it grants whatever the API or a new CRD adds later."
        ],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "operator-bundle-narrow",
        OPERATOR_BUNDLE,
        operator_bundle(rbac_rule(["serving.kserve.io"], ["inferenceservices"], ["get", "list", "watch"])),
        [],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "alerting-rules-are-no-rbac-rules",
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        {
            "metadata": {"name": "scorer"},
            "spec": {"groups": [{"name": "scorer", "rules": [{"alert": "*", "expr": "up == 0"}]}]},
        },
        [],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "operator-bundle-verbs-not-known-yet",
        OPERATOR_BUNDLE,
        operator_bundle(rbac_rule(["apps"], ["deployments"], [UNKNOWN])),
        [
            f"{PREVIEW}string value at .spec.install.spec.clusterPermissions.0.rules.0.verbs.0 can't be known during preview"
        ],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "operator-bundle-escalates",
        OPERATOR_BUNDLE,
        operator_bundle(rbac_rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["bind", "escalate"])),
        [
            "spec.install.spec.clusterPermissions[0].rules[0] grants bind, escalate on clusterroles: its subjects can give themselves or act with permissions they do not hold."
        ],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "role-patch-escalates",
        f"{RBAC}:RolePatch",
        role(rbac_rule(["rbac.authorization.k8s.io"], ["roles"], ["escalate"])),
        [
            "rules[0] grants escalate on roles: its subjects can give themselves or act with permissions they do not hold."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "binding-patch",
        f"{RBAC}:ClusterRoleBindingPatch",
        binding("cluster-admin"),
        [
            "roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in the whole cluster."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "a-list-of-bindings",
        f"{RBAC}:RoleBindingList",
        {"items": [binding("view", kind="RoleBinding"), binding("cluster-admin", kind="RoleBinding")]},
        [
            "items[1].roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in its namespace."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "cluster-role-patch-reading-secrets",
        f"{RBAC}:ClusterRolePatch",
        role(rbac_rule([""], ["secrets"], ["list"]), kind="ClusterRole"),
        ["rules[0] lets its subjects list secrets in every namespace."],
    ),
    one("kubernetes-namespace-pod-security", "kube-system", NAMESPACE, namespace({}, "kube-system"), []),
    one(
        "kubernetes-namespace-pod-security",
        "privileged",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "privileged"}),
        ["metadata.labels sets pod-security.kubernetes.io/enforce=privileged; allowed: baseline, restricted."],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "unlabelled",
        NAMESPACE,
        namespace({"team": "recommender"}),
        [
            "metadata.labels has no pod-security.kubernetes.io/enforce: pods in the namespace get the cluster's default level, usually privileged."
        ],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "patch-to-privileged",
        "kubernetes:core/v1:NamespacePatch",
        namespace({"pod-security.kubernetes.io/enforce": "privileged"}),
        ["metadata.labels sets pod-security.kubernetes.io/enforce=privileged; allowed: baseline, restricted."],
    ),
    # A Service patch that sets the type states the exposure it makes.
    one(
        "kubernetes-load-balancer-not-public",
        "patch-to-a-public-load-balancer",
        "kubernetes:core/v1:ServicePatch",
        service("LoadBalancer"),
        [
            "spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
        ],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "patch-to-an-internal-load-balancer",
        "kubernetes:core/v1:ServicePatch",
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
        [],
    ),
    # A list of Services is judged item by item.
    one(
        "kubernetes-load-balancer-not-public",
        "list-with-a-public-load-balancer",
        "kubernetes:core/v1:ServiceList",
        {
            "items": [
                service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
                service("LoadBalancer", loadBalancerSourceRanges=["0.0.0.0/0"]),
            ]
        },
        ["items[1].spec.loadBalancerSourceRanges includes 0.0.0.0/0: the whole internet can reach it."],
    ),
    one(
        "kubernetes-no-node-ports-in-production",
        "list-with-a-node-port",
        "kubernetes:core/v1:ServiceList",
        {"items": [service("ClusterIP"), service("NodePort")]},
        [
            "items[1].spec.type is NodePort: the service listens on every node's address, around load balancers and ingress rules."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(kubernetes_access.POLICIES, CASES) == []
