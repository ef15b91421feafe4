"""The worked example of docs/ab-testing.md, reproducible: synthetic CloudWatch metrics for the staging
fraud endpoint in an in-thread moto server, then the real `modelplane compare` over them.

    python docs/examples/ab_compare_example.py

Writes docs/images/ab-compare-example.png and prints the table and the Markdown comment.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from ruamel.yaml import YAML

from modelplane.cli import main
from modelplane.config.loader import read_stack_file
from modelplane.config.stackfiles import PROJECT_ROOT, stack_file
from modelplane.timewindow import iso

PORT = 5077
REGION = "eu-west-1"
ENDPOINT_NAME = "fraud-staging"
MINUTES = 120
IMAGE = PROJECT_ROOT / "docs" / "images" / "ab-compare-example.png"
# The business metric the example declares: confirmed frauds the model flagged, out of confirmed frauds.
FRAUD_CAUGHT = {
    "name": "fraud_caught",
    "namespace": "Payments/Fraud",
    "metric": "ConfirmedFraudFlagged",
    "trials_metric": "ConfirmedFraud",
    "dimensions": {"EndpointName": ENDPOINT_NAME},
    "kind": "proportion",
    "better": "higher",
    "margin": 2,
}


def publish(cloudwatch: Any, now: datetime) -> None:
    """Champion (80 % of traffic) steady; the challenger (20 %) starts failing after an hour."""
    rng = random.Random(7)  # noqa: S311 - synthetic data, seeded to be reproducible
    for variant, share in (("champion", 0.8), ("challenger", 0.2)):
        dimensions = [{"Name": "EndpointName", "Value": ENDPOINT_NAME}, {"Name": "VariantName", "Value": variant}]
        data: dict[str, list[dict[str, object]]] = {"AWS/SageMaker": [], "Payments/Fraud": []}
        for minute in range(MINUTES):
            timestamp = now - timedelta(minutes=MINUTES - minute)
            invocations = round(rng.gauss(1000 * share, 25 * share))
            error_rate = 0.001 if variant == "champion" or minute < 60 else 0.001 + 0.0004 * (minute - 60)
            errors = sum(rng.random() < error_rate for _ in range(invocations))
            latency_us = rng.gauss(42_000 if variant == "champion" else 43_500, 2_500)
            data["AWS/SageMaker"] += [
                {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": timestamp, "Value": invocations},
                {
                    "MetricName": "Invocation5XXErrors",
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Value": errors,
                },
                {"MetricName": "InvocationModelErrors", "Dimensions": dimensions, "Timestamp": timestamp, "Value": 0},
                {"MetricName": "ModelLatency", "Dimensions": dimensions, "Timestamp": timestamp, "Value": latency_us},
            ]
            if minute % 10 == 0:
                frauds = round(150 * share)
                caught = sum(rng.random() < (0.9 if variant == "champion" else 0.91) for _ in range(frauds))
                data["Payments/Fraud"] += [
                    {"MetricName": "ConfirmedFraud", "Dimensions": dimensions, "Timestamp": timestamp, "Value": frauds},
                    {
                        "MetricName": "ConfirmedFraudFlagged",
                        "Dimensions": dimensions,
                        "Timestamp": timestamp,
                        "Value": caught,
                    },
                ]
        for namespace, datums in data.items():
            for start in range(0, len(datums), 500):
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=datums[start : start + 500])


def run() -> int:
    # moto answers percentile queries with a 500 (compare notes it); keep its server log quiet about it.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{PORT}"
        cloudwatch = boto3.client(
            "cloudwatch", region_name=REGION, endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="x"
        )
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        publish(cloudwatch, now)
        with tempfile.TemporaryDirectory() as directory:
            config = read_stack_file(stack_file("staging"))
            config["modelplane:endpoints"][0]["experiment"] = {"business_metrics": [FRAUD_CAUGHT]}
            settings = Path(directory) / "Pulumi.staging.yaml"
            with settings.open("w", encoding="utf-8") as handle:
                YAML().dump({"config": config}, handle)
            outputs = Path(directory) / "outputs.json"
            outputs.write_text(json.dumps({"endpoints": {"fraud": {"endpoint_name": ENDPOINT_NAME}}}), encoding="utf-8")
            markdown = Path(directory) / "compare.md"
            code = main(
                [
                    *("compare", "--config", str(settings), "--outputs", str(outputs), "--endpoint", "fraud"),
                    *("--endpoint-url", url, "--start", iso(now - timedelta(minutes=MINUTES)), "--end", iso(now)),
                    *("--plot", str(IMAGE), "--markdown", str(markdown)),
                ]
            )
            print(markdown.read_text(encoding="utf-8"))
        return code
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(run())
