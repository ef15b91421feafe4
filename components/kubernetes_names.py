"""Names of a Kubernetes model service's objects, and Kubernetes' rules for them (no provider import needed)."""

import re

# Namespaces are DNS-1123 labels; Services are DNS-1035 labels (they start with a letter).
NAMESPACE_PATTERN = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
SERVICE_NAME_PATTERN = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def service_name(instance_name: str, variant_name: str) -> str:
    """Name of a variant's Deployment and Service."""
    return f"{instance_name}-{variant_name}"


def object_name_problem(instance_name: str, variant_name: str) -> str | None:
    """Why `<instance>-<variant>` cannot name a Deployment and a Service, or None."""
    object_name = service_name(instance_name, variant_name)
    if re.fullmatch(SERVICE_NAME_PATTERN, object_name):
        return None
    return (
        f"Deployment and Service name {object_name} must be a lowercase DNS label starting with a letter, "
        "at most 63 characters"
    )


def namespace_problem(namespace: str) -> str | None:
    """Why `namespace` can't be the service's own namespace, or None."""
    if not re.fullmatch(NAMESPACE_PATTERN, namespace):
        return "must be a lowercase DNS label of at most 63 characters"
    if namespace in SYSTEM_NAMESPACES:
        return f"{namespace!r} is a system namespace; use one of your own"
    return None
