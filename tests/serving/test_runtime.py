"""The model server in-process: SageMaker's /ping and /invocations, payloads as drift parses them,
ONNX models and predict code, bad input, a missing or corrupt model, and the metrics contract."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pytest
from modelplane_components.kubernetes_alerts import LATENCY_METRIC, REQUESTS_METRIC
from modelplane_components.kubernetes_pods import METRICS_PATH, server_environment
from modelplane_components.sagemaker_endpoint import ASYNC_MAX_PAYLOAD_MB, SERVER_MAX_PAYLOAD_ENV
from prometheus_client.parser import text_string_to_metric_families

from modelplane.drift import embedded
from modelplane.drift.baseline import baseline_from_frame
from modelplane.drift.query import WindowAggregates
from modelplane.timewindow import Window
from modelplane_serving import codec, payloads
from modelplane_serving.app import LOADING, ModelState, batch_parameters
from modelplane_serving.config import ConfigError, Settings
from modelplane_serving.errors import ClientError
from tests.drift.harness import (
    PAYLOADS,
    aggregate_rows,
    capture_record,
    comparable,
    row_hash,
    served_body,
    write_capture,
)
from tests.serving.harness import (
    SMOKE_BODY,
    Serve,
    fraud_model,
    fraud_score,
    linear_model,
    linear_value,
    serving,
    typed_model,
    write_model,
)

if TYPE_CHECKING:
    from starlette.testclient import TestClient

JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
def drift_session() -> Iterator[duckdb.DuckDBPyConnection]:
    """One embedded-engine session for the module's drift judgments (`embedded.judge_files_in`): opening and
    closing a DuckDB database costs more than judging a one-request window. Each judgment replaces the session's
    view of its files, so none sees another's."""
    with embedded.connect() as connection:
        yield connection


@pytest.fixture
def fraud_dir(tmp_path: Path) -> Path:
    write_model(tmp_path / "model", fraud_model())
    return tmp_path / "model"


@pytest.fixture(scope="module")
def fraud_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One server of the fraud model for the module's cases of one request each (and the requests after it):
    the server keeps nothing from one request to the next but its metrics, which these cases do not read.
    A server costs about 10 ms to start; the tests of its start, load and metrics start their own."""
    directory = tmp_path_factory.mktemp("fraud") / "model"
    write_model(directory, fraud_model())
    with serving(directory) as client:
        yield client


@pytest.fixture(scope="module")
def typed_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One server of `typed_model` for the module's conversion cases, as `fraud_client`."""
    directory = tmp_path_factory.mktemp("typed") / "model"
    write_model(directory, typed_model())
    with serving(directory) as client:
        yield client


def scores(answer: dict[str, list[dict[str, float]]]) -> list[float]:
    return [prediction["score"] for prediction in answer["predictions"]]


def test_ping_answers_an_empty_200_and_json_gets_one_prediction_per_row(serve: Serve, fraud_dir: Path) -> None:
    rows = [(120.5, "m-204", "IE"), (3000.0, "m-999", "BR")]
    objects = [dict(zip(["amount", "merchant", "country"], row, strict=True)) for row in rows]
    with serve(fraud_dir) as client:
        ping = client.get("/ping")
        assert (ping.status_code, ping.content) == (200, b"")
        for body in [
            json.dumps(objects),
            json.dumps({"instances": objects}),
            json.dumps({"instances": [list(row) for row in rows]}),
            "\n".join(json.dumps(item) for item in objects),
        ]:
            kind = "application/jsonlines" if "\n" in body else "application/json"
            answer = client.post("/invocations", content=body, headers={"content-type": kind})
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            assert scores(answer.json()) == pytest.approx([fraud_score(*row) for row in rows], rel=1e-5)
        single = client.post("/invocations", content=SMOKE_BODY, headers=JSON).json()
        assert single["predictions"][0]["label"] == 0
        assert scores(single) == pytest.approx([fraud_score(120.5, "m-204", "IE")], rel=1e-5)


def test_csv_rows_by_position_and_a_csv_answer(serve: Serve, fraud_dir: Path) -> None:
    with serve(fraud_dir) as client:
        answer = client.post(
            "/invocations",
            content="120.5,m-204,IE\n3000,m-999,BR\n",
            headers={"content-type": "text/csv; charset=utf-8", "accept": "text/csv"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text)))
    assert [int(line[0]) for line in lines] == [0, 1]
    assert [float(line[1]) for line in lines] == pytest.approx(
        [fraud_score(120.5, "m-204", "IE"), fraud_score(3000, "m-999", "BR")], rel=1e-5
    )


@pytest.mark.parametrize("case", [case for case, captured in PAYLOADS.items() if served_body(captured) is not None])
def test_the_server_and_drift_read_a_request_as_the_same_rows(
    case: str, tmp_path: Path, drift_session: duckdb.DuckDBPyConnection
) -> None:
    """One parser: the rows the server makes of a request are the rows drift's query counts in its capture, value
    for value (drift's payload cases, tests/drift/harness.py); a request the server refuses yields drift no rows."""
    captured = PAYLOADS[case]
    body = served_body(captured)
    assert body is not None
    baseline = baseline_from_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}), source="ab.csv")
    when = datetime(2026, 11, 2, 11, tzinfo=UTC)
    files = write_capture(tmp_path, [json.dumps(capture_record(captured, when, event_id="request"))])

    judged = embedded.judge_files_in(drift_session, files, baseline, Window(when, when + timedelta(hours=1)))

    try:
        rows = codec.decode_rows(body, captured.get("observedContentType", ""), baseline.columns)
    except ClientError:
        assert (judged.requests, judged.rows) == (1, 0)
        return
    keyed = [(row_hash("request", ordinal), row) for ordinal, row in enumerate(rows, start=1)]
    assert comparable(judged) == comparable(aggregate_rows(keyed, baseline, WindowAggregates(requests=1)))


@pytest.mark.parametrize("character", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1e"])
def test_lines_end_only_at_cr_and_lf_so_other_breaks_stay_inside_values(character: str) -> None:
    """`str.splitlines` also breaks at these; JSON strings and CSV values may hold them."""
    columns = ["amount", "merchant", "country"]
    objects = [
        {"amount": 1, "merchant": f"m{character}1", "country": "IE"},
        {"amount": 2, "merchant": "m", "country": "FR"},
    ]
    for separator in ["\n", "\r\n", "\r"]:
        jsonl = separator.join(json.dumps(item, ensure_ascii=False) for item in objects) + separator
        assert payloads.rows(jsonl, "application/jsonlines", columns) == objects
    for separator in ["\n", "\r\n"]:
        table = separator.join(f"{o['amount']},{o['merchant']},{o['country']}" for o in objects)
        assert payloads.rows(table, "text/csv", columns) == [{k: str(v) for k, v in o.items()} for o in objects]


def test_csv_is_read_as_rfc_4180_quoted_values_keep_commas_quotes_and_line_breaks() -> None:
    body = '"1.5","a, ""b""",x\r\n\r\n2,c"d,y\n3,"two\r\nlines",z\n'
    assert payloads.rows(body, "text/csv", None) == [
        ["1.5", 'a, "b"', "x"],
        ["2", 'c"d', "y"],
        ["3", "two\r\nlines", "z"],
    ]


@pytest.mark.parametrize("body", ["1,m-204,IE\r2,m-310,FR", f"1,{'m' * 131_073},IE"])
def test_csv_that_python_cannot_read_is_refused_as_a_whole(fraud_client: TestClient, body: str) -> None:
    """A carriage return that ends no record, a value over the csv module's field limit: a 400 naming the
    reason, as drift counts it."""
    with pytest.raises(payloads.PayloadError) as refused:
        payloads.rows(body, "text/csv", ["amount", "merchant", "country"])
    assert str(refused.value).startswith("CSV that cannot be read: ")
    answer = fraud_client.post("/invocations", content=body, headers=CSV)
    assert (answer.status_code, answer.json()) == (400, {"error": str(refused.value)})


def test_a_positional_model_takes_rows_and_objects_named_by_its_metadata(serve: Serve, tmp_path: Path) -> None:
    write_model(tmp_path / "named", linear_model(("a", "b", "c")))
    write_model(tmp_path / "unnamed", linear_model(None))
    with serve(tmp_path / "named") as client:
        by_name = client.post(
            "/invocations", content='[{"a": 1, "b": 2, "c": 3}, {"c": 1, "b": 0, "a": 0}]', headers=JSON
        )
        by_position = client.post("/invocations", content="1,2,3\n0,0,1", headers=CSV)
    assert (
        by_name.json() == by_position.json() == {"predictions": [[linear_value([1, 2, 3])], [linear_value([0, 0, 1])]]}
    )
    with serve(tmp_path / "unnamed") as client:
        named = client.post("/invocations", content='{"column_0": 1, "column_1": 2, "column_2": 3}', headers=JSON)
        assert named.json() == {"predictions": [[linear_value([1, 2, 3])]]}
        refused = client.post("/invocations", content='{"a": 1, "b": 2, "c": 3}', headers=JSON)
        assert refused.status_code == 400
        assert refused.json()["error"] == "row 0: unknown feature 'a' (features: column_0, column_1, column_2)"


def test_input_onnxruntime_refuses_is_a_400_naming_its_reason(serve: Serve, tmp_path: Path) -> None:
    write_model(tmp_path / "model", linear_model(batch=1))
    with serve(tmp_path / "model") as client:
        refused = client.post("/invocations", content="1,2,3\n4,5,6", headers=CSV)
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("the model refused the input: ")
        assert "Got: 2 Expected: 1" in refused.json()["error"]
        assert client.post("/invocations", content="1,2,3", headers=CSV).json() == {"predictions": [[14.5]]}


TYPED_ROW = {"flag": True, "count": 12, "small": 255, "ratio": 0.5, "half": 1.5, "name": "x"}


@pytest.mark.parametrize(
    ("given", "fed"),
    [
        ({}, [1, 12, 255, 0.5, 1.5]),
        ({"flag": "False"}, [0, 12, 255, 0.5, 1.5]),
        ({"flag": "0"}, [0, 12, 255, 0.5, 1.5]),
        ({"flag": " TRUE "}, [1, 12, 255, 0.5, 1.5]),
        ({"flag": 0}, [0, 12, 255, 0.5, 1.5]),
        ({"flag": False}, [0, 12, 255, 0.5, 1.5]),
        ({"count": "-9223372036854775808"}, [1, -9223372036854775808, 255, 0.5, 1.5]),
        ({"count": "1e3", "small": 7.0}, [1, 1000, 7, 0.5, 1.5]),
        ({"ratio": " 2.5e-3 ", "half": "-65504"}, [1, 12, 255, 0.0025, -65504]),
    ],
    ids=str,
)
def test_each_value_is_fed_exactly_as_its_inputs_type(
    typed_client: TestClient, given: dict[str, object], fed: list[float]
) -> None:
    answer = typed_client.post("/invocations", content=json.dumps({**TYPED_ROW, **given}), headers=JSON)
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()["predictions"]
    assert prediction["values"] == pytest.approx(fed, rel=1e-6)
    assert prediction["name_out"] == ["x"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"flag": "False "}, None),
        ({"flag": ""}, "feature 'flag': '' is not true or false (true, false, 1 or 0)"),
        ({"flag": "yes"}, "feature 'flag': 'yes' is not true or false"),
        ({"flag": 2}, "feature 'flag': 2 is not true or false"),
        ({"flag": None}, "feature 'flag': null is not true or false"),
        ({"count": "1.5"}, "feature 'count': '1.5' is not a whole number"),
        ({"count": 1.5}, "feature 'count': 1.5 is not a whole number"),
        ({"count": "nan"}, "feature 'count': 'nan' is not a whole number"),
        ({"count": "1_000"}, "feature 'count': '1_000' is not a whole number"),
        ({"count": True}, "feature 'count': true is not a whole number"),
        ({"count": 2**70}, "feature 'count': 1180591620717411303424 is out of the range of int64"),
        ({"count": "1e30"}, "feature 'count': '1e30' is out of the range of int64"),
        ({"small": 256}, "feature 'small': 256 is out of the range of uint8 (0 to 255)"),
        ({"small": "-1"}, "feature 'small': '-1' is out of the range of uint8 (0 to 255)"),
        ({"ratio": "1e39"}, "feature 'ratio': '1e39' is out of the range of float32"),
        ({"ratio": "-inf"}, "feature 'ratio': '-inf' is out of the range of float32"),
        ({"ratio": "0x10"}, "feature 'ratio': '0x10' is not a number"),
        ({"ratio": False}, "feature 'ratio': false is not a number"),
        ({"ratio": [1]}, "feature 'ratio': [1] is not a number"),
        ({"half": 70000}, "feature 'half': 70000 is out of the range of float16"),
        ({"name": None}, "feature 'name': null is not text"),
        ({"name": True}, "feature 'name': true is not text"),
        ({"name": {"a": 1}}, "feature 'name': {\"a\": 1} is not text"),
    ],
    ids=str,
)
def test_a_value_its_input_cannot_hold_exactly_is_a_400_naming_the_feature(
    typed_client: TestClient, given: dict[str, object], message: str | None
) -> None:
    """numpy's casts would feed "False" as true, 1.5 as 1, 256 as 0 in a uint8, null as "None"; or fail with a 500."""
    answer = typed_client.post("/invocations", content=json.dumps([TYPED_ROW, {**TYPED_ROW, **given}]), headers=JSON)
    if message is None:
        assert answer.status_code == 200, answer.text
        return
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith(f"row 1, {message}")
    assert typed_client.post("/invocations", content=json.dumps(TYPED_ROW), headers=JSON).status_code == 200


def test_csv_values_convert_as_json_strings_do(typed_client: TestClient) -> None:
    answer = typed_client.post("/invocations", content="false,7,8,0.25,2,a b\nTrue,1.0,0,-1,0,", headers=CSV)
    refused = typed_client.post("/invocations", content="no,7,8,0.25,2,a", headers=CSV)
    assert answer.status_code == 200, answer.text
    assert [p["values"] for p in answer.json()["predictions"]] == [[0, 7, 8, 0.25, 2], [1, 1, 0, -1, 0]]
    assert [p["name_out"] for p in answer.json()["predictions"]] == [["a b"], [""]]
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        "row 0, feature 'flag': 'no' is not true or false (true, false, 1 or 0)",
    )


@pytest.mark.parametrize(
    "case",
    [
        ("{", JSON, 400, "application/json data that is not JSON"),
        ("abc,m-204,IE", CSV, 400, "row 0, feature 'amount': 'abc' is not a number"),
        ("1,2", CSV, 400, "rows of 2 values where 3 columns are expected"),
        ('{"amount": 1, "merchant": "m-204"}', JSON, 400, "row 0: no value for feature 'country'"),
        ('{"amount": 1, "merchant": "m", "country": "IE", "age": 3}', JSON, 400, "unknown feature 'age'"),
        ("42", JSON, 400, "JSON that is neither an object, a row, nor a list of them"),
        ("", JSON, 400, "not JSON"),
        ("", CSV, 400, "the body holds no rows"),
        (b"\xff\xfe".decode("latin-1"), CSV, 400, "not UTF-8"),
        ("<x/>", {"content-type": "application/xml"}, 415, "Content-Type application/xml is not supported"),
        ("1,2,3", {}, 415, "Content-Type (none) is not supported"),
        (SMOKE_BODY, {**JSON, "accept": "application/x-protobuf"}, 406, "answers application/json or text/csv"),
    ],
)
def test_a_malformed_request_gets_a_readable_4xx_and_the_worker_goes_on(
    fraud_client: TestClient, case: tuple[str, dict[str, str], int, str]
) -> None:
    body, headers, status, message = case
    answer = fraud_client.post("/invocations", content=body.encode("latin-1"), headers=headers)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    assert fraud_client.get("/ping").status_code == 200
    assert fraud_client.post("/invocations", content=SMOKE_BODY, headers=JSON).status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(serve: Serve, fraud_dir: Path) -> None:
    with serve(fraud_dir, max_payload_bytes=1000) as client:
        answer = client.post("/invocations", content="1,m-204,IE\n" * 200, headers=CSV)
        assert answer.status_code == 413
        assert "limit is 1000" in answer.json()["error"]
        assert client.post("/invocations", content="1,m-204,IE\n" * 10, headers=CSV).status_code == 200


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ({}, "expected model.onnx or code/inference.py; found nothing"),
        ({"model.onnx": b"not a protobuf"}, "model.onnx: onnxruntime cannot load it"),
        ({"a.onnx": b"", "b.onnx": b""}, "2 .onnx files and no model.onnx"),
        ({"code/inference.py": b"def model_fn(model_dir):\n    return 1\n"}, "defines no predict_fn()"),
        ({"code/inference.py": b"import not_installed_anywhere\n"}, "ModuleNotFoundError"),
        (
            {
                "code/inference.py": b"def model_fn(d):\n    raise OSError('weights.bin missing')\ndef predict_fn(x, m):\n    pass\n"
            },
            "model_fn failed: OSError: weights.bin missing",
        ),
    ],
)
def test_a_missing_or_corrupt_model_fails_ping_with_the_reason_in_the_log(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture, contents: dict[str, bytes], reason: str
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name, data in contents.items():
        (model_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (model_dir / name).write_bytes(data)
    with caplog.at_level(logging.ERROR, logger="modelplane_serving"), serve(model_dir) as client:
        ping = client.get("/ping")
        invocation = client.post("/invocations", content=SMOKE_BODY, headers=JSON)
    assert ping.status_code == 503 and reason in ping.json()["error"]
    assert (invocation.status_code, invocation.json()) == (503, {"error": "the model could not be loaded (see /ping)"})
    assert any(reason in record.getMessage() for record in caplog.records), caplog.text


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ({"model.onnx": b"not a protobuf"}, "onnxruntime cannot load it"),
        ({"code/inference.py": b"raise OSError('weights.bin missing')\n"}, "OSError: weights.bin missing"),
    ],
)
def test_a_load_failure_is_logged_before_ping_can_report_it(
    tmp_path: Path, contents: dict[str, bytes], reason: str
) -> None:
    """The model loads on a thread of its own: whoever sees /ping fail must find the reason in the log already."""
    for name, data in contents.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    state = ModelState()
    published_when_logged: list[str] = []

    class Witness(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            published_when_logged.append(state.problem)

    witness = Witness(logging.ERROR)
    logger = logging.getLogger("modelplane_serving")
    logger.addHandler(witness)
    try:
        state.load(Settings(model_dir=tmp_path))
    finally:
        logger.removeHandler(witness)
    assert published_when_logged == [LOADING]
    assert reason in state.problem


def test_no_model_directory_names_where_sagemaker_unpacks_the_archive(serve: Serve, tmp_path: Path) -> None:
    with serve(tmp_path / "absent") as client:
        ping = client.get("/ping")
    assert ping.status_code == 503
    assert f"no model directory {tmp_path / 'absent'}" in ping.json()["error"]


def _series(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_follow_the_contract_compare_and_the_prometheus_rule_read(serve: Serve, fraud_dir: Path) -> None:
    with serve(fraud_dir) as client:
        for _ in range(2):
            client.post("/invocations", content=SMOKE_BODY, headers=JSON)
        client.post("/invocations", content="{", headers=JSON)
        client.get("/ping")
        client.get(METRICS_PATH)
        exposition = client.get(METRICS_PATH)
    assert exposition.headers["content-type"].startswith("text/plain; version=")
    series = _series(exposition.text)
    invocations = {"handler": "/invocations", "method": "POST"}
    assert series[(REQUESTS_METRIC, frozenset({**invocations, "code": "200"}.items()))] == 2
    assert series[(REQUESTS_METRIC, frozenset({**invocations, "code": "400"}.items()))] == 1
    assert series[(f"{LATENCY_METRIC}_count", frozenset(invocations.items()))] == 3
    assert series[(f"{LATENCY_METRIC}_bucket", frozenset({**invocations, "le": "+Inf"}.items()))] == 3
    requests = [labels for name, labels in series if name == REQUESTS_METRIC]
    assert len(requests) == 2, "health checks and scrapes are not model traffic"
    labels = {key for name, labels in series if name.startswith("http_") for key, _ in labels}
    assert labels == {"handler", "method", "code", "le"}, "the ServiceMonitor adds namespace, service and pod"
    assert not any(name.endswith("_created") for name, _ in series)


def test_predict_code_in_the_model_directory_with_a_helper_module_beside_it(serve: Serve, tmp_path: Path) -> None:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (tmp_path / "model" / "scale.txt").write_text("10", encoding="utf-8")
    (code / "arithmetic.py").write_text("def scaled(value, by):\n    return float(value) * by\n", encoding="utf-8")
    (code / "inference.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            from arithmetic import scaled
            from modelplane_serving import ClientError

            FEATURE_NAMES = ["x", "y"]

            def model_fn(model_dir):
                return float((Path(model_dir) / "scale.txt").read_text())

            def predict_fn(rows, scale):
                if any(float(row["y"]) < 0 for row in rows):
                    raise ClientError("y must not be negative")
                return [scaled(row["x"], scale) + float(row["y"]) for row in rows]
            """
        ),
        encoding="utf-8",
    )
    with serve(tmp_path / "model") as client:
        assert client.post("/invocations", content="1,2\n3,4", headers=CSV).json() == {"predictions": [12.0, 34.0]}
        assert client.post("/invocations", content='{"x": 1, "y": 0.5}', headers=JSON).json() == {"predictions": [10.5]}
        refused = client.post("/invocations", content="1,-1", headers=CSV)
        assert (refused.status_code, refused.json()) == (400, {"error": "y must not be negative"})
        assert client.post("/invocations", content="1,2", headers=CSV).status_code == 200


def test_a_failure_of_the_predict_code_tells_the_client_a_request_id_and_the_log_the_details(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    return None\n\n"
        "def predict_fn(rows, model):\n    raise RuntimeError(f'secret-token-123 in /srv/private for {rows[0]}')\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR, logger="modelplane_serving"), serve(tmp_path / "model") as client:
        chosen = client.post("/invocations", content="1,2", headers={**CSV, "X-Request-ID": "req-42.a:b"})
        made_up = client.post("/invocations", content="3,4", headers={**CSV, "X-Request-ID": "<script>"})
        assert client.get("/ping").status_code == 200
    assert (chosen.status_code, chosen.headers["x-request-id"]) == (500, "req-42.a:b")
    assert chosen.json() == {
        "error": "the model failed on this request (request id req-42.a:b); the server's log has the details"
    }
    request_id = made_up.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), "a header it would not echo safely gets an id of its own"
    assert made_up.json()["error"].startswith(f"the model failed on this request (request id {request_id})")
    assert "secret-token" not in chosen.text + made_up.text and "RuntimeError" not in chosen.text + made_up.text
    logged = {record.getMessage(): record.exc_text or "" for record in caplog.records}
    assert "secret-token-123 in /srv/private for ['1', '2']" in logged["request req-42.a:b: the model failed"]
    assert "RuntimeError" in logged[f"request {request_id}: the model failed"]


def test_predict_code_by_module_path_with_its_own_input_and_output(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "team_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "serving.py").write_text(
        textwrap.dedent(
            """
            def model_fn(model_dir):
                return model_dir

            def input_fn(body, content_type):
                return body.decode().split()

            def predict_fn(words, model_dir):
                return {"words": len(words), "model_dir": model_dir}

            def output_fn(prediction, accept):
                return f"{prediction['words']} words from {prediction['model_dir']}", "text/plain"
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with serve(tmp_path / "unused", handler="team_model.serving") as client:
        answer = client.post("/invocations", content="a b c", headers={"content-type": "text/plain"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == f"3 words from {tmp_path / 'unused'}"


def test_a_kubernetes_health_path_answers_as_ping_does(serve: Serve, fraud_dir: Path, tmp_path: Path) -> None:
    with serve(fraud_dir, health_path="/healthz") as client:
        assert client.get("/healthz").status_code == client.get("/ping").status_code == 200
    with serve(tmp_path / "absent", health_path="/healthz") as client:
        assert client.get("/healthz").status_code == 503


@pytest.mark.parametrize(("max_payload_mb", "payload_mb"), [(6, 6), (0.5, 1), (60, 60), (1024, 100)])
def test_execution_parameters_keep_batch_transform_within_its_limits_and_the_servers(
    serve: Serve, fraud_dir: Path, max_payload_mb: float, payload_mb: int
) -> None:
    """SageMaker batch transform: MaxPayloadInMB <= 100, and MaxConcurrentTransforms x MaxPayloadInMB <= 100
    (CreateTransformJob); records of a mini-batch must fit what the server takes."""
    with serve(fraud_dir, max_payload_bytes=int(max_payload_mb * 1024 * 1024)) as client:
        answer = client.get("/execution-parameters")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    parameters = answer.json()
    assert set(parameters) == {"MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB"}
    assert (parameters["BatchStrategy"], parameters["MaxPayloadInMB"]) == ("MULTI_RECORD", payload_mb)
    assert 1 <= parameters["MaxConcurrentTransforms"] <= (os.cpu_count() or 1)
    assert parameters["MaxConcurrentTransforms"] * parameters["MaxPayloadInMB"] <= 100
    assert batch_parameters(Settings(max_payload_bytes=60 * 1024 * 1024), cpus=16)["MaxConcurrentTransforms"] == 1
    assert batch_parameters(Settings(), cpus=96)["MaxConcurrentTransforms"] == 16


def test_settings_from_the_environment() -> None:
    assert Settings.from_environ({}).port == 8080
    assert Settings.from_environ({}).model_dir == Path("/opt/ml/model")
    assert Settings.from_environ({"MODELPLANE_PORT": "9000"}).port == 9000
    configured = Settings.from_environ(server_environment(9000, "/healthz"))
    assert (configured.port, configured.health_path) == (9000, "/healthz"), "as the Kubernetes component sets it"
    assert server_environment(8080, "/ping") == {}, "the defaults are the server's own"
    asynchronous = Settings.from_environ({SERVER_MAX_PAYLOAD_ENV: ASYNC_MAX_PAYLOAD_MB})
    assert asynchronous.max_payload_bytes == 1 << 30, "as the SageMaker component sets it for asynchronous endpoints"
    assert Settings.from_environ({}).max_payload_bytes == 6 << 20, "real-time: SageMaker's 6 MB"
    both = {"MODELPLANE_PORT": "9000", "SAGEMAKER_BIND_TO_PORT": "9100"}
    assert Settings.from_environ(both).port == 9100, "SageMaker's variable wins in an inference pipeline"
    for environ, message in [
        ({"SAGEMAKER_BIND_TO_PORT": "http"}, "SAGEMAKER_BIND_TO_PORT='http': not a whole number"),
        ({"MODELPLANE_PORT": "70000"}, "MODELPLANE_PORT=70000: must be between 1 and 65535"),
        ({"MODELPLANE_HEALTH_PATH": "healthz"}, "MODELPLANE_HEALTH_PATH='healthz': a path starts with /"),
        ({"MODELPLANE_MAX_PAYLOAD_MB": "0"}, "MODELPLANE_MAX_PAYLOAD_MB=0: must be greater than 0"),
        ({"MODELPLANE_LOG_LEVEL": "loud"}, "MODELPLANE_LOG_LEVEL='LOUD': not one of"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Settings.from_environ(environ)
