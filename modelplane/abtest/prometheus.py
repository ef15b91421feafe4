"""Per-variant series from Prometheus's HTTP API (`/api/v1/query_range`), for Kubernetes endpoints.

The model server's metrics contract is the one the Kubernetes component's ServiceMonitor scrapes and
its PrometheusRule alerts on: the counter `http_requests_total` with a `code` label and the histogram
`http_request_duration_seconds`, which the ServiceMonitor labels with `namespace` and `service` (one
Service per variant).

Counts are exact: each counter series is read as it stands at every period boundary, and a period's
count is the difference (a drop is a restart: the new value is the increase). `increase(x[period])`
would extrapolate, and finds no two samples in a period when the scrape interval is as long as the
period. p99 still comes from `histogram_quantile`, and is left out, with a note, when it cannot be had.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
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
    """The baseline's and the candidate's series (their Services, in that order), per period."""
    client = _Prometheus(url, window, period)
    notes: list[str] = []
    series = []
    for service in services:
        selector = f'namespace="{namespace}",service="{service}"'
        invocations = client.increases(f"{REQUESTS_METRIC}{{{selector}}}")
        if not any(invocations.values()):
            notes.append(
                f"Prometheus has no {REQUESTS_METRIC} for service {service} in namespace {namespace}:"
                " is it scraped (service_monitor) and did it serve traffic?"
            )
        seconds = client.increases(f"{LATENCY_METRIC}_sum{{{selector}}}")
        answered = client.increases(f"{LATENCY_METRIC}_count{{{selector}}}")
        p99 = client.summed(
            f"{MILLISECONDS_PER_SECOND} * histogram_quantile(0.99,"
            f" sum by (le) (increase({LATENCY_METRIC}_bucket{{{selector}}}[{period}s])))"
        )
        series.append(
            VariantSeries(
                invocations=invocations,
                server_errors=client.increases(f'{REQUESTS_METRIC}{{{selector},code=~"5.."}}'),
                model_errors=None,
                latency_ms={
                    moment: MILLISECONDS_PER_SECOND * seconds.get(moment, 0.0) / count
                    for moment, count in answered.items()
                    if count > 0
                },
                latency_p99_ms=p99 or None,
            )
        )
    baseline, candidate = series
    if baseline.latency_p99_ms is None or candidate.latency_p99_ms is None:
        notes.append(
            f"p99 latency: Prometheus gave no {LATENCY_METRIC} quantile for both variants (no buckets, or fewer"
            " than two samples per period); decided on the mean latency"
        )
        baseline, candidate = replace(baseline, latency_p99_ms=None), replace(candidate, latency_p99_ms=None)
    notes.append("model error rate: the model server exports no separate model errors; 5XX responses count")
    return Observations(f"Prometheus {url}", baseline, candidate, notes)


class _Prometheus:
    def __init__(self, url: str, window: Window, period: int) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/query_range"
        self.url = url
        self.parameters = {"start": window.start.timestamp(), "end": window.end.timestamp(), "step": f"{period}s"}

    def increases(self, selector: str) -> Series:
        """Per period, the sum over the matching counter series of how much each grew; keyed by the
        period's end."""
        totals: defaultdict[datetime, float] = defaultdict(float)
        for values in self._matrix(selector):
            previous: float | None = None
            for moment, value in values:
                if previous is not None:
                    totals[moment] += value - previous if value >= previous else value
                previous = value
        return dict(totals)

    def summed(self, expression: str) -> Series:
        """An expression that leaves one series (a sum), evaluated at the end of each period."""
        series: Series = {}
        for values in self._matrix(expression):
            for moment, value in values:
                series[moment] = series.get(moment, 0.0) + value
        return series

    def _matrix(self, expression: str) -> list[list[tuple[datetime, float]]]:
        """Each resulting series as (time, value) pairs, finite values only."""
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
        return [
            [
                (datetime.fromtimestamp(float(timestamp), UTC), value)
                for timestamp, text in result["values"]
                if math.isfinite(value := float(text))
            ]
            for result in document["data"]["result"]
        ]


def _error_of(error: urllib.error.HTTPError) -> str:
    """Prometheus's own error message from an error response, else the HTTP reason."""
    try:
        document: Any = json.loads(error.read())
        return f"{document['errorType']}: {document['error']}"
    except (ValueError, KeyError, TypeError, OSError):
        return str(error.reason)
