"""The drift query: one SQL aggregation over a window of captured requests, written once in Trino's dialect.

Athena (engine version 3, which is Trino) runs the text as written; the embedded engine runs what
`sqlglot` transpiles it to for DuckDB (`duckdb_sql`). Each engine provides the relation the query reads
(`trino_sql`'s `source`): one row per capture line with the record's fields, nulls for a line that is no
JSON object. The query parses each record and its payload by the model server's rules
(`modelplane_serving.payloads`: CSV rows in the baseline's column order; a JSON object, a list of
objects or rows, `{"instances": [...]}`, or JSON Lines; base64 decoded first), refuses what SQL cannot
read as Python does (`DUPLICATE_KEY`), and answers one row of aggregates:

- `lines`: the lines by what became of them: `""` a request judged, `outside` a request outside the
  window, else why the request was skipped, in the server parser's words;
- `feature_rows`: the feature rows of the requests judged; `files`: the capture files that held lines;
- per baseline feature: the rows that carry it, how many hold a usable value, the values per bucket
  (the baseline's bin for a numeric feature, the category as the baseline writes it for a categorical
  one) and, for a numeric feature, the `KS_SAMPLE_SIZE` values whose rows hash smallest (`_row_hash` of
  the request's event id and the row's ordinal: a uniform sample of rows, the same on every run and on
  both engines) with those hashes.

Array and map results are JSON text: Athena answers text. The embedded engine runs the query over
batches of files and adds the partial results up (`WindowAggregates.merge`): counts add, and the
smallest hashes of the union are the smallest of the batches' smallest.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from modelplane.drift.baseline import Baseline, NumericFeature
from modelplane.timewindow import Window
from modelplane_serving.payloads import CSV_TYPES, JSON_LINES_TYPES, JSON_TYPES, LINE_BREAK

# Trino's min_by(x, y, n) takes n up to 10,000; the window's sample for the Kolmogorov-Smirnov test.
KS_SAMPLE_SIZE = 10_000
OUTSIDE_WINDOW = "outside"
NOT_A_RECORD = "not a SageMaker capture record"
# DuckDB's md5 answers hex text, not bytes: `duckdb_sql` puts this macro in place of `_row_hash`'s Trino
# expression. The first 16 hex digits are the first 8 bytes; XOR and shift by 2^63 read them as a signed
# big-endian integer (two's complement), as Trino's from_big_endian_64 does.
DUCKDB_MACROS = (
    "CREATE OR REPLACE TEMP MACRO md5_int64(text) AS CAST(CAST(xor(CAST('0x' || substr(md5(text), 1, 16) AS UBIGINT), "
    "CAST(9223372036854775808 AS UBIGINT)) AS HUGEINT) - 9223372036854775808 AS BIGINT)",
)
NOT_ROWS = "JSON that is neither an object, a row, nor a list of them"
# drift's own refusal: the server's parser (Python's json) takes the last of a key given twice; SQL's JSON
# functions take the first (DuckDB) or fail (Trino's cast to a map), so drift skips the request instead.
DUPLICATE_KEY = "JSON object with a duplicate key"
# Python's csv reader: its default limit on a field's length, and its errors, in Python 3.11's words.
CSV_FIELD_LIMIT = 131072
CSV_FIELD_TOO_LARGE = f"CSV that cannot be read: field larger than field limit ({CSV_FIELD_LIMIT})"
CSV_LONE_CARRIAGE_RETURN = (
    "CSV that cannot be read: new-line character seen in unquoted field - do you need to open the file in "
    "universal-newline mode?"
)
# Regular expressions the query uses, in the syntax both RE2 (DuckDB) and Joni (Trino) read: `\A` and `\z`,
# never `^` and `$` (Joni's match at line ends), `\xHH` for ASCII only, other characters as themselves.
# Python's str.isspace() characters (what str.strip() and float() strip).
_WHITESPACE = r"\x09-\x0d\x1c-\x20" + "\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SURROUNDING_WHITESPACE = rf"\A[{_WHITESPACE}]+|[{_WHITESPACE}]+\z"
_BLANK = rf"\A[{_WHITESPACE}]*\z"
# Where JSON Lines end, as the server splits them (CR, LF or both; a pattern RE2 and Joni read alike).
_LINE_BREAK = LINE_BREAK.pattern
# What Python's float() reads from a string, in ASCII digits (drift takes no other script's digits).
_DIGITS = "[0-9](?:_?[0-9])*"
NUMERAL = (
    rf"\A[{_WHITESPACE}]*[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?[{_WHITESPACE}]*\z"
)
# Python's csv reader (excel dialect): a field opening with a quote is quoted up to the next lone quote ("" is
# one quote; an unclosed one runs to the end), then taken as it is up to the comma; any other field runs to the
# comma. A record ends at a line feed (after any carriage returns) or at the end; carriage returns followed by
# anything else are the reader's error (group 2).
_QUOTED = r'"(?:[^"]|"")*(?:"[^,\r\n]*)?'
_UNQUOTED = r'[^,\r\n"][^,\r\n]*'
_RECORD = rf"(?:{_QUOTED}|{_UNQUOTED})(?:,(?:{_QUOTED}|{_UNQUOTED})?)*|(?:,(?:{_QUOTED}|{_UNQUOTED})?)+"
_CSV_RECORD = rf"({_RECORD}|)(?:\r*\n|\r*\z|(\r+))"
# The fields of a record, each after a comma (the query puts one before the first).
_CSV_FIELD = r',("(?:[^"]|"")*(?:"[^,]*)?|[^,"][^,]*|)'
# A quoted field: what the quotes hold (group 1) and what follows the closing quote (group 2).
_QUOTED_FIELD = r'\A"((?:[^"]|"")*)(?:"([^,]*))?'
# A trailing comma, which DuckDB's JSON parser takes and Python's refuses: a comma before a closing bracket,
# found among JSON strings so that one inside a string is not.
_COMMA_BEFORE_CLOSE = r",[\t\n\r ]*[\]}]"
_STRING_OR_COMMA_BEFORE_CLOSE = r'"(?:[^"\\]|\\.)*"|' + _COMMA_BEFORE_CLOSE
# A JSON integer as the engines write it (a float always has a point or an exponent).
_INTEGER = r"\A-?[0-9]+\z"
_MAX_DOUBLE = "1.7976931348623157E308"
_TWO_TO_63 = "9.2233720368547758E18"


@dataclass
class FeatureAggregate:
    """What the window says about one baseline feature."""

    rows: int = 0
    """Feature rows that carry the feature (a JSON object may leave it out)."""
    values: int = 0
    """Rows with a usable value: a finite number for a numeric feature, a non-empty category otherwise."""
    buckets: Counter[str] = field(default_factory=Counter)
    """Values per baseline bin (`"0"` below the first edge) or per category."""
    sample: list[tuple[int, float]] = field(default_factory=list)
    """(hash of the row, value) of the numeric values with the smallest hashes, at most `KS_SAMPLE_SIZE`."""

    def merge(self, other: FeatureAggregate) -> None:
        self.rows += other.rows
        self.values += other.values
        self.buckets.update(other.buckets)
        self.sample = sorted(self.sample + other.sample)[:KS_SAMPLE_SIZE]

    @property
    def sample_values(self) -> list[float]:
        return [value for _, value in self.sample]


@dataclass
class WindowAggregates:
    """The drift query's answer: everything the statistics need, nothing row by row."""

    requests: int = 0
    """Captured requests in the window (a request may hold several rows)."""
    rows: int = 0
    """Feature rows of the requests that could be read."""
    files: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Requests left out, by reason."""
    features: dict[str, FeatureAggregate] = field(default_factory=dict)

    def merge(self, other: WindowAggregates) -> None:
        self.requests += other.requests
        self.rows += other.rows
        self.files += other.files
        self.skipped.update(other.skipped)
        for name, aggregate in other.features.items():
            self.features.setdefault(name, FeatureAggregate()).merge(aggregate)


def literal(text: str) -> str:
    """`text` as an SQL string literal, the same in Trino's dialect and DuckDB's."""
    return "'" + text.replace("'", "''") + "'"


def _timestamp(moment: datetime) -> str:
    return f"from_iso8601_timestamp({literal(moment.astimezone(UTC).isoformat().replace('+00:00', 'Z'))})"


def _in(column: str, values: AbstractSet[str]) -> str:
    return f"{column} IN ({', '.join(map(literal, sorted(values)))})"


def _json_path(name: str) -> str:
    return "$[" + json.dumps(name) + "]"


def _is_object(json_value: str) -> str:
    # False, not null, for a null element: a filter drops what its predicate leaves null.
    return f"coalesce(substr(json_format({json_value}), 1, 1) = '{{', FALSE)"


def _is_array(json_value: str) -> str:
    # Not json_array_length(...) IS NOT NULL: DuckDB's is 0, not null, for an object.
    return f"coalesce(substr(json_format({json_value}), 1, 1) = '[', FALSE)"


def _row_hash(key: str) -> str:
    """A row's rank in the sample: the first 8 bytes of the MD5 digest of `key`'s UTF-8, a signed big-endian
    integer. MD5 because both engines compute it, and the same on every release (unlike DuckDB's `hash`)."""
    return f"from_big_endian_64(substr(md5(to_utf8({key})), 1, 8))"


def _bin(feature: NumericFeature, number: str) -> str:
    """numpy's searchsorted(edges, x, side='right'): how many edges are at or below x."""
    if not feature.bin_edges:
        return "0"
    # 17 significant digits in scientific notation: a DOUBLE literal in both dialects, the same float back.
    return " + ".join(f"IF({number} >= {edge:.16e}, 1, 0)" for edge in feature.bin_edges)


def _as_json(aggregate: str, name: str) -> str:
    """An array or map result as JSON text: Athena's results are text, and its own rendering of them is ambiguous."""
    return f"json_format(CAST({aggregate} AS JSON)) AS {name}"


def _cell(json_value: str) -> str:
    """A JSON value as a cell: its kind (the first character of its JSON text) and its text; `n` for an
    element that is SQL's null (a JSON null inside an array)."""
    return (
        f"IF({json_value} IS NULL, 'n', concat(substr(json_format({json_value}), 1, 1), "
        f"coalesce(json_extract_scalar({json_value}, '$'), json_format({json_value}))))"
    )


def _member(row: str, name: str) -> str:
    """The cell of a row object's member `name`; null (the row does not carry it) when the member is absent."""
    value = f"json_extract({row}, {literal(_json_path(name))})"
    return f"IF({value} IS NULL, NULL, {_cell(value)})"


def _number(index: int) -> str:
    """Python's float() of a string (`NUMERAL`) or of a JSON number, when finite."""
    kind, text = f"kind_{index}", f"text_{index}"
    parsed = f"""CASE
      WHEN {kind} = '"' THEN IF(regexp_like({text}, {literal(NUMERAL)}),
        CAST(regexp_replace({text}, {literal(f"[{_WHITESPACE}_]")}, '') AS double))
      WHEN {kind} IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9') THEN try_cast({text} AS double)
    END"""
    return f"IF({parsed} BETWEEN -{_MAX_DOUBLE} AND {_MAX_DOUBLE}, {parsed}) AS number_{index}"


def _category(index: int) -> str:
    """`category_text` of the value: a string as it is; a JSON integer in full, a whole number below 2^63 without
    its fraction, any other number as Python writes a float (`repr`); True/False for a boolean; no category for
    null, an object or a list."""
    kind, text = f"kind_{index}", f"text_{index}"
    number = f"try_cast({text} AS double)"
    return f"""CASE {kind}
      WHEN '"' THEN nullif({text}, '')
      WHEN 't' THEN 'True'
      WHEN 'f' THEN 'False'
      WHEN 'n' THEN NULL
      WHEN '{{' THEN NULL
      WHEN '[' THEN NULL
      WHEN 'N' THEN 'nan'
      WHEN 'I' THEN 'inf'
      ELSE IF(regexp_like({text}, {literal(_INTEGER)}), IF({text} = '-0', '0', {text}),
        IF(floor({number}) = {number} AND abs({number}) < {_TWO_TO_63},
          CAST(CAST({number} AS bigint) AS varchar), CAST({number} AS varchar)))
    END AS bucket_{index}"""


def _each(array: str, element: str) -> str:
    """`transform` over the positions 1..n of `array` (`element` reads position `i`); Trino's sequence(1, 0) fails."""
    return f"IF(cardinality({array}) = 0, NULL, transform(sequence(1, cardinality({array})), i -> {element}))"


def _first(array: str) -> str:
    """The first element of `array` that is not null."""
    return f"element_at(filter({array}, x -> x IS NOT NULL), 1)"


def _width_problem(values: str, width: int) -> str:
    return f"concat('rows of ', CAST({values} AS varchar), ' values where {width} columns are expected')"


def _csv_problems(width: int) -> str:
    """Per CSV record (`units`, `unit_fields`, `unit_ends`), what Python's csv reader and `payloads.rows` raise
    first: a field over the reader's limit, a carriage return not ending a line, a row of the wrong width."""
    fields = "element_at(unit_fields, i)"
    return _each(
        "unit_fields",
        f"""CASE
          WHEN length(text) > {CSV_FIELD_LIMIT} AND cardinality(filter({fields}, f -> length(f) > {CSV_FIELD_LIMIT})) > 0
            THEN {literal(CSV_FIELD_TOO_LARGE)}
          WHEN coalesce(element_at(unit_ends, i), '') <> '' THEN {literal(CSV_LONE_CARRIAGE_RETURN)}
          WHEN cardinality({fields}) NOT IN (0, {width}) THEN {_width_problem(f"cardinality({fields})", width)}
        END""",
    )


def _json_problems(width: int) -> str:
    """Per JSON document (`documents`, `unwrapped`, `row_sets`), what `payloads.rows` raises first, with a
    duplicate key (which Python would take the last of) checked before the shape."""
    document, unwrapped, row_set = "element_at(documents, i)", "element_at(unwrapped, i)", "element_at(row_sets, i)"
    duplicated = (
        f"({_is_object(document)} AND {_is_array(unwrapped)} AND try(CAST({document} AS MAP(VARCHAR, JSON))) IS NULL"
        f" OR cardinality(filter({row_set}, r -> {_is_object('r')} AND try(CAST(r AS MAP(VARCHAR, JSON))) IS NULL)) > 0)"
    )
    wrong_width = (
        f"element_at(filter(transform(filter({row_set}, r -> {_is_array('r')}), r -> json_array_length(r)), "
        f"n -> n <> {width}), 1)"
    )
    return _each(
        "documents",
        f"""CASE
          WHEN {document} IS NULL THEN concat(content_type, ' data that is not JSON')
          WHEN {duplicated} THEN {literal(DUPLICATE_KEY)}
          WHEN {row_set} IS NULL THEN {literal(NOT_ROWS)}
          WHEN {wrong_width} IS NOT NULL THEN {_width_problem(wrong_width, width)}
        END""",
    )


def _json_document(text: str) -> str:
    """Python's json.loads of `text`, or null: DuckDB's parser also takes a trailing comma, which is refused here
    (a comma before a closing bracket, outside strings)."""
    trailing_comma = (
        f"regexp_like({text}, {literal(_COMMA_BEFORE_CLOSE)}) AND cardinality(filter("
        f"regexp_extract_all({text}, {literal(_STRING_OR_COMMA_BEFORE_CLOSE)}), t -> substr(t, 1, 1) = ',')) > 0"
    )
    return f"IF({trailing_comma}, NULL, try(json_parse({text})))"


def trino_sql(baseline: Baseline, window: Window, source: str) -> str:
    """The drift query in Trino's dialect over `source`, a query (in Trino's dialect too) the engine provides
    with one row per capture line: `file`, `event_id`, `inference_time`, `has_input` (the record has an
    `endpointInput`), `content_type`, `encoding` and `data`, all null for a line that is no JSON object."""
    columns = baseline.columns
    width = len(columns)
    indices = range(1, width + 1)
    field = (
        f"IF(substr(f, 1, 1) = '\"', concat(replace(regexp_extract(f, {literal(_QUOTED_FIELD)}, 1), '\"\"', '\"'), "
        f"coalesce(regexp_extract(f, {literal(_QUOTED_FIELD)}, 2), '')), f)"
    )
    unit_fields = (
        "transform(units, u -> IF(u = '', CAST(ARRAY[] AS ARRAY(VARCHAR)), IF(strpos(u, '\"') = 0, split(u, ','), "
        f"transform(regexp_extract_all(concat(',', u), {literal(_CSV_FIELD)}, 1), f -> {field}))))"
    )
    instances = "json_extract(p, '$.instances')"
    rows_of = (
        f"CASE WHEN {_is_object('q')} THEN ARRAY[q] "
        f"WHEN NOT {_is_array('q')} OR json_array_length(q) = 0 THEN NULL "
        f"WHEN cardinality(filter(CAST(q AS ARRAY(JSON)), e -> NOT {_is_object('e')})) = 0 "
        f"OR cardinality(filter(CAST(q AS ARRAY(JSON)), e -> NOT {_is_array('e')})) = 0 "
        "THEN CAST(q AS ARRAY(JSON)) ELSE ARRAY[q] END"
    )
    by_name = ", ".join(_member("r", name) for name in columns)
    cells = ",\n    ".join(
        f"IF(csv AND row IS NOT NULL, '\"', substr(element_at(row, {i}), 1, 1)) AS kind_{i}, "
        f"IF(csv, element_at(row, {i}), substr(element_at(row, {i}), 2)) AS text_{i}"
        for i in indices
    )
    numeric = {
        index: feature
        for index, name in enumerate(columns, start=1)
        if isinstance(feature := baseline.features[name], NumericFeature)
    }
    numbers = [_number(index) for index in numeric]
    buckets = [
        f"IF(number_{index} IS NULL, NULL, {_bin(numeric[index], f'number_{index}')}) AS bucket_{index}"
        if index in numeric
        else _category(index)
        for index in indices
    ]
    measures: list[str] = []
    for index, name in enumerate(columns, start=1):
        feature = baseline.features[name]
        measures += [f"count(kind_{index}) AS rows_{index}", f"count(bucket_{index}) AS values_{index}"]
        if isinstance(feature, NumericFeature):
            key = f"IF(number_{index} IS NULL, NULL, h)"
            bins = ", ".join(f"count(IF(bucket_{index} = {bin_}, 1))" for bin_ in range(len(feature.bin_shares)))
            measures += [
                _as_json(f"ARRAY[{bins}]", f"buckets_{index}"),
                _as_json(f"min_by(number_{index}, {key}, {KS_SAMPLE_SIZE})", f"sample_{index}"),
                _as_json(f"min_by({key}, {key}, {KS_SAMPLE_SIZE})", f"keys_{index}"),
            ]
        else:
            measures += [
                _as_json(f"histogram(bucket_{index})", f"buckets_{index}"),
                f"NULL AS sample_{index}",
                f"NULL AS keys_{index}",
            ]
    known_types = CSV_TYPES | JSON_TYPES | JSON_LINES_TYPES
    quoted_or_return = "strpos(text, '\"') + strpos(text, chr(13)) > 0"
    # Every text put into the query is a quoted literal (`literal`) or a number.
    return f"""
WITH capture AS (
{source}
),
requests AS (
  SELECT
    file,
    event_id,
    has_input,
    try(from_iso8601_timestamp(inference_time)) AS inferred,
    upper(coalesce(encoding, '')) AS encoding,
    lower(regexp_replace(split_part(coalesce(content_type, ''), ';', 1), {literal(_SURROUNDING_WHITESPACE)}, ''))
      AS content_type,
    data
  FROM capture
),
decoded AS (
  SELECT
    *,
    {_in("content_type", CSV_TYPES)} AS csv,
    CASE encoding
      WHEN 'BASE64' THEN try(IF(
        to_utf8(from_utf8(from_base64(data))) = from_base64(data), from_utf8(from_base64(data))))
      WHEN 'CSV' THEN data
      WHEN 'JSON' THEN data
    END AS text
  FROM requests
),
split AS (
  SELECT
    *,
    IF(csv, IF({quoted_or_return}, regexp_extract_all(text, {literal(_CSV_RECORD)}, 1), split(text, chr(10))))
      AS units,
    IF(csv AND {quoted_or_return}, regexp_extract_all(text, {literal(_CSV_RECORD)}, 2)) AS unit_ends,
    transform(
      CASE
        WHEN {_in("content_type", JSON_TYPES)} THEN ARRAY[text]
        WHEN {_in("content_type", JSON_LINES_TYPES)}
          THEN filter(regexp_split(text, {literal(_LINE_BREAK)}), d -> NOT regexp_like(d, {literal(_BLANK)}))
      END,
      d -> {_json_document("d")}) AS documents
  FROM decoded
),
shaped AS (
  SELECT
    *,
    {unit_fields} AS unit_fields,
    transform(documents, p -> IF({_is_object("p")} AND {_is_array(instances)}, {instances}, p)) AS unwrapped
  FROM split
),
framed AS (
  SELECT
    *,
    transform(unwrapped, q -> {rows_of}) AS row_sets
  FROM shaped
),
payloads AS (
  SELECT
    *,
    IF(csv,
      filter(unit_fields, f -> cardinality(f) > 0),
      transform(flatten(row_sets), r -> IF({_is_array("r")},
        transform(CAST(r AS ARRAY(JSON)), e -> {_cell("e")}),
        ARRAY[{by_name}]))) AS rows,
    {_first(f"IF(csv, {_csv_problems(width)}, {_json_problems(width)})")} AS payload_problem
  FROM framed
),
judged AS (
  SELECT
    file,
    coalesce(event_id, data, '') AS request,
    csv,
    rows,
    CASE
      WHEN inferred IS NULL OR NOT coalesce(has_input, FALSE) THEN {literal(NOT_A_RECORD)}
      WHEN inferred < {_timestamp(window.start)} OR inferred >= {_timestamp(window.end)} THEN {literal(OUTSIDE_WINDOW)}
      WHEN data IS NULL THEN 'no data (was only the output captured?)'
      WHEN encoding = 'BASE64' AND text IS NULL THEN 'BASE64 data that is not UTF-8 text'
      WHEN encoding NOT IN ('BASE64', 'CSV', 'JSON')
        THEN concat('unknown encoding ', IF(encoding = '', '(none)', encoding))
      WHEN NOT {_in("content_type", known_types)}
        THEN concat('content type ', IF(content_type = '', '(none)', content_type), ' is not CSV or JSON')
      ELSE payload_problem
    END AS problem
  FROM payloads
),
feature_rows AS (
  SELECT
    file,
    problem,
    csv,
    row,
    k,
    IF(row IS NULL, NULL, {_row_hash("concat(request, '#', CAST(k AS varchar))")}) AS h
  FROM judged
  CROSS JOIN UNNEST(IF(problem IS NULL AND cardinality(rows) > 0, rows, ARRAY[CAST(NULL AS ARRAY(VARCHAR))]))
    WITH ORDINALITY AS t (row, k)
),
cells AS (
  SELECT
    *,
    {cells}
  FROM feature_rows
),
numbers AS (
  SELECT
    *,
    {("," + chr(10) + "    ").join(numbers or ["NULL AS no_numbers"])}
  FROM cells
),
bucketed AS (
  SELECT
    *,
    {("," + chr(10) + "    ").join(buckets)}
  FROM numbers
)
SELECT
  {_as_json("histogram(IF(k = 1, coalesce(problem, '')))", "lines")},
  count(row) AS feature_rows,
  count(DISTINCT file) AS files,
  {("," + chr(10) + "  ").join(measures)}
FROM bucketed
"""  # noqa: S608


@functools.lru_cache(maxsize=16)
def duckdb_sql(trino: str) -> str:
    """The Trino text as DuckDB runs it (run `DUCKDB_MACROS` in the session first).

    Kept for the texts last transpiled (a pure function of the text): sqlglot takes about 0.1 s on the query, more
    than DuckDB takes on a small window, and a process that judges many windows of one baseline (the test suite
    judges hundreds) would transpile the same text again each time.

    Two rewrites besides sqlglot's: `json_format` of a JSON value becomes a cast to text (sqlglot writes
    `CAST(TO_JSON(x) AS TEXT)`, which serialises the value again; DuckDB's JSON already is its text), and
    `_row_hash`'s expression becomes the `md5_int64` macro (DuckDB takes no substring of bytes).
    """
    tree = sqlglot.parse_one(trino, read="trino")
    return tree.transform(_for_duckdb).sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _for_duckdb(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.JSONFormat):
        return exp.cast(node.this, exp.DataType.Type.VARCHAR)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "from_big_endian_64":
        digest = node.expressions[0].this
        assert isinstance(digest, exp.MD5Digest) and isinstance(digest.this, exp.Encode), "only _row_hash's shape"
        return exp.Anonymous(this="md5_int64", expressions=[digest.this.this])
    return node


def aggregates_from(row: tuple[Any, ...], baseline: Baseline) -> WindowAggregates:
    """The query's one result row (the columns it selects, in order) as `WindowAggregates`."""
    lines, feature_rows, files, *measures = row
    result = WindowAggregates(rows=int(feature_rows), files=int(files))
    for problem, count in (_json(lines) or {}).items():
        if problem == "":
            result.requests += int(count)
        elif problem != OUTSIDE_WINDOW:
            result.skipped[problem] += int(count)
            if problem != NOT_A_RECORD:
                result.requests += int(count)
    for index, name in enumerate(baseline.columns):
        count, valued, buckets, sample, keys = measures[5 * index : 5 * index + 5]
        if not int(count):
            continue
        aggregate = result.features[name] = FeatureAggregate(rows=int(count), values=int(valued))
        buckets = _json(buckets)
        if isinstance(buckets, list):
            aggregate.buckets.update({str(bin_): int(n) for bin_, n in enumerate(buckets) if int(n)})
        else:
            aggregate.buckets.update({str(category): int(n) for category, n in (buckets or {}).items()})
        values = _json(sample) or []
        aggregate.sample = [(int(key), float(value)) for key, value in zip(_json(keys) or [], values, strict=True)]
    return result


def _json(text: Any) -> Any:
    if text is None:
        return None
    document = json.loads(text) if isinstance(text, str) else text
    return None if isinstance(document, float) and math.isnan(document) else document
