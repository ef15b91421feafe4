"""Per-variant series from Prometheus's HTTP API (`/api/v1/query_range`), for Kubernetes endpoints.

The model server's metrics contract is the one the Kubernetes component's ServiceMonitor scrapes and
its PrometheusRule alerts on: the counter `http_requests_total` with a `code` label and the histogram
`http_request_duration_seconds`, which the ServiceMonitor labels with `namespace` and `service` (one
Service per variant). A period's value is the `increase` over that period, evaluated once per period.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane.abtest.observations import Observations, Series, SourceError, VariantSeries
from modelplane.timewindow import Window

REQUESTS_METRIC = "http_requests_total"
LATENCY_METRIC = "http_request_duration_seconds"
MILLISECONDS_PER_SECOND = 1000
TIMEOUT_SECONDS = 30
# Prometheus refuses a range query of more points per series than this.
MAX_POINTS = 11_000


def minimum_period(duration: timedelta) -> int:
    """The finest step, in whole minutes, that keeps a window within Prometheus's points per series."""
    minutes = math.ceil(duration.total_seconds() / MAX_POINTS / 60)
    return max(1, minutes) * 60


def kubernetes_observations(
    url: str, namespace: str, services: tuple[str, str], *, window: Window, period: int
) -> Observations:
    """The baseline's and the candidate's series (their Services, in that order) over whole periods."""
    client = _Prometheus(url, window, period)
    notes: list[str] = []
    series = []
    for service in services:
        selector = f'namespace="{namespace}",service="{service}"'
        per_period = f"[{period}s]"
        invocations = client.query(f"sum(increase({REQUESTS_METRIC}{{{selector}}}{per_period}))")
        if not invocations:
            notes.append(
                f"Prometheus has no {REQUESTS_METRIC} for service {service} in namespace {namespace}:"
                " is it scraped (service_monitor) and did it serve traffic?"
            )
        p99 = client.query(
            f"{MILLISECONDS_PER_SECOND} * histogram_quantile(0.99,"
            f" sum by (le) (increase({LATENCY_METRIC}_bucket{{{selector}}}{per_period})))"
        )
        series.append(
            VariantSeries(
                invocations=invocations,
                server_errors=client.query(f'sum(increase({REQUESTS_METRIC}{{{selector},code=~"5.."}}{per_period}))'),
                model_errors=None,
                latency_ms=client.query(
                    f"{MILLISECONDS_PER_SECOND} * sum(increase({LATENCY_METRIC}_sum{{{selector}}}{per_period}))"
                    f" / sum(increase({LATENCY_METRIC}_count{{{selector}}}{per_period}))"
                ),
                latency_p99_ms=p99 or None,
            )
        )
    baseline, candidate = series
    if baseline.latency_p99_ms is None or candidate.latency_p99_ms is None:
        notes.append(f"p99 latency: no {LATENCY_METRIC}_bucket series for both variants; decided on the mean latency")
        baseline, candidate = replace(baseline, latency_p99_ms=None), replace(candidate, latency_p99_ms=None)
    notes.append("model error rate: the model server exports no separate model errors; 5XX responses count")
    return Observations(f"Prometheus {url}", baseline, candidate, notes)


class _Prometheus:
    def __init__(self, url: str, window: Window, period: int) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/query_range"
        self.url = url
        # Each evaluation covers the period before it: the first one ends a period after the start.
        self.parameters = {
            "start": (window.start + timedelta(seconds=period)).timestamp(),
            "end": window.end.timestamp(),
            "step": f"{period}s",
        }

    def query(self, expression: str) -> Series:
        """The query's one series (the sums leave one), periods with a finite value only."""
        body = urllib.parse.urlencode({"query": expression, **self.parameters}).encode()
        request = urllib.request.Request(  # noqa: S310 - the user's Prometheus URL, checked to be http(s)
            self.endpoint, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                document = json.load(response)
        except urllib.error.HTTPError as error:
            raise SourceError(f"Prometheus {self.url}: HTTP {error.code}: {_error_of(error)}") from None
        except urllib.error.URLError as error:
            raise SourceError(f"Prometheus {self.url}: {error.reason}") from None
        except (OSError, ValueError) as error:
            raise SourceError(f"Prometheus {self.url}: {error}") from None
        if document.get("status") != "success":
            raise SourceError(f"Prometheus {self.url}: {document.get('errorType')}: {document.get('error')}")
        series: Series = {}
        for result in document["data"]["result"]:
            for timestamp, text in result["values"]:
                value = float(text)
                if math.isfinite(value):
                    series[datetime.fromtimestamp(float(timestamp), UTC)] = value
        return series


def _error_of(error: urllib.error.HTTPError) -> str:
    """Prometheus's own error message from an error response, else the HTTP reason."""
    try:
        document: Any = json.loads(error.read())
        return f"{document['errorType']}: {document['error']}"
    except (ValueError, KeyError, TypeError, OSError):
        return str(error.reason)
