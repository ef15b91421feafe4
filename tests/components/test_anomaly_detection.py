"""Anomaly-detection alarms as each stack registers them, judged by CloudWatch's own API model.

Every recorded alarm (static, anomaly and drift) is turned into the `PutMetricAlarm` request the
provider would send and validated with botocore's parameter validator against the `cloudwatch`
service model (shapes, required members, enums, lengths), plus the rules the model states in its
documentation: a band threshold (`ThresholdMetricId`) names the `ANOMALY_DETECTION_BAND` expression,
takes one of the three band comparison operators and no `Threshold`; a query either reads a metric
or computes an expression; ids start with a lowercase letter; the model's statistic matches
`AnomalyDetectorMetricStat`.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from modelplane_components.monitoring import ANOMALY_SIGNALS, alarm_name

from modelplane.drift.metrics import DRIFT_NAMESPACE, DRIFTED_FEATURES
from modelplane.offline.graph import RecordedResource, Simulation
from modelplane.offline.policy_client import analyze
from modelplane.settings import Platform
from tests.alarms import ALARM, DASHBOARD, measured, topic_arn, watched_endpoints
from tests.servers import prometheus_binaries
from tests.stacks import STACK_NAMES, SimulateStack, settings_of, stack_config, write_stack

BAND_OPERATORS = {"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}
METRIC_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
BAND_CALL = re.compile(r"^ANOMALY_DETECTION_BAND\((\w+)(?:, *([0-9.]+))?\)$")
# Environment defaults: (band width, evaluation periods).
DEFAULTS = {"staging": (3, 6), "prod": (2, 3)}


@cache
def cloudwatch_model() -> Any:
    return botocore.session.get_session().get_service_model("cloudwatch")


def put_metric_alarm_request(inputs: dict[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm parameters for an `aws.cloudwatch.MetricAlarm`'s provider inputs."""

    def dimensions(mapping: dict[str, str]) -> list[dict[str, str]]:
        return [{"Name": name, "Value": value} for name, value in mapping.items()]

    def query(raw: dict[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = {"Id": raw["id"]}
        for key, name in (("expression", "Expression"), ("label", "Label"), ("returnData", "ReturnData")):
            if key in raw:
                converted[name] = raw[key]
        if "metric" in raw:
            metric = raw["metric"]
            stat = {
                "Metric": {
                    "Namespace": metric["namespace"],
                    "MetricName": metric["metricName"],
                    "Dimensions": dimensions(metric.get("dimensions", {})),
                },
                "Period": metric["period"],
                "Stat": metric["stat"],
            }
            converted["MetricStat"] = stat
        return converted

    plain = {
        "name": "AlarmName",
        "alarmDescription": "AlarmDescription",
        "actionsEnabled": "ActionsEnabled",
        "alarmActions": "AlarmActions",
        "okActions": "OKActions",
        "metricName": "MetricName",
        "namespace": "Namespace",
        "statistic": "Statistic",
        "extendedStatistic": "ExtendedStatistic",
        "period": "Period",
        "evaluationPeriods": "EvaluationPeriods",
        "datapointsToAlarm": "DatapointsToAlarm",
        "threshold": "Threshold",
        "comparisonOperator": "ComparisonOperator",
        "treatMissingData": "TreatMissingData",
        "thresholdMetricId": "ThresholdMetricId",
    }
    request = {api: inputs[key] for key, api in plain.items() if key in inputs}
    if "dimensions" in inputs:
        request["Dimensions"] = dimensions(inputs["dimensions"])
    if "metricQueries" in inputs:
        request["Metrics"] = [query(raw) for raw in inputs["metricQueries"]]
    if "tags" in inputs:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in inputs["tags"].items()]
    return as_sent(request, cloudwatch_model().operation_model("PutMetricAlarm").input_shape)


def as_sent(value: Any, shape: Any) -> Any:
    """`value` as the provider sends it: the recorded inputs carry every number as a float (protobuf),
    the provider sends integer members as integers."""
    if shape.type_name == "structure" and isinstance(value, dict):
        return {key: as_sent(item, shape.members[key]) if key in shape.members else item for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [as_sent(item, shape.member) for item in value]
    if shape.type_name == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def request_problems(request: dict[str, Any]) -> list[str]:
    """What CloudWatch would refuse in a PutMetricAlarm request."""
    model = cloudwatch_model()
    problems: list[str] = []
    try:
        validate_parameters(request, model.operation_model("PutMetricAlarm").input_shape)
    except ParamValidationError as error:
        problems.append(str(error))
    metrics = request.get("Metrics", [])
    single = "MetricName" in request
    if single == bool(metrics):
        problems.append("give either MetricName or Metrics")
    if single and ("Statistic" in request) == ("ExtendedStatistic" in request):
        problems.append("give exactly one of Statistic and ExtendedStatistic")
    period = request.get("Period")
    if period is not None and period not in (10, 20, 30) and period % 60:
        problems.append(f"Period {period} is not 10, 20, 30 or a multiple of 60")
    by_id = {query["Id"]: query for query in metrics}
    for query in metrics:
        if not METRIC_ID.match(query["Id"]):
            problems.append(f"metric id {query['Id']!r} must start with a lowercase letter")
        if ("MetricStat" in query) == ("Expression" in query):
            problems.append(f"query {query['Id']!r} needs exactly one of MetricStat and Expression")
    band_id = request.get("ThresholdMetricId")
    operator = request.get("ComparisonOperator")
    if band_id is None:
        if operator in BAND_OPERATORS:
            problems.append(f"{operator} needs a ThresholdMetricId")
        if "Threshold" not in request:
            problems.append("a static alarm needs a Threshold")
        if metrics and sum(bool(query.get("ReturnData", True)) for query in metrics) != 1:
            problems.append("exactly one query returns data")
        return problems
    if operator not in BAND_OPERATORS:
        problems.append(f"{operator} cannot compare against an anomaly band")
    if "Threshold" in request:
        problems.append("an anomaly-detection alarm takes no Threshold")
    band = by_id.get(band_id)
    call = BAND_CALL.match((band or {}).get("Expression", ""))
    if call is None:
        problems.append(f"ThresholdMetricId {band_id!r} is not an ANOMALY_DETECTION_BAND expression")
        return problems
    observed = by_id.get(call.group(1), {})
    if "MetricStat" not in observed:
        problems.append(f"the band is computed over {call.group(1)!r}, which reads no metric")
    else:
        stat_pattern = cloudwatch_model().shape_for("AnomalyDetectorMetricStat").metadata["pattern"]
        stat = observed["MetricStat"].get("Stat", "")
        if stat and not re.fullmatch(stat_pattern, stat):
            problems.append(f"an anomaly model cannot be trained on statistic {stat}")
    if {query["Id"] for query in metrics if query.get("ReturnData")} != {band_id, call.group(1)}:
        problems.append("the observed metric and the band (and nothing else) return data")
    return problems


def anomaly_alarms(simulation: Simulation) -> list[RecordedResource]:
    return [alarm for alarm in simulation.of_type(ALARM) if "thresholdMetricId" in alarm.inputs]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_alarm_is_a_put_metric_alarm_request_cloudwatch_accepts(
    simulate_stack: SimulateStack, stack: str
) -> None:
    alarms = simulate_stack(stack).of_type(ALARM)
    assert alarms
    for alarm in alarms:
        assert request_problems(put_metric_alarm_request(alarm.inputs)) == [], alarm.name


def test_the_validator_refuses_what_cloudwatch_refuses(simulate_stack: SimulateStack) -> None:
    (alarm, *_) = anomaly_alarms(simulate_stack("prod"))
    good = put_metric_alarm_request(alarm.inputs)
    assert request_problems(good) == []

    def broken(change: Any) -> list[str]:
        request = json.loads(json.dumps(good))
        change(request)
        return request_problems(request)

    assert broken(lambda r: r.update(ComparisonOperator="GreaterThanThreshold")) == [
        "GreaterThanThreshold cannot compare against an anomaly band"
    ]
    assert broken(lambda r: r.update(Threshold=1.0)) == ["an anomaly-detection alarm takes no Threshold"]
    assert broken(lambda r: r.update(ThresholdMetricId="observed")) == [
        "ThresholdMetricId 'observed' is not an ANOMALY_DETECTION_BAND expression"
    ]
    assert broken(lambda r: r["Metrics"][0]["MetricStat"].pop("Stat"))[0].startswith("Parameter validation failed")
    assert broken(lambda r: r["Metrics"][0]["MetricStat"].update(Stat="Average per minute")) == [
        "an anomaly model cannot be trained on statistic Average per minute"
    ]
    assert (
        broken(lambda r: r["Metrics"][0].update(Id="Observed"))[0]
        == "metric id 'Observed' must start with a lowercase letter"
    )
    assert "the observed metric and the band (and nothing else) return data" in broken(
        lambda r: r["Metrics"][0].update(ReturnData=False)
    )
    assert broken(lambda r: (r.pop("ThresholdMetricId"), r.update(Threshold=1.0))) == [
        f"{good['ComparisonOperator']} needs a ThresholdMetricId",
        "exactly one query returns data",
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_sagemaker_variant_has_banded_traffic_and_latency_alarms_wired_to_the_topic(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    width, periods = DEFAULTS[stack]
    topic = topic_arn(simulation)
    watched = watched_endpoints(simulation, settings_of(stack))
    assert watched
    for endpoint in watched:
        for variant in endpoint.production_variants + endpoint.shadow_variants:
            banded = {measured(a)[1]: a for a in endpoint.alarms_of(variant) if "thresholdMetricId" in a.inputs}
            assert banded.keys() == {"Invocations", "ModelLatency"}, variant
            for metric, alarm in banded.items():
                inputs = alarm.inputs
                observed, band = inputs["metricQueries"]
                assert observed["metric"]["dimensions"] == {
                    "EndpointName": endpoint.endpoint_name,
                    "VariantName": variant,
                }
                assert observed["metric"]["stat"] == {"Invocations": "Sum", "ModelLatency": "Average"}[metric]
                assert observed["metric"]["period"] == 300
                assert inputs["thresholdMetricId"] == band["id"]
                assert band["expression"] == f"ANOMALY_DETECTION_BAND({observed['id']}, {width})"
                assert (
                    inputs["comparisonOperator"]
                    == {
                        "Invocations": "LessThanLowerOrGreaterThanUpperThreshold",
                        "ModelLatency": "GreaterThanUpperThreshold",
                    }[metric]
                )
                assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == periods
                assert inputs["alarmActions"] == inputs["okActions"] == [topic]
                assert inputs["actionsEnabled"] is True
                assert inputs["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_anomaly_alarms_never_roll_a_release_back(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    for watched in watched_endpoints(simulation, settings_of(stack)):
        output = simulation.outputs["endpoints"][watched.settings.name]
        rollback = {
            a["alarmName"] for a in watched.endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
        }
        unusual = set(output["anomaly_alarm_names"])
        assert rollback == set(output["rollback_alarm_names"])
        assert not rollback & unusual
        assert unusual <= set(output["alarm_names"])
        recorded = {a.inputs["name"] for a in watched.alarms if not is_static_alarm(a)}
        assert unusual == recorded


def is_static_alarm(alarm: RecordedResource) -> bool:
    return "thresholdMetricId" not in alarm.inputs and alarm.inputs.get("namespace") != DRIFT_NAMESPACE


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_environments_without_steady_traffic_have_no_anomaly_alarms_by_default(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    assert anomaly_alarms(simulation) == []
    for output in simulation.outputs["endpoints"].values():
        assert output.get("anomaly_alarm_names", []) == []


def test_settings_choose_band_width_period_and_evaluation(simulate_stack: SimulateStack, tmp_path: Path) -> None:
    config = stack_config("dev")
    fraud = config["modelplane:endpoints"][0]
    fraud["alarms"] = {
        "anomaly_detection": {"enabled": True, "band_width": 2.5, "period_seconds": 900, "evaluation_periods": 4}
    }
    simulation = simulate_stack(write_stack(tmp_path, config, "dev"))
    alarms = anomaly_alarms(simulation)
    assert {a.inputs["name"] for a in alarms} == {
        alarm_name("fraud-dev", "current", signal) for signal in ANOMALY_SIGNALS
    }
    for alarm in alarms:
        observed, band = alarm.inputs["metricQueries"]
        assert band["expression"] == "ANOMALY_DETECTION_BAND(observed, 2.5)"
        assert observed["metric"]["period"] == 900
        assert alarm.inputs["evaluationPeriods"] == alarm.inputs["datapointsToAlarm"] == 4


def test_prod_may_turn_them_off_and_the_pack_advises_against_it(simulate_stack: SimulateStack, tmp_path: Path) -> None:
    config = stack_config("prod")
    for endpoint in config["modelplane:endpoints"]:
        endpoint.setdefault("alarms", {})["anomaly_detection"] = {"enabled": False}
    simulation = simulate_stack(write_stack(tmp_path, config, "prod"))
    assert anomaly_alarms(simulation) == []
    advice = [
        (violation.level, violation.type, violation.message)
        for violation in analyze(simulation).violations
        if violation.policy == "sagemaker-anomaly-alarms"
    ]
    assert advice == [
        (
            "advisory",
            "aws:sagemaker/endpoint:Endpoint",
            "endpoint 'fraud-prod' has no anomaly-detection alarm on Invocations or ModelLatency: a change in its"
            " usual traffic or latency goes unnoticed until a static threshold breaks.",
        )
    ]
    shipped = analyze(simulate_stack("prod")).violations
    assert [violation for violation in shipped if violation.policy == "sagemaker-anomaly-alarms"] == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_dashboard_draws_each_variant_within_its_band(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    width, _ = DEFAULTS[stack]
    for watched in watched_endpoints(simulation, settings_of(stack)):
        (dashboard,) = [r for r in simulation.children(watched.monitoring) if r.type == DASHBOARD]
        widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
        banded = [w for w in widgets if "expected band" in w["properties"].get("title", "")]
        assert len(banded) == 2
        for widget in banded:
            assert widget["properties"]["period"] == 300
            metrics = widget["properties"]["metrics"]
            ids = {line[-1]["id"] for line in metrics if isinstance(line[0], str)}
            expressions = [line[0]["expression"] for line in metrics if isinstance(line[0], dict)]
            calls = [BAND_CALL.match(expression) for expression in expressions]
            assert {call.group(1) for call in calls if call} == ids and all(calls)
            assert all(e.endswith(f", {width})") for e in expressions)
            assert len(ids) == len(watched.production_variants + watched.shadow_variants)


def test_prod_drift_alarm_reads_what_drift_publishes(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("prod")
    (drift,) = [a for a in simulation.of_type(ALARM) if a.inputs.get("namespace") == DRIFT_NAMESPACE]
    inputs = drift.inputs
    assert (inputs["metricName"], inputs["dimensions"]) == (DRIFTED_FEATURES, {"EndpointName": "fraud-prod"})
    assert (inputs["comparisonOperator"], inputs["threshold"]) == ("GreaterThanThreshold", 0)
    assert inputs["treatMissingData"] == "ignore", "a report holds its verdict until the next run"
    assert inputs["alarmActions"] == inputs["okActions"] == [topic_arn(simulation)]
    assert "fraud-prod-input-drift" in simulation.outputs["endpoints"]["fraud"]["anomaly_alarm_names"]
    kubernetes = [e.name for e in settings_of("prod").endpoints if e.platform is Platform.KUBERNETES]
    assert all("anomaly_alarm_names" not in simulation.outputs["endpoints"][name] for name in kubernetes)


# --- Kubernetes: the PrometheusRule, judged by Prometheus' own promtool ------------------------

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ANOMALY_ALERTS = ("ModelTrafficAnomaly", "ModelLatencyAnomaly")
# One timeline, sampled every minute, serves both scenarios: a week and four hours of steady traffic, then an
# hour of three times the traffic at five times the latency. Each scenario is judged two minutes before its end.
STEADY_MINUTES = 7 * 24 * 60 + 4 * 60
SPIKE_MINUTES = 60
# The samples the rules read: the z-scores look at the last 5 minutes and at the hour around the same moment a
# week earlier, and hold for 30 minutes. For the two verdicts that is 2h45m-5h30m of the first day and the last
# 1h45m; the samples kept (1h-7h, and from 7d1h on) hold both with hours to spare. The rest of the week is
# left out ("_"): promtool evaluates the rules at every step either way, but reading a week of samples
# doubled its work, and a baseline read from anywhere but last week's hour would find no samples.
KEPT_MINUTES = (range(60, 7 * 60), range(7 * 24 * 60 + 60, STEADY_MINUTES + SPIKE_MINUTES))


def promtool() -> str:
    return prometheus_binaries()[1]


@pytest.fixture(scope="module")
def staging_rules(simulate_stack: SimulateStack, tmp_path_factory: pytest.TempPathFactory) -> StagingRules:
    """The staging PrometheusRule's groups as a Prometheus rules file, its rules, and the series labels of one
    variant."""
    (rule,) = simulate_stack("staging").of_type(PROMETHEUS_RULE)
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(json.dumps({"groups": rule.inputs["spec"]["groups"]}), encoding="utf-8")
    (group,) = rule.inputs["spec"]["groups"]
    traffic = next(r for r in group["rules"] if r["alert"] == "ModelTrafficAnomaly")
    labels = dict(re.findall(r'(\w+)="([^"]*)"', traffic["expr"].split("}")[0]))
    return StagingRules(path, group["rules"], labels)


class StagingRules(NamedTuple):
    path: Path
    rules: list[dict[str, Any]]
    series_labels: dict[str, str]


def test_prometheus_accepts_the_rules(staging_rules: StagingRules) -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(staging_rules.path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def counter(increments: list[float]) -> str:
    """promtool's series notation for a counter growing by `increments`, one sample a minute, sampled in
    `KEPT_MINUTES` only."""
    total, values = 0.0, []
    for minute, step in enumerate(increments):
        total += step
        values.append(f"{total:g}" if any(minute in kept for kept in KEPT_MINUTES) else "_")
    return " ".join(values)


def at_minute(minute: int) -> str:
    """A time as promtool writes it in its report (and reads it): `7d3h58m`."""
    days, rest = divmod(minute, 24 * 60)
    return f"{days}d{rest // 60}h{rest % 60}m"


SCENARIOS = {"steady": (STEADY_MINUTES - 2, set()), "spike": (STEADY_MINUTES + SPIKE_MINUTES - 2, set(ANOMALY_ALERTS))}


@pytest.fixture(scope="module")
def rule_test(
    staging_rules: StagingRules, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` over the timeline, expecting at each scenario's time exactly the alerts it fires.

    One run for both scenarios: promtool evaluates the week of rules once; the steady scenario's verdict comes
    before the spike starts, so the spike cannot change it."""
    requests, seconds = [], []
    for minute in range(STEADY_MINUTES + SPIKE_MINUTES):
        calls = 55.0 if (minute // 15) % 2 else 65.0
        latency = 0.09 if (minute // 15) % 2 else 0.11
        if minute >= STEADY_MINUTES:
            calls, latency = calls * 3, latency * 5
        requests.append(calls)
        seconds.append(calls * latency)
    selector = ",".join(f'{key}="{value}"' for key, value in staging_rules.series_labels.items())
    by_alert = {rule["alert"]: rule for rule in staging_rules.rules}
    expectations = [
        {
            "eval_time": at_minute(minute),
            "alertname": alert,
            "exp_alerts": [{"exp_labels": by_alert[alert]["labels"], "exp_annotations": by_alert[alert]["annotations"]}]
            if alert in firing
            else [],
        }
        for minute, firing in SCENARIOS.values()
        for alert in ANOMALY_ALERTS
    ]
    tests = {
        "rule_files": [str(staging_rules.path)],
        "evaluation_interval": "5m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'http_requests_total{{{selector},code="200"}}', "values": counter(requests)},
                    {"series": f"http_request_duration_seconds_count{{{selector}}}", "values": counter(requests)},
                    {"series": f"http_request_duration_seconds_sum{{{selector}}}", "values": counter(seconds)},
                ],
                "alert_rule_test": expectations,
            }
        ],
    }
    config = tmp_path_factory.mktemp("rule-test") / "tests.yaml"
    config.write_text(json.dumps(tests), encoding="utf-8")
    return subprocess.run([promtool(), "test", "rules", str(config)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_z_scores_against_last_week_fire_on_a_spike_only(
    rule_test: subprocess.CompletedProcess[str], scenario: str
) -> None:
    """A week of requests whose rate and latency wobble every 15 minutes, then four hours more: steady, and
    after those an hour of three times the traffic at five times the latency. The steady traffic fires no
    alert; the spike fires both, with their labels and annotations."""
    minute, _ = SCENARIOS[scenario]
    output = rule_test.stdout + rule_test.stderr
    failed = re.findall(r"alertname: (\w+), time: (\w+),", output)
    assert [alert for alert, time in failed if time == at_minute(minute)] == [], output
    assert rule_test.returncode == 0, output
