"""Which resources of a deployed stack a program takes over, as the Pulumi engine decides it through aliases.

A refactor that changes a resource's URN (its name, type, or any parent's type) makes the engine create
the new resource and delete the old one, unless an alias leads back to the old URN. This module
replays the engine's matching (pkg/resource/deploy/step_generator.go: `generateAliases`,
`collapseAliasToUrn`, `inheritedChildAlias`) over a simulated program and a stack's recorded state:
each registration claims its own URN or the first alias found in the state, a child inherits the alias
its parent matched, and a URN claimed twice is an error, as in a real `pulumi up`.

`python -m modelplane.offline.aliases state <simulation.json>` prints the state a simulation would leave
(URN, type, inputs and options per resource), the form `match` compares a program against.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.offline.graph import RecordedResource, Simulation, with_engine_urns
from modelplane.offline.urns import ROOT_STACK_TYPE, Urn, engine_urn


@dataclass
class Match:
    """What the engine would do with a program against a stack's state."""

    claimed: dict[str, str] = field(default_factory=dict)
    """New URN -> the state URN it takes over (equal when the URN is unchanged)."""
    created: list[str] = field(default_factory=list)
    """New URNs with nothing in the state to take over: the engine creates them."""
    deleted: list[str] = field(default_factory=list)
    """State URNs no registration claims, in the state's order: the engine deletes them."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(new URN, why): state URNs claimed twice, for which the engine fails the update."""


def match(state: Iterable[str], registrations: Iterable[RecordedResource]) -> Match:
    """Replay the engine's step generator over `registrations` (in registration order) against `state`."""
    olds = dict.fromkeys(state)
    result = Match()
    matched_alias: dict[str, str] = {}
    aliased: dict[str, str] = {}
    seen: set[str] = set()
    for resource in registrations:
        urn = Urn.parse(resource.urn)
        aliases = _aliases(resource, urn, matched_alias)
        if resource.urn in aliased:
            result.errors.append((resource.urn, f"it is claimed by {aliased[resource.urn]} through an alias"))
        seen.add(resource.urn)
        for candidate in [resource.urn, *aliases]:
            if candidate not in olds:
                continue
            if candidate != resource.urn:
                if candidate in seen:
                    result.errors.append((resource.urn, f"it aliases {candidate}, which the program also registers"))
                if candidate in aliased:
                    result.errors.append((resource.urn, f"it and {aliased[candidate]} both alias {candidate}"))
                aliased[candidate] = resource.urn
                matched_alias[resource.urn] = candidate
            result.claimed[resource.urn] = candidate
            break
        else:
            result.created.append(resource.urn)
    taken = set(result.claimed.values())
    result.deleted = [urn for urn in olds if urn not in taken]
    return result


def _aliases(resource: RecordedResource, urn: Urn, matched_alias: Mapping[str, str]) -> list[str]:
    """`generateAliases`: the resource's own aliases, then those inherited from the alias its parent matched."""
    found: list[str] = []

    def add(alias: str) -> None:
        if alias not in found:
            found.append(alias)

    own = [_collapse(resource, urn, alias, matched_alias) for alias in resource.aliases]
    for alias in own:
        add(alias)
    parent_alias = matched_alias.get(resource.parent)
    if resource.parent and parent_alias is not None:
        parent_name = Urn.parse(resource.parent).name
        add(_inherited(urn, resource.type, resource.name, parent_name, parent_alias))
        for alias in own:
            former = Urn.parse(alias)
            add(_inherited(urn, former.type, former.name, parent_name, parent_alias))
    return found


def _collapse(resource: RecordedResource, urn: Urn, alias: Mapping[str, Any], matched_alias: Mapping[str, str]) -> str:
    """`collapseAliasToUrn`: an alias spec completed with the resource's own name, type, parent, project, stack."""
    if "urn" in alias:
        return str(alias["urn"])
    spec = alias.get("spec", {})
    # An explicit parent that itself matched an alias stands for that old parent.
    parent = matched_alias.get(spec["parentUrn"], spec["parentUrn"]) if spec.get("parentUrn") else resource.parent
    if spec.get("noParent") or (parent and Urn.parse(parent).qualified_type == ROOT_STACK_TYPE):
        parent = ""
    return engine_urn(
        spec.get("stack") or urn.stack,
        spec.get("project") or urn.project,
        parent,
        spec.get("type") or resource.type,
        spec.get("name") or resource.name,
    )


def _inherited(urn: Urn, child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """`inheritedChildAlias`: the child under its parent's old URN, renamed when its name starts with the parent's."""
    former_parent = Urn.parse(parent_alias)
    name = (
        former_parent.name + child_name.removeprefix(parent_name) if child_name.startswith(parent_name) else child_name
    )
    return str(Urn(urn.stack, urn.project, f"{former_parent.qualified_type}${child_type}", name))


def state_of(simulation: Simulation) -> dict[str, dict[str, Any]]:
    """The state a simulated update leaves, by URN: type, inputs and the options that protect data.

    URNs are the engine's (`with_engine_urns`), so a simulation recorded by an older revision with
    pulumi's plain mock monitor (parent type only) reads the same.
    """
    return {
        resource.urn: {
            "type": resource.type,
            "inputs": resource.inputs,
            "protect": resource.protect,
            "retain_on_delete": resource.retain_on_delete,
        }
        for resource in with_engine_urns(simulation).resources
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelplane.offline.aliases", description=(__doc__ or "").split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    state = commands.add_parser(
        "state", help="print the state a simulation (python -m modelplane.offline.simulation) leaves"
    )
    state.add_argument("simulation", type=Path)
    args = parser.parse_args(argv)
    simulation = Simulation.from_json(json.loads(args.simulation.read_text(encoding="utf-8")))
    json.dump(state_of(simulation), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
