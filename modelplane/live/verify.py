"""After `pulumi up`, check that what runs in AWS is what the stack declares (`modelplane verify`).

Kubernetes endpoints are checked through the cluster's API by `modelplane.live.verify_kubernetes`.

Pulumi reports success when its API calls succeed. SageMaker can still roll an update back on its
own and leave the stack believing otherwise (the silent rollback), serve the wrong traffic split,
run outside its scaling range or with an alarm firing. Names come from the stack outputs (the
contract in `modelplane/program/build.py`), the declared state from the settings.
"""

from __future__ import annotations

import functools
import itertools
import math
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from modelplane_components.aws_limits import SCALABLE_DIMENSION
from pydantic import BaseModel, ConfigDict, ValidationError

from modelplane.aws import Aws, error_text
from modelplane.settings import Endpoint, Platform, Settings

SILENT_ROLLBACK_RUNBOOK = "docs/operations.md#silent-rollback"
# Two traffic shares are equal when they differ by less than 0.05 percentage points.
SHARE_TOLERANCE = 0.0005
MAX_ALARM_NAMES_PER_CALL = 100
TABLE_WIDTH = 80
CHECK_WIDTH = 12
DETAIL_INDENT = 2 + 4 + 2 + CHECK_WIDTH + 2
TRANSITIONAL_STATES = {"Creating", "Updating", "SystemUpdating", "RollingBack"}


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    endpoint: str
    """Endpoint name in the settings."""
    deployed_name: str | None
    """SageMaker endpoint name from the stack outputs, when known."""
    check: str
    result: Result
    detail: str
    """What was found, and for a failure why it matters or what to do."""


class Rows:
    """Builds the checks of one endpoint."""

    def __init__(self, endpoint: str, deployed_name: str | None = None) -> None:
        self.endpoint = endpoint
        self.deployed_name = deployed_name

    def of(self, check: str, result: Result, detail: str) -> Check:
        return Check(self.endpoint, self.deployed_name, check, result, detail)

    def judged(self, check: str, problems: list[str], detail_if_ok: str) -> Check:
        return (
            self.of(check, Result.FAIL, "; ".join(problems)) if problems else self.of(check, Result.PASS, detail_if_ok)
        )


class _ScalableTargetOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    resource_id: str
    min_capacity: int
    max_capacity: int


class EndpointOutputs(BaseModel):
    """The part of a SageMaker endpoint's stack outputs (`endpoints.<name>`) that verify reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    endpoint_name: str
    endpoint_config_name: str
    autoscaling: dict[str, _ScalableTargetOutputs]
    alarm_names: list[str]
    rollback_alarm_names: list[str]
    anomaly_alarm_names: list[str] = []
    """Unusual is not broken: these must exist with actions on, but may be in ALARM after a release."""


class Clients:
    """The AWS clients of the SageMaker checks, each made when first used: a client takes botocore about 10 ms
    to build, and a run without `--smoke` needs no runtime client, a stack all on Kubernetes none at all."""

    def __init__(self, aws: Aws) -> None:
        self._aws = aws

    @functools.cached_property
    def sagemaker(self) -> Any:
        return self._aws.client("sagemaker")

    @functools.cached_property
    def runtime(self) -> Any:
        return self._aws.client("sagemaker-runtime")

    @functools.cached_property
    def autoscaling(self) -> Any:
        return self._aws.client("application-autoscaling")

    @functools.cached_property
    def cloudwatch(self) -> Any:
        return self._aws.client("cloudwatch")


def verify_stack(
    settings: Settings,
    outputs: Mapping[str, Any],
    aws: Aws,
    *,
    smoke: bool = False,
    kubernetes: Callable[[Endpoint, Any], list[Check]] | None = None,
) -> list[Check]:
    """Every check of every endpoint in the settings, plus endpoints the outputs list but the settings dropped.

    `kubernetes` checks a Kubernetes endpoint from its stack outputs (`modelplane.live.verify_kubernetes`,
    through the cluster's API); without it those endpoints are skipped.
    """
    clients = Clients(aws)
    deployed = outputs.get("endpoints") or {}
    checks: list[Check] = []
    for endpoint in settings.endpoints:
        if endpoint.platform is Platform.SAGEMAKER:
            checks += _verify_endpoint(endpoint, deployed.get(endpoint.name), clients, smoke=smoke)
        elif kubernetes is not None:
            checks += kubernetes(endpoint, deployed.get(endpoint.name))
        else:
            checks.append(Rows(endpoint.name).of("platform", Result.SKIP, "kubernetes: no cluster to read"))
    declared = {endpoint.name for endpoint in settings.endpoints}
    for name in sorted(set(deployed) - declared):
        checks.append(
            Rows(name).of(
                "outputs", Result.FAIL, "in the stack outputs but no longer in the settings; `pulumi up` removes it"
            )
        )
    return checks


def _verify_endpoint(endpoint: Endpoint, raw_outputs: Any, clients: Clients, *, smoke: bool) -> list[Check]:
    if raw_outputs is None:
        return [Rows(endpoint.name).of("outputs", Result.FAIL, "not in the stack outputs; run `pulumi up` first")]
    try:
        expected = EndpointOutputs.model_validate(raw_outputs)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, detail['loc']))}: {detail['msg'].lower()}" for detail in error.errors()
        )
        return [Rows(endpoint.name).of("outputs", Result.FAIL, f"stack outputs endpoints.{endpoint.name}: {problems}")]
    rows = Rows(endpoint.name, expected.endpoint_name)
    checks: list[Check] = []
    try:
        described = clients.sagemaker.describe_endpoint(EndpointName=expected.endpoint_name)
    except ClientError as error:
        if not _not_found(error):
            raise
        checks.append(rows.of("endpoint", Result.FAIL, error_text(error)))
    else:
        checks += [
            _status(rows, described),
            _config(rows, described, expected),
            _variants(rows, described, endpoint),
            _weights(rows, described, endpoint),
            _shadow(rows, described, endpoint),
            _instances(rows, described, endpoint, expected),
            _data_capture(rows, described, endpoint),
        ]
    checks.append(_scalable_targets(rows, endpoint, expected, clients.autoscaling))
    checks.append(_alarms(rows, expected, clients.cloudwatch))
    if smoke:
        checks.append(_smoke(rows, endpoint, expected, clients.runtime))
    return checks


def _not_found(error: ClientError) -> bool:
    """SageMaker's answer for an endpoint that does not exist (a failed check, not an error of the command)."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "Could not find" in str(details.get("Message", ""))


def _status(rows: Rows, described: Mapping[str, Any]) -> Check:
    status = described.get("EndpointStatus", "unknown")
    if status == "InService":
        return rows.of("status", Result.PASS, status)
    detail = status + (f": {described['FailureReason']}" if described.get("FailureReason") else "")
    if status in TRANSITIONAL_STATES:
        detail += "; run verify again once it is InService"
    return rows.of("status", Result.FAIL, detail)


def _config(rows: Rows, described: Mapping[str, Any], expected: EndpointOutputs) -> Check:
    actual = described.get("EndpointConfigName")
    if actual == expected.endpoint_config_name:
        return rows.of("config", Result.PASS, f"{actual}, as the stack expects")
    if described.get("EndpointStatus") == "InService":
        return rows.of(
            "config",
            Result.FAIL,
            f"SageMaker rolled back to {actual}; the stack expects {expected.endpoint_config_name}"
            f" — see {SILENT_ROLLBACK_RUNBOOK}",
        )
    return rows.of(
        "config",
        Result.FAIL,
        f"the endpoint is {described.get('EndpointStatus')} on {actual}; the stack expects"
        f" {expected.endpoint_config_name}",
    )


def _variants(rows: Rows, described: Mapping[str, Any], endpoint: Endpoint) -> Check:
    declared = [variant.name for variant in endpoint.variants]
    actual = [summary["VariantName"] for summary in described.get("ProductionVariants", [])]
    problems = []
    if missing := [name for name in declared if name not in actual]:
        problems.append(f"missing: {', '.join(missing)}")
    if unexpected := [name for name in actual if name not in declared]:
        problems.append(f"not declared: {', '.join(unexpected)}")
    return rows.judged("variants", problems, ", ".join(actual))


def _weights(rows: Rows, described: Mapping[str, Any], endpoint: Endpoint) -> Check:
    """Weights are relative, so shares of traffic are compared; desired and current must both match."""
    summaries = described.get("ProductionVariants", [])
    declared = endpoint.traffic_shares()
    if {summary["VariantName"] for summary in summaries} != set(declared):
        return rows.of("weights", Result.FAIL, "not comparable: the production variants differ (see variants)")
    shares: dict[str, dict[str, float]] = {}
    for field in ("DesiredWeight", "CurrentWeight"):
        weights = {summary["VariantName"]: summary.get(field) for summary in summaries}
        if None in weights.values() or sum(weights.values()) <= 0:
            return rows.of("weights", Result.FAIL, f"SageMaker reports no {field} for every variant")
        total = sum(weights.values())
        shares[field] = {name: weight / total for name, weight in weights.items()}
    desired, current = shares["DesiredWeight"], shares["CurrentWeight"]
    wrong = [
        f"{name} gets {_percent(desired[name])} of traffic, the stack declares {_percent(share)}"
        for name, share in declared.items()
        if not math.isclose(desired[name], share, abs_tol=SHARE_TOLERANCE)
    ]
    if wrong:
        return rows.of("weights", Result.FAIL, "; ".join(wrong))
    if any(not math.isclose(current[name], desired[name], abs_tol=SHARE_TOLERANCE) for name in declared):
        return rows.of("weights", Result.FAIL, f"traffic is still shifting: now {_shares_text(current)}")
    return rows.of("weights", Result.PASS, _shares_text(desired))


def _shadow(rows: Rows, described: Mapping[str, Any], endpoint: Endpoint) -> Check:
    actual = [summary["VariantName"] for summary in described.get("ShadowProductionVariants") or []]
    declared = [endpoint.shadow.name] if endpoint.shadow else []
    if actual == declared:
        return rows.of("shadow", Result.PASS, f"{declared[0]} receives a copy of traffic" if declared else "none")
    return rows.of(
        "shadow",
        Result.FAIL,
        f"SageMaker runs {', '.join(actual) or 'no shadow'}; the stack declares {', '.join(declared) or 'none'}",
    )


def _instances(rows: Rows, described: Mapping[str, Any], endpoint: Endpoint, expected: EndpointOutputs) -> Check:
    """Autoscaled variants stay within the declared range, the others at their declared count."""
    summaries = {
        summary["VariantName"]: summary
        for summary in [*described.get("ProductionVariants", []), *(described.get("ShadowProductionVariants") or [])]
    }
    counted = [v for v in endpoint.all_variants if v.serverless is None and v.name in summaries]
    if not counted:
        return rows.of("instances", Result.SKIP, "no instance-backed variant to count")
    problems, found = [], []
    for variant in counted:
        count = summaries[variant.name].get("CurrentInstanceCount")
        if endpoint.autoscaling is not None and variant.name in expected.autoscaling:
            low, high = endpoint.autoscaling.min_capacity, endpoint.autoscaling.max_capacity
            wanted = f"{low}-{high} (autoscaling)"
        else:
            low = high = variant.instance_count
            wanted = str(low)
        found.append(f"{variant.name} {count}")
        if count is None or not low <= count <= high:
            problems.append(f"{variant.name} runs {count} instance(s), the stack declares {wanted}")
    return rows.judged("instances", problems, ", ".join(found))


def _data_capture(rows: Rows, described: Mapping[str, Any], endpoint: Endpoint) -> Check:
    capture = described.get("DataCaptureConfig") or {}
    declared = endpoint.data_capture
    on = bool(capture.get("EnableCapture"))
    if on != declared.enabled:
        return rows.of(
            "data capture",
            Result.FAIL,
            f"SageMaker reports capture {_on_off(on)}, the stack declares {_on_off(declared.enabled)}",
        )
    if not on:
        return rows.of("data capture", Result.PASS, "off, as declared")
    problems = []
    if capture.get("CaptureStatus") == "Stopped":
        problems.append("capture is Stopped")
    sampling = capture.get("CurrentSamplingPercentage", declared.sampling_percent)
    if sampling != declared.sampling_percent:
        problems.append(f"samples {sampling}%, the stack declares {declared.sampling_percent}%")
    destination = capture.get("DestinationS3Uri", "an unreported destination")
    return rows.judged("data capture", problems, f"on, {sampling}% to {destination}")


def _scalable_targets(rows: Rows, endpoint: Endpoint, expected: EndpointOutputs, autoscaling: Any) -> Check:
    targets = expected.autoscaling
    declared = endpoint.autoscaling
    if declared is None:
        if targets:
            return rows.of(
                "autoscaling",
                Result.FAIL,
                "the stack outputs list scalable targets the settings no longer declare; run `pulumi up`",
            )
        return rows.of("autoscaling", Result.SKIP, "none declared")
    if not targets:
        return rows.of(
            "autoscaling", Result.FAIL, "declared, but the stack outputs list no scalable target; run `pulumi up`"
        )
    registered: dict[str, Mapping[str, Any]] = {}
    pages = autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="sagemaker",
        ResourceIds=[target.resource_id for target in targets.values()],
        ScalableDimension=SCALABLE_DIMENSION,
    )
    for page in pages:
        registered.update({target["ResourceId"]: target for target in page["ScalableTargets"]})
    problems = []
    for variant, target in sorted(targets.items()):
        found = registered.get(target.resource_id)
        if found is None:
            problems.append(f"{variant}: no scalable target registered for {target.resource_id}")
        elif (found["MinCapacity"], found["MaxCapacity"]) != (declared.min_capacity, declared.max_capacity):
            problems.append(
                f"{variant}: registered {found['MinCapacity']}-{found['MaxCapacity']},"
                f" the stack declares {declared.min_capacity}-{declared.max_capacity}"
            )
    ranges = ", ".join(f"{variant} {declared.min_capacity}-{declared.max_capacity}" for variant in sorted(targets))
    return rows.judged("autoscaling", problems, f"registered: {ranges}")


def _alarms(rows: Rows, expected: EndpointOutputs, cloudwatch: Any) -> Check:
    names = list(dict.fromkeys([*expected.alarm_names, *expected.rollback_alarm_names]))
    if not names:
        return rows.of("alarms", Result.FAIL, "the stack outputs list no alarm watching this endpoint")
    found: dict[str, Mapping[str, Any]] = {}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for start in range(0, len(names), MAX_ALARM_NAMES_PER_CALL):
        for page in paginator.paginate(AlarmNames=names[start : start + MAX_ALARM_NAMES_PER_CALL]):
            found.update({alarm["AlarmName"]: alarm for alarm in page["MetricAlarms"]})
    problems = []
    if missing := [name for name in names if name not in found]:
        problems.append(f"missing: {', '.join(missing)}")
    if disabled := [name for name in names if name in found and not found[name].get("ActionsEnabled")]:
        problems.append(f"actions disabled: {', '.join(disabled)}")
    in_alarm = [name for name in names if name in found and found[name].get("StateValue") == "ALARM"]
    if firing := [name for name in in_alarm if name not in expected.anomaly_alarm_names]:
        problems.append(f"in ALARM: {', '.join(firing)}")
    rollback = len(expected.rollback_alarm_names)
    unusual = [name for name in in_alarm if name in expected.anomaly_alarm_names]
    state = f"anomaly alarms in ALARM (not a failure): {', '.join(unusual)}" if unusual else "none in ALARM"
    return rows.judged("alarms", problems, f"{len(names)} alarms, {rollback} for rollback; {state}")


def _smoke(rows: Rows, endpoint: Endpoint, expected: EndpointOutputs, runtime: Any) -> Check:
    """One request with the settings' sample payload, timed against the p99 latency alarm threshold.

    The time includes the network round trip from here, so it errs on the side of failing.
    """
    sample = endpoint.smoke_test
    if sample is None:
        return rows.of("smoke", Result.SKIP, "no smoke_test in the settings")
    if endpoint.async_inference is not None:
        return rows.of("smoke", Result.SKIP, "asynchronous endpoint: a synchronous request would be refused")
    threshold = endpoint.alarms.latency_p99_ms
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(
            EndpointName=expected.endpoint_name, ContentType=sample.content_type, Body=sample.body.encode()
        )
        response["Body"].read()
    except ClientError as error:
        # The endpoint answered with an error (the model's, or not ready): the smoke test failed. A request
        # that reached no endpoint (the network, credentials) is an error of the command, raised as such.
        return rows.of("smoke", Result.FAIL, error_text(error))
    elapsed_ms = (time.perf_counter() - started) * 1000
    if elapsed_ms > threshold:
        return rows.of(
            "smoke", Result.FAIL, f"answered in {elapsed_ms:.0f} ms, over the p99 latency threshold of {threshold:g} ms"
        )
    return rows.of("smoke", Result.PASS, f"answered in {elapsed_ms:.0f} ms (threshold {threshold:g} ms)")


def _percent(share: float) -> str:
    return f"{round(share * 100, 1):g}%"


def _shares_text(shares: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {_percent(share)}" for name, share in shares.items())


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def render(checks: list[Check], *, stack: str, region: str, endpoint_url: str | None) -> str:
    """The checks grouped by endpoint, one line each (wrapped details), within 80 columns."""
    where = f"emulator {endpoint_url}" if endpoint_url else f"region {region}"
    lines = [f"modelplane verify: stack {stack}, {where}"]
    for (endpoint, deployed), group in itertools.groupby(checks, key=lambda c: (c.endpoint, c.deployed_name)):
        lines.append("")
        heading = f"{endpoint} ({deployed})" if deployed and deployed != endpoint else endpoint
        lines += textwrap.wrap(heading, TABLE_WIDTH, break_long_words=True)
        for check in group:
            label = "FAIL" if check.result is Result.FAIL else check.result.value
            detail = textwrap.wrap(
                check.detail, TABLE_WIDTH - DETAIL_INDENT, break_long_words=True, break_on_hyphens=False
            ) or [""]
            lines.append(f"  {label:<4}  {check.check:<{CHECK_WIDTH}}  {detail[0]}")
            lines += [" " * DETAIL_INDENT + line for line in detail[1:]]
    counts = {result: sum(check.result is result for check in checks) for result in Result}
    verdict = "FAILED" if counts[Result.FAIL] else "OK"
    lines += [
        "",
        f"{verdict}: {counts[Result.PASS]} passed, {counts[Result.FAIL]} failed, {counts[Result.SKIP]} skipped",
    ]
    return "\n".join(lines)


def report(checks: list[Check], *, stack: str, region: str, endpoint_url: str | None) -> dict[str, Any]:
    """The `--json` document: stable keys, one entry per check."""
    return {
        "stack": stack,
        "region": region,
        "endpoint_url": endpoint_url,
        "ok": not any(check.result is Result.FAIL for check in checks),
        "summary": {result.value: sum(check.result is result for check in checks) for result in Result},
        "checks": [{**asdict(check), "result": check.result.value} for check in checks],
    }
