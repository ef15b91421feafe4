"""The model server as the image runs it: `python -m modelplane_serving serve` in its own process, over
HTTP on loopback, stopped by SIGTERM; and scraped by a real Prometheus, read back as `compare` reads it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from modelplane_components.kubernetes_pods import METRICS_PATH

from modelplane.abtest.prometheus import kubernetes_observations
from modelplane.timewindow import Window
from tests.servers import prometheus_server
from tests.serving.server_process import STARTUP_SECONDS, environment, get, invoke, server

pytestmark = pytest.mark.long

# Predict code that takes `delay` seconds per request and fails (500) on the value "fail".
SLOW_CODE = """
import time

def model_fn(model_dir):
    return None

def predict_fn(rows, model):
    for row in rows:
        if row[0] == "fail":
            raise RuntimeError("asked to fail")
        time.sleep(float(row[0]))
    return [1 for _ in rows]
"""


def predict_code(directory: Path) -> Path:
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text(textwrap.dedent(SLOW_CODE), encoding="utf-8")
    return directory


def await_scraped(prometheus: str, query: str, expected: float) -> None:
    """Until Prometheus holds what `query` counts (its discovery hands new targets over every 5 s)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        status, body = get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': query})}")
        result = json.loads(body)["data"]["result"] if status == 200 else []
        if result and float(result[0]["value"][1]) == expected:
            return
        assert time.monotonic() < deadline, f"Prometheus has no {query} == {expected}: {body!r}"
        time.sleep(0.2)


def test_sigterm_lets_the_request_in_flight_finish_then_the_server_exits_0(tmp_path: Path) -> None:
    with server(predict_code(tmp_path / "model"), tmp_path / "server.log") as (url, process):
        answers: list[int] = []
        in_flight = threading.Thread(target=lambda: answers.append(invoke(url, "1.5")))
        in_flight.start()
        time.sleep(0.5)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        stopped_after = time.monotonic() - signalled
        in_flight.join(timeout=5)
    assert answers == [200], "the request in flight is answered"
    assert code == 0
    assert 0.5 < stopped_after < 5, "it waited for the request, and no longer"
    assert get(f"{url}/ping")[0] == 0, "nothing listens any more"


def test_a_bad_environment_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelplane_serving", "serve"],
        env=environment(SAGEMAKER_BIND_TO_PORT="eighty"),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr == "modelplane-serving: SAGEMAKER_BIND_TO_PORT='eighty': not a whole number\n"
    other = subprocess.run(
        [sys.executable, "-m", "modelplane_serving", "train"], capture_output=True, text=True, check=False, timeout=30
    )
    assert other.returncode == 2 and "invalid choice: 'train'" in other.stderr


def test_prometheus_scrapes_the_series_compare_reads_per_service(tmp_path: Path) -> None:
    """Two variants behind their Services, scraped as the ServiceMonitor labels them (`namespace`,
    `service`); `compare` counts exactly the requests and the 5XX each served."""
    baseline_dir, candidate_dir = predict_code(tmp_path / "baseline"), predict_code(tmp_path / "candidate")
    with (
        server(baseline_dir, tmp_path / "baseline.log") as (baseline, _),
        server(candidate_dir, tmp_path / "candidate.log") as (candidate, _),
    ):
        scrape = [
            {
                "job_name": service,
                "scrape_interval": "1s",
                "metrics_path": METRICS_PATH,
                "static_configs": [
                    {"targets": [url.removeprefix("http://")], "labels": {"namespace": "fraud", "service": service}}
                ],
            }
            for service, url in (("fraud-current", baseline), ("fraud-candidate", candidate))
        ]
        with prometheus_server(tmp_path / "data", scrape) as prometheus:
            for url in (baseline, candidate):
                invoke(url, "0")
                invoke(url, "fail")  # every series exists before the window opens
            await_scraped(prometheus, 'count(http_requests_total{code="500"})', 2)
            time.sleep(1.5)
            start = datetime.now(UTC)
            assert [invoke(baseline, "0") for _ in range(7)] == [200] * 7
            assert [invoke(candidate, value) for value in ["0", "fail", "0", "fail", "fail"]] == [
                200,
                500,
                200,
                500,
                500,
            ]
            time.sleep(2.5)
            end = datetime.now(UTC)
            observations = kubernetes_observations(
                prometheus,
                "fraud",
                ("fraud-current", "fraud-candidate"),
                window=Window(start - timedelta(seconds=1), end),
                period=1,
            )
    assert (observations.baseline.total_invocations, observations.candidate.total_invocations) == (7, 5)
    assert sum(observations.baseline.server_errors.values()) == 0
    assert sum(observations.candidate.server_errors.values()) == 3
    assert observations.candidate.latency_ms, json.dumps(observations.notes)
