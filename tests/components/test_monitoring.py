"""Endpoint alarms, dashboard, log group and alarm topic, as each stack registers them next to the endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from modelplane_components.monitoring import MAX_ROLLBACK_ALARMS, rollback_alarm_names

from modelplane.drift.metrics import DRIFT_NAMESPACE, DRIFTED_FEATURES
from modelplane.offline.graph import ACCOUNT_ID, RecordedResource, Simulation
from modelplane.settings import Platform
from tests.alarms import (
    ALARM,
    DASHBOARD,
    MONITORING,
    TOPIC,
    dimensions,
    measured,
    topic_arn,
    waits_for,
    watched_endpoints,
)
from tests.stacks import REPOSITORY, STACK_NAMES, SimulateStack, settings_of, stack_config, write_stack

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY = "aws:kms/key:Key"
INVOCATIONS = ("AWS/SageMaker", "Invocations")
INSTANCE_METRICS = {"CPUUtilization", "MemoryUtilization", "DiskUtilization"}
GPU_METRICS = {"GPUUtilization", "GPUMemoryUtilization"}
CONCURRENCY = ("AWS/SageMaker", "ServerlessConcurrentExecutionsUtilization")
RUNBOOK = REPOSITORY / "docs" / "alarms.md"


def is_static(alarm: RecordedResource) -> bool:
    """A threshold alarm on SageMaker's metrics: neither an anomaly band nor the drift alarm."""
    return "thresholdMetricId" not in alarm.inputs and alarm.inputs.get("namespace") != DRIFT_NAMESPACE


def static(alarms: list[RecordedResource]) -> list[RecordedResource]:
    return [alarm for alarm in alarms if is_static(alarm)]


def one_alarm(alarms: list[RecordedResource], metric: tuple[str, str]) -> RecordedResource:
    (alarm,) = [alarm for alarm in alarms if measured(alarm) == metric]
    return alarm


def key_arn(simulation: Simulation) -> str:
    return simulation.one(KEY).outputs["arn"]


def derived_stack(tmp_path: Path, base: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A stack file like `base`'s, with `change(config)` applied, under the same stack name."""
    config = stack_config(base)
    change(config)
    return write_stack(tmp_path, config, base)


@pytest.fixture(scope="module")
def gpu_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dev, with the serverless fraud variant moved to a GPU instance type."""

    def to_gpu(config: dict[str, Any]) -> None:
        variant = config["modelplane:endpoints"][0]["variants"][0]
        del variant["serverless"]
        variant["instance_type"] = "ml.g5.xlarge"

    return derived_stack(tmp_path_factory.mktemp("gpu"), "dev", to_gpu)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_alarm_watches_the_recorded_endpoint_and_one_of_its_variants(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    for watched in watched_endpoints(simulation, settings_of(stack)):
        variants = set(watched.production_variants + watched.shadow_variants)
        assert watched.alarms
        for alarm in [a for a in watched.alarms if a.inputs.get("namespace") != DRIFT_NAMESPACE]:
            for metric_dimensions in dimensions(alarm):
                assert set(metric_dimensions) == {"EndpointName", "VariantName"}, alarm.name
                assert metric_dimensions["EndpointName"] == watched.endpoint_name, alarm.name
                assert metric_dimensions["VariantName"] in variants, alarm.name
        watched_variants = {d["VariantName"] for alarm in static(watched.alarms) for d in dimensions(alarm)}
        assert watched_variants == variants, "every variant, the shadow included, is watched"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_alarm_notifies_the_stack_topic_on_alarm_and_recovery(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    topic = topic_arn(simulation)
    alarms = simulation.of_type(ALARM)
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["actionsEnabled"] is True, alarm.name
        assert alarm.inputs["alarmActions"] == [topic], alarm.name
        assert alarm.inputs["okActions"] == [topic], alarm.name


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_error_alarms_are_rates_over_invocations(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    rates = [alarm for alarm in static(simulation.of_type(ALARM)) if "metricQueries" in alarm.inputs]
    assert rates
    for alarm in rates:
        queries = alarm.inputs["metricQueries"]
        by_metric = {q["metric"]["metricName"]: q for q in queries if "metric" in q}
        assert set(by_metric) in ({"Invocation5XXErrors", "Invocations"}, {"Invocation4XXErrors", "Invocations"})
        assert all(q["metric"]["stat"] == "Sum" and q["returnData"] is False for q in by_metric.values())
        (result,) = [q for q in queries if q.get("returnData")]
        errors = next(q["id"] for name, q in by_metric.items() if name != "Invocations")
        calls = by_metric["Invocations"]["id"]
        assert result["expression"] == f"IF({calls} > 0, 100 * {errors} / {calls}, 0)"
        assert alarm.inputs["treatMissingData"] == "notBreaching", "no traffic is not an error spike"


def test_prod_thresholds_come_from_the_endpoint_settings(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("prod")
    (fraud,) = [w for w in watched_endpoints(simulation, settings_of("prod")) if w.settings.name == "fraud"]
    alarms = static(fraud.alarms_of("champion"))
    assert one_alarm(alarms, ("AWS/SageMaker", "ModelLatency")).inputs["threshold"] == 250_000  # 250 ms in µs
    assert one_alarm(alarms, ("AWS/SageMaker", "ModelLatency")).inputs["extendedStatistic"] == "p99"
    assert one_alarm(alarms, ("AWS/SageMaker", "OverheadLatency")).inputs["threshold"] == 100_000
    assert one_alarm(alarms, ("AWS/SageMaker", "Invocation5XXErrors")).inputs["threshold"] == 0.5
    assert one_alarm(alarms, ("AWS/SageMaker", "Invocation4XXErrors")).inputs["threshold"] == 10
    assert one_alarm(alarms, ("/aws/sagemaker/Endpoints", "MemoryUtilization")).inputs["threshold"] == 85
    for alarm in alarms:
        assert alarm.inputs["evaluationPeriods"] == 5, alarm.name
        if measured(alarm) != INVOCATIONS:
            assert alarm.inputs["datapointsToAlarm"] == 3, alarm.name
        if "metricQueries" not in alarm.inputs:
            assert alarm.inputs["period"] == 60, alarm.name


def test_staging_thresholds_follow_each_endpoints_own_settings(simulate_stack: SimulateStack) -> None:
    watched = {w.settings.name: w for w in watched_endpoints(simulate_stack("staging"), settings_of("staging"))}
    latency = ("AWS/SageMaker", "ModelLatency")
    for variant in ("champion", "challenger"):
        assert one_alarm(static(watched["fraud"].alarms_of(variant)), latency).inputs["threshold"] == 300_000
    assert one_alarm(static(watched["churn"].alarms_of("current")), latency).inputs["threshold"] == 500_000


def test_prod_alarms_when_a_production_variant_gets_no_traffic(simulate_stack: SimulateStack) -> None:
    for watched in watched_endpoints(simulate_stack("prod"), settings_of("prod")):
        for variant in watched.production_variants:
            silence = one_alarm(static(watched.alarms_of(variant)), INVOCATIONS).inputs
            assert silence["comparisonOperator"] == "LessThanThreshold"
            assert silence["threshold"] == 1
            assert silence["statistic"] == "Sum"
            assert silence["treatMissingData"] == "breaching", "SageMaker publishes nothing without traffic"
            assert silence["datapointsToAlarm"] == silence["evaluationPeriods"], "only a fully silent window"


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_no_traffic_alarms_outside_prod(simulate_stack: SimulateStack, stack: str) -> None:
    assert not [a for a in static(simulate_stack(stack).of_type(ALARM)) if measured(a) == INVOCATIONS]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_only_the_no_traffic_alarm_treats_missing_data_as_breaching(simulate_stack: SimulateStack, stack: str) -> None:
    for alarm in static(simulate_stack(stack).of_type(ALARM)):
        expected = "breaching" if measured(alarm) == INVOCATIONS else "notBreaching"
        assert alarm.inputs["treatMissingData"] == expected, alarm.name


def test_serverless_variants_get_the_metrics_serverless_publishes(simulate_stack: SimulateStack) -> None:
    (fraud,) = [w for w in watched_endpoints(simulate_stack("dev"), settings_of("dev")) if w.settings.name == "fraud"]
    alarms = static(fraud.alarms_of("current"))
    metrics = {measured(alarm)[1] for alarm in alarms}
    assert not metrics & (INSTANCE_METRICS | GPU_METRICS), "serverless has no instance metrics"
    assert {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency", "OverheadLatency"} <= metrics
    concurrency = one_alarm(alarms, CONCURRENCY).inputs
    assert concurrency["threshold"] == pytest.approx(0.9), "published as a fraction of max_concurrency"
    assert concurrency["statistic"] == "Maximum"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_instance_variants_watch_cpu_memory_and_disk_but_no_gpu(simulate_stack: SimulateStack, stack: str) -> None:
    for watched in watched_endpoints(simulate_stack(stack), settings_of(stack)):
        for variant in watched.production_variants + watched.shadow_variants:
            instance = {m for ns, m in map(measured, watched.alarms_of(variant)) if ns == "/aws/sagemaker/Endpoints"}
            assert instance == INSTANCE_METRICS, variant


def test_gpu_instance_variants_also_watch_the_gpus(simulate_stack: SimulateStack, gpu_stack: Path) -> None:
    (fraud,) = [
        w for w in watched_endpoints(simulate_stack(gpu_stack), settings_of(gpu_stack)) if w.settings.name == "fraud"
    ]
    instance = {m for ns, m in map(measured, fraud.alarms_of("current")) if ns == "/aws/sagemaker/Endpoints"}
    assert instance == INSTANCE_METRICS | GPU_METRICS
    gpu = one_alarm(fraud.alarms_of("current"), ("/aws/sagemaker/Endpoints", "GPUMemoryUtilization"))
    assert gpu.inputs["threshold"] == 90


def test_shadow_is_watched_but_never_rolls_a_release_back(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("staging")
    (churn,) = [w for w in watched_endpoints(simulation, settings_of("staging")) if w.settings.name == "churn"]
    assert churn.shadow_variants == ["candidate"]
    shadow_alarms = churn.alarms_of("candidate")
    assert shadow_alarms
    assert all(a.inputs["alarmDescription"].startswith("Shadow variant") for a in shadow_alarms)
    assert INVOCATIONS not in map(measured, static(shadow_alarms)), "a shadow only sees a copy of production traffic"
    rollback = set(simulation.outputs["endpoints"]["churn"]["rollback_alarm_names"])
    assert rollback
    assert not rollback & {a.inputs["name"] for a in shadow_alarms}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_rollback_alarms_are_the_ones_the_endpoint_watches(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    for watched in watched_endpoints(simulation, settings_of(stack)):
        output = simulation.outputs["endpoints"][watched.settings.name]["rollback_alarm_names"]
        rollback = watched.endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
        referenced = [alarm["alarmName"] for alarm in rollback]
        assert referenced == output
        assert 1 <= len(referenced) <= 10
        by_name = {alarm.inputs["name"]: alarm for alarm in watched.alarms}
        assert set(referenced) <= set(by_name), "the endpoint names alarms that exist"
        rollback_alarms = [by_name[name] for name in referenced]
        assert {measured(a) for a in rollback_alarms} == {
            ("AWS/SageMaker", "Invocation5XXErrors"),
            ("AWS/SageMaker", "ModelLatency"),
        }
        assert {d["VariantName"] for a in rollback_alarms for d in dimensions(a)} == set(watched.production_variants)
        assert {a.urn for a in rollback_alarms} <= waits_for(simulation, watched.endpoint), "alarms exist first"


def test_rollback_keeps_every_variants_errors_within_ten_alarms() -> None:
    names = rollback_alarm_names("fraud-prod", [f"v{i}" for i in range(7)])
    assert len(names) == MAX_ROLLBACK_ALARMS
    assert names[:7] == [f"fraud-prod-v{i}-5xx-rate" for i in range(7)]
    assert all(name.endswith("-model-latency-p99") for name in names[7:])


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_dashboard_compares_every_variant_side_by_side(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    for watched in watched_endpoints(simulation, settings_of(stack)):
        (dashboard,) = [r for r in simulation.children(watched.monitoring) if r.type == DASHBOARD]
        assert dashboard.inputs["dashboardName"] == watched.endpoint_name
        widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
        variants = set(watched.production_variants + watched.shadow_variants)
        graphs = [w for w in widgets if w["type"] == "metric"]
        drawn: set[tuple[str, str]] = set()
        for graph in graphs:
            lines = [line for line in graph["properties"]["metrics"] if isinstance(line[0], str)]
            assert {line[line.index("VariantName") + 1] for line in lines} == variants, graph["properties"]["title"]
            assert {line[line.index("EndpointName") + 1] for line in lines} == {watched.endpoint_name}
            drawn |= {(line[1], line[-1].get("stat", "")) for line in lines}
        metrics = {metric for metric, _ in drawn}
        assert {("ModelLatency", "p50"), ("ModelLatency", "p99")} <= drawn
        assert {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors"} <= metrics
        assert metrics & {"CPUUtilization", "ServerlessConcurrentExecutionsUtilization"}
        (states,) = [w for w in widgets if w["type"] == "alarm"]
        assert set(states["properties"]["alarms"]) == {alarm.outputs["arn"] for alarm in watched.alarms}
        assert len({(w["x"], w["y"]) for w in widgets}) == len(widgets), "no widget hides another"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_log_group_is_the_endpoints_own_with_retention_and_the_stack_key(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    for watched in watched_endpoints(simulation, settings):
        (log_group,) = [r for r in simulation.children(watched.monitoring) if r.type == LOG_GROUP]
        assert log_group.inputs["name"] == f"/aws/sagemaker/Endpoints/{watched.endpoint_name}"
        assert log_group.inputs["retentionInDays"] == settings.log_retention_days()
        assert log_group.inputs["kmsKeyId"] == key_arn(simulation)
        assert simulation.outputs["endpoints"][watched.settings.name]["log_group_name"] == log_group.inputs["name"]


def test_log_retention_defaults_per_environment(simulate_stack: SimulateStack) -> None:
    """Staging sets no retention: the environment default applies; prod and dev set their own."""
    retention = {
        stack: {g.inputs["retentionInDays"] for g in simulate_stack(stack).of_type(LOG_GROUP)}
        for stack in ("dev", "staging", "prod")
    }
    assert retention == {"dev": {14}, "staging": {30}, "prod": {400}}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_topic_is_encrypted_and_only_this_accounts_alarms_publish(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    topic = simulation.one(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == key_arn(simulation)
    policy_resource = simulation.one(TOPIC_POLICY)
    assert policy_resource.inputs["arn"] == topic.outputs["arn"]
    statements = json.loads(policy_resource.inputs["policy"])["Statement"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] not in ("*", {"AWS": "*"})
        assert statement["Resource"] == topic.outputs["arn"]
    publishers = [s for s in statements if any(re.fullmatch(r"sns:(publish|\*)", a.lower()) for a in actions(s))]
    (publisher,) = publishers
    assert publisher["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publisher["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert publisher["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:cloudwatch:{settings_of(stack).region}:{ACCOUNT_ID}:alarm:*"
    }
    owners = [s for s in statements if s is not publisher]
    assert all(s["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"} for s in owners)


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_topic_subscribes_exactly_the_configured_people(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    monitoring = settings_of(stack).monitoring
    subscribed = {(s.inputs["protocol"], s.inputs["endpoint"]) for s in simulation.of_type(SUBSCRIPTION)}
    assert all(s.inputs["topic"] == topic_arn(simulation) for s in simulation.of_type(SUBSCRIPTION))
    assert subscribed == {("email", e) for e in monitoring.emails} | {("https", u) for u in monitoring.https_endpoints}


def test_stack_without_sagemaker_endpoints_has_no_alarm_topic(simulate_stack: SimulateStack, tmp_path: Path) -> None:
    def kubernetes_only(config: dict[str, Any]) -> None:
        config["modelplane:endpoints"] = [
            e for e in config["modelplane:endpoints"] if e.get("platform") == Platform.KUBERNETES.value
        ]

    simulation = simulate_stack(derived_stack(tmp_path, "dev", kubernetes_only))
    assert not simulation.of_type(TOPIC)
    assert not simulation.of_type(MONITORING)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_stack_outputs_name_what_was_created(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    for watched in watched_endpoints(simulation, settings_of(stack)):
        output = simulation.outputs["endpoints"][watched.settings.name]
        assert len(set(output["alarm_names"])) == len(output["alarm_names"])
        assert set(output["alarm_names"]) == {alarm.inputs["name"] for alarm in watched.alarms}
        assert output["dashboard_name"] == watched.endpoint_name
        assert output["alarm_topic_arn"] == topic_arn(simulation)


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_monitoring_resources_carry_the_stack_tags(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    expected = settings_of(stack).base_tags("modelplane", stack)
    for resource in simulation.of_type(ALARM) + simulation.of_type(LOG_GROUP) + simulation.of_type(TOPIC):
        assert resource.inputs["tags"] == expected, resource.name


def github_anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_alarm_description_links_an_existing_runbook_section(simulate_stack: SimulateStack, stack: str) -> None:
    anchors = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.M)}
    for alarm in simulate_stack(stack).of_type(ALARM):
        description = alarm.inputs["alarmDescription"]
        assert len(description) <= 1024, alarm.name
        (anchor,) = re.findall(r"Runbook: docs/alarms\.md#([\w-]+)", description)
        assert anchor in anchors, f"{alarm.name} links to a missing section #{anchor}"


# --- The components on their own, from hand-made arguments -------------------------------------


def monitoring_scenario() -> None:
    """A GPU champion, a serverless challenger and a shadow, custom thresholds and anomaly band, a drift alarm,
    no region given (the provider's)."""
    import pulumi
    import pulumi_aws as aws
    from modelplane_components.alert_topic import AlertTopic
    from modelplane_components.monitoring import EndpointMonitoring

    opts = pulumi.ResourceOptions(provider=aws.Provider("aws", region="eu-west-1"))
    topic = AlertTopic(
        "team-alerts",
        {
            "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
            "https_endpoints": ["https://pager.example.com/hook"],
        },
        opts=opts,
    )
    watched = EndpointMonitoring(
        "ranker-monitoring",
        {
            "endpoint_name": "ranker-team",
            "variants": [{"name": "champion", "instance_type": "ml.g5.xlarge"}, {"name": "challenger"}],
            "shadow": {"name": "candidate", "instance_type": "ml.m5.large"},
            "alarm_topic_arn": topic.arn,
            "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
            "alarms": {
                "latency_p99_ms": 123,
                "evaluation_periods": 4,
                "datapoints_to_alarm": 2,
                "anomaly_detection": {"band_width": 2.5, "period_seconds": 600, "evaluation_periods": 4},
            },
            "alarm_on_no_traffic": True,
            "drift_alarm": True,
        },
        opts=opts,
    )
    pulumi.export("rollback", watched.rollback_alarm_names)
    pulumi.export("alarms", watched.alarm_names)
    pulumi.export("anomaly", watched.anomaly_alarm_names)


@pytest.fixture(scope="module")
def component() -> Simulation:
    from tests.harness import run_isolated

    return run_isolated("tests.components.test_monitoring:monitoring_scenario")


def alarm_suffixes(simulation: Simulation, variant: str) -> set[str]:
    prefix = f"ranker-team-{variant}-"
    return {
        alarm.inputs["name"].removeprefix(prefix)
        for alarm in simulation.of_type(ALARM)
        if alarm.inputs["name"].startswith(prefix)
    }


def test_each_variant_gets_the_signals_it_publishes(component: Simulation) -> None:
    common = {
        "5xx-rate",
        "4xx-rate",
        "model-latency-p99",
        "overhead-latency-p99",
        "invocations-anomaly",
        "model-latency-anomaly",
    }
    assert alarm_suffixes(component, "champion") == common | {
        "no-invocations",
        "cpu",
        "memory",
        "disk",
        "gpu",
        "gpu-memory",
    }
    assert alarm_suffixes(component, "challenger") == common | {"no-invocations", "serverless-concurrency"}
    assert alarm_suffixes(component, "candidate") == common | {"cpu", "memory", "disk"}, (
        "no zero-traffic alarm for the shadow"
    )


def test_thresholds_and_defaults_come_from_the_arguments(component: Simulation) -> None:
    (latency,) = [a for a in component.of_type(ALARM) if a.inputs["name"] == "ranker-team-champion-model-latency-p99"]
    assert latency.inputs["threshold"] == 123000, "milliseconds become SageMaker's microseconds"
    assert (latency.inputs["evaluationPeriods"], latency.inputs["datapointsToAlarm"]) == (4, 2)
    assert component.one(LOG_GROUP).inputs["retentionInDays"] == 30
    body = json.loads(component.one(DASHBOARD).inputs["dashboardBody"])
    assert {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"} == {"eu-west-1"}


def test_rollback_alarms_leave_the_shadow_out(component: Simulation) -> None:
    assert component.outputs["rollback"] == [
        "ranker-team-champion-5xx-rate",
        "ranker-team-challenger-5xx-rate",
        "ranker-team-champion-model-latency-p99",
        "ranker-team-challenger-model-latency-p99",
    ]
    assert set(component.outputs["alarms"]) == {alarm.inputs["name"] for alarm in component.of_type(ALARM)}


def test_anomaly_and_drift_alarms_are_listed_apart_and_never_roll_back(component: Simulation) -> None:
    anomaly = component.outputs["anomaly"]
    assert anomaly == [
        f"ranker-team-{variant}-{signal}"
        for variant in ("champion", "challenger", "candidate")
        for signal in ("invocations-anomaly", "model-latency-anomaly")
    ] + ["ranker-team-input-drift"]
    assert component.outputs["alarms"][-len(anomaly) :] == anomaly, "after the static alarms"
    assert not set(anomaly) & set(component.outputs["rollback"])


def test_anomaly_alarms_take_the_band_and_its_own_evaluation(component: Simulation) -> None:
    (latency,) = [
        a for a in component.of_type(ALARM) if a.inputs["name"] == "ranker-team-candidate-model-latency-anomaly"
    ]
    inputs = latency.inputs
    observed, band = inputs["metricQueries"]
    assert observed["metric"]["metricName"] == "ModelLatency"
    assert (observed["metric"]["stat"], observed["metric"]["period"]) == ("Average", 600)
    assert band["expression"] == "ANOMALY_DETECTION_BAND(observed, 2.5)"
    assert (inputs["thresholdMetricId"], inputs["comparisonOperator"]) == ("band", "GreaterThanUpperThreshold")
    assert "threshold" not in inputs
    assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (4, 4), "all periods unless told otherwise"
    assert inputs["alarmDescription"].startswith("Shadow variant (answers no caller) candidate of ranker-team")
    body = json.loads(component.one(DASHBOARD).inputs["dashboardBody"])
    banded = [w["properties"] for w in body["widgets"] if "expected band" in w["properties"].get("title", "")]
    assert [graph["period"] for graph in banded] == [600, 600]


def test_drift_alarm_reads_the_metric_drift_publishes(component: Simulation) -> None:
    (drift,) = [a for a in component.of_type(ALARM) if a.inputs["name"] == "ranker-team-input-drift"]
    assert (drift.inputs["namespace"], drift.inputs["metricName"]) == (DRIFT_NAMESPACE, DRIFTED_FEATURES)
    assert drift.inputs["dimensions"] == {"EndpointName": "ranker-team"}
    assert drift.inputs["treatMissingData"] == "ignore"


def test_topic_subscribes_the_webhook_and_names_the_stack(component: Simulation) -> None:
    (subscription,) = component.of_type(SUBSCRIPTION)
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "https",
        "https://pager.example.com/hook",
    )
    assert component.one(TOPIC).inputs["displayName"] == "modelplane dev alarms"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"alarms": {"evaluation_periods": 2, "datapoints_to_alarm": 3}},
            "alarms.datapoints_to_alarm: must be between 1 and evaluation_periods",
        ),
        ({"alarms": {"period_seconds": 45}}, "alarms.period_seconds: must be 10, 20, 30 or a multiple of 60"),
        (
            {"alarms": {"anomaly_detection": {"band_width": 0}}},
            "alarms.anomaly_detection.band_width: must be above 0",
        ),
        (
            {"alarms": {"anomaly_detection": {"period_seconds": 300, "evaluation_periods": 300}}},
            "alarms.anomaly_detection.evaluation_periods: times period_seconds must not exceed 86400 seconds",
        ),
        (
            {"alarms": {"anomaly_detection": {"evaluation_periods": 2, "datapoints_to_alarm": 3}}},
            "alarms.anomaly_detection.datapoints_to_alarm: must be between 1 and evaluation_periods",
        ),
        ({"log_retention_days": 42}, "log_retention_days: CloudWatch Logs accepts only 1, 3, 5"),
        ({"variants": [{"name": "champion_1"}]}, "variants[0].name: must contain only letters, digits and hyphens"),
        (
            {"variants": [{"name": "a", "instance_type": "ml.x9.huge"}]},
            "variants[0].instance_type: unknown SageMaker instance type",
        ),
    ],
)
def test_monitoring_refuses_what_cloudwatch_and_sagemaker_would(args: dict[str, Any], message: str) -> None:
    from modelplane_components.monitoring import EndpointMonitoring, EndpointMonitoringArgs

    base: EndpointMonitoringArgs = {
        "endpoint_name": "e",
        "variants": [{"name": "a"}],
        "alarm_topic_arn": "t",
        "kms_key_arn": "k",
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        EndpointMonitoring("bad", {**base, **args})  # type: ignore[typeddict-item]


@pytest.mark.parametrize("period", [10, 20, 30, 60, 300, 3600])
def test_monitoring_takes_every_period_cloudwatch_takes(period: int) -> None:
    """PutMetricAlarm: 10, 20 or 30 seconds (high-resolution metrics), or whole minutes."""
    from modelplane_components.monitoring_args import threshold_problems

    assert threshold_problems({"period_seconds": period, "anomaly_detection": {"period_seconds": period}}) == []


def test_topic_refuses_plain_http_webhooks() -> None:
    from modelplane_components.alert_topic import AlertTopic

    with pytest.raises(
        ValueError, match=re.escape("https_endpoints[0]: 'http://pager.example.com' is not an https:// URL")
    ):
        AlertTopic("bad", {"kms_key_arn": "k", "https_endpoints": ["http://pager.example.com"]})
