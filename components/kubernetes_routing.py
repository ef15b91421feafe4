"""Traffic of a Kubernetes model service: a Gateway API `HTTPRoute` with weighted backends and a mirrored shadow."""

from collections.abc import Mapping
from typing import Any

import pulumi

from .kubernetes_service_args import GatewayRouteArgs


def route_spec(
    gateway: GatewayRouteArgs,
    port: int,
    weights: Mapping[str, int],
    shadow: str | None,
    service_names: Mapping[str, pulumi.Output[str]],
) -> dict[str, Any]:
    """Weighted backends per production variant; the shadow gets a mirrored copy of every request."""
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": gateway.get("path_prefix", "/")}}],
        "backendRefs": [
            {"name": service_names[variant], "port": port, "weight": weight} for variant, weight in weights.items()
        ],
    }
    if shadow is not None:
        rule["filters"] = [
            {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": service_names[shadow], "port": port}}}
        ]
    spec: dict[str, Any] = {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": gateway["gateway_name"],
                "namespace": gateway["gateway_namespace"],
            }
        ],
        "rules": [rule],
    }
    if hostnames := gateway.get("hostnames"):
        spec["hostnames"] = list(hostnames)
    return spec
