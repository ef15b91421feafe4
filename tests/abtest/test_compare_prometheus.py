"""`modelplane compare` for a Kubernetes endpoint against a real Prometheus (the Debian package, started on
loopback), loaded through `promtool tsdb create-blocks-from openmetrics` with the series the model server
exports: three windows, three verdicts.

The series carry the labels the ServiceMonitor adds (`namespace`, `service`) and the metric names the
component's PrometheusRule alerts on; the Service names come from the program's own stack outputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from modelplane_components import kubernetes_alerts

from modelplane.abtest import prometheus
from modelplane.aws import EMULATOR_CREDENTIALS
from modelplane.cli import main
from modelplane.config.loader import read_stack_file
from modelplane.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
from modelplane.timewindow import iso
from tests.servers import free_port, load_openmetrics, prometheus_server
from tests.stacks import SimulateStack, stack_config, write_stack

SCRAPE_SECONDS = 15
CASE_MINUTES = 40
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=5)
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
BASELINE, CANDIDATE = "two-tower-v6", "two-tower-v7"


@dataclass(frozen=True)
class Traffic:
    """What one variant serves during one case: requests per minute, 5XX share, latency in seconds."""

    per_minute: float
    error_rate: float
    latency: float


# Each case gets its own 40 minutes, an hour apart, in one Prometheus. "sparse" is "equal" scraped once a
# minute, 15 s off the period boundaries: a single sample per period.
CASES = {
    "worse": (Traffic(500, 0.001, 0.040), Traffic(500, 0.04, 0.040)),
    "equal": (Traffic(500, 0.001, 0.040), Traffic(500, 0.001, 0.040)),
    "few": (Traffic(1, 0.0, 0.040), Traffic(1, 0.0, 0.040)),
    "sparse": (Traffic(500, 0.001, 0.040), Traffic(500, 0.001, 0.040)),
}
HOURS = len(CASES)


def case_window(case: str) -> tuple[datetime, datetime]:
    start = START + timedelta(hours=list(CASES).index(case))
    return start, start + timedelta(minutes=CASE_MINUTES)


def openmetrics(namespace: str, services: dict[str, str]) -> str:
    """Counters and a latency histogram per variant, sampled every 15 s across every case."""
    requests, durations = ["# TYPE http_requests counter"], ["# TYPE http_request_duration_seconds histogram"]
    steps = HOURS * 60 * 60 // SCRAPE_SECONDS
    sparse_start, sparse_end = case_window("sparse")
    for index, variant in enumerate((BASELINE, CANDIDATE)):
        labels = f'namespace="{namespace}",service="{services[variant]}"'
        served = failed = seconds = 0.0
        ok_lines, error_lines = [], []
        for step in range(steps + 1):
            moment = START + timedelta(seconds=step * SCRAPE_SECONDS)
            timestamp = int(moment.timestamp())
            traffic = next(
                (pair[index] for case, pair in CASES.items() if case_window(case)[0] < moment <= case_window(case)[1]),
                None,
            )
            if traffic is not None:
                arriving = traffic.per_minute * SCRAPE_SECONDS / 60
                served += arriving
                failed += arriving * traffic.error_rate
                seconds += arriving * traffic.latency
            if sparse_start < moment <= sparse_end and step % 4 != 1:
                continue  # scraped once a minute here
            total, errors = int(served), int(failed)
            ok_lines.append(f'http_requests_total{{{labels},code="200"}} {total - errors} {timestamp}')
            error_lines.append(f'http_requests_total{{{labels},code="500"}} {errors} {timestamp}')
            for bound in BUCKETS:
                # Every request of these profiles takes `latency`: it falls in the buckets at or above it.
                inside = total if traffic is None or bound >= 0.040 else 0
                durations.append(f'http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {inside} {timestamp}')
            durations.append(f'http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total} {timestamp}')
            durations.append(f"http_request_duration_seconds_sum{{{labels}}} {seconds:.6f} {timestamp}")
            durations.append(f"http_request_duration_seconds_count{{{labels}}} {total} {timestamp}")
        requests += ok_lines + error_lines
    return "\n".join([*requests, *durations, "# EOF"]) + "\n"


@pytest.fixture(scope="module")
def kubernetes_stack(tmp_path_factory: pytest.TempPathFactory, simulate_stack: SimulateStack) -> tuple[Path, Path]:
    """Staging with a second recommender variant taking 10 % of traffic; its settings and outputs files."""
    directory = tmp_path_factory.mktemp("stack")
    config = stack_config("staging")
    recommender = config["modelplane:endpoints"][2]
    recommender["variants"][0]["weight"] = 90
    recommender["variants"].append({"name": CANDIDATE, "image_tag": "7.0.0", "instance_count": 2, "weight": 10})
    settings_file = write_stack(directory, config, "staging")
    outputs_file = directory / "outputs.json"
    outputs_file.write_text(json.dumps(simulate_stack(settings_file).outputs), encoding="utf-8")
    return settings_file, outputs_file


@pytest.fixture(scope="module")
def prometheus_url(kubernetes_stack: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    outputs = json.loads(kubernetes_stack[1].read_text(encoding="utf-8"))["endpoints"]["recommender"]
    data = tmp_path_factory.mktemp("prometheus") / "data"
    load_openmetrics(openmetrics(outputs["namespace"], outputs["services"]), data)
    with prometheus_server(data) as url:
        yield url


def compare(kubernetes_stack: tuple[Path, Path], url: str, case: str, *extra: str) -> int:
    settings_file, outputs_file = kubernetes_stack
    start, end = case_window(case)
    return main(
        [
            *("compare", "--config", str(settings_file), "--outputs", str(outputs_file), "--endpoint", "recommender"),
            *("--prometheus-url", url, "--start", iso(start), "--end", iso(end), *extra),
        ]
    )


@pytest.mark.parametrize(
    ("case", "exit_code", "verdict"),
    [
        ("worse", EXIT_FAILED, "rollback"),
        ("equal", EXIT_OK, "promote"),
        ("few", EXIT_INCONCLUSIVE, "inconclusive"),
        ("sparse", EXIT_OK, "promote"),
    ],
)
def test_the_three_verdicts_from_a_real_prometheus(
    kubernetes_stack: tuple[Path, Path],
    prometheus_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    case: str,
    exit_code: int,
    verdict: str,
) -> None:
    report = tmp_path / "compare.json"

    assert compare(kubernetes_stack, prometheus_url, case, "--json", str(report)) == exit_code, capsys.readouterr().out

    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["verdict"] == verdict
    assert document["source"] == f"Prometheus {prometheus_url}"
    assert (document["baseline"]["variant"], document["candidate"]["variant"]) == (BASELINE, CANDIDATE)
    metrics = {metric["name"]: metric for metric in document["metrics"]}
    # Prometheus has the histogram, so p99 is compared too, except with one sample per period (no rate);
    # model errors are not a separate series.
    p99 = [] if case == "sparse" else ["latency_p99"]
    assert list(metrics) == ["traffic", "server_error_rate", "latency_mean", *p99]
    # Counted exactly from the counters, however sparse the samples: up to the last scrape in the window.
    counted = {"few": CASE_MINUTES, "sparse": 500 * CASE_MINUTES - 375}.get(case, 500 * CASE_MINUTES)
    assert metrics["traffic"]["baseline"] == counted
    assert metrics["latency_mean"]["baseline"] == pytest.approx(40.0)
    if case == "sparse":
        assert any(note.startswith("p99 latency: ") for note in document["notes"])
    if case == "worse":
        assert metrics["server_error_rate"]["decision"] == "fail"
        assert metrics["server_error_rate"]["candidate"] == pytest.approx(4.0, abs=0.01)


def test_business_metrics_of_a_kubernetes_endpoint_come_from_cloudwatch(
    kubernetes_stack: tuple[Path, Path], prometheus_url: str, moto_server_url: str, tmp_path: Path
) -> None:
    settings_file, outputs_file = kubernetes_stack
    config = read_stack_file(settings_file)
    config["modelplane:endpoints"][2]["experiment"] = {
        "business_metrics": [
            {
                "name": "click_through",
                "namespace": "Shop/Recommendations",
                "metric": "Clicks",
                "trials_metric": "Impressions",
                "kind": "proportion",
                "margin": 1,
            }
        ]
    }
    with_business = write_stack(tmp_path, config, "staging")
    start, end = case_window("equal")
    cloudwatch = boto3.client(
        "cloudwatch", region_name="eu-west-1", endpoint_url=moto_server_url, **EMULATOR_CREDENTIALS
    )
    # One call for every datapoint (160; PutMetricData takes up to 1,000).
    data = []
    for variant, clicks in ((BASELINE, 300), (CANDIDATE, 240)):
        for minute in range(CASE_MINUTES):
            dimensions = [{"Name": "VariantName", "Value": variant}]
            timestamp = start + timedelta(minutes=minute)
            data += [
                {"MetricName": "Impressions", "Dimensions": dimensions, "Timestamp": timestamp, "Value": 2000},
                {"MetricName": "Clicks", "Dimensions": dimensions, "Timestamp": timestamp, "Value": clicks},
            ]
    cloudwatch.put_metric_data(Namespace="Shop/Recommendations", MetricData=data)
    report = tmp_path / "compare.json"
    command = ["compare", "--config", str(with_business), "--outputs", str(outputs_file), "--endpoint", "recommender"]
    window = ["--start", iso(start), "--end", iso(end)]

    exit_code = main(
        [
            *command,
            *window,
            "--prometheus-url",
            prometheus_url,
            "--endpoint-url",
            moto_server_url,
            "--json",
            str(report),
        ]
    )

    document = json.loads(report.read_text(encoding="utf-8"))
    assert exit_code == EXIT_FAILED
    click_through = next(metric for metric in document["metrics"] if metric["name"] == "business.click_through")
    assert (click_through["baseline"], click_through["candidate"]) == (pytest.approx(15.0), pytest.approx(12.0))
    assert document["reasons"] == ["click through: the candidate is worse by 3.00 points (margin 1.00 points)"]


def test_a_prometheus_error_exits_2_named(
    kubernetes_stack: tuple[Path, Path], prometheus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"

    assert compare(kubernetes_stack, closed, "equal") == EXIT_USAGE
    assert compare(kubernetes_stack, f"{prometheus_url}/not-prometheus", "equal") == EXIT_USAGE

    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == f"modelplane compare: Prometheus {closed}: [Errno 111] Connection refused"
    assert errors[1] == f"modelplane compare: Prometheus {prometheus_url}/not-prometheus: HTTP 404: Not Found"


def test_a_window_beyond_prometheus_points_gets_coarser_periods(
    kubernetes_stack: tuple[Path, Path], prometheus_url: str, tmp_path: Path
) -> None:
    settings_file, outputs_file = kubernetes_stack
    report = tmp_path / "compare.json"
    command = ["compare", "--config", str(settings_file), "--outputs", str(outputs_file), "--endpoint", "recommender"]

    main([*command, "--prometheus-url", prometheus_url, "--window", "10d", "--json", str(report)])

    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["window"]["period_seconds"] == 120
    assert "periods of 120 s instead of 60 s: Prometheus answers at most 11000 points per series" in document["notes"]


def test_business_metrics_of_an_old_kubernetes_window_take_cloudwatchs_periods(
    kubernetes_stack: tuple[Path, Path], prometheus_url: str, moto_server_url: str, tmp_path: Path
) -> None:
    """Prometheus can step by a minute three weeks back; CloudWatch, which holds the business metrics, then
    answers only multiples of 300 s."""
    settings_file, outputs_file = kubernetes_stack
    config = read_stack_file(settings_file)
    config["modelplane:endpoints"][2]["experiment"] = {
        "business_metrics": [
            {
                "name": "basket",
                "namespace": "Shop/Recommendations",
                "metric": "BasketSize",
                "kind": "continuous",
                "margin": 5,
            }
        ]
    }
    report = tmp_path / "compare.json"
    command = ["compare", "--config", str(write_stack(tmp_path, config, "staging")), "--outputs", str(outputs_file)]
    now = datetime.now(UTC)
    window = ["--start", iso(now - timedelta(days=21)), "--end", iso(now - timedelta(days=20))]

    main(
        [
            *command,
            *("--endpoint", "recommender", *window, "--prometheus-url", prometheus_url),
            *("--endpoint-url", moto_server_url, "--json", str(report)),
        ]
    )

    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["window"]["period_seconds"] == 300


def test_the_series_are_the_ones_the_component_alerts_on(simulate_stack: SimulateStack) -> None:
    """compare reads what the ServiceMonitor scrapes and the PrometheusRule watches, by the same labels."""
    assert (prometheus.REQUESTS_METRIC, prometheus.LATENCY_METRIC) == (
        kubernetes_alerts.REQUESTS_METRIC,
        kubernetes_alerts.LATENCY_METRIC,
    )
    rules = [
        resource
        for resource in simulate_stack("staging").resources
        if resource.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    ]
    expressions = [
        rule["expr"] for resource in rules for group in resource.inputs["spec"]["groups"] for rule in group["rules"]
    ]
    service = next(iter(simulate_stack("staging").outputs["endpoints"]["recommender"]["services"].values()))
    assert any(f'namespace="recommender",service="{service}"' in expression for expression in expressions)


def test_every_prometheus_query_stays_within_its_points() -> None:
    assert prometheus.minimum_period(timedelta(days=7)) == 60
    assert prometheus.minimum_period(timedelta(days=8)) == 120
