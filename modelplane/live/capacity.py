"""Can the account run the stack? SageMaker instances at peak against the applied quotas, before `pulumi up`.

SageMaker refuses an endpoint (`ResourceLimitExceeded`) when its instances of a type, with every other
endpoint's of that type, would exceed the account's quota "ml.<type> for endpoint usage" in the
region; `pulumi up` learns it mid-deployment. This module adds up, per instance type, what the stack
runs at peak:

- each production variant's autoscaling maximum (its instance count without autoscaling; the endpoint
  component scales every instance-backed production variant), and each shadow variant's count;
- the second fleet of an update: blue/green (all-at-once, canary, linear) provisions the whole new
  fleet, shadow included, beside the old one until the old one is terminated; a rolling update
  provisions one batch (`step`: instances, or a share of the variant's instances) at a time, and rolls
  back in batches of the same size (the endpoint component sets both);

and compares it with the applied quota (Service Quotas; its default where no value was ever applied)
minus what the account's other endpoints run now (their current or desired instances, whichever is more,
and a pending deployment's new ones). The stack's own endpoints are left out of that usage: the update's
second fleet stands for them. An endpoint whose config is gone (deleted after the endpoint was created)
runs instances of a type capacity cannot learn: they count against every type.

Serverless variants use no instances but two quotas of their own: the concurrency all serverless
endpoints of the region share (the sum of their maximum concurrency; provisioned concurrency is part of
it) and the number of serverless endpoints. Kubernetes endpoints are summed per node selector from what
the stack declares (requested CPUs and GPUs at peak, one surge pod per variant during a rolling update)
and are not compared with anything: the cluster is not read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from modelplane_components import naming

from modelplane.settings import Endpoint, Platform, Settings, Strategy, Variant

SERVICE_CODE = "sagemaker"
QUOTA_NAME = "{instance_type} for endpoint usage"
SERVERLESS_CONCURRENCY_QUOTA = "Maximum total concurrency that can be allocated across all serverless endpoints"
SERVERLESS_ENDPOINTS_QUOTA = "Maximum number of serverless endpoints"
DESCRIBE_THREADS = 8
# Pods a Deployment adds during a rolling update (the Kubernetes component's maxSurge).
KUBERNETES_SURGE_PODS = 1


@dataclass(frozen=True)
class Quota:
    code: str
    value: float
    applied: bool
    """False when only AWS's default is known (no value was ever applied to the account)."""


@dataclass
class Need:
    """What the stack holds of one quota at peak: an instance type's instances, or serverless concurrency."""

    label: str
    """The instance type, or what of serverless inference is counted."""
    quota_name: str
    running: int = 0
    """Held at peak outside an update."""
    update: int = 0
    """Added by an update while both fleets run."""
    reasons: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.running + self.update


@dataclass(frozen=True)
class Line:
    """One row of the table: a need against its quota and the other endpoints' usage."""

    region: str
    need: Need
    quota: Quota | None
    in_use: int

    @property
    def headroom(self) -> float | None:
        return None if self.quota is None else self.quota.value - self.in_use - self.need.total

    @property
    def short(self) -> bool:
        return self.headroom is None or self.headroom < 0

    def problem(self) -> str:
        """Why the account cannot hold the need, naming the quota to raise."""
        name = self.need.quota_name
        if self.quota is None:
            unoffered = "; SageMaker probably does not offer this type for endpoints there"
            return f"{self.need.label}: Service Quotas has no quota '{name}' in {self.region}" + (
                unoffered if name == QUOTA_NAME.format(instance_type=self.need.label) else ""
            )
        wanted = self.in_use + self.need.total
        return (
            f"{self.need.label}: needs {self.need.total} with {self.in_use} in use by other endpoints, "
            f"quota {_number(self.quota.value)}; raise {self.quota.code} ('{name}') in {self.region} to at least "
            f"{wanted} (Service Quotas, service code {SERVICE_CODE})"
        )


@dataclass(frozen=True)
class UnknownFleet:
    """Instances of another endpoint whose type cannot be read: its endpoint config is gone."""

    endpoint: str
    config: str
    instances: int

    def __str__(self) -> str:
        return (
            f"{self.instances} instances of endpoint {self.endpoint} of unknown type (its endpoint config "
            f"{self.config} no longer exists): counted as in use of every type"
        )


@dataclass
class Usage:
    """What the account's other endpoints hold now."""

    instances: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unknown: list[UnknownFleet] = field(default_factory=list)
    serverless_concurrency: int = 0
    serverless_endpoints: int = 0

    def of_type(self, instance_type: str) -> int:
        return self.instances.get(instance_type, 0) + sum(fleet.instances for fleet in self.unknown)


@dataclass
class PodNeed:
    """The Kubernetes pods of one node selector at peak."""

    node_selector: str
    pods: int = 0
    cpus: Decimal = Decimal(0)
    gpus: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    stack: str
    region: str
    lines: list[Line]
    serverless: list[Line]
    pods: list[PodNeed]
    unknown: list[UnknownFleet]

    @property
    def problems(self) -> list[str]:
        return [line.problem() for line in [*self.lines, *self.serverless] if line.short]


def instance_needs(settings: Settings) -> dict[str, Need]:
    """Per instance type, what the stack's SageMaker endpoints run at peak and add during an update."""
    needs: dict[str, Need] = {}
    for endpoint in settings.endpoints:
        if endpoint.platform is not Platform.SAGEMAKER:
            continue
        fleet = _fleet(endpoint)
        for variant, count in fleet:
            kind = str(variant.instance_type)
            need = needs.setdefault(kind, Need(kind, QUOTA_NAME.format(instance_type=kind)))
            need.running += count
            role = "shadow" if variant is endpoint.shadow else "variant"
            scaled = "autoscaling max" if endpoint.autoscaling is not None and role == "variant" else "instances"
            need.reasons.append(f"{endpoint.name}/{variant.name}: {count} ({role}, {scaled})")
        for variant, extra in _update_surge(endpoint, fleet):
            need = needs[str(variant.instance_type)]
            need.update += extra
            how = (
                "rolling batch, and the rollback's"
                if endpoint.deployment.strategy is Strategy.ROLLING
                else f"{endpoint.deployment.strategy} blue/green second fleet"
            )
            need.reasons.append(f"{endpoint.name}/{variant.name}: +{extra} during an update ({how})")
    return needs


def serverless_needs(settings: Settings) -> list[Need]:
    """The stack's serverless concurrency (the sum of the variants' maxima) and serverless endpoints; none when
    the stack has no serverless variant."""
    concurrency = Need("serverless concurrency", SERVERLESS_CONCURRENCY_QUOTA)
    endpoints = Need("serverless endpoints", SERVERLESS_ENDPOINTS_QUOTA)
    for endpoint in settings.endpoints:
        variants = [v for v in endpoint.all_variants if v.serverless is not None]
        if endpoint.platform is not Platform.SAGEMAKER or not variants:
            continue
        endpoints.running += 1
        endpoints.reasons.append(f"{endpoint.name}: {len(variants)} serverless variants")
        for variant in variants:
            serverless = variant.serverless
            assert serverless is not None
            concurrency.running += serverless.max_concurrency
            provisioned = serverless.provisioned_concurrency
            concurrency.reasons.append(
                f"{endpoint.name}/{variant.name}: {serverless.max_concurrency} (max concurrency"
                + (f", {provisioned} of it provisioned)" if provisioned else ")")
            )
    return [concurrency, endpoints] if endpoints.running else []


def _fleet(endpoint: Endpoint) -> list[tuple[Variant, int]]:
    """Each instance-backed variant with its instances at peak."""
    scaling = endpoint.autoscaling
    fleet = [
        (variant, scaling.max_capacity if scaling is not None else variant.instance_count)
        for variant in endpoint.variants
        if variant.instance_type is not None
    ]
    if endpoint.shadow is not None and endpoint.shadow.instance_type is not None:
        fleet.append((endpoint.shadow, endpoint.shadow.instance_count))
    return fleet


def _update_surge(endpoint: Endpoint, fleet: list[tuple[Variant, int]]) -> list[tuple[Variant, int]]:
    """What an update adds: the whole fleet again (blue/green), or one batch (rolling: the endpoint component
    sets the rollback's batch to the same `step`, so a rollback adds no more)."""
    deployment = endpoint.deployment
    if deployment.strategy is not Strategy.ROLLING:
        return fleet
    batch = []
    for variant, count in fleet:
        step = deployment.step.value
        size = step if deployment.step.type == "instance-count" else math.ceil(count * step / 100)
        batch.append((variant, min(size, count)))
    return batch


def pod_needs(settings: Settings) -> list[PodNeed]:
    """Per node selector, the Kubernetes pods at peak with their requested CPUs and GPUs, plus the update surge."""
    needs: dict[str, PodNeed] = {}
    for endpoint in settings.endpoints:
        serving = endpoint.kubernetes
        if endpoint.platform is not Platform.KUBERNETES or serving is None:
            continue
        selector = ",".join(f"{key}={value}" for key, value in sorted(serving.node_selector.items())) or "(any node)"
        need = needs.setdefault(selector, PodNeed(selector))
        for variant in endpoint.all_variants:
            pods = endpoint.autoscaling.max_capacity if endpoint.autoscaling is not None else variant.instance_count
            pods += KUBERNETES_SURGE_PODS
            need.pods += pods
            need.cpus += pods * _cpus(serving.resources.cpu)
            need.gpus += pods * serving.resources.gpus
            need.reasons.append(f"{endpoint.name}/{variant.name}: {pods} pods (peak + {KUBERNETES_SURGE_PODS} surge)")
    return list(needs.values())


def _cpus(quantity: str) -> Decimal:
    """A Kubernetes CPU quantity (`2`, `1.5`, `500m`) in CPUs."""
    return Decimal(quantity[:-1]) / 1000 if quantity.endswith("m") else Decimal(quantity)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def service_quotas(quotas_client: Any, names: Iterable[str]) -> dict[str, Quota]:
    """The applied value of each named SageMaker quota, or AWS's default where Service Quotas lists no applied
    value; a name Service Quotas does not know is left out."""
    wanted = set(names)
    found: dict[str, Quota] = {}
    for operation, applied in (("list_service_quotas", True), ("list_aws_default_service_quotas", False)):
        if len(found) == len(wanted):
            break
        for page in quotas_client.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
            for quota in page.get("Quotas", []):
                name = quota.get("QuotaName", "")
                if name in wanted and name not in found and "Value" in quota:
                    found[name] = Quota(quota["QuotaCode"], float(quota["Value"]), applied)
    return found


def _unless_gone(describe: Any, **request: str) -> dict[str, Any] | None:
    """A Describe* answer, or None for a resource deleted since it was listed (SageMaker's ValidationException)."""
    try:
        return describe(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            return None
        raise


def _count(variant: Mapping[str, Any]) -> int:
    """A variant's instances: the desired count while an endpoint is being created or scaled, when the current
    one is still 0 or absent."""
    return max(int(variant.get("CurrentInstanceCount", 0)), int(variant.get("DesiredInstanceCount", 0)))


def _concurrency(variant: Mapping[str, Any]) -> int:
    current, desired = (variant.get(key) or {} for key in ("CurrentServerlessConfig", "DesiredServerlessConfig"))
    return max(int(current.get("MaxConcurrency", 0)), int(desired.get("MaxConcurrency", 0)))


def usage_of_others(sagemaker: Any, skip: set[str]) -> Usage:
    """What the account's endpoints other than `skip` hold now: instances per type, serverless concurrency."""
    names = [
        summary["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate()
        for summary in page.get("Endpoints", [])
        if summary["EndpointName"] not in skip
    ]
    with ThreadPoolExecutor(DESCRIBE_THREADS) as pool:
        described = [
            endpoint
            for endpoint in pool.map(lambda name: _unless_gone(sagemaker.describe_endpoint, EndpointName=name), names)
            if endpoint is not None
        ]
        config_names = sorted({endpoint["EndpointConfigName"] for endpoint in described})
        configs = dict(
            zip(
                config_names,
                pool.map(
                    lambda name: _unless_gone(sagemaker.describe_endpoint_config, EndpointConfigName=name),
                    config_names,
                ),
                strict=True,
            )
        )
    usage = Usage()
    for endpoint in described:
        config = configs[endpoint["EndpointConfigName"]]
        types = {
            variant["VariantName"]: variant.get("InstanceType")
            for variant in [
                *(config or {}).get("ProductionVariants", []),
                *(config or {}).get("ShadowProductionVariants", []),
            ]
        }
        pending = endpoint.get("PendingDeploymentSummary", {})
        variants = [*endpoint.get("ProductionVariants", []), *endpoint.get("ShadowProductionVariants", [])]
        pending_variants = [*pending.get("ProductionVariants", []), *pending.get("ShadowProductionVariants", [])]
        unknown = 0
        for variant in variants:
            if _concurrency(variant):
                continue
            kind = types.get(variant["VariantName"])
            if kind is None:
                unknown += _count(variant)
            else:
                usage.instances[kind] += _count(variant)
        for variant in pending_variants:
            if "InstanceType" in variant:
                usage.instances[variant["InstanceType"]] += _count(variant)
        concurrency = sum(_concurrency(variant) for variant in [*variants, *pending_variants])
        if concurrency:
            usage.serverless_concurrency += concurrency
            usage.serverless_endpoints += 1
        if unknown:
            usage.unknown.append(UnknownFleet(endpoint["EndpointName"], endpoint["EndpointConfigName"], unknown))
    return usage


def assess(settings: Settings, stack: str, *, quotas_client: Any, sagemaker: Any) -> Assessment:
    """The stack's needs against the account's quotas and other endpoints' usage."""
    needs = instance_needs(settings)
    serverless = serverless_needs(settings)
    ours = {
        naming.endpoint_name(endpoint.name, stack)
        for endpoint in settings.endpoints
        if endpoint.platform is Platform.SAGEMAKER
    }
    wanted = [need.quota_name for need in [*needs.values(), *serverless]]
    quotas = service_quotas(quotas_client, wanted) if wanted else {}
    usage = usage_of_others(sagemaker, ours) if wanted else Usage()
    lines = [
        Line(settings.region, need, quotas.get(need.quota_name), usage.of_type(kind))
        for kind, need in sorted(needs.items())
    ]
    held = {
        SERVERLESS_CONCURRENCY_QUOTA: usage.serverless_concurrency,
        SERVERLESS_ENDPOINTS_QUOTA: usage.serverless_endpoints,
    }
    serverless_lines = [
        Line(settings.region, need, quotas.get(need.quota_name), held[need.quota_name]) for need in serverless
    ]
    unknown = usage.unknown if needs else []
    return Assessment(stack, settings.region, lines, serverless_lines, pod_needs(settings), unknown)


def render(assessment: Assessment) -> str:
    """The table of need, quota, usage and headroom, then the Kubernetes sums and what is short."""
    out = [f"modelplane capacity: stack {assessment.stack}, region {assessment.region}"]
    header = f"{'need':>5} {'(update)':>8} {'quota':>6} {'code':<11} {'in use':>6} {'headroom':>8}"
    if assessment.lines:
        out += ["", "SageMaker endpoint instances (need = peak plus an update's second fleet):"]
        out += [f"  {'instance type':<18} {header}", *_rows(assessment.lines, 18)]
    else:
        out += ["", "No instance-backed SageMaker endpoints."]
    out += [f"  {fleet}" for fleet in assessment.unknown]
    if assessment.serverless:
        out += ["", "SageMaker serverless inference (the region's quotas all serverless endpoints share):"]
        out += [f"  {'':<22} {header}", *_rows(assessment.serverless, 22)]
    if assessment.pods:
        out += [
            "",
            "Kubernetes pods at peak, per node selector (from the stack's settings only: the cluster is not read,",
            "compare with your node pools):",
            f"  {'node selector':<44} {'pods':>5} {'CPUs':>7} {'GPUs':>5}",
        ]
        for pods in assessment.pods:
            out.append(f"  {pods.node_selector:<44} {pods.pods:>5} {_number(float(pods.cpus)):>7} {pods.gpus:>5}")
            out += [f"      {reason}" for reason in pods.reasons]
    problems = assessment.problems
    out += ["", *(f"SHORT: {problem}" for problem in problems)] if problems else ["", "Enough quota for every type."]
    return "\n".join(out)


def _rows(lines: list[Line], width: int) -> list[str]:
    rows = []
    for line in lines:
        quota = line.quota
        rows.append(
            f"  {line.need.label:<{width}} {line.need.total:>5} {f'+{line.need.update}':>8} "
            f"{_number(quota.value) if quota else '?':>6} {quota.code if quota else '-':<11} {line.in_use:>6} "
            f"{_number(line.headroom) if line.headroom is not None else '?':>8}"
            + ("  SHORT" if line.short else "")
            + ("" if quota is None or quota.applied else "  (AWS default)")
        )
        rows += [f"      {reason}" for reason in line.need.reasons]
    return rows


def report(assessment: Assessment) -> dict[str, Any]:
    """The `--json` document."""

    def line_of(line: Line, key: str) -> Mapping[str, Any]:
        return {
            key: line.need.label,
            "quota_name": line.need.quota_name,
            "need": line.need.total,
            "update": line.need.update,
            "quota": None if line.quota is None else line.quota.value,
            "quota_code": None if line.quota is None else line.quota.code,
            "quota_applied": None if line.quota is None else line.quota.applied,
            "in_use": line.in_use,
            "headroom": line.headroom,
            "short": line.short,
            "reasons": line.need.reasons,
        }

    return {
        "stack": assessment.stack,
        "region": assessment.region,
        "instances": [line_of(line, "instance_type") for line in assessment.lines],
        "unknown_instances": [
            {"endpoint": fleet.endpoint, "endpoint_config": fleet.config, "instances": fleet.instances}
            for fleet in assessment.unknown
        ],
        "serverless": [line_of(line, "counted") for line in assessment.serverless],
        "kubernetes": [
            {
                "node_selector": p.node_selector,
                "pods": p.pods,
                "cpus": float(p.cpus),
                "gpus": p.gpus,
                "reasons": p.reasons,
            }
            for p in assessment.pods
        ],
        "problems": assessment.problems,
    }
