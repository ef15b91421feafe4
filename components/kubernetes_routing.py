"""Traffic of a Kubernetes model service: a Gateway API `HTTPRoute` with weighted backends and a mirrored shadow."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi


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
