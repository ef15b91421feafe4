"""Pulumi URNs as the engine builds and reads them.

A resource's URN is `urn:pulumi:<stack>::<project>::<parent type chain>$<type>::<name>`: the engine
(`Deployment.generateURN`, pkg/resource/deploy/deployment.go in pulumi/pulumi) prefixes a resource's
type with its parent's whole type chain, except the root stack's. Pulumi's mock monitor keeps only the
parent's own type, so the recording monitor (`modelplane.offline.mocks`), the alias replay
(`modelplane.offline.aliases`) and `plan --against` all build URNs here.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Urn:
    """`urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @classmethod
    def parse(cls, urn: str) -> Urn:
        prefix, project, qualified_type, name = urn.split("::", 3)
        return cls(prefix.removeprefix("urn:pulumi:"), project, qualified_type, name)

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]

    def __str__(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{self.qualified_type}::{self.name}"


def engine_urn(stack: str, project: str, parent: str, type_token: str, name: str) -> str:
    """The URN the engine gives a registration under `parent` (a URN, or "" for none)."""
    parent_type = Urn.parse(parent).qualified_type if parent else ROOT_STACK_TYPE
    qualified_type = type_token if parent_type == ROOT_STACK_TYPE else f"{parent_type}${type_token}"
    return str(Urn(stack, project, qualified_type, name))
