"""Which variant of an endpoint is the baseline and which the candidate of its A/B test."""

from __future__ import annotations

from dataclasses import dataclass

from modelplane.settings import Endpoint, Variant


@dataclass(frozen=True)
class Pair:
    baseline: Variant
    candidate: Variant
    candidate_is_shadow: bool

    def expected_candidate_share(self, endpoint: Endpoint) -> float:
        """The candidate's expected share of the two variants' invocations.

        A shadow receives a copy of every request of the production variant, so half; production
        variants split traffic by their relative weights.
        """
        if self.candidate_is_shadow:
            return 0.5
        weights = {variant.name: variant.weight for variant in endpoint.variants}
        return weights[self.candidate.name] / (weights[self.candidate.name] + weights[self.baseline.name])


def choose(endpoint: Endpoint, baseline: str | None = None, candidate: str | None = None) -> Pair:
    """The named variants, or by default the production variant with the highest weight (the first
    of equals) against the only other variant or the shadow. Raises ValueError naming the problem."""
    by_name = {variant.name: variant for variant in endpoint.all_variants}
    known = ", ".join(by_name)
    for role, name in (("baseline", baseline), ("candidate", candidate)):
        if name is not None and name not in by_name:
            raise ValueError(f"endpoint {endpoint.name!r} has no variant {name!r} for the {role} (variants: {known})")
    shadow = endpoint.shadow.name if endpoint.shadow else None
    if baseline is None:
        production = [variant for variant in endpoint.variants if variant.name != candidate]
        if not production:
            raise ValueError(f"endpoint {endpoint.name!r}: no production variant is left for the baseline")
        baseline = max(production, key=lambda variant: variant.weight).name
    if baseline == shadow:
        raise ValueError(
            f"endpoint {endpoint.name!r}: the shadow {shadow!r} serves no answers; it cannot be the baseline"
        )
    if candidate is None:
        others = [name for name in by_name if name != baseline]
        if not others:
            raise ValueError(
                f"endpoint {endpoint.name!r} has a single variant, {baseline!r}: nothing to compare it with"
            )
        if len(others) > 1:
            raise ValueError(f"endpoint {endpoint.name!r}: give --candidate (one of {', '.join(others)})")
        candidate = others[0]
    if candidate == baseline:
        raise ValueError(f"endpoint {endpoint.name!r}: the baseline and the candidate are both {baseline!r}")
    return Pair(by_name[baseline], by_name[candidate], candidate == shadow)
