"""What `modelplane plan` found for one stack: the graph, the pack's verdict, plan's own findings, the changes.

`plan_stack` returns a `Plan`; every report format (`modelplane.report`) starts from it and passes
what it shows through `Plan.redact`, so a secret value never reaches a report: values inside Pulumi's
secret envelope become "[secret]", and the plaintext of those values is cut out of free text too (a
policy message may quote what it saw).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from modelplane.offline.changes import ChangeSet
from modelplane.offline.findings import Finding
from modelplane.offline.first_deploy import FirstDeploy
from modelplane.offline.graph import ComponentTree, Simulation, is_secret, reveal
from modelplane.offline.policy_client import ADVISORY, PolicyReport, Violation, Waiver

SECRET_PLACEHOLDER = "[secret]"
# Shorter secret values are not searched for in free text: they would also match ordinary words.
MIN_SCRUBBED_SECRET_LENGTH = 6


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
