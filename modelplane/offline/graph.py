"""The graph a simulation records: every registration and provider function call, as the engine saw them.

Plain data with no Pulumi import: the simulation's process writes it as JSON lines, `plan` reads it
back, and the policy client, the reports and the URN diff work on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from modelplane.offline.urns import engine_urn

ACCOUNT_ID = "123456789012"
# Pulumi's wire marker for a secret value: {SECRET_SIG_KEY: SECRET_SIG, "value": ...}.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass
class RecordedResource:
    """One registration as the engine saw it; `inputs`/`outputs` use the provider's camelCase names."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """As sent: `{"urn": ...}` or `{"spec": {"name", "type", "parentUrn" | "noParent", ...}}`."""
    providers: dict[str, str] = field(default_factory=dict)
    """Package -> provider reference, as a component passes them to its children."""


@dataclass(frozen=True)
class RecordedInvoke:
    """One provider function call (`aws:index/getRegion:getRegion`) and the provider reference it named."""

    token: str
    provider: str


@dataclass
class Simulation:
    project: str
    stack: str
    environment: str
    stack_file: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[RecordedInvoke] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Simulation:
        """Read a simulation, also one printed by another revision of this module (`plan --against`):
        fields it lacks take their defaults, fields this one does not know are dropped."""
        return cls(
            **known_fields(cls, data),
            resources=[RecordedResource(**known_fields(RecordedResource, r)) for r in data.get("resources", [])],
            invokes=[RecordedInvoke(**known_fields(RecordedInvoke, i)) for i in data.get("invokes", [])],
        )

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        """The single resource of a type (and logical name); fails loudly when there are none or several."""
        matches = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}")
        return matches[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.parent == parent.urn]

    def descendants(self, parent: RecordedResource) -> list[RecordedResource]:
        found = self.children(parent)
        return found + [grandchild for child in found for grandchild in self.descendants(child)]


def known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    nested = {"resources", "invokes"}
    return {f.name: data[f.name] for f in fields(cls) if f.name in data and f.name not in nested}


def with_engine_urns(simulation: Simulation) -> Simulation:
    """The simulation with every URN as the engine computes it, whatever monitor recorded it (an older revision
    of this module recorded the mock monitor's URNs): registrations come parents first, so one pass suffices."""
    renamed: dict[str, str] = {}
    for resource in simulation.resources:
        parent = renamed.get(resource.parent, resource.parent)
        renamed[resource.urn] = engine_urn(simulation.stack, simulation.project, parent, resource.type, resource.name)

    def urn(value: str) -> str:
        return renamed.get(value, value)

    def reference(value: str) -> str:
        """A provider reference `<urn>::<id>`."""
        target, separator, resource_id = value.rpartition("::")
        return f"{urn(target)}{separator}{resource_id}" if separator else value

    resources = [
        replace(
            resource,
            urn=urn(resource.urn),
            parent=urn(resource.parent),
            provider=reference(resource.provider),
            providers={package: reference(ref) for package, ref in resource.providers.items()},
            dependencies=[urn(d) for d in resource.dependencies],
            property_dependencies={k: [urn(d) for d in v] for k, v in resource.property_dependencies.items()},
        )
        for resource in simulation.resources
    ]
    invokes = [replace(invoke, provider=reference(invoke.provider)) for invoke in simulation.invokes]
    return replace(simulation, resources=resources, invokes=invokes)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """The value with Pulumi's secret envelopes removed, for assertions on content."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


class ComponentTree:
    """Components nested as registered, each with the number of resources beneath it."""

    def __init__(self, resources: Iterable[RecordedResource], root_urn: str) -> None:
        self.root_urn = root_urn
        self.resources = list(resources)
        self._by_urn = {resource.urn: resource for resource in self.resources}
        self._children: dict[str, list[RecordedResource]] = defaultdict(list)
        for resource in self.resources:
            self._children[resource.parent if resource.parent in self._by_urn else root_urn].append(resource)

    def children(self, urn: str) -> list[RecordedResource]:
        return self._children.get(urn, [])

    def shown_children(self, urn: str) -> list[RecordedResource]:
        """What a tree displays below a node: components, plus resources at the stack root (providers)."""
        return [child for child in self.children(urn) if not child.custom or urn == self.root_urn]

    def count_below(self, urn: str) -> int:
        return sum(1 + self.count_below(child.urn) for child in self.children(urn))

    def components(self) -> list[RecordedResource]:
        return [resource for resource in self.resources if not resource.custom]

    def component_of(self, urn: str) -> str:
        """URN of the innermost component holding `urn` (the stack root for top-level resources)."""
        current = self._by_urn[urn].parent if urn in self._by_urn else self.root_urn
        while current in self._by_urn and self._by_urn[current].custom:
            current = self._by_urn[current].parent
        return current if current in self._by_urn else self.root_urn
