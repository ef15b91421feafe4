"""Containers AWS runs from a JSON definition (ECS task definitions, Batch job definitions): no privileged
containers, no root user, no added kernel capabilities, no host namespaces.

The property index names the inputs that hold container definitions (`container-definitions` signal):
`containerDefinitions` of a task definition, `containerProperties`, `nodeProperties` and `ecsProperties`
of a job definition, whichever type adds them next. Each nests its containers its own way (one
container, a list, the node ranges of a multi-node job, the task properties of an ECS job), and the
reader finds them by shape: a mapping with an `image` is a container; `containers`, `container`,
`nodeRangeProperties`, `taskProperties` and `ecsProperties` lead to more. Their environment is judged
with every other container's by `no-secrets-in-container-environment`, their images by the image rules
(workloads.py); a job's Kubernetes pod (`eksProperties.podProperties`) by the pod rules (kubernetes.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    ReachingPolicy,
    Report,
    Unknowns,
    applies_to,
    as_list,
    as_mapping,
    aws_config_url,
    concern_tag,
    is_mapping,
    is_sequence,
    is_true,
    rule,
    scalar_text,
    sources,
)
from .properties import entries_of, resolve
from .property_map import CONTAINERS

# Task settings that put every container of the task into the host's namespaces.
HOST_MODES = {"networkMode": "network", "pidMode": "process", "ipcMode": "IPC"}
ROOT_USERS = ("root", "0")
ALLOWED_CAPABILITIES = ("NET_BIND_SERVICE",)
# Where a definition nests its containers: a task's list, a node range's or a job's single container,
# a multi-node job's node ranges, an ECS job's task properties.
NESTING_KEYS = ("containers", "container", "nodeRangeProperties", "taskProperties", "ecsProperties")


class Definitions:
    """What the container-definition inputs of one resource hold, decoded once per rule."""

    def __init__(self, args: ResourceValidationArgs, unknowns: Unknowns) -> None:
        self.containers: list[tuple[str, Mapping[str, Any]]] = []
        """(label, container) for each container the resource defines."""
        self.tasks: list[tuple[str, Mapping[str, Any]]] = [("", args.props)]
        """(path prefix, mapping) of each task whose settings apply to its containers: the resource's
        own inputs (a task definition's `networkMode`), and each of an ECS job's task properties."""
        self.unreadable: list[str] = []
        """The paths of definitions that are not JSON."""
        for entry in entries_of(CONTAINERS, args.resource_type):
            for found in resolve(args.props, entry.steps):
                with unknowns:
                    self._read(found.path, found.known())

    def _read(self, path: str, value: Any) -> None:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self.unreadable.append(path)
                return
        self._walk(value, path, top=True)

    def _walk(self, value: Any, path: str, top: bool = False) -> None:
        if is_sequence(value):
            for number, item in enumerate(value):
                self._walk(item, f"{path}[{number}]")
        elif is_mapping(value):
            if "image" in value:
                name = value.get("name")
                self.containers.append(((f"container {name!r} ({path})" if name else path), value))
                return
            if not top and "containers" in value:
                self.tasks.append((f"{path}.", value))
            for key in NESTING_KEYS:
                if key in value:
                    self._walk(value[key], f"{path}.{key}")


def container_definitions(args: ResourceValidationArgs, unknowns: Unknowns) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, container) for each container a resource defines in JSON (or as objects)."""
    return Definitions(args, unknowns).containers


def defines_containers(resource_type: str) -> bool:
    """Whether a resource type has inputs that hold container definitions."""
    return bool(entries_of(CONTAINERS, resource_type))


def _unprivileged(args: ResourceValidationArgs, report: Report) -> None:
    if not defines_containers(args.resource_type):
        return
    unknowns = Unknowns()
    definitions = Definitions(args, unknowns)
    for prefix, task in definitions.tasks:
        for setting, namespace in HOST_MODES.items():
            with unknowns:
                if task.get(setting) == "host":
                    report(f"{prefix}{setting} is host: every container shares the host's {namespace} namespace.")
    for path in definitions.unreadable:
        report(f"{path} is not valid JSON; its containers cannot be checked.")
    for label, container in definitions.containers:
        with unknowns:
            if is_true(container.get("privileged")):
                report(f"{label} is privileged: it has the host's devices and kernel at its disposal.")
        with unknowns:
            user = container.get("user")
            if scalar_text(user).split(":")[0] in ROOT_USERS:
                report(f"{label} runs as user {scalar_text(user)!r} (root).")
        with unknowns:
            capabilities = as_mapping(as_mapping(container.get("linuxParameters")).get("capabilities"))
            added = [str(item) for item in as_list(capabilities.get("add")) if str(item) not in ALLOWED_CAPABILITIES]
            if added:
                report(f"{label} adds kernel capabilities {', '.join(added)}.")
    unknowns.settle()


unprivileged = ReachingPolicy(
    defines_containers,
    name="aws-containers-unprivileged",
    description="Containers of ECS task and Batch job definitions (single, multi-node and ECS-properties jobs) run unprivileged: not privileged, not as root, without added kernel capabilities or the host's namespaces.",
    validate=rule(_unprivileged),
    severity=Severity.CRITICAL,
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
