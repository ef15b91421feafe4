"""What `modelplane plan` itself finds in a simulated stack, besides the policy pack's verdict.

Each check mirrors something the real engine, provider or AWS refuses; a finding is always mandatory
(the real `pulumi preview` or `pulumi up` would fail on it), so any finding fails the plan.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One kind of finding, described once for every report (SARIF rules, remediation lines)."""

    id: str
    description: str
    remediation: str


DEFAULT_PROVIDER = Check(
    "default-provider-denied",
    "A resource or provider function falls back to a default provider, which "
    "`pulumi:disable-default-providers` makes the engine refuse.",
    "Pass the stack's explicit provider (`provider=`/`providers=`, or a parent component that carries it; "
    "for a provider function, `opts=pulumi.InvokeOutputOptions(parent=...)` or `provider=`).",
)
AWS_CONSTRAINT = Check(
    "aws-api-constraint",
    "An input violates a constraint of the AWS API call the provider makes with it (botocore's service model).",
    "Shorten or correct the value; for an auto-named resource, shorten its logical name (the engine adds "
    "'-' and 7 random characters) or give it an explicit name.",
)
PROTECTED_DELETE = Check(
    "protected-resource-deleted",
    "The change deletes or replaces a resource that is protected in the base revision; the engine refuses that update.",
    "Keep the resource's URN (add `aliases` for a renamed resource or component), or unprotect it deliberately "
    "first (docs/operations.md, 'Remove prod protection deliberately').",
)
ALIAS_CONFLICT = Check(
    "alias-conflict",
    "Two resources of the change claim one resource of the base revision (one registers its URN while another "
    "aliases it, or both alias it); the engine fails the update.",
    "Give each old URN to exactly one resource: remove the surplus alias, or the registration it collides with.",
)
CHECKS = (DEFAULT_PROVIDER, AWS_CONSTRAINT, PROTECTED_DELETE, ALIAS_CONFLICT)


@dataclass(frozen=True)
class Finding:
    """One mandatory problem, at a resource (or a provider function, for `DEFAULT_PROVIDER`) and a field."""

    check: str
    """The `Check.id`."""
    urn: str
    """The offending resource; empty for a provider function call."""
    type: str
    """Its type token, or the function's token."""
    field: str
    """The input path (`productionVariants[0].variantName`), or empty."""
    message: str
