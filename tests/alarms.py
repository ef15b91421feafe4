"""How the tests read a simulated stack's monitoring: which alarms watch which endpoint, and what they measure."""

from __future__ import annotations

from dataclasses import dataclass

from modelplane.offline.graph import RecordedResource, Simulation
from modelplane.settings import Endpoint, Platform, Settings

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
TOPIC = "aws:sns/topic:Topic"
MONITORING = "modelplane:index:EndpointMonitoring"


@dataclass(frozen=True)
class Watched:
    """One monitoring component with the recorded endpoint and endpoint config its alarms watch."""

    settings: Endpoint
    monitoring: RecordedResource
    alarms: list[RecordedResource]
    endpoint: RecordedResource
    production_variants: list[str]
    shadow_variants: list[str]

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.outputs["name"]

    def alarms_of(self, variant: str) -> list[RecordedResource]:
        return [alarm for alarm in self.alarms if {d.get("VariantName") for d in dimensions(alarm)} == {variant}]


def watched_endpoints(simulation: Simulation, settings: Settings) -> list[Watched]:
    """Pairs each monitoring component with the endpoint that depends on its alarms (`depends_on`)."""
    watched = []
    for monitoring in simulation.of_type(MONITORING):
        alarms = [r for r in simulation.descendants(monitoring) if r.type == ALARM]
        alarm_urns = {alarm.urn for alarm in alarms}
        (endpoint,) = [e for e in simulation.of_type(ENDPOINT) if alarm_urns <= waits_for(simulation, e)]
        (config,) = [
            c for c in simulation.of_type(CONFIG) if c.outputs["name"] == endpoint.inputs["endpointConfigName"]
        ]
        (endpoint_settings,) = [e for e in settings.endpoints if monitoring.name == f"{e.name}-monitoring"]
        watched.append(
            Watched(
                endpoint_settings,
                monitoring,
                alarms,
                endpoint,
                [v["variantName"] for v in config.inputs["productionVariants"]],
                [v["variantName"] for v in config.inputs.get("shadowProductionVariants", [])],
            )
        )
    assert len(watched) == sum(e.platform is Platform.SAGEMAKER for e in settings.endpoints)
    return watched


def waits_for(simulation: Simulation, resource: RecordedResource) -> set[str]:
    """URNs a resource is created after: its own dependencies and those of its ancestor components."""
    parents = [r for r in simulation.resources if r.urn == resource.parent]  # none above the stack's own
    return set(resource.dependencies).union(*(waits_for(simulation, parent) for parent in parents))


def dimensions(alarm: RecordedResource) -> list[dict[str, str]]:
    """The dimensions of every metric the alarm reads, single metric or metric math."""
    inputs = alarm.inputs
    if "metricQueries" in inputs:
        return [query["metric"]["dimensions"] for query in inputs["metricQueries"] if "metric" in query]
    return [inputs["dimensions"]]


def measured(alarm: RecordedResource) -> tuple[str, str]:
    """(namespace, metric) an alarm judges; for a rate, the numerator."""
    inputs = alarm.inputs
    if "metricQueries" in inputs:
        metrics = [query["metric"] for query in inputs["metricQueries"] if "metric" in query]
        (numerator,) = [m for m in metrics if m["metricName"] != "Invocations"] if len(metrics) > 1 else metrics
        return numerator["namespace"], numerator["metricName"]
    return inputs["namespace"], inputs["metricName"]


def topic_arn(simulation: Simulation) -> str:
    return simulation.one(TOPIC).outputs["arn"]
