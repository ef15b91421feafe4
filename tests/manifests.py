"""Kubernetes objects as manifests, and the Kubernetes API's own schema they are held to.

A recorded Kubernetes resource's inputs are the object the provider sends the API server (camelCase,
`apiVersion`/`kind` from its type token); numbers come back from the mock engine as floats and are
given back their integer form. The schema is the strict JSON schema of the Kubernetes OpenAPI document
(kubernetes-validate) of the version the `kubernetes` client is generated from, so the answers of the
test's API stand-in and what the client expects are of one version.
"""

from __future__ import annotations

from typing import Any

import kubernetes
import kubernetes_validate

from modelplane.offline.graph import RecordedResource, reveal

# The client's major version is the Kubernetes minor version it was generated from (client 37 <-> 1.37).
KUBERNETES_VERSION = f"1.{kubernetes.__version__.split('.')[0]}.0"


def integral(value: Any) -> Any:
    """Floats that are whole numbers as ints, everywhere in a JSON value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral(item) for item in value]
    return value


def manifest(resource: RecordedResource) -> dict[str, Any]:
    """`kubernetes:apps/v1:Deployment` with its inputs -> `{"apiVersion": "apps/v1", "kind": "Deployment", ...}`."""
    _, group_version, kind = resource.type.split(":")
    api_version = group_version.removeprefix("core/")
    return {"apiVersion": api_version, "kind": kind, **integral(reveal(resource.inputs))}


def schema_problem(document: dict[str, Any]) -> str | None:
    """Why the API server's schema refuses the object (strict: no unknown field either); None when it accepts it.
    A kind the API itself does not define (a custom resource) raises `kubernetes_validate.SchemaNotFoundError`."""
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'.'.join(map(str, error.path))}: {error.message}"
    return None
