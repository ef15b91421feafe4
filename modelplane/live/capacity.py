"""Can the account run the stack? SageMaker instances at peak against the applied quotas, before `pulumi up`.

SageMaker refuses an endpoint (`ResourceLimitExceeded`) when its instances of a type, with every other
endpoint's of that type, would exceed the account's quota "ml.<type> for endpoint usage" in the
region; `pulumi up` learns it mid-deployment. This module adds up, per instance type, what the stack
runs at peak:

- each production variant's autoscaling maximum (its instance count without autoscaling; the endpoint
  component scales every instance-backed production variant), and each shadow variant's count;
- the second fleet of an update: blue/green (all-at-once, canary, linear) provisions the whole new
  fleet, shadow included, beside the old one until the old one is terminated; a rolling update
  provisions one batch (`step`: instances, or a share of the variant's instances) at a time;

and compares it with the applied quota (Service Quotas; its default where no value was ever applied)
minus what the account's other endpoints run now (their current instances, and a pending deployment's
new ones). The stack's own endpoints are left out of that usage: the update's second fleet stands for
them. Serverless variants use no instances. Kubernetes endpoints are summed per node selector from what
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

from modelplane_components import naming

from modelplane.settings import Endpoint, Platform, Settings, Strategy, Variant

SERVICE_CODE = "sagemaker"
QUOTA_NAME = "{instance_type} for endpoint usage"
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
class InstanceNeed:
    """One instance type of the stack at peak."""

    instance_type: str
    running: int = 0
    """Instances at peak outside an update."""
    update: int = 0
    """Instances an update adds while both fleets run."""
    reasons: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.running + self.update


@dataclass(frozen=True)
class Line:
    """One row of the table: an instance type's need against its quota and usage."""

    region: str
    need: InstanceNeed
    quota: Quota | None
    in_use: int

    @property
    def headroom(self) -> float | None:
        return None if self.quota is None else self.quota.value - self.in_use - self.need.total

    @property
    def short(self) -> bool:
        return self.headroom is None or self.headroom < 0

    def problem(self) -> str:
        """Why the account cannot run this type, naming the quota to raise."""
        name = QUOTA_NAME.format(instance_type=self.need.instance_type)
        if self.quota is None:
            return (
                f"{self.need.instance_type}: Service Quotas has no quota '{name}' in {self.region}; SageMaker "
                "probably does not offer this type for endpoints there"
            )
        wanted = self.in_use + self.need.total
        return (
            f"{self.need.instance_type}: needs {self.need.total} with {self.in_use} in use by other endpoints, "
            f"quota {_number(self.quota.value)}; raise {self.quota.code} ('{name}') in {self.region} to at least "
            f"{wanted} (Service Quotas, service code {SERVICE_CODE})"
        )


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
    pods: list[PodNeed]
    serverless: list[str]

    @property
    def problems(self) -> list[str]:
        return [line.problem() for line in self.lines if line.short]


def instance_needs(settings: Settings) -> dict[str, InstanceNeed]:
    """Per instance type, what the stack's SageMaker endpoints run at peak and add during an update."""
    needs: dict[str, InstanceNeed] = {}
    for endpoint in settings.endpoints:
        if endpoint.platform is not Platform.SAGEMAKER:
            continue
        fleet = _fleet(endpoint)
        for variant, count in fleet:
            need = needs.setdefault(str(variant.instance_type), InstanceNeed(str(variant.instance_type)))
            need.running += count
            role = "shadow" if variant is endpoint.shadow else "variant"
            scaled = "autoscaling max" if endpoint.autoscaling is not None and role == "variant" else "instances"
            need.reasons.append(f"{endpoint.name}/{variant.name}: {count} ({role}, {scaled})")
        for variant, extra in _update_surge(endpoint, fleet):
            need = needs[str(variant.instance_type)]
            need.update += extra
            how = (
                "rolling batch"
                if endpoint.deployment.strategy is Strategy.ROLLING
                else f"{endpoint.deployment.strategy} blue/green second fleet"
            )
            need.reasons.append(f"{endpoint.name}/{variant.name}: +{extra} during an update ({how})")
    return needs


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
    """What an update adds: the whole fleet again (blue/green), or one batch (rolling)."""
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


def endpoint_quotas(quotas_client: Any, instance_types: Iterable[str]) -> dict[str, Quota]:
    """The applied quota per instance type, or AWS's default where Service Quotas lists no applied value."""
    wanted = {QUOTA_NAME.format(instance_type=kind): kind for kind in instance_types}
    found: dict[str, Quota] = {}
    for operation, applied in (("list_service_quotas", True), ("list_aws_default_service_quotas", False)):
        if len(found) == len(wanted):
            break
        for page in quotas_client.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
            for quota in page.get("Quotas", []):
                kind = wanted.get(quota.get("QuotaName", ""))
                if kind is not None and kind not in found and "Value" in quota:
                    found[kind] = Quota(quota["QuotaCode"], float(quota["Value"]), applied)
    return found


def instances_in_use(sagemaker: Any, skip: set[str]) -> dict[str, int]:
    """Instances per type that the account's endpoints other than `skip` run now."""
    names = [
        summary["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate()
        for summary in page.get("Endpoints", [])
        if summary["EndpointName"] not in skip
    ]
    configs: dict[str, dict[str, str]] = {}
    with ThreadPoolExecutor(DESCRIBE_THREADS) as pool:
        described = list(pool.map(lambda name: sagemaker.describe_endpoint(EndpointName=name), names))
        config_names = sorted({endpoint["EndpointConfigName"] for endpoint in described})
        for name, config in zip(
            config_names,
            pool.map(lambda name: sagemaker.describe_endpoint_config(EndpointConfigName=name), config_names),
            strict=True,
        ):
            variants = [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]
            configs[name] = {v["VariantName"]: v["InstanceType"] for v in variants if "InstanceType" in v}
    used: dict[str, int] = defaultdict(int)
    for endpoint in described:
        types = configs[endpoint["EndpointConfigName"]]
        for variant in [*endpoint.get("ProductionVariants", []), *endpoint.get("ShadowProductionVariants", [])]:
            kind = types.get(variant["VariantName"])
            if kind is not None:
                used[kind] += int(variant.get("CurrentInstanceCount", 0))
        pending = endpoint.get("PendingDeploymentSummary", {})
        for variant in [*pending.get("ProductionVariants", []), *pending.get("ShadowProductionVariants", [])]:
            if "InstanceType" in variant:
                used[variant["InstanceType"]] += int(variant.get("CurrentInstanceCount", 0))
    return dict(used)


def assess(settings: Settings, stack: str, *, quotas_client: Any, sagemaker: Any) -> Assessment:
    """The stack's need per instance type against the account's quotas and other endpoints' usage."""
    needs = instance_needs(settings)
    ours = {
        naming.endpoint_name(endpoint.name, stack)
        for endpoint in settings.endpoints
        if endpoint.platform is Platform.SAGEMAKER
    }
    quotas = endpoint_quotas(quotas_client, needs) if needs else {}
    used = instances_in_use(sagemaker, ours) if needs else {}
    lines = [Line(settings.region, needs[kind], quotas.get(kind), used.get(kind, 0)) for kind in sorted(needs)]
    serverless = [
        f"{endpoint.name}/{variant.name}"
        for endpoint in settings.endpoints
        if endpoint.platform is Platform.SAGEMAKER
        for variant in endpoint.all_variants
        if variant.serverless is not None
    ]
    return Assessment(stack, settings.region, lines, pod_needs(settings), serverless)


def render(assessment: Assessment) -> str:
    """The table of need, quota, usage and headroom, then the Kubernetes sums and what is short."""
    out = [f"modelplane capacity: stack {assessment.stack}, region {assessment.region}"]
    if assessment.lines:
        header = f"  {'instance type':<18} {'need':>5} {'(update)':>8} {'quota':>6} {'code':<11} {'in use':>6} {'headroom':>8}"
        out += ["", "SageMaker endpoint instances (need = peak plus an update's second fleet):", header]
        for line in assessment.lines:
            quota = line.quota
            out.append(
                f"  {line.need.instance_type:<18} {line.need.total:>5} {f'+{line.need.update}':>8} "
                f"{_number(quota.value) if quota else '?':>6} {quota.code if quota else '-':<11} {line.in_use:>6} "
                f"{_number(line.headroom) if line.headroom is not None else '?':>8}"
                + ("  SHORT" if line.short else "")
                + ("" if quota is None or quota.applied else "  (AWS default)")
            )
            out += [f"      {reason}" for reason in line.need.reasons]
    else:
        out += ["", "No instance-backed SageMaker endpoints."]
    if assessment.serverless:
        out.append(f"Serverless variants use no instances: {', '.join(assessment.serverless)}")
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


def report(assessment: Assessment) -> dict[str, Any]:
    """The `--json` document."""

    def line_of(line: Line) -> Mapping[str, Any]:
        return {
            "instance_type": line.need.instance_type,
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
        "instances": [line_of(line) for line in assessment.lines],
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
        "serverless_variants": assessment.serverless,
        "problems": assessment.problems,
    }
