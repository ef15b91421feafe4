"""What `modelplane plan` reports on: one stack's graph, the pack's verdict, plan's own findings, the changes.

Every report format (`plan_text`, `plan_json`, `plan_sarif`, `plan_markdown`) starts from the same `Plan`
and passes its result through `Plan.redact`, so a secret value never reaches a report: values inside
Pulumi's secret envelope become "[secret]", and the plaintext of those values is cut out of free text
too (a policy message may quote what it saw).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from modelplane.offline.changes import Change, ChangeSet
from modelplane.offline.findings import Finding
from modelplane.offline.first_deploy import FirstDeploy
from modelplane.offline.graph import RecordedResource, Simulation, is_secret, reveal
from modelplane.offline.policy_client import PolicyReport, Violation, Waiver

SECRET_PLACEHOLDER = "[secret]"
# Shorter secret values are not searched for in free text: they would also match ordinary words.
MIN_SCRUBBED_SECRET_LENGTH = 6
MANDATORY, ADVISORY = "mandatory", "advisory"
CHANGE_HEADINGS = {
    "create": "Created",
    "delete": "Deleted",
    "rename": "Renamed through an alias",
    "replace": "Replaced",
    "update": "Updated in place",
}


@dataclass(frozen=True)
class Plan:
    """One stack's recorded resource graph, the policy pack's verdict on it, what `plan` itself found
    (each finding is mandatory) and, with `--against`, what the change does to the deployed stack."""

    simulation: Simulation
    policy: PolicyReport
    findings: tuple[Finding, ...] = ()
    changes: ChangeSet | None = None
    first_deploy: FirstDeploy | None = None
    """The registry phase a first deploy of this stack needs (None: the stack has no endpoint needing it)."""
    first_deploy_due: bool = False
    """Show the first deploy's order in full: asked for, or the change creates the registry."""

    @property
    def stack(self) -> str:
        return self.simulation.stack

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return self.policy.mandatory

    @property
    def advisory(self) -> tuple[Violation, ...]:
        """Advisory violations, without the waived ones (reported on their own)."""
        return tuple(v for v in self.policy.violations if v.level == ADVISORY and v.waiver is None)

    @property
    def waived(self) -> tuple[Violation, ...]:
        return self.policy.waived

    @property
    def waivers(self) -> list[tuple[Violation, Waiver]]:
        """Each waived violation with its waiver, by policy and resource."""
        pairs = [(violation, violation.waiver) for violation in self.policy.violations if violation.waiver]
        return sorted(pairs, key=lambda pair: (pair[0].policy, pair[0].urn))

    @property
    def unwaived(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.policy.violations if v.waiver is None)

    @property
    def passed(self) -> bool:
        return not self.mandatory and not self.findings

    @property
    def stack_urn(self) -> str:
        """The root every top-level resource hangs from (the Stack resource itself is not recorded)."""
        project, stack = self.simulation.project, self.simulation.stack
        return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"

    @cached_property
    def _secret_texts(self) -> tuple[str, ...]:
        """Plaintext of every secret in the graph, longest first so overlapping values are cut whole."""
        found: set[str] = set()
        for resource in self.simulation.resources:
            _collect_secret_texts(resource.inputs, found)
            _collect_secret_texts(resource.outputs, found)
        _collect_secret_texts(self.simulation.outputs, found)
        return tuple(sorted((text for text in found if len(text) >= MIN_SCRUBBED_SECRET_LENGTH), key=len, reverse=True))

    def redact(self, value: Any) -> Any:
        """`value` with secret envelopes replaced by "[secret]" and secret plaintext cut out of strings."""
        if is_secret(value):
            return SECRET_PLACEHOLDER
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        if isinstance(value, str):
            for text in self._secret_texts:
                value = value.replace(text, SECRET_PLACEHOLDER)
        return value

    @cached_property
    def tree(self) -> ComponentTree:
        return ComponentTree(self.simulation.resources, self.stack_urn)


def _collect_secret_texts(value: Any, found: set[str], inside_secret: bool = False) -> None:
    if is_secret(value):
        _collect_secret_texts(reveal(value), found, inside_secret=True)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secret_texts(item, found, inside_secret)
    elif isinstance(value, list):
        for item in value:
            _collect_secret_texts(item, found, inside_secret)
    elif inside_secret and isinstance(value, str):
        found.add(value)


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


def name_of(urn: str) -> str:
    """The logical name at the end of a URN."""
    return urn.rsplit("::", 1)[-1]


def grouped(violations: Iterable[Violation]) -> dict[str, dict[str, list[Violation]]]:
    """level -> policy -> violations, mandatory first, policies by name."""
    levels: dict[str, dict[str, list[Violation]]] = {}
    for violation in sorted(violations, key=lambda v: (_level_rank(v.level), v.policy, v.urn)):
        levels.setdefault(violation.level, {}).setdefault(violation.policy, []).append(violation)
    return levels


def _level_rank(level: str) -> int:
    return {MANDATORY: 0, ADVISORY: 1}.get(level, 2)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(plan: Plan) -> str:
    verdict = "passed" if plan.passed else "FAILED"
    waived = f", {len(plan.waived)} waived" if plan.waived else ""
    findings = f", {plural(len(plan.findings), 'plan finding')}" if plan.findings else ""
    return (
        f"{plan.stack}: {plural(len(plan.simulation.resources), 'resource')}, "
        f"{len(plan.mandatory)} mandatory and {len(plan.advisory)} advisory violations{waived}{findings}: {verdict}"
    )


def change_note(change: Change) -> str:
    """What a reviewer should know about one change, in a word or a sentence."""
    if change.kind == "replace":
        return (
            ("expected; " if change.expected else "UNEXPECTED; ")
            + change.detail
            + ("; PROTECTED" if change.protected else "")
        )
    if change.kind == "delete":
        notes = ["PROTECTED: the engine refuses this"] * change.protected
        notes += ["retained in AWS, removed from state only"] * change.retained
        return "; ".join(notes)
    if change.kind == "rename":
        return f"was {change.old_urn}"
    if change.kind == "update":
        return ", ".join(change.fields) + (f" (was {name_of(change.old_urn)})" if change.old_urn else "")
    return ""


def against_line(changes: ChangeSet) -> str:
    line = f"Changes against {changes.ref} ({changes.commit[:12]})"
    if changes.stack_file_missing:
        line += ": the stack file does not exist there"
    return line


def lock_warning(changes: ChangeSet) -> list[str]:
    if not changes.lock_differs:
        return []
    return [f"warning: {changes.ref}'s uv.lock differs from this checkout's; it was simulated with this environment"]
