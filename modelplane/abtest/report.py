"""What `modelplane compare` writes: an 80-column table, the JSON contract, and a Markdown PR comment."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelplane.abtest.decision import Assessment, Decision, MetricResult, Verdict
from modelplane.abtest.statistics import TestResult
from modelplane.report.markdown import cell
from modelplane.timewindow import Window, iso

JSON_FORMAT_VERSION = 1
LABEL_WIDTH = 16
TABLE_WIDTH = 80


@dataclass(frozen=True)
class VariantIdentity:
    """Which model a variant served, as the stack file declared it when compared."""

    variant: str
    model_package_version: int | None
    image: str | None
    """The image tag or digest, when the variant names one."""
    shadow: bool = False

    def describe(self) -> str:
        what = [f"model package {self.model_package_version}"] if self.model_package_version else []
        what += [f"image {self.image}"] if self.image and not self.model_package_version else []
        what += ["shadow"] if self.shadow else []
        return f"{self.variant} ({', '.join(what)})" if what else self.variant


@dataclass(frozen=True)
class Context:
    """What was compared, where and when: the report's header and the promote gate's checks."""

    stack: str
    endpoint: str
    deployed_name: str
    platform: str
    source: str
    window: Window
    period_seconds: int
    baseline: VariantIdentity
    candidate: VariantIdentity
    alpha: float
    notes: list[str]


def render_table(context: Context, assessment: Assessment) -> str:
    lines = [
        f"modelplane compare: stack {context.stack}, endpoint {context.endpoint} ({context.deployed_name})",
        f"  source     {context.source}",
        f"  window     {context.window.describe()}, {context.period_seconds} s periods",
        f"  baseline   {context.baseline.describe()}",
        f"  candidate  {context.candidate.describe()}",
        "",
        _row("metric", "baseline", "candidate", "effect", "margin", "p (adj.)", "decision"),
    ]
    for result in assessment.metrics:
        label, *more = textwrap.wrap(result.metric.label, LABEL_WIDTH)
        lines.append(_row(label, *_cells(result), _decision(result.decision)))
        lines += [f"  {line}" for line in more]
    notes = _notes(context, assessment)
    if notes:
        lines += ["", "notes:"]
        for note in notes:
            lines += textwrap.wrap(note, TABLE_WIDTH, initial_indent="  - ", subsequent_indent="    ")
    lines += ["", f"{assessment.verdict.value.upper()}:"]
    for reason in assessment.reasons:
        lines += textwrap.wrap(reason, TABLE_WIDTH, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines) + "\n"


def _notes(context: Context, assessment: Assessment) -> list[str]:
    """The source's notes, what the decision left out, then the metrics' warnings (a sample-ratio mismatch)."""
    return [
        *context.notes,
        *assessment.notes,
        *(r.detail for r in assessment.metrics if r.decision is Decision.WARNING),
    ]


def render_markdown(context: Context, assessment: Assessment) -> str:
    """A pull-request comment: the verdict first, then the table and how it was computed."""
    heading = {Verdict.PROMOTE: "promote", Verdict.ROLLBACK: "roll back", Verdict.INCONCLUSIVE: "inconclusive"}
    lines = [
        f"### A/B test of `{context.endpoint}` in `{context.stack}`: **{heading[assessment.verdict]}**",
        "",
        f"Candidate **{context.candidate.describe()}** against baseline **{context.baseline.describe()}**,"
        f" {context.source}, {context.window.describe()}, {context.period_seconds} s periods.",
        "",
        *(f"- {reason}" for reason in assessment.reasons),
        "",
        "| metric | baseline | candidate | effect | margin | p (adj.) | decision |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *(
            f"| {cell(r.metric.label)} | {' | '.join(_cells(r))} | {cell(_decision(r.decision))} |"
            for r in assessment.metrics
        ),
    ]
    notes = _notes(context, assessment)
    if notes:
        lines += ["", "Notes:", "", *(f"- {note}" for note in notes)]
    lines += [
        "",
        f"Each metric: a non-inferiority test and a worse-than-baseline test, Holm-corrected across metrics at"
        f" alpha {context.alpha:g}. Produced by `modelplane compare`; see docs/ab-testing.md.",
    ]
    return "\n".join(lines) + "\n"


def document(context: Context, assessment: Assessment, generated_at: datetime) -> dict[str, Any]:
    """The `--json` contract; `promote --require-verdict` reads `verdict`, `stack`, `endpoint`,
    `candidate` and `window` back (`modelplane.abtest.verdict_file`)."""
    return {
        "format": JSON_FORMAT_VERSION,
        "tool": "modelplane compare",
        "generated_at": iso(generated_at),
        "stack": context.stack,
        "endpoint": context.endpoint,
        "deployed_name": context.deployed_name,
        "platform": context.platform,
        "source": context.source,
        "window": {
            "start": iso(context.window.start),
            "end": iso(context.window.end),
            "period_seconds": context.period_seconds,
        },
        "baseline": _identity(context.baseline),
        "candidate": _identity(context.candidate),
        "verdict": assessment.verdict.value,
        "reasons": assessment.reasons,
        "notes": [*context.notes, *assessment.notes],
        "alpha": context.alpha,
        "correction": "holm",
        "sample": {
            "baseline": {
                "invocations": assessment.baseline_sample.invocations,
                "periods": assessment.baseline_sample.periods,
            },
            "candidate": {
                "invocations": assessment.candidate_sample.invocations,
                "periods": assessment.candidate_sample.periods,
            },
        },
        "metrics": [_metric(result) for result in assessment.metrics],
    }


def _identity(identity: VariantIdentity) -> dict[str, Any]:
    return {
        "variant": identity.variant,
        "model_package_version": identity.model_package_version,
        "image": identity.image,
        "shadow": identity.shadow,
    }


def _metric(result: MetricResult) -> dict[str, Any]:
    metric = result.metric
    return {
        "name": metric.name,
        "label": metric.label,
        "kind": metric.kind,
        "better": metric.better.value,
        "unit": metric.unit,
        "baseline": result.baseline,
        "candidate": result.candidate,
        "effect": result.effect,
        "effect_unit": metric.effect_unit,
        "margin": metric.margin,
        "p_value": result.p_value,
        "decision": result.decision.value,
        "detail": result.detail,
        "tests": {
            "non_inferiority": _test(result.non_inferiority, result.non_inferiority_adjusted),
            "worse": _test(result.worse, result.worse_adjusted),
        },
        "trials_needed": result.trials_needed,
    }


def _test(test: TestResult | None, adjusted: float | None) -> dict[str, Any] | None:
    if test is None:
        return None
    return {"test": test.test, "p_value": test.p_value, "p_value_adjusted": adjusted}


def _row(label: str, *cells: str) -> str:
    baseline, candidate, effect, margin, p_value, decision = cells
    return f"  {label:<{LABEL_WIDTH}} {baseline:>9} {candidate:>9} {effect:>9} {margin:>8} {p_value:>8}  {decision}"


def _cells(result: MetricResult) -> tuple[str, str, str, str, str]:
    metric = result.metric
    return (
        _value(result.baseline, metric.kind, metric.unit),
        _value(result.candidate, metric.kind, metric.unit),
        _signed(result.effect, metric.effect_unit),
        "-" if metric.margin is None else _unsigned(metric.margin, metric.effect_unit),
        _p(result.p_value),
    )


def _value(value: float | None, kind: str, unit: str) -> str:
    if value is None:
        return "-"
    if kind == "count":
        return f"{value:.0f}"
    if unit == "%":
        return f"{value:.2f}%"
    return f"{value:.1f} {unit}".strip() if unit else f"{value:.4g}"


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f} pt" if unit == "points" else f"{value:+.1f}%"


def _unsigned(value: float, unit: str) -> str:
    return f"{value:.2f} pt" if unit == "points" else f"{value:g}%"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _decision(decision: Decision) -> str:
    return "FAIL" if decision is Decision.FAIL else decision.value
