"""Containers AWS runs from a JSON definition (ECS task definitions, Batch job definitions): no privileged
containers, no root user, no added kernel capabilities, no host namespaces.

The property index names the inputs that hold container definitions (`container-definitions` signal):
`containerDefinitions` of a task definition, `containerProperties` of a job definition, whichever
type adds them next. Their environment is judged with every other container's, by
`no-secrets-in-container-environment` (workloads.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    ReachingPolicy,
    Report,
    applies_to,
    as_list,
    as_mapping,
    aws_config_url,
    concern_tag,
    is_sequence,
    rule,
    sources,
)
from .properties import entries_of, resolve
from .property_map import CONTAINERS

# Task settings that put every container of the task into the host's namespaces.
HOST_NAMESPACES = {"networkMode": "network", "pidMode": "process", "ipcMode": "IPC"}
ROOT_USERS = ("root", "0")
ALLOWED_CAPABILITIES = ("NET_BIND_SERVICE",)


def container_definitions(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """(label, container) for each container a resource defines; (path, None) for a definition that is not JSON."""
    for entry in entries_of(CONTAINERS, args.resource_type):
        for found in resolve(args.props, entry.steps):
            value = found.value
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    yield found.path, None
                    continue
            for number, raw in enumerate(as_list(value)):
                container = as_mapping(raw)
                name = container.get("name")
                where = f"{found.path}[{number}]" if is_sequence(value) else found.path
                yield (f"container {name!r} ({where})" if name else where), container


def reaches(resource_type: str) -> bool:
    return bool(entries_of(CONTAINERS, resource_type))


def _unprivileged(args: ResourceValidationArgs, report: Report) -> None:
    if not reaches(args.resource_type):
        return
    for setting, namespace in HOST_NAMESPACES.items():
        if args.props.get(setting) == "host":
            report(f"{setting} is host: every container shares the host's {namespace} namespace.")
    for label, container in container_definitions(args):
        if container is None:
            report(f"{label} is not valid JSON; its containers cannot be checked.")
            continue
        if container.get("privileged") is True:
            report(f"{label} is privileged: it has the host's devices and kernel at its disposal.")
        user = str(container.get("user") or "").split(":")[0]
        if user in ROOT_USERS:
            report(f"{label} runs as user {container.get('user')!r} (root).")
        added = [
            str(item)
            for item in as_list(as_mapping(as_mapping(container.get("linuxParameters")).get("capabilities")).get("add"))
            if str(item) not in ALLOWED_CAPABILITIES
        ]
        if added:
            report(f"{label} adds kernel capabilities {', '.join(added)}.")


unprivileged = ReachingPolicy(
    reaches,
    name="aws-containers-unprivileged",
    description="Containers of ECS task and Batch job definitions run unprivileged: not privileged, not as root, without added kernel capabilities or the host's namespaces.",
    validate=rule(_unprivileged),
    severity=Severity.HIGH,
    remediation_steps="Remove privileged and the added capabilities, set user to a non-root UID, and use the awsvpc network mode (no host network, PID or IPC mode).",
    tags=[
        "containers",
        "privilege-escalation",
        *sources("CKV_AWS_334", "CKV_AWS_335", "aws-config:ecs-containers-nonprivileged"),
        concern_tag(CONTAINERS),
        *applies_to("aws:*"),
    ],
    url=aws_config_url("ecs-containers-nonprivileged"),
)

POLICIES = [unprivileged]
