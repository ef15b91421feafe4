"""`modelplane compare` against a moto server holding synthetic CloudWatch metrics: the three verdicts and
their exit codes, the reports, business metrics, and the errors that exit 2.

Endpoint names come from the program's own stack outputs (recorded under the mock runtime), so the tests
also hold the outputs contract. moto cannot compute percentiles: every run here also proves compare
decides without p99 and says so.
"""

from __future__ import annotations

import http.server
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelplane.abtest.verdict_file import read_verdict
from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
from modelplane.timewindow import iso
from tests.servers import serving
from tests.stacks import SimulateStack, stack_config, write_stack

REGION = "eu-west-1"  # staging's
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
PERIODS = 40


def cloudwatch(url: str) -> Any:
    return Aws.connect(REGION, url).client("cloudwatch")


def publish(
    client: Any,
    endpoint_name: str,
    variant: str,
    *,
    invocations: int,
    error_rate: float,
    latency_ms: float,
    periods: int = PERIODS,
) -> None:
    """One datapoint per minute over the last `periods` minutes; errors spread evenly; latency in
    microseconds as SageMaker publishes it, with a deterministic ±4 % wobble."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]
    per_period = invocations / periods
    data = []
    for index in range(periods):
        timestamp = NOW - timedelta(minutes=periods - index + 1)
        errors = round(per_period * error_rate * (index + 1)) - round(per_period * error_rate * index)
        latency_us = latency_ms * 1000 * (1 + 0.04 * ((index * 7) % 5 - 2) / 2)
        data += [
            {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": timestamp, "Value": per_period},
            {"MetricName": "Invocation5XXErrors", "Dimensions": dimensions, "Timestamp": timestamp, "Value": errors},
            {"MetricName": "InvocationModelErrors", "Dimensions": dimensions, "Timestamp": timestamp, "Value": 0},
            {"MetricName": "ModelLatency", "Dimensions": dimensions, "Timestamp": timestamp, "Value": latency_us},
        ]
    for start in range(0, len(data), 500):
        client.put_metric_data(Namespace="AWS/SageMaker", MetricData=data[start : start + 500])


@pytest.fixture(scope="module")
def staging_outputs(simulate_stack: SimulateStack) -> dict[str, Any]:
    return simulate_stack("staging").outputs


@pytest.fixture
def outputs_file(staging_outputs: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(staging_outputs), encoding="utf-8")
    return path


@pytest.fixture
def fraud(staging_outputs: dict[str, Any]) -> str:
    return staging_outputs["endpoints"]["fraud"]["endpoint_name"]


Compare = Callable[..., int]


@pytest.fixture
def compare(moto_server_url: str, outputs_file: Path) -> Compare:
    def run(*arguments: str, stack: tuple[str, ...] = ("--stack", "staging")) -> int:
        return main(
            [
                "compare",
                *stack,
                "--outputs",
                str(outputs_file),
                "--endpoint-url",
                moto_server_url,
                "--window",
                "2h",
                *arguments,
            ]
        )

    return run


def test_a_candidate_clearly_worse_in_5xx_is_rolled_back(
    moto_server_url: str, fraud: str, compare: Compare, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = cloudwatch(moto_server_url)
    publish(client, fraud, "champion", invocations=20_000, error_rate=0.001, latency_ms=50)
    publish(client, fraud, "challenger", invocations=20_000, error_rate=0.04, latency_ms=50)

    assert compare("--endpoint", "fraud", "--json", str(tmp_path / "compare.json")) == EXIT_FAILED

    printed = capsys.readouterr().out
    assert "  5XX error rate       0.10%     4.00%  +3.90 pt  0.20 pt   <0.001  FAIL" in printed
    assert printed.rstrip().endswith(
        "ROLLBACK:\n  - 5XX error rate: the candidate is worse by 3.90 points (margin 0.20 points)"
    )
    document = json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    assert document["verdict"] == "rollback"
    error_rate = next(metric for metric in document["metrics"] if metric["name"] == "server_error_rate")
    assert (error_rate["baseline"], error_rate["candidate"]) == (pytest.approx(0.1), pytest.approx(4.0))
    assert error_rate["decision"] == "fail"
    assert error_rate["tests"]["worse"]["test"] == "two-proportion z-test"


def test_an_equally_good_candidate_is_promoted_with_every_report(
    moto_server_url: str, fraud: str, compare: Compare, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = cloudwatch(moto_server_url)
    for variant in ("champion", "challenger"):
        publish(client, fraud, variant, invocations=20_000, error_rate=0.001, latency_ms=50)
    reports = {"--json": tmp_path / "c.json", "--markdown": tmp_path / "c.md", "--plot": tmp_path / "plots/c.png"}

    exit_code = compare("--endpoint", "fraud", *(str(part) for item in reports.items() for part in item))

    printed = capsys.readouterr().out
    assert exit_code == EXIT_OK, printed
    assert printed.rstrip().endswith("PROMOTE:\n  - every metric is within its margin of the baseline")
    assert "p99 latency: CloudWatch could not give percentiles" in printed
    document = json.loads(reports["--json"].read_text(encoding="utf-8"))
    assert document["verdict"] == "promote"
    assert document["notes"] == [
        "p99 latency: CloudWatch could not give percentiles (GetMetricData: HTTP 500); decided on the mean latency"
    ]
    assert (document["stack"], document["endpoint"], document["deployed_name"]) == ("staging", "fraud", fraud)
    assert document["baseline"] == {
        "variant": "champion",
        "model_package_version": 11,
        "image": "2.3.1",
        "shadow": False,
    }
    assert document["candidate"]["variant"] == "challenger"
    assert document["candidate"]["model_package_version"] == 12
    assert document["sample"] == {
        "baseline": {"invocations": 20_000, "periods": PERIODS},
        "candidate": {"invocations": 20_000, "periods": PERIODS},
    }
    assert [metric["name"] for metric in document["metrics"]] == [
        "traffic",
        "server_error_rate",
        "model_error_rate",
        "latency_mean",
    ]
    for metric in document["metrics"][1:]:
        assert set(metric) >= {"baseline", "candidate", "effect", "p_value", "margin", "decision"}
        assert metric["decision"] == "pass"
    window = read_verdict(reports["--json"]).window
    assert NOW <= window.end <= datetime.now(UTC)
    assert timedelta(hours=2) <= window.end - window.start < timedelta(hours=2, minutes=1)
    assert window.start.second == 0, "periods start on the minute, as CloudWatch's do"
    markdown = reports["--markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("### A/B test of `fraud` in `staging`: **promote**")
    assert "| 5XX error rate | 0.10% | 0.10% | +0.00 pt | 0.20 pt | <0.001 | pass |" in markdown
    assert reports["--plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forty_invocations_each_are_inconclusive(
    moto_server_url: str, fraud: str, compare: Compare, capsys: pytest.CaptureFixture[str]
) -> None:
    client = cloudwatch(moto_server_url)
    publish(client, fraud, "champion", invocations=40, error_rate=0.0, latency_ms=50, periods=20)
    publish(client, fraud, "challenger", invocations=40, error_rate=0.05, latency_ms=50, periods=20)

    assert compare("--endpoint", "fraud") == EXIT_INCONCLUSIVE
    assert (
        "INCONCLUSIVE:\n  - too little data: the baseline has 40 invocations in 20 periods" in capsys.readouterr().out
    )


def test_no_traffic_at_all_is_inconclusive(compare: Compare, capsys: pytest.CaptureFixture[str]) -> None:
    assert compare("--endpoint", "fraud") == EXIT_INCONCLUSIVE
    assert "the baseline has 0 invocations in 0 periods" in capsys.readouterr().out


def test_a_shadow_variant_is_the_default_candidate(
    moto_server_url: str,
    staging_outputs: dict[str, Any],
    compare: Compare,
    tmp_path: Path,
) -> None:
    churn = staging_outputs["endpoints"]["churn"]["endpoint_name"]
    client = cloudwatch(moto_server_url)
    publish(client, churn, "current", invocations=20_000, error_rate=0.001, latency_ms=30)
    publish(client, churn, "candidate", invocations=20_000, error_rate=0.001, latency_ms=45)

    assert compare("--endpoint", "churn", "--json", str(tmp_path / "c.json")) == EXIT_FAILED
    document = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert document["candidate"] == {
        "variant": "candidate",
        "model_package_version": 5,
        "image": "1.1.0",
        "shadow": True,
    }
    traffic = document["metrics"][0]
    assert traffic["decision"] == "info", "a shadow receives a copy of every request: half the invocations"
    assert document["reasons"] == ["latency (mean): the candidate is worse by 50.0% (margin 10.0%)"]


def test_business_metrics_are_read_per_variant_from_their_namespace(
    moto_server_url: str,
    fraud: str,
    staging_outputs: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = stack_config("staging")
    config["modelplane:endpoints"][0]["experiment"] = {
        "business_metrics": [
            {
                "name": "fraud_caught",
                "namespace": "Payments/Fraud",
                "metric": "ConfirmedFraudFlagged",
                "trials_metric": "ConfirmedFraud",
                "dimensions": {"EndpointName": fraud},
                "kind": "proportion",
                "margin": 2,
            }
        ]
    }
    settings_file = write_stack(tmp_path, config, "staging")
    client = cloudwatch(moto_server_url)
    for variant, caught in (("champion", 900), ("challenger", 780)):
        publish(client, fraud, variant, invocations=20_000, error_rate=0.001, latency_ms=50)
        dimensions = [{"Name": "EndpointName", "Value": fraud}, {"Name": "VariantName", "Value": variant}]
        for index in range(10):
            timestamp = NOW - timedelta(minutes=30 - index)
            client.put_metric_data(
                Namespace="Payments/Fraud",
                MetricData=[
                    {"MetricName": "ConfirmedFraud", "Dimensions": dimensions, "Timestamp": timestamp, "Value": 100},
                    {
                        "MetricName": "ConfirmedFraudFlagged",
                        "Dimensions": dimensions,
                        "Timestamp": timestamp,
                        "Value": caught / 10,
                    },
                ],
            )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(staging_outputs), encoding="utf-8")
    arguments = ["compare", "--config", str(settings_file), "--outputs", str(outputs), "--endpoint", "fraud"]

    exit_code = main([*arguments, "--endpoint-url", moto_server_url, "--window", "1h"])

    printed = capsys.readouterr().out
    assert exit_code == EXIT_FAILED, printed
    assert "  fraud caught        90.00%    78.00% -12.00 pt  2.00 pt   <0.001  FAIL" in printed
    assert "fraud caught: the candidate is worse by 12.00 points (margin 2.00 points)" in printed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--endpoint", "nope"],
            "stacks/Pulumi.staging.yaml: no endpoint 'nope' (endpoints: fraud, churn, recommender)",
        ),
        (
            ["--endpoint", "fraud", "--candidate", "ghost"],
            "stacks/Pulumi.staging.yaml: endpoint 'fraud' has no variant 'ghost' for the candidate"
            " (variants: champion, challenger)",
        ),
        (["--endpoint", "fraud", "--baseline", "challenger", "--candidate", "challenger"], "are both 'challenger'"),
        (
            ["--endpoint", "recommender"],
            "endpoint 'recommender' has a single variant, 'two-tower-v6': nothing to compare",
        ),
        (
            ["--endpoint", "fraud", "--prometheus-url", "http://127.0.0.1:9090"],
            "--prometheus-url is for Kubernetes endpoints; fraud runs on SageMaker",
        ),
    ],
)
def test_unknown_endpoints_and_variants_exit_2_naming_them(
    compare: Compare, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare(*arguments) == EXIT_USAGE
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_an_endpoint_missing_from_the_outputs_exits_2(
    moto_server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"stack": "staging", "endpoints": {}}), encoding="utf-8")
    arguments = ["compare", "--stack", "staging", "--outputs", str(outputs), "--endpoint", "fraud"]

    assert main([*arguments, "--endpoint-url", moto_server_url]) == EXIT_USAGE
    assert "endpoint 'fraud' is not in the stack outputs; run `pulumi up` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (["--start", "2025-05-01T10:00:00Z"], "--start and --end go together"),
        (["--start", "2025-05-01T10:00:00Z", "--end", "2025-05-01T09:00:00Z"], "is not after --start"),
        (
            ["--start", iso(NOW - timedelta(seconds=50)), "--end", iso(NOW - timedelta(seconds=10))],
            "is shorter than one period of 60 s",
        ),
    ],
)
def test_an_impossible_window_exits_2(
    outputs_file: Path, window: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["compare", "--stack", "staging", "--outputs", str(outputs_file), "--endpoint", "fraud"]
    assert main([*arguments, *window]) == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("configured", "used"), [(120, 300), (420, 600), (600, 600)])
def test_an_old_window_is_read_in_periods_cloudwatch_still_answers(
    moto_server_url: str, staging_outputs: dict[str, Any], tmp_path: Path, configured: int, used: int
) -> None:
    """Three weeks ago CloudWatch holds 5-minute data and answers only periods that are multiples of 300 s
    (a 420 s period returns no datapoints at all): the period is rounded up to one."""
    config = stack_config("staging")
    config["modelplane:endpoints"][0]["experiment"] = {"period_seconds": configured}
    outputs, report = tmp_path / "outputs.json", tmp_path / "compare.json"
    outputs.write_text(json.dumps(staging_outputs), encoding="utf-8")
    arguments = ["compare", "--config", str(write_stack(tmp_path, config, "staging")), "--outputs", str(outputs)]
    window = ["--start", iso(NOW - timedelta(days=21)), "--end", iso(NOW - timedelta(days=20))]

    main([*arguments, "--endpoint", "fraud", *window, "--endpoint-url", moto_server_url, "--json", str(report)])

    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["window"]["period_seconds"] == used
    coarsened = [note for note in document["notes"] if note.startswith("periods of")]
    assert coarsened == (
        []
        if used == configured
        else [
            f"periods of {used} s instead of {configured} s: CloudWatch"
            " keeps data this old at 300 s resolution and answers only multiples of it"
        ]
    )


def test_a_malformed_duration_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["compare", "--stack", "staging", "--endpoint", "fraud", "--window", "2 hours"])
    assert exited.value.code == EXIT_USAGE
    assert "not a duration: '2 hours'" in capsys.readouterr().err


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """An HTTP server that answers every request 403 with a plain-text body, as a proxy might."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b"denied")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_a_cloudwatch_error_exits_2_named_without_a_traceback(
    refusing_server: str, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["compare", "--stack", "staging", "--outputs", str(outputs_file), "--endpoint", "fraud"]

    assert main([*arguments, "--endpoint-url", refusing_server]) == EXIT_USAGE
    assert capsys.readouterr().err == "modelplane compare: GetMetricData: HTTP 403\n"
