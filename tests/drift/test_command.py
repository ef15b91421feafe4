"""`modelplane drift` against a moto server holding capture files in SageMaker's own format.

The bucket and endpoint names come from the prod program's recorded stack outputs, and the files lie
where the recorded endpoint config tells SageMaker to write them, so the test also holds the
contract between program and command. A steady window passes, a drifted one fails with the features
that moved, too few captures are inconclusive, and bad input exits 2. The statistics are checked
against scipy's own functions.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from duckdb import DuckDBPyConnection
from scipy import stats

from modelplane.aws import EMULATOR_CREDENTIALS
from modelplane.cli import main
from modelplane.drift import embedded
from modelplane.drift.baseline import (
    Baseline,
    CategoricalFeature,
    baseline_from_frame,
    load_baseline,
    read_training_csv,
)
from modelplane.drift.capture import CaptureError, hour_prefix, variant_prefix
from modelplane.drift.metrics import DRIFT_NAMESPACE, DRIFTED_FEATURES, FEATURE_PSI
from modelplane.drift.statistics import Verdict, compare, population_stability_index
from modelplane.errors import EXIT_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
from modelplane.settings import DataDrift
from modelplane.timewindow import Window
from tests.drift.harness import (
    COLUMNS,
    COUNTRIES,
    capture_line,
    capture_record,
    payload,
    requests_of,
    transactions,
    write_capture,
)
from tests.stacks import SimulateStack, stack_config, write_stack

pytestmark = pytest.mark.long

UNTIL = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
WINDOW = Window(UNTIL - timedelta(hours=6), UNTIL)


def line(endpoint_input: dict[str, Any], when: datetime) -> str:
    return json.dumps(capture_record(endpoint_input, when))


@pytest.fixture(scope="module")
def training(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("training") / "train.csv"
    transactions(5000, seed=1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def baseline_file(training: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "baseline.json"
    assert main(["drift", "baseline", "--from", str(training), "--drop", "label", "--out", str(out)]) == EXIT_OK
    return out


class CaptureBucket:
    """The prod artifact bucket, in the session's moto server emptied for each test."""

    def __init__(self, s3: Any, outputs: dict[str, Any]) -> None:
        self.s3 = s3
        self.bucket = outputs["registry"]["bucket_name"]
        self.endpoint_name = outputs["endpoints"]["fraud"]["endpoint_name"]
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def write(self, frame: pd.DataFrame, *, end: datetime, span: timedelta, variant: str = "champion") -> None:
        """Requests spread evenly over [end - span, end), one capture file per hour, mixed encodings."""
        styles = ["csv", "json", "base64"]
        step = span / len(frame)
        files: dict[str, list[str]] = {}
        for index, row in enumerate(frame.to_dict(orient="records")):
            when = end - span + index * step
            files.setdefault(hour_prefix(self.endpoint_name, variant, when), []).append(
                capture_line(row, when, styles[index % 3])
            )
        for prefix, lines in files.items():
            key = f"{prefix}{uuid.uuid4()}.jsonl"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=("\n".join(lines) + "\n").encode())


@pytest.fixture(scope="module")
def s3(running_moto_server: str) -> Any:
    """One S3 client of the moto server for the module's tests (making a client costs about 0.04 CPU-s)."""
    return boto3.client("s3", region_name="eu-west-1", endpoint_url=running_moto_server, **EMULATOR_CREDENTIALS)


@pytest.fixture
def bucket(moto_server_url: str, s3: Any, prod_outputs: dict[str, Any]) -> CaptureBucket:
    return CaptureBucket(s3, prod_outputs)


@pytest.fixture
def outputs_file(prod_outputs: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(prod_outputs), encoding="utf-8")
    return path


RunDrift = Callable[..., int]


@pytest.fixture
def run_drift(moto_server_url: str, outputs_file: Path, baseline_file: Path) -> RunDrift:
    """`modelplane drift` on prod's fraud endpoint against the moto server, for a 6-hour window."""

    def run(*extra: str, baseline: Path = baseline_file) -> int:
        command = ["drift", "--stack", "prod", "--outputs", str(outputs_file), "--endpoint", "fraud"]
        window = [
            "--start",
            (UNTIL - timedelta(hours=6)).isoformat(),
            "--end",
            UNTIL.isoformat(),
            "--endpoint-url",
            moto_server_url,
        ]
        return main([*command, "--baseline", str(baseline), *window, *extra])

    return run


def test_capture_files_lie_where_the_program_tells_sagemaker_to_write(
    simulate_stack: SimulateStack, prod_outputs: dict[str, Any]
) -> None:
    (config,) = simulate_stack("prod").of_type(CONFIG)
    destination = config.inputs["dataCaptureConfig"]["destinationS3Uri"]
    endpoint_name = prod_outputs["endpoints"]["fraud"]["endpoint_name"]
    bucket = prod_outputs["registry"]["bucket_name"]
    # SageMaker appends <endpoint-name>/<variant>/yyyy/mm/dd/hh/ to the destination.
    assert f"s3://{bucket}/{variant_prefix(endpoint_name, 'champion')}" == f"{destination}/{endpoint_name}/champion/"


def test_baseline_from_training_csv_is_the_documented_format(baseline_file: Path, training: Path) -> None:
    document = json.loads(baseline_file.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == ("modelplane-drift-baseline", 1)
    assert document["columns"] == COLUMNS, "the label is dropped, the order is the CSV request's"
    amount = document["features"]["amount"]
    assert amount["kind"] == "numeric" and len(amount["bin_shares"]) == len(amount["bin_edges"]) + 1 == 10
    assert amount["bin_shares"] == pytest.approx([0.1] * 10, abs=0.002), "decile bins of the training data"
    training_amounts = pd.read_csv(training)["amount"]
    assert amount["bin_edges"] == pytest.approx(np.quantile(training_amounts, np.linspace(0, 1, 11)[1:-1]).tolist())
    country = document["features"]["country"]
    assert country["kind"] == "categorical"
    assert country["shares"] == pytest.approx(dict(zip(*COUNTRIES, strict=True)), abs=0.03)
    assert load_baseline(baseline_file) == Baseline.model_validate(document)


def test_steady_window_is_no_drift(bucket: CaptureBucket, run_drift: RunDrift, tmp_path: Path, capsys: Any) -> None:
    bucket.write(transactions(900, seed=2), end=UNTIL, span=timedelta(hours=5))
    report = tmp_path / "report.json"
    assert run_drift("--json", str(report)) == EXIT_OK
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith("NO DRIFT: 4 features within their baseline")
    document = json.loads(report.read_text(encoding="utf-8"))
    assert (document["verdict"], document["requests"], document["rows"], document["skipped"]) == (
        "no-drift",
        900,
        900,
        {},
    )
    assert document["capture_files"] == 5
    assert {feature["name"] for feature in document["features"]} == set(COLUMNS)


def test_drifted_window_names_the_features_that_moved_and_publishes_them(
    bucket: CaptureBucket, run_drift: RunDrift, moto_server_url: str, tmp_path: Path, capsys: Any
) -> None:
    bucket.write(transactions(900, seed=3, drifted=True), end=UNTIL, span=timedelta(hours=5))
    # Outside the window: steady data an hour before it must not dilute the verdict.
    bucket.write(transactions(300, seed=4), end=UNTIL - timedelta(hours=6), span=timedelta(hours=1))
    paths = {name: tmp_path / name for name in ("report.json", "report.md", "report.png")}
    command = ["--json", str(paths["report.json"]), "--markdown", str(paths["report.md"])]
    assert run_drift(*command, "--plot", str(paths["report.png"]), "--publish") == EXIT_FAILED
    printed = capsys.readouterr().out
    assert "DRIFT: 3 of 4 features drifted (amount, merchant_risk, country)" in printed
    document = json.loads(paths["report.json"].read_text(encoding="utf-8"))
    assert document["rows"] == 900
    features = {feature["name"]: feature for feature in document["features"]}
    assert not features["channel"]["drifted"]
    assert features["country"]["new_categories"].keys() == {"BR"}
    assert features["amount"]["psi"] >= 0.2 and features["amount"]["test"] == "ks"
    assert "| `amount` | numeric |" in paths["report.md"].read_text(encoding="utf-8")
    assert paths["report.png"].read_bytes().startswith(b"\x89PNG")
    cloudwatch = boto3.client(
        "cloudwatch", region_name="eu-west-1", endpoint_url=moto_server_url, **EMULATOR_CREDENTIALS
    )
    published = cloudwatch.get_metric_statistics(
        Namespace=DRIFT_NAMESPACE,
        MetricName=DRIFTED_FEATURES,
        Dimensions=[{"Name": "EndpointName", "Value": bucket.endpoint_name}],
        StartTime=UNTIL - timedelta(hours=1),
        EndTime=UNTIL + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [point["Maximum"] for point in published] == [3]
    per_feature = cloudwatch.list_metrics(Namespace=DRIFT_NAMESPACE, MetricName=FEATURE_PSI)["Metrics"]
    assert {d["Value"] for m in per_feature for d in m["Dimensions"] if d["Name"] == "Feature"} == set(COLUMNS)


def test_reports_go_into_folders_that_do_not_exist_yet(
    bucket: CaptureBucket, run_drift: RunDrift, tmp_path: Path
) -> None:
    bucket.write(transactions(300, seed=2), end=UNTIL, span=timedelta(hours=2))
    reports = tmp_path / "reports" / "drift"

    assert run_drift("--json", str(reports / "drift.json"), "--markdown", str(reports / "drift.md")) == EXIT_OK

    assert json.loads((reports / "drift.json").read_text(encoding="utf-8"))["verdict"] == "no-drift"
    assert (reports / "drift.md").read_text(encoding="utf-8").startswith("#")


def test_an_s3_error_names_the_prefix_and_keeps_the_aws_error_as_its_cause(moto_server_url: str, s3: Any) -> None:
    with pytest.raises(CaptureError) as raised:
        embedded.capture_objects(s3, "no-such-bucket", endpoint_name="fraud-prod", variants=["champion"], window=WINDOW)

    assert str(raised.value).startswith(
        "s3://no-such-bucket/data-capture/fraud-prod/fraud-prod/champion/2026/11/02/06/: "
    )
    assert "ListObjectsV2: NoSuchBucket" in str(raised.value)
    assert isinstance(raised.value.__cause__, ClientError), "the cause shows under MODELPLANE_TRACEBACK=1"


def test_too_few_captures_is_inconclusive(bucket: CaptureBucket, run_drift: RunDrift, capsys: Any) -> None:
    bucket.write(transactions(150, seed=5, drifted=True), end=UNTIL, span=timedelta(hours=2))
    assert run_drift() == EXIT_INCONCLUSIVE
    assert "INCONCLUSIVE: 150 captured rows in the window, 200 needed (drift.min_records)" in capsys.readouterr().out


def test_threshold_comes_from_the_endpoint_settings(
    moto_server_url: str, bucket: CaptureBucket, outputs_file: Path, baseline_file: Path, tmp_path: Path
) -> None:
    bucket.write(transactions(150, seed=6), end=UNTIL, span=timedelta(hours=2))
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["drift"]["min_records"] = 100
    settings = write_stack(tmp_path, config, "prod")
    command = ["drift", "--config", str(settings), "--outputs", str(outputs_file), "--endpoint", "fraud"]
    # `run_drift`'s window and baseline: the query its commands ran, translated once.
    window = [
        "--baseline",
        str(baseline_file),
        "--start",
        (UNTIL - timedelta(hours=6)).isoformat(),
        "--end",
        UNTIL.isoformat(),
        "--endpoint-url",
        moto_server_url,
    ]
    assert main([*command, *window]) == EXIT_OK


def test_a_training_csv_serves_as_baseline_directly(
    bucket: CaptureBucket, run_drift: RunDrift, training: Path, capsys: Any
) -> None:
    bucket.write(transactions(600, seed=7), end=UNTIL, span=timedelta(hours=3))
    # JSON requests name their features; the CSV's label column is never in a request and is not judged.
    assert run_drift(baseline=training) == EXIT_OK
    assert "label" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--endpoint", "churn"], "no endpoint 'churn' (endpoints: fraud, recommender)"),
        (["--baseline", "missing.json"], "missing.json: no such file"),
        (["--window", "3w"], "not a duration: '3w'"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_drift: RunDrift, arguments: list[str], message: str, capsys: Any) -> None:
    try:
        code = run_drift(*arguments)  # argparse keeps the last of a repeated option
    except SystemExit as exited:
        code = exited.code
    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("capture", [{"enabled": False}, {"capture": ["output"]}])
def test_an_endpoint_that_captures_no_requests_exits_2_saying_so(
    outputs_file: Path, baseline_file: Path, tmp_path: Path, capture: dict[str, Any], capsys: Any
) -> None:
    """Not "too little data, wait": there will never be any."""
    config = stack_config("prod")
    fraud = config["modelplane:endpoints"][0]
    fraud["data_capture"], fraud["drift"] = capture, {"enabled": False}
    settings = write_stack(tmp_path, config, "prod")
    command = ["drift", "--config", str(settings), "--outputs", str(outputs_file), "--endpoint", "fraud"]

    assert main([*command, "--baseline", str(baseline_file)]) == EXIT_USAGE
    assert "endpoint 'fraud' does not capture its requests" in capsys.readouterr().err


def test_a_baseline_file_of_another_shape_is_refused(run_drift: RunDrift, tmp_path: Path, capsys: Any) -> None:
    broken = tmp_path / "baseline.json"
    broken.write_text(json.dumps({"format": "modelplane-drift-baseline", "version": 2}), encoding="utf-8")
    assert run_drift(baseline=broken) == EXIT_USAGE
    assert "baseline.json: not a modelplane-drift-baseline version 1 file: version: input should be 1" in (
        capsys.readouterr().err
    )


# --- payloads and statistics -------------------------------------------------------------------


def test_payloads_in_every_encoding_become_rows_on_the_sql_path(tmp_path: Path) -> None:
    """What the query makes of each form of request: rows by position or by name, and skips by reason."""
    baseline = baseline_from_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}), source="ab.csv")
    when = UNTIL - timedelta(hours=1)
    requests = [
        payload("text/csv", "1,x\n2,y", "CSV"),
        payload("text/csv; charset=utf-8", base64.b64encode(b"3,z").decode(), "BASE64"),
        payload("application/json", '[{"a": 1}, {"b": "w"}]', "JSON"),
        payload("application/json", '{"instances": [[1, "v"], [2, "w"]]}', "JSON"),
        payload("application/jsonlines", '{"a": 1}\n{"a": 2}\n', "JSON"),
        payload("text/csv", "1,2,3", "CSV"),
        payload("image/png", base64.b64encode(b"png").decode(), "BASE64"),
        payload("application/json", "{", "JSON"),
        {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV"},
    ]
    files = write_capture(tmp_path, [line(request, when) for request in requests])

    answer = embedded.judge_files(files, baseline, WINDOW)

    assert (answer.requests, answer.rows) == (9, 9)
    assert dict(answer.skipped) == {
        "rows of 3 values where 2 columns are expected": 1,
        "content type image/png is not CSV or JSON": 1,
        "application/json data that is not JSON": 1,
        "no data (was only the output captured?)": 1,
    }
    a, b = answer.features["a"], answer.features["b"]
    assert (a.rows, a.values, sorted(a.sample_values)) == (8, 8, [1, 1, 1, 1, 2, 2, 2, 3])
    assert (b.rows, dict(b.buckets)) == (6, {"x": 1, "y": 1, "z": 1, "w": 2, "v": 1})


def test_population_stability_index_is_the_symmetrised_kullback_leibler_divergence() -> None:
    expected, actual = [0.5, 0.3, 0.2], [0.25, 0.35, 0.4]
    assert population_stability_index(expected, actual) == pytest.approx(
        stats.entropy(actual, expected) + stats.entropy(expected, actual)
    )
    assert population_stability_index(expected, expected) == 0


def test_numeric_categories_match_however_the_training_csv_and_the_requests_spell_them(tmp_path: Path) -> None:
    """pandas reads a numeric column with gaps as floats (5411.0); requests send 5411 as CSV text or a JSON
    number. The same category must be the same category, or every request is a "new" one."""
    random = np.random.default_rng(3)
    codes = random.choice([5411, 5812, 7011], 2000, p=[0.5, 0.3, 0.2])
    training = pd.DataFrame({"amount": random.lognormal(4.0, 0.8, 2000), "mcc": codes.astype(float)})
    training.loc[::50, "mcc"] = np.nan
    path = tmp_path / "train.csv"
    training.to_csv(path, index=False)
    baseline = baseline_from_frame(read_training_csv(path), source="train.csv", categorical=["mcc"])
    mcc = baseline.features["mcc"]
    assert isinstance(mcc, CategoricalFeature) and set(mcc.shares) == {"5411", "5812", "7011"}
    requests = [
        (float(amount), int(code)) for amount, code in zip(random.lognormal(4.0, 0.8, 600), codes, strict=False)
    ]
    when = UNTIL - timedelta(hours=1)
    csv_lines = [line(payload("text/csv", f"{a},{c}", "CSV"), when) for a, c in requests[:300]]
    json_lines = [
        line(payload("application/json", json.dumps({"amount": a, "mcc": float(c)}), "JSON"), when)
        for a, c in requests[300:]
    ]

    report = compare(
        baseline,
        embedded.judge_files(write_capture(tmp_path / "capture", csv_lines + json_lines), baseline, WINDOW),
        DataDrift(),
    )

    judged = {feature.name: feature for feature in report.features}["mcc"]
    assert judged.new_categories == {} and not judged.drifted, judged.reasons


def test_steady_windows_rarely_raise_a_false_alarm(
    baseline_file: Path, tmp_path: Path, drift_session: DuckDBPyConnection
) -> None:
    # The module's baseline over the commands' window: the query the commands ran, translated once (0.1 CPU-s).
    baseline = load_baseline(baseline_file)
    when = UNTIL - timedelta(hours=1)
    verdicts = []
    for seed in range(11, 31):
        lines = [capture_line(row, when, "csv") for row in requests_of(transactions(500, seed=seed))]
        files = write_capture(tmp_path / str(seed), lines)
        judged = embedded.judge_files_in(drift_session, files, baseline, WINDOW)
        verdicts.append(compare(baseline, judged, DataDrift()).verdict)
    assert verdicts.count(Verdict.DRIFT) <= 1, verdicts
