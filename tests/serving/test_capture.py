"""Data capture by the server: SageMaker's records and keys in S3 (moto on loopback), read back by today's
`modelplane drift` unchanged; the sampling rate; and a bucket that never answers costs the requests nothing."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from modelplane_components.naming import CAPTURE_HOUR_FORMAT, data_capture_prefix
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from modelplane.drift import embedded
from modelplane.drift.baseline import baseline_from_frame
from modelplane.drift.capture import hour_prefix
from modelplane.timewindow import Window
from modelplane_serving.capture import Capture
from modelplane_serving.config import CaptureSettings
from tests.drift.harness import COLUMNS, requests_of, transactions
from tests.serving.server_process import get, invoke, server

ENDPOINT = "fraud-staging"
VARIANT = "champion"
BUCKET = "artifacts"
REGION = "eu-west-1"
# Predict code taking the drift tests' transactions by name, answering one score per row.
SCORING_CODE = f"""
FEATURE_NAMES = {COLUMNS!r}

def model_fn(model_dir):
    return None

def predict_fn(rows, model):
    return [0.25 for _ in rows]
"""
REQUESTS = 1500
SAMPLING_PERCENT = 30
# A binomial count of REQUESTS draws at SAMPLING_PERCENT: a bug that samples at another rate lands far outside
# five standard deviations (±89 requests), an honest run inside it but once in a million.
TOLERANCE_SD = 5


def moto_s3(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def bucket(moto_server_url: str) -> tuple[Any, str]:
    """The artifact bucket and a key in it, as the stack has them; (S3 client, key ARN)."""
    s3 = moto_s3(moto_server_url)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    kms = boto3.client(
        "kms",
        endpoint_url=moto_server_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return s3, kms.create_key()["KeyMetadata"]["Arn"]


def settings(key_arn: str, **overrides: Any) -> CaptureSettings:
    values: dict[str, Any] = {
        "bucket": BUCKET,
        "prefix": data_capture_prefix(ENDPOINT).rstrip("/"),
        "endpoint": ENDPOINT,
        "variant": VARIANT,
        "kms_key_id": key_arn,
        "flush_seconds": 0.2,
        **overrides,
    }
    return CaptureSettings(**values)


def count(registry: CollectorRegistry, name: str, reason: str | None = None) -> float:
    value = registry.get_sample_value(f"modelplane_data_capture_{name}_total", {"reason": reason} if reason else None)
    assert value is not None, name
    return value


def objects(s3: Any) -> list[dict[str, Any]]:
    return s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])


def test_records_and_keys_are_sagemakers(bucket: tuple[Any, str], moto_server_url: str) -> None:
    s3, key_arn = bucket
    draws = iter([0.1, 0.5, 0.29, 0.3] * 3)  # below 0.3 is sampled: 6 of 12
    registry = CollectorRegistry()
    capture = Capture(
        settings(key_arn, sampling_percent=30), registry, lambda: moto_s3(moto_server_url), lambda: next(draws)
    )
    capture.start()
    before = datetime.now(UTC)
    for index in range(12):
        capture.offer(f"{index},1.5".encode(), "text/csv", b'{"predictions":[0.25]}', "application/json")
    capture.close(timeout=10)
    assert (count(registry, "sampled"), count(registry, "written")) == (6, 6)

    (stored,) = objects(s3)
    key = stored["Key"]
    assert key.startswith(hour_prefix(ENDPOINT, VARIANT, before)), "the layout drift lists"
    assert key.startswith(f"data-capture/{ENDPOINT}/{ENDPOINT}/{VARIANT}/{before:{CAPTURE_HOUR_FORMAT}}/")
    assert key.endswith(".jsonl")
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["captureData"]["endpointInput"]["data"] for record in records] == [
        f"{index},1.5" for index in (0, 2, 4, 6, 8, 10)
    ]
    first = records[0]
    assert first["captureData"] == {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "0,1.5", "encoding": "CSV"},
        "endpointOutput": {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": '{"predictions":[0.25]}',
            "encoding": "JSON",
        },
    }
    assert first["eventVersion"] == "0"
    when = datetime.fromisoformat(first["eventMetadata"]["inferenceTime"])
    assert before - timedelta(seconds=1) < when < datetime.now(UTC)
    assert len({record["eventMetadata"]["eventId"] for record in records}) == 6


def test_binary_payloads_are_base64_and_modes_follow_the_settings(
    bucket: tuple[Any, str], moto_server_url: str
) -> None:
    s3, key_arn = bucket
    capture = Capture(
        settings(key_arn, capture_output=False), CollectorRegistry(), lambda: moto_s3(moto_server_url), lambda: 0.0
    )
    capture.start()
    capture.offer(b"\xff\x00raw", "application/x-npy", b"[1]", "application/json")
    capture.offer(b"\xff not utf-8", "text/csv", b"[1]", "application/json")
    capture.close(timeout=10)
    (stored,) = objects(s3)
    records = [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read().splitlines()]
    assert [record["captureData"] for record in records] == [
        {
            "endpointInput": {
                "observedContentType": "application/x-npy",
                "mode": "INPUT",
                "data": "/wByYXc=",
                "encoding": "BASE64",
            }
        },
        {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "/yBub3QgdXRmLTg=",
                "encoding": "BASE64",
            }
        },
    ]


def test_a_full_buffer_drops_and_counts_instead_of_waiting(bucket: tuple[Any, str]) -> None:
    """An uploader stuck on S3 (here: never released) leaves the buffer full; offers go on, counted lost."""
    _, key_arn = bucket
    stuck = threading.Event()

    class StuckS3:
        def put_object(self, **_: Any) -> None:
            stuck.wait(30)

    registry = CollectorRegistry()
    capture = Capture(settings(key_arn, queue_records=4), registry, StuckS3, lambda: 0.0)
    capture.start()
    for _ in range(50):
        capture.offer(b"1", "text/csv", b"1", "text/csv")
    assert count(registry, "sampled") == 50
    assert count(registry, "lost", "queue_full") >= 40, "at most the buffer (4) and one batch being sent are held"
    capture.close(timeout=0.05)  # the uploader stays stuck until after close: any timeout runs out
    stuck.set()
    lost = sum(count(registry, "lost", reason) for reason in ("queue_full", "upload_failed", "shutdown"))
    assert count(registry, "written") + lost == 50, "every sampled request is written or counted lost"
    assert count(registry, "lost", "shutdown") > 0, "what the stuck uploader held is lost at shutdown"


def scoring_model(directory: Path) -> Path:
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text(textwrap.dedent(SCORING_CODE), encoding="utf-8")
    return directory


def capture_environment(destination_endpoint: str, key_arn: str, **extra: str) -> dict[str, str]:
    return {
        "MODELPLANE_CAPTURE_DESTINATION": f"s3://{BUCKET}/{data_capture_prefix(ENDPOINT).rstrip('/')}",
        "MODELPLANE_CAPTURE_ENDPOINT": ENDPOINT,
        "MODELPLANE_CAPTURE_VARIANT": VARIANT,
        "MODELPLANE_CAPTURE_SAMPLING_PERCENT": str(SAMPLING_PERCENT),
        "MODELPLANE_CAPTURE_KMS_KEY_ID": key_arn,
        "MODELPLANE_CAPTURE_FLUSH_SECONDS": "0.5",
        "AWS_ENDPOINT_URL_S3": destination_endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **extra,
    }


def counters(url: str) -> dict[str, float]:
    """The capture counters on /metrics, as Prometheus parses them (`lost` summed, and by reason)."""
    status, body = get(f"{url}/metrics")
    assert status == 200
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name.startswith("modelplane_data_capture_") and sample.name.endswith("_total"):
                name = sample.name.removeprefix("modelplane_data_capture_").removesuffix("_total")
                reason = sample.labels.get("reason")
                values[f"{name}:{reason}" if reason else name] = sample.value
                values[name] = values.get(name, 0.0) + sample.value if reason else sample.value
    return values


def send_load(url: str, bodies: list[str]) -> list[int]:
    """Every body POSTed once from 8 clients at a time; the status codes."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda body: invoke(url, body, "application/json"), bodies))


def test_under_load_the_capture_is_what_drift_reads(
    bucket: tuple[Any, str], moto_server_url: str, tmp_path: Path
) -> None:
    s3, key_arn = bucket
    frame = transactions(REQUESTS, seed=7)
    bodies = [json.dumps(row) for row in requests_of(frame)]
    start = datetime.now(UTC) - timedelta(seconds=1)
    with server(
        scoring_model(tmp_path / "model"), tmp_path / "server.log", **capture_environment(moto_server_url, key_arn)
    ) as (url, _):
        assert send_load(url, bodies) == [200] * REQUESTS
        deadline = time.monotonic() + 30
        while (found := counters(url))["written"] + found["lost"] < found["sampled"]:
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
    assert found["lost"] == 0, found
    expected, sd = REQUESTS * SAMPLING_PERCENT / 100, (REQUESTS * 0.3 * 0.7) ** 0.5
    assert abs(found["sampled"] - expected) <= TOLERANCE_SD * sd, found
    for stored in objects(s3):
        head = s3.head_object(Bucket=BUCKET, Key=stored["Key"])
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)

    aggregates = embedded.judge_bucket(
        s3,
        BUCKET,
        endpoint_name=ENDPOINT,
        variants=[VARIANT],
        window=Window(start, datetime.now(UTC) + timedelta(seconds=1)),
        baseline=baseline_from_frame(transactions(2000, seed=1).drop(columns=["label"]), "training"),
    )
    assert aggregates.requests == aggregates.rows == found["written"]
    assert not aggregates.skipped
    assert aggregates.features["amount"].values == aggregates.features["country"].values == found["written"]


@contextmanager
def black_hole() -> Iterator[str]:
    """An S3 endpoint on loopback that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)  # how soon the thread sees `stop`
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_bucket_that_never_answers_costs_the_requests_nothing(bucket: tuple[Any, str], tmp_path: Path) -> None:
    """Every request is answered while the uploader hangs on S3; what was sampled and not kept is counted lost.
    (The latency figures with capture off, on and to this black hole are in benchmarks/capture_bench.py.)
    300 requests sample 90 on average, 6 standard deviations above what the buffer and a batch hold (40)."""
    _, key_arn = bucket
    bodies = [json.dumps(row) for row in requests_of(transactions(300, seed=3))]
    with (
        black_hole() as endpoint,
        server(
            scoring_model(tmp_path / "model"),
            tmp_path / "server.log",
            **capture_environment(endpoint, key_arn, MODELPLANE_CAPTURE_QUEUE_RECORDS="20"),
        ) as (url, _),
    ):
        assert send_load(url, bodies) == [200] * len(bodies)
        found = counters(url)
    assert found["written"] == 0
    assert found["lost:queue_full"] > 0
    assert found["sampled"] - found["lost"] <= 2 * 20, "no more held than the buffer and one batch being sent"
