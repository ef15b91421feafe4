"""Which registrations and provider function calls the engine would serve with a default provider.

The engine resolves a custom resource's provider from its own `provider`, then its `providers` map,
then the providers its parent component carries (`resmon.resolveProvider`, pkg/resource/deploy/
source_eval.go); a component inherits its parent component's map. An invoke names its provider or
gets the default (`resmon.getProviderFromSource`). With `pulumi:disable-default-providers` listing
`*` or the package, the default is denied: `diag.GetDefaultProviderDenied`; the engine's own package
`pulumi` (providers themselves, stack references, `getResource`) is always let through
(`defaultProviders.shouldDenyRequest`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from modelplane.offline.findings import DEFAULT_PROVIDER, Finding
from modelplane.offline.graph import RecordedResource, Simulation

DISABLE_DEFAULT_PROVIDERS_KEY = "pulumi:disable-default-providers"
# The engine serves this package itself and never denies it a default provider.
ENGINE_PACKAGE = "pulumi"


def disabled_packages(config: Mapping[str, Any]) -> frozenset[str]:
    """The packages a stack's `pulumi:disable-default-providers` names (`*` for all)."""
    value = config.get(DISABLE_DEFAULT_PROVIDERS_KEY) or []
    return frozenset(str(item).strip() for item in value) if isinstance(value, list) else frozenset()


def default_provider_findings(simulation: Simulation, disabled: Collection[str]) -> list[Finding]:
    """Every custom resource and invoke left on a default provider. The project disables them all, so each
    one is a finding; the message is the engine's when the stack disables that package, as ours should."""
    findings = [
        _finding(resource.urn, resource.type, _package(resource.type), disabled)
        for resource in _custom_resources_without_provider(simulation.resources)
    ]
    seen: set[str] = set()
    for invoke in simulation.invokes:
        package = _package(invoke.token)
        if invoke.provider or package == ENGINE_PACKAGE or invoke.token in seen:
            continue
        seen.add(invoke.token)
        findings.append(_finding("", invoke.token, package, disabled))
    return findings


def _finding(urn: str, token: str, package: str, disabled: Collection[str]) -> Finding:
    subject = urn or token
    if "*" in disabled or package in disabled:
        message = f"Default provider for '{package}' disabled. '{subject}' must use an explicit provider."
    else:
        message = (
            f"'{subject}' uses the default provider for '{package}' (ambient credentials and region); "
            f"every stack sets {DISABLE_DEFAULT_PROVIDERS_KEY}: ['*'], under which the engine refuses it"
        )
    return Finding(DEFAULT_PROVIDER.id, urn, token, "", message)


def _custom_resources_without_provider(resources: Iterable[RecordedResource]) -> Iterable[RecordedResource]:
    inherited: dict[str, dict[str, str]] = {}
    for resource in resources:
        parent_providers = inherited.get(resource.parent, {})
        if not resource.custom:
            inherited[resource.urn] = {**parent_providers, **resource.providers}
            continue
        package = _package(resource.type)
        if package == ENGINE_PACKAGE:
            continue
        if not (resource.provider or resource.providers.get(package) or parent_providers.get(package)):
            yield resource


def _package(token: str) -> str:
    return token.split(":", 1)[0]
