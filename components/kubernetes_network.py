"""NetworkPolicies of a Kubernetes model service: deny all, then let in the gateway (and Prometheus), let out DNS (and AWS)."""

from collections.abc import Callable, Sequence

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def network_policies(
    name: str,
    instance: str,
    *,
    port: int,
    ingress_namespaces: Sequence[str],
    aws_access: bool,
    metadata: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
    opts: pulumi.ResourceOptions,
) -> None:
    """A namespace-wide default deny, and the serving pods' own allowances."""
    k8s.networking.v1.NetworkPolicy(
        f"{name}-default-deny",
        metadata=metadata("default-deny"),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
        ),
        opts=opts,
    )
    ingress = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: source})
                )
            ],
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP")],
        )
        for source in ingress_namespaces
    ]
    egress = [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={NAMESPACE_NAME_LABEL: "kube-system"}
                    ),
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                )
            ],
            ports=[
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
            ],
        )
    ]
    if aws_access:
        # STS and Secrets Manager have no fixed addresses: HTTPS out, nothing else.
        egress.append(
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=443, protocol="TCP")],
            )
        )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-serving",
        metadata=metadata(f"{instance}-serving"),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/instance": instance}),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
        opts=opts,
    )
