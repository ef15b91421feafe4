"""The drift query against the server's parser on generated payloads (hypothesis): JSON documents of every
shape the parser knows and many it refuses, JSON Lines split at every line break Python knows, CSV with
quotes, line breaks and carriage returns where Python's csv reader puts them, numbers as Python's float()
reads them, base64, content types and encodings. Drift must read each request as the reference does: the
server's rows (`modelplane_serving.payloads`), or drift's documented refusals, then drift's value rules.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from duckdb import DuckDBPyConnection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplane.drift import embedded
from modelplane.drift.baseline import baseline_from_frame
from modelplane.drift.query import DUPLICATE_KEY
from modelplane.timewindow import Window
from modelplane_serving import payloads
from modelplane_serving.payloads import PayloadError
from tests.drift.harness import (
    capture_record,
    comparable,
    payload,
    payload_rows,
    reference_aggregates,
    request_text,
    write_capture,
)

pytestmark = pytest.mark.long

END = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
WINDOW = Window(END - timedelta(hours=1), END)

# Numbers as text: what Python's float() reads (with underscores, spaces, signs, no leading digit) and not.
NUMERALS = ["1", " 1.5 ", "\t-2e3\u00a0", "1_000", ".5", "1.", "+7", "1e1_0", "inf", "nan", "-Infinity"]
NOT_NUMERALS = ["1__0", "_1", "1_", "0x10", "1.5d", "1e", "e5", ".", "\u0661\u0662", "1 2", ""]
# Characters that matter to the CSV and JSON readers, and a few that matter to neither but to Python's str.
TEXT = st.text(alphabet=',"\\x1 .e\r\n\t\u2028\u0085\u00a0\u00e9', max_size=6)
STRINGS = st.one_of(st.sampled_from(["x", "y", "True", "5411", *NUMERALS, *NOT_NUMERALS]), TEXT)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**22), max_value=10**22),
    st.sampled_from([0.1, 1e18, 1e19, -0.0, 2.0**63, 1.5e-7, 5411.0, float("nan"), float("inf")]),
    st.floats(),
    STRINGS,
    st.just("\ud800"),  # half a surrogate pair: Python's json reads it, DuckDB's does not
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abx"), children, max_size=3),
    max_leaves=5,
)
OBJECTS = st.dictionaries(st.sampled_from(["a", "b", "c"]), VALUES, max_size=3)
ROWS = st.lists(VALUES, max_size=3)
DOCUMENTS = st.one_of(
    OBJECTS,
    st.lists(OBJECTS, max_size=3),
    st.lists(ROWS, max_size=3),
    ROWS,
    st.builds(lambda rows: {"instances": rows}, st.lists(OBJECTS | ROWS, max_size=3)),
    st.builds(lambda rows, other: {"instances": rows, "x": other}, st.lists(ROWS, max_size=2), VALUES),
    VALUES,
)
LINE_BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u0085", "\x0c", "\x1e", "\n \t\u3000\n", "\n\n"]
CONTENT_TYPES = {
    "csv": ["text/csv", "application/csv", "text/csv; charset=utf-8", " TEXT/CSV\t"],
    "json": ["application/json", "text/json", "Application/JSON; charset=utf-8"],
    "jsonl": ["application/jsonlines", "application/x-jsonlines", "application/jsonl"],
    "other": ["text/plain", "", "application/octet-stream"],
}


@st.composite
def json_text(draw: st.DrawFn) -> str:
    """A document as clients write it, sometimes broken the ways JSON breaks."""
    document = draw(DOCUMENTS)
    text = json.dumps(
        document,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 1])),
        separators=draw(st.sampled_from([None, (",", ":")])),
    )
    mutation = draw(st.sampled_from(["none"] * 6 + ["duplicate", "trailing comma", "truncate", "insert"]))
    if mutation == "duplicate":
        text = text.replace("{", '{"a": 1, ', 1) if '"a"' in text else text.replace("{", '{"b": 1, "b": 2, ', 1)
    elif mutation == "trailing comma" and text[-1:] in "]}":
        text = text[:-1] + draw(st.sampled_from([",", ", ", ",\n"])) + text[-1]
    elif mutation == "truncate":
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif mutation == "insert":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(st.sampled_from([",", '"', "\\", " ", "\n", "x", "]", "NaN"])) + text[at:]
    return text


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    """Rows of fields, quoted as writers quote them or not, ended by any line ending, or loose text."""
    if draw(st.booleans()):
        return draw(st.text(alphabet='1x,"\r\n .', max_size=16))

    def field(value: str) -> str:
        if draw(st.booleans()):
            return '"' + value.replace('"', '""') + '"' + draw(st.sampled_from(["", "", "x", '"']))
        return value

    rows = draw(st.lists(st.lists(STRINGS, min_size=1, max_size=3), max_size=4))
    ends = [draw(st.sampled_from(["\n", "\r\n", "\r", "\r\r\n", "\n\n"])) for _ in rows]
    return "".join(",".join(field(value) for value in row) + end for row, end in zip(rows, ends, strict=True))


@st.composite
def captured_requests(draw: st.DrawFn) -> dict[str, Any]:
    """One captured `endpointInput`: a body of some kind, sent as some content type, captured in some encoding."""
    kind = draw(st.sampled_from(["csv", "json", "jsonl", "other"]))
    if kind == "csv":
        text = draw(csv_text())
    elif kind == "jsonl":
        documents = draw(st.lists(json_text(), min_size=1, max_size=3))
        breaks = [draw(st.sampled_from(LINE_BREAKS)) for _ in documents]
        text = "".join(document + end for document, end in zip(documents, breaks, strict=True))
    else:
        text = draw(json_text())
    content_type = draw(st.sampled_from(CONTENT_TYPES[kind]))
    encoding = draw(st.sampled_from(["CSV", "JSON", "BASE64", "json"]))
    if encoding == "BASE64":
        try:
            data = base64.b64encode(text.encode()).decode()
        except UnicodeEncodeError:  # a raw half surrogate is no UTF-8: base64 of other bytes
            data = draw(st.text(alphabet="ABCDEFabcdef0123456789+/=", max_size=8))
    else:
        data = text
    return payload(content_type, data, encoding)


_random = np.random.default_rng(0)
BASELINE = baseline_from_frame(
    pd.DataFrame({"a": _random.normal(1, 2, 400), "b": _random.choice(["x", "y", "True", "5411", "1"], 400)}),
    source="generated.csv",
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(captured_requests(), min_size=1, max_size=6))
def test_the_query_reads_generated_payloads_as_the_server_and_drifts_rules_do(
    requests: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory, drift_session: DuckDBPyConnection
) -> None:
    baseline = BASELINE
    lines = [
        json.dumps(capture_record(request, END - timedelta(minutes=index + 1)))
        for index, request in enumerate(requests)
    ]
    files = write_capture(tmp_path_factory.mktemp("capture"), lines)

    assert comparable(embedded.judge_files_in(drift_session, files, baseline, WINDOW)) == comparable(
        reference_aggregates(lines, WINDOW, baseline)
    )
    for request in requests:
        assert_the_reference_is_the_servers_parser(request, baseline.columns)


def assert_the_reference_is_the_servers_parser(captured: dict[str, Any], columns: list[str]) -> None:
    """The reference reads a payload as `payloads.rows` does, but where drift refuses it by its documented rules."""
    try:
        text = request_text(captured)
    except PayloadError:
        return  # no body the server could have received
    answers = []
    for parse in (payload_rows, lambda _, columns: payloads.rows(text, captured["observedContentType"], columns)):
        try:
            answers.append(parse(captured, columns))
        except PayloadError as error:
            answers.append(str(error))
    ours, servers = answers
    if ours != servers:
        assert ours == DUPLICATE_KEY or ("data that is not JSON" in ours and "\\ud" in text.lower()), (ours, servers)
