"""`modelplane verify` against moto: a deployment matching the staging settings passes, each kind of drift
fails with its reason, AWS errors are reported per check, and the CLI keeps its exit codes.

The deployments are created with boto3 under the names the program itself exports (its stack outputs,
recorded under the mock runtime), so the tests also hold the outputs contract between program and verify.

moto 5.2 drops `ShadowProductionVariants` from CreateEndpointConfig and DescribeEndpoint; where a test needs
SageMaker's real answer for a shadow, it adds the shadow summary to that one call's parsed response
(a botocore `after-call` hook). moto also cannot fail an endpoint, so the failed-status test does the same.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.config.loader import load_stack_file
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.live.verify import SILENT_ROLLBACK_RUNBOOK, Check, EndpointOutputs, Result, render, verify_stack
from modelplane.settings import Platform, Settings, Variant
from tests.servers import free_port
from tests.stacks import STACK_NAMES, SimulateStack, settings_of, stack_config, write_stack

ROLE_ARN = "arn:aws:iam::123456789012:role/modelplane-endpoint"
SAGEMAKER_CHECKS = [
    "status",
    "config",
    "variants",
    "weights",
    "shadow",
    "instances",
    "data capture",
    "autoscaling",
    "alarms",
]


@dataclass
class Drift:
    """How the deployment departs from the settings."""

    rolled_back: set[str] = field(default_factory=set)
    """Endpoints left on their previous config while the stack records the new one."""
    weights: dict[str, float] = field(default_factory=dict)
    instance_counts: dict[str, int] = field(default_factory=dict)
    capture_off: set[str] = field(default_factory=set)
    shadow_missing: set[str] = field(default_factory=set)
    """Endpoints whose declared shadow SageMaker does not run (DescribeEndpoint shows what moto keeps)."""


def previous_config(endpoint: str) -> str:
    return f"{endpoint}-config-previous"


def variant_spec(sagemaker: Any, endpoint: str, variant: Variant, drift: Drift) -> dict[str, Any]:
    """A model for the variant, and its entry in an endpoint config."""
    model = f"{endpoint}-{variant.name}-model"
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "img"})
    return {
        "VariantName": variant.name,
        "ModelName": model,
        "InstanceType": variant.instance_type,
        "InitialInstanceCount": drift.instance_counts.get(variant.name, variant.instance_count),
        "InitialVariantWeight": drift.weights.get(variant.name, variant.weight),
    }


@functools.cache
def _own_client(region: str, endpoint_url: str | None, service: str) -> Any:
    return Aws.connect(region, endpoint_url).client(service)


def own_client(aws: Aws, service: str) -> Any:
    """The test's own client of `aws`'s region and endpoint, to create and alter what verify then reads: built
    once per module (a client costs ≈10 ms) and reaching whichever moto is active. `verify_stack` makes its
    clients from `aws`'s session, which carries the test's hooks."""
    return _own_client(aws.region, aws.endpoint_url, service)


def deploy(settings: Settings, outputs: dict[str, Any], aws: Aws, drift: Drift | None = None) -> None:
    """Create in AWS what `pulumi up` would for each SageMaker endpoint, named as the program's outputs say,
    and report its shadow variants as SageMaker would."""
    drift = drift or Drift()
    report_shadows(settings, outputs, aws, drift.shadow_missing)
    sagemaker, autoscaling = own_client(aws, "sagemaker"), own_client(aws, "application-autoscaling")
    cloudwatch = own_client(aws, "cloudwatch")
    for endpoint in settings.endpoints:
        if endpoint.platform is not Platform.SAGEMAKER:
            continue
        expected = outputs["endpoints"][endpoint.name]
        specs = {v.name: variant_spec(sagemaker, endpoint.name, v, drift) for v in endpoint.all_variants}
        capture: dict[str, Any] = {}
        if endpoint.data_capture.enabled and endpoint.name not in drift.capture_off:
            capture = {
                "DataCaptureConfig": {
                    "EnableCapture": True,
                    "InitialSamplingPercentage": endpoint.data_capture.sampling_percent,
                    "DestinationS3Uri": f"s3://artifacts/data-capture/{endpoint.name}",
                    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                }
            }
        shadow = {"ShadowProductionVariants": [specs[endpoint.shadow.name]]} if endpoint.shadow else {}
        serving = expected["endpoint_config_name"]
        if endpoint.name in drift.rolled_back:
            serving = previous_config(endpoint.name)
        for config in dict.fromkeys([serving, expected["endpoint_config_name"]]):
            sagemaker.create_endpoint_config(
                EndpointConfigName=config,
                ProductionVariants=[specs[variant.name] for variant in endpoint.variants],
                **shadow,
                **capture,
            )
        sagemaker.create_endpoint(EndpointName=expected["endpoint_name"], EndpointConfigName=serving)
        for target in expected["autoscaling"].values():
            autoscaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=target["resource_id"],
                ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                MinCapacity=target["min_capacity"],
                MaxCapacity=target["max_capacity"],
            )
        for name in dict.fromkeys([*expected["alarm_names"], *expected["rollback_alarm_names"]]):
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/SageMaker",
                MetricName="Invocation5XXErrors",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=5,
                Threshold=1,
                ComparisonOperator="GreaterThanThreshold",
                ActionsEnabled=True,
                AlarmActions=[expected["alarm_topic_arn"]],
            )


def report_shadows(settings: Settings, outputs: dict[str, Any], aws: Aws, missing: set[str]) -> None:
    """Add to DescribeEndpoint what SageMaker reports for a shadow variant and moto leaves out, except for the
    `missing` endpoints."""
    shadows = {
        outputs["endpoints"][e.name]["endpoint_name"]: e.shadow
        for e in settings.endpoints
        if e.shadow is not None and e.name not in missing
    }

    def add_shadow(parsed: dict[str, Any], **_: Any) -> None:
        shadow = shadows.get(parsed.get("EndpointName", ""))
        if shadow is not None:
            parsed["ShadowProductionVariants"] = [
                {
                    "VariantName": shadow.name,
                    "CurrentWeight": 1.0,
                    "DesiredWeight": 1.0,
                    "CurrentInstanceCount": shadow.instance_count,
                    "DesiredInstanceCount": shadow.instance_count,
                }
            ]

    aws.session.events.register("after-call.sagemaker.DescribeEndpoint", add_shadow)


@pytest.fixture(scope="module")
def program_outputs(simulate_stack: SimulateStack) -> Callable[[str], dict[str, Any]]:
    """A fresh copy of a stack's outputs as the program exports them (run under the mock runtime)."""
    return lambda stack: copy.deepcopy(simulate_stack(stack).outputs)


@pytest.fixture
def staging() -> Settings:
    return settings_of("staging")


@pytest.fixture
def outputs(program_outputs: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return program_outputs("staging")


@pytest.fixture
def aws(staging: Settings) -> Iterator[Aws]:
    with mock_aws():
        yield Aws.connect(staging.region, None)


def results(checks: list[Check], endpoint: str) -> dict[str, Check]:
    return {check.check: check for check in checks if check.endpoint == endpoint}


def failures(checks: list[Check]) -> dict[tuple[str, str], str]:
    return {(c.endpoint, c.check): c.detail for c in checks if c.result is Result.FAIL}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_program_exports_what_verify_reads(stack: str, simulate_stack: SimulateStack) -> None:
    outputs = simulate_stack(stack).outputs
    for endpoint in settings_of(stack).endpoints:
        if endpoint.platform is Platform.SAGEMAKER:
            expected = EndpointOutputs.model_validate(outputs["endpoints"][endpoint.name])
            for variant, target in expected.autoscaling.items():
                assert target.resource_id == f"endpoint/{expected.endpoint_name}/variant/{variant}"


def test_a_deployment_matching_the_settings_passes_every_check(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws)

    checks = verify_stack(staging, outputs, aws)

    assert failures(checks) == {}
    for endpoint in ("fraud", "churn"):
        assert list(results(checks, endpoint)) == SAGEMAKER_CHECKS
    fraud, churn = results(checks, "fraud"), results(checks, "churn")
    assert fraud["weights"].detail == "champion 80%, challenger 20%"
    assert fraud["autoscaling"].detail == "registered: challenger 1-3, champion 1-3"
    assert churn["shadow"].detail == "candidate receives a copy of traffic"
    assert (churn["autoscaling"].result, churn["autoscaling"].detail) == (Result.SKIP, "none declared")
    assert churn["data capture"].detail == "on, 50% to s3://artifacts/data-capture/churn"
    alarms, rollback = (
        outputs["endpoints"]["fraud"]["alarm_names"],
        outputs["endpoints"]["fraud"]["rollback_alarm_names"],
    )
    assert fraud["alarms"].detail == f"{len(alarms)} alarms, {len(rollback)} for rollback; none in ALARM"
    assert results(checks, "recommender")["platform"].result is Result.SKIP


def test_a_silent_rollback_is_diagnosed_in_words(staging: Settings, outputs: dict[str, Any], aws: Aws) -> None:
    # `pulumi up` recorded the new config; SageMaker rolled the endpoint back to the one it ran before.
    deploy(staging, outputs, aws, Drift(rolled_back={"fraud"}))

    checks = verify_stack(staging, outputs, aws)

    expected_config = outputs["endpoints"]["fraud"]["endpoint_config_name"]
    assert failures(checks) == {
        ("fraud", "config"): f"SageMaker rolled back to {previous_config('fraud')}; the stack expects"
        f" {expected_config} — see {SILENT_ROLLBACK_RUNBOOK}"
    }
    assert results(checks, "fraud")["status"].result is Result.PASS


def test_a_failed_endpoint_reports_its_reason_not_a_rollback(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws, Drift(rolled_back={"fraud"}))

    def failed(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("EndpointName") == "fraud-staging":
            parsed.update(EndpointStatus="Failed", FailureReason="The primary container did not pass the ping check")

    aws.session.events.register("after-call.sagemaker.DescribeEndpoint", failed)

    found = failures(verify_stack(staging, outputs, aws))

    expected_config = outputs["endpoints"]["fraud"]["endpoint_config_name"]
    assert found == {
        ("fraud", "status"): "Failed: The primary container did not pass the ping check",
        (
            "fraud",
            "config",
        ): f"the endpoint is Failed on {previous_config('fraud')}; the stack expects {expected_config}",
    }


def test_a_missing_alarm_fails(staging: Settings, outputs: dict[str, Any], aws: Aws) -> None:
    deploy(staging, outputs, aws)
    deleted = outputs["endpoints"]["fraud"]["alarm_names"][-1]
    own_client(aws, "cloudwatch").delete_alarms(AlarmNames=[deleted])

    assert failures(verify_stack(staging, outputs, aws)) == {("fraud", "alarms"): f"missing: {deleted}"}


def test_an_alarm_in_alarm_state_or_with_actions_disabled_fails(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws)
    firing = outputs["endpoints"]["churn"]["rollback_alarm_names"][0]
    muted = outputs["endpoints"]["fraud"]["alarm_names"][1]
    cloudwatch = own_client(aws, "cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=firing, StateValue="ALARM", StateReason="errors")
    cloudwatch.disable_alarm_actions(AlarmNames=[muted])

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("churn", "alarms"): f"in ALARM: {firing}",
        ("fraud", "alarms"): f"actions disabled: {muted}",
    }


def test_a_wrong_weight_fails_with_the_traffic_shares(staging: Settings, outputs: dict[str, Any], aws: Aws) -> None:
    deploy(staging, outputs, aws, Drift(weights={"challenger": 80}))

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("fraud", "weights"): "champion gets 50% of traffic, the stack declares 80%;"
        " challenger gets 50% of traffic, the stack declares 20%"
    }


def test_a_traffic_shift_in_progress_fails(staging: Settings, outputs: dict[str, Any], aws: Aws) -> None:
    deploy(staging, outputs, aws)

    def shifting(parsed: dict[str, Any], **_: Any) -> None:
        for summary in parsed.get("ProductionVariants", []):
            if summary["VariantName"] == "challenger":
                summary["CurrentWeight"] = 80.0

    aws.session.events.register("after-call.sagemaker.DescribeEndpoint", shifting)

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("fraud", "weights"): "traffic is still shifting: now champion 50%, challenger 50%"
    }


def test_a_missing_or_misconfigured_scalable_target_fails(staging: Settings, outputs: dict[str, Any], aws: Aws) -> None:
    deploy(staging, outputs, aws)
    targets = outputs["endpoints"]["fraud"]["autoscaling"]
    autoscaling = own_client(aws, "application-autoscaling")
    dimension = {"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}
    autoscaling.deregister_scalable_target(ResourceId=targets["challenger"]["resource_id"], **dimension)
    autoscaling.register_scalable_target(
        ResourceId=targets["champion"]["resource_id"], MinCapacity=1, MaxCapacity=5, **dimension
    )

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("fraud", "autoscaling"): "challenger: no scalable target registered for"
        " endpoint/fraud-staging/variant/challenger; champion: registered 1-5, the stack declares 1-3"
    }


def test_a_missing_shadow_capture_or_wrong_instance_count_fails(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(
        staging, outputs, aws, Drift(instance_counts={"current": 2}, capture_off={"churn"}, shadow_missing={"churn"})
    )

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("churn", "shadow"): "SageMaker runs no shadow; the stack declares candidate",
        ("churn", "instances"): "current runs 2 instance(s), the stack declares 1",
        ("churn", "data capture"): "SageMaker reports capture off, the stack declares on",
    }


def test_a_deleted_endpoint_fails_its_check_with_sagemakers_answer(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws)
    own_client(aws, "sagemaker").delete_endpoint(EndpointName="churn-staging")

    churn = results(verify_stack(staging, outputs, aws), "churn")

    assert list(churn) == ["endpoint", "autoscaling", "alarms"]
    assert churn["endpoint"].result is Result.FAIL
    assert churn["endpoint"].detail.startswith("DescribeEndpoint: ValidationException: Could not find endpoint")
    assert churn["alarms"].result is Result.PASS


def test_throttling_is_retried(
    staging: Settings, outputs: dict[str, Any], aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(staging, outputs, aws)
    attempts: list[str] = []
    # The retry is made all the same; only its pause (up to 1 s for throttling) is skipped.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda *_: 0)

    class Body:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

    def throttle_first(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(request.url)
        if len(attempts) == 1:
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, Body())
        return None

    aws.session.events.register_first("before-send.cloudwatch.DescribeAlarms", throttle_first)

    checks = verify_stack(staging, outputs, aws)

    assert failures(checks) == {}
    assert len(attempts) == 3, "the throttled call is retried, then each endpoint's alarms are read once"


def test_endpoints_missing_from_or_extra_in_the_outputs_fail(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws)
    outputs["endpoints"]["retired"] = outputs["endpoints"].pop("churn")
    del outputs["endpoints"]["fraud"]["alarm_names"]

    assert failures(verify_stack(staging, outputs, aws)) == {
        ("fraud", "outputs"): "stack outputs endpoints.fraud: alarm_names: field required",
        ("churn", "outputs"): "not in the stack outputs; run `pulumi up` first",
        ("retired", "outputs"): "in the stack outputs but no longer in the settings; `pulumi up` removes it",
    }


def test_smoke_request_is_timed_against_the_latency_threshold(
    staging: Settings, outputs: dict[str, Any], aws: Aws
) -> None:
    deploy(staging, outputs, aws)

    checks = verify_stack(staging, outputs, aws, smoke=True)
    fraud_smoke, churn_smoke = results(checks, "fraud")["smoke"], results(checks, "churn")["smoke"]
    assert fraud_smoke.result is Result.PASS
    assert fraud_smoke.detail.endswith("(threshold 300 ms)")
    assert (churn_smoke.result, churn_smoke.detail) == (Result.SKIP, "no smoke_test in the settings")

    data = staging.model_dump(by_alias=True)
    data["endpoints"][0]["alarms"]["latency_p99_ms"] = 0.001
    strict = Settings.model_validate(data, context={"stack": "staging"})
    slow = results(verify_stack(strict, outputs, aws, smoke=True), "fraud")["smoke"]
    assert slow.result is Result.FAIL
    assert slow.detail.endswith("over the p99 latency threshold of 0.001 ms")


def test_verify_makes_only_the_clients_its_checks_use(
    staging: Settings, outputs: dict[str, Any], aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(staging, outputs, aws)
    made: list[str] = []
    client = Aws.client
    monkeypatch.setattr(
        Aws, "client", lambda self, service, **options: made.append(service) or client(self, service, **options)
    )

    assert failures(verify_stack(staging, outputs, aws)) == {}
    assert sorted(made) == ["application-autoscaling", "cloudwatch", "sagemaker"], "no runtime client without --smoke"

    made.clear()
    kubernetes_only = staging.model_copy(
        update={"endpoints": [e for e in staging.endpoints if e.platform is Platform.KUBERNETES]}
    )
    assert [(c.endpoint, c.check) for c in verify_stack(kubernetes_only, outputs, aws)] == [
        ("recommender", "platform"),
        ("churn", "outputs"),
        ("fraud", "outputs"),
    ]
    assert made == [], "a stack all on Kubernetes needs no SageMaker check's client"

    verify_stack(staging, outputs, aws, smoke=True)
    assert made.count("sagemaker-runtime") == 1


def test_the_table_fits_80_columns() -> None:
    long_detail = (
        "SageMaker rolled back to fraud-config-0000001; the stack expects fraud-config-0000002"
        " — see docs/operations.md#silent-rollback"
    )
    checks = [
        Check("fraud", "fraud-staging", "config", Result.FAIL, long_detail),
        Check("fraud", "fraud-staging", "alarms", Result.PASS, "x" * 200),
    ]

    table = render(checks, stack="staging", region="eu-west-1", endpoint_url=None)

    lines = table.splitlines()
    assert max(map(len, lines)) <= 80
    row = next(index for index, line in enumerate(lines) if line.startswith("  FAIL  config        "))
    continued = itertools.takewhile(lambda line: line.startswith(" " * 22), lines[row + 1 :])
    assert " ".join([lines[row][22:], *(line.strip() for line in continued)]) == long_detail
    assert table.splitlines()[-1] == "FAILED: 1 passed, 1 failed, 0 skipped"


# --- the command line ---------------------------------------------------------------------------


def write_settings_without_shadow(tmp_path: Path) -> Path:
    """Staging's SageMaker endpoints minus churn's shadow, which moto cannot report, for whole-CLI runs (the
    Kubernetes endpoint's checks, against a cluster, are tests/live/test_kubernetes_lifecycle.py's)."""
    config = stack_config("staging")
    config["modelplane:endpoints"] = [e for e in config["modelplane:endpoints"] if e.get("platform") != "kubernetes"]
    for endpoint in config["modelplane:endpoints"]:
        endpoint.pop("shadow", None)
    return write_stack(tmp_path, config, "staging")


def test_cli_exit_codes_table_and_json_report(
    outputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_settings_without_shadow(tmp_path)
    settings = load_stack_file(config)
    outputs["endpoints"].pop("recommender")
    outputs_file, report_file = tmp_path / "outputs.json", tmp_path / "verify.json"
    with mock_aws():
        deploy(settings, outputs, Aws.connect(settings.region, None), Drift(rolled_back={"fraud"}))
        expected_config = outputs["endpoints"]["fraud"]["endpoint_config_name"]
        outputs["endpoints"]["fraud"]["endpoint_config_name"] = previous_config("fraud")
        outputs_file.write_text(json.dumps(outputs), encoding="utf-8")
        command = ["verify", "--config", str(config), "--outputs", str(outputs_file), "--json", str(report_file)]

        assert main(command) == EXIT_OK
        report = json.loads(report_file.read_text(encoding="utf-8"))
        assert report["ok"] is True
        assert report["summary"] == {"pass": 17, "fail": 0, "skip": 1}

        outputs["endpoints"]["fraud"]["endpoint_config_name"] = expected_config
        outputs_file.write_text(json.dumps(outputs), encoding="utf-8")
        capsys.readouterr()
        assert main(command) == EXIT_FAILED

    printed = capsys.readouterr().out
    assert "fraud (fraud-staging)" in printed
    assert f"  FAIL  config        SageMaker rolled back to {previous_config('fraud')};" in printed
    assert printed.rstrip().endswith("FAILED: 16 passed, 1 failed, 1 skipped")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["ok"] is False
    assert [c for c in report["checks"] if c["result"] == "fail"] == [
        {
            "endpoint": "fraud",
            "deployed_name": "fraud-staging",
            "check": "config",
            "result": "fail",
            "detail": f"SageMaker rolled back to {previous_config('fraud')}; the stack expects"
            f" {expected_config} — see {SILENT_ROLLBACK_RUNBOOK}",
        }
    ]


def test_an_unreachable_aws_stops_verify_with_exit_2_and_one_message_not_a_verdict(
    program_outputs: Callable[[str], dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(program_outputs("local")), encoding="utf-8")
    closed_port = free_port()
    # Every attempt the retry policy allows is still made; only the pauses between them are skipped.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda *_: 0)
    command = ["verify", "--stack", "local", "--outputs", str(outputs_file)]

    assert main([*command, "--endpoint-url", f"http://127.0.0.1:{closed_port}"]) == EXIT_USAGE

    printed = capsys.readouterr()
    assert printed.err == (
        f'modelplane verify: AWS: EndpointConnectionError: Could not connect to the endpoint URL: "http://127.0.0.1:{closed_port}/"\n'
    )
    assert "PASS" not in printed.out and "FAIL" not in printed.out
    # What a fresh interpreter would print to stderr besides the message (logging's last-resort handler).
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["verify"], "give --stack NAME or --config FILE"),
        (["verify", "--stack", "nonexistent", "--outputs", "o.json"], "Pulumi.nonexistent.yaml: no such stack file"),
        (["verify", "--stack", "staging", "--outputs", "missing.json"], "missing.json: no such file"),
        (["verify", "--stack", "staging"], "no pulumi CLI on PATH"),
        (
            ["verify", "--stack", "staging", "--outputs", "secret.json"],
            "output `endpoints` is '[secret]', not an object",
        ),
        (
            ["verify", "--stack", "staging", "--outputs", "list.json"],
            "list.json: not the JSON object `pulumi stack output --json` writes",
        ),
        (["verify", "--stack", "staging", "--outputs", "text.json"], "text.json: not JSON: line 1 column 1"),
        (
            ["verify", "--stack", "staging", "--outputs", "prod.json"],
            "prod.json: the outputs of stack 'prod', not of stack 'staging'; save this stack's with "
            "`pulumi stack output --json --stack staging > FILE`",
        ),
        (
            ["verify", "--stack", "staging", "--outputs", "dev.json"],
            "dev.json: the outputs of a stack in environment 'dev', not of stack 'staging' (environment 'staging')",
        ),
    ],
)
def test_cli_bad_usage_exits_2_with_one_message(
    arguments: list[str],
    message: str,
    project_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", "")
    files = {
        "secret.json": '{"stack": "staging", "endpoints": "[secret]"}',
        "list.json": "[]",
        "text.json": "endpoints:",
        "prod.json": '{"stack": "prod", "environment": "prod", "endpoints": {}}',
        # Outputs of a program older than the `stack` output: told apart by their environment.
        "dev.json": '{"environment": "dev", "endpoints": {}}',
    }
    for name, text in files.items():
        (project_copy / name).write_text(text, encoding="utf-8")

    assert main(arguments) == EXIT_USAGE
    assert message in capsys.readouterr().err


NO_KUBECONFIG = "error: configuration key 'modelplane:kubeconfig' not found for stack 'staging'"
KUBECONFIG = (
    "apiVersion: v1\nkind: Config\ncurrent-context: staging\n"
    "clusters: [{name: staging, cluster: {server: 'https://127.0.0.1:1'}}]\n"
    "users: [{name: ci, user: {token: t}}]\n"
    "contexts: [{name: staging, context: {cluster: staging, user: ci}}]\n"
)


def fake_pulumi(
    directory: Path,
    *,
    exit_code: int,
    stdout: str,
    stderr: str = "",
    kubeconfig: str | None = None,
    config_error: str = NO_KUBECONFIG,
) -> Path:
    """A `pulumi` executable that records each call's arguments and answers as told: `stack output` with
    `stdout`/`stderr`/`exit_code`, `config get` with the stack's secret `kubeconfig`, else `config_error`
    (by default the CLI's "not found")."""
    # Every answer shell-quoted: a kubeconfig quotes its server URL.
    config = (
        f"printf '%s' {shlex.quote(kubeconfig)}; exit 0"
        if kubeconfig
        else f"printf '%s' {shlex.quote(config_error)} >&2; exit 255"
    )
    script = directory / "pulumi"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {shlex.quote(str(directory / "arguments"))}\n'
        f'if [ "$1" = config ]; then {config}; fi\n'
        f"printf '%s' {shlex.quote(stdout)}\nprintf '%s' {shlex.quote(stderr)} >&2\nexit {exit_code}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return directory / "arguments"


def test_without_outputs_file_verify_asks_the_pulumi_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = fake_pulumi(tmp_path, exit_code=0, stdout='{"environment": "staging", "endpoints": {}}')
    monkeypatch.setenv("PATH", str(tmp_path))
    # Staging's recommender is checked on its cluster: a kubeconfig naming one (never reached, the outputs lack it).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))

    assert main(["verify", "--stack", "staging"]) == EXIT_FAILED

    assert arguments.read_text().splitlines() == [
        "stack output --json --stack staging --show-secrets=false",
        "config get modelplane:kubeconfig --stack staging",
    ]
    assert "  FAIL  outputs       not in the stack outputs; run `pulumi up` first" in capsys.readouterr().out


def test_verify_reaches_the_cluster_with_the_stacks_secret_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `pulumi up` deploys with the secret `modelplane:kubeconfig` when the stack sets one, verify reads it
    (through the CLI, never a file) before the ambient kubeconfig, here one that cannot be read."""
    fake_pulumi(tmp_path, exit_code=0, stdout='{"environment": "staging", "endpoints": {}}', kubeconfig=KUBECONFIG)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))

    assert main(["verify", "--stack", "staging"]) == EXIT_FAILED
    assert "  FAIL  outputs       not in the stack outputs; run `pulumi up` first" in capsys.readouterr().out

    fake_pulumi(
        tmp_path,
        exit_code=0,
        stdout='{"environment": "staging", "endpoints": {}}',
        kubeconfig=KUBECONFIG.replace("current-context: staging", "current-context: elsewhere"),
    )
    assert main(["verify", "--stack", "staging"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("modelplane verify: the stack's secret modelplane:kubeconfig: ")
    assert "elsewhere" in error


def test_a_stack_kubeconfig_that_is_a_path_is_read_from_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Kubernetes provider takes `kubeconfig` as the file's contents or its path; verify reads both."""
    kubeconfig = tmp_path / "cluster.yaml"
    kubeconfig.write_text(KUBECONFIG)
    fake_pulumi(tmp_path, exit_code=0, stdout='{"environment": "staging", "endpoints": {}}', kubeconfig=str(kubeconfig))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))

    assert main(["verify", "--stack", "staging"]) == EXIT_FAILED
    assert "  FAIL  outputs       not in the stack outputs; run `pulumi up` first" in capsys.readouterr().out

    fake_pulumi(tmp_path, exit_code=0, stdout='{"environment": "staging", "endpoints": {}}', kubeconfig="nowhere.yaml")
    assert main(["verify", "--stack", "staging"]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "modelplane verify: the stack's secret modelplane:kubeconfig: neither a kubeconfig (a YAML mapping) nor a"
        " readable file\n"
    )


def test_a_secret_kubeconfig_the_cli_cannot_read_is_bad_usage_naming_the_way_around(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_pulumi(
        tmp_path,
        exit_code=0,
        stdout='{"environment": "staging", "endpoints": {}}',
        config_error="error: failed to decrypt: AccessDeniedException",
    )
    monkeypatch.setenv("PATH", str(tmp_path))

    assert main(["verify", "--stack", "staging"]) == EXIT_USAGE

    assert capsys.readouterr().err == (
        "modelplane verify: `config get modelplane:kubeconfig --stack staging` failed: error: failed to decrypt:"
        " AccessDeniedException; or give --kubeconfig FILE\n"
    )


def test_a_failing_pulumi_cli_is_bad_usage_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_pulumi(tmp_path, exit_code=255, stdout="", stderr="error: no stack named staging found")
    monkeypatch.setenv("PATH", str(tmp_path))

    assert main(["verify", "--stack", "staging"]) == EXIT_USAGE

    assert capsys.readouterr().err == (
        "modelplane verify: `stack output --json --stack staging --show-secrets=false` failed:"
        " error: no stack named staging found\n"
    )


def test_cli_rejects_an_endpoint_url_that_is_not_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verify", "--stack", "local", "--endpoint-url", "127.0.0.1:5000"])
    assert exited.value.code == EXIT_USAGE
    assert "not an http(s) URL" in capsys.readouterr().err


# --- a real moto server on loopback (tests/servers.py, fixtures in conftest.py) ----------------------


def test_local_stack_verifies_against_a_moto_server(
    moto_server_url: str,
    program_outputs: Callable[[str], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = settings_of("local")
    outputs = program_outputs("local")
    deploy(local, outputs, Aws.connect(local.region, moto_server_url))
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs), encoding="utf-8")

    command = ["verify", "--stack", "local", "--endpoint-url", moto_server_url, "--outputs", str(outputs_file)]
    exit_code = main([*command, "--smoke"])

    printed = capsys.readouterr().out
    assert exit_code == EXIT_OK, printed
    assert printed.splitlines()[0] == f"modelplane verify: stack local, emulator {moto_server_url}"
    assert "  pass  smoke         answered in" in printed
    assert printed.rstrip().endswith("OK: 9 passed, 0 failed, 1 skipped")


def test_a_local_stack_is_verified_against_its_emulator_by_default(
    moto_server_url: str,
    program_outputs: Callable[[str], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = stack_config("local")
    config["modelplane:local_emulator"]["endpoint_url"] = moto_server_url
    settings_file = write_stack(tmp_path, config, "local")
    outputs = program_outputs("local")
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs), encoding="utf-8")
    deploy(load_stack_file(settings_file), outputs, Aws.connect("us-east-1", moto_server_url))

    assert main(["verify", "--config", str(settings_file), "--outputs", str(outputs_file)]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[0] == f"modelplane verify: stack local, emulator {moto_server_url}"
