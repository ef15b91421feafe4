"""The HTTP side: SageMaker's `GET /ping` and `POST /invocations`, the Kubernetes health path, `/metrics`.

The model loads in a background thread, so the socket accepts connections at once (SageMaker allows
250 ms) and `/ping` answers 503 with the reason until the model is ready, or for good when it cannot
load (the reason is logged). A request the model cannot take is a 4xx with `{"error": "..."}`; a
failure of the predict code a 500 that tells the client only its request id (the `X-Request-ID` it
sent, or one made up), while the log holds the traceback under that id; neither ends the worker.

Metrics (Prometheus text at `/metrics`, on the serving port the ServiceMonitor scrapes), the contract
`modelplane compare` and the PrometheusRule read:

- `http_requests_total{handler="/invocations", method, code}`: requests to the model, by status code;
- `http_request_duration_seconds{handler, method}`: their latency, a histogram.

Health checks and scrapes are not counted: compare and the alerts take every request in these
series for model traffic. No `namespace`, `service` or `pod` label: the ServiceMonitor adds those.

With data capture configured (`MODELPLANE_CAPTURE_*`), every answered request is offered to
`modelplane_serving.capture`, which samples it and writes it in SageMaker's format off the request's path;
its counters (`modelplane_data_capture_*`) are on `/metrics` too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    gc_collector,
    platform_collector,
    process_collector,
)
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelplane_serving import models
from modelplane_serving.capture import Capture
from modelplane_serving.config import PING_PATH, Settings
from modelplane_serving.errors import ClientError, ModelLoadError, PayloadTooLarge

INVOCATIONS_PATH = "/invocations"
METRICS_PATH = "/metrics"
EXECUTION_PARAMETERS_PATH = "/execution-parameters"
MEGABYTE = 1024 * 1024
BATCH_MAX_PAYLOAD_MB = 100
REQUEST_ID_HEADER = "X-Request-ID"
# A request id the client (or a proxy in front) chose, taken as is only when it is this tame.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Small tabular models answer in milliseconds; the tail goes up to SageMaker's 60 s limit.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# At shutdown, buffered capture gets this long to be written, within the 30 s both platforms give after SIGTERM
# (in-flight requests had 20 s of them).
CAPTURE_SHUTDOWN_SECONDS = 5.0

log = logging.getLogger("modelplane_serving")


LOADING = "the model is still loading"


class ModelState:
    """The loaded model, or why there is none (for /ping and the log: the platform's health checks)."""

    def __init__(self) -> None:
        self.model: models.Model | None = None
        self.problem = LOADING

    def load(self, settings: Settings) -> None:
        """Load the model on the loader's thread. Each outcome is logged before /ping can report it, so whoever
        sees the new state finds its log line already written."""
        started = time.perf_counter()
        try:
            model = models.load(settings)
        except ModelLoadError as error:
            problem = f"model not loaded: {error}"
            log.error("%s", problem)
            self.problem = problem
            return
        except Exception as error:
            log.exception("model not loaded")
            self.problem = f"model not loaded: {type(error).__name__}: {error}"
            return
        log.info("ready in %.2f s: %s", time.perf_counter() - started, model.description)
        self.model = model


def create_app(
    settings: Settings, registry: CollectorRegistry | None = None, capture: Capture | None = None
) -> Starlette:
    """The ASGI app; `registry` holds its metrics (a fresh one with the process collectors by default).

    `capture` replaces the data capture the settings ask for (tests give one with their own S3 client).
    """
    # Counters and histograms as the PrometheusRule reads them, without the extra `_created` series.
    disable_created_metrics()
    if registry is None:
        registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)
    requests = Counter(
        "http_requests", "Requests to the model, by status code.", ["handler", "method", "code"], registry=registry
    )
    latency = Histogram(
        "http_request_duration_seconds",
        "Time to answer a request to the model.",
        ["handler", "method"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    state = ModelState()
    if capture is None and settings.capture is not None:
        capture = Capture(settings.capture, registry)

    async def ping(_: Request) -> Response:
        if state.model is None:
            return _error(503, state.problem)
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        response = await _invoke(request, state, settings, capture)
        requests.labels(INVOCATIONS_PATH, request.method, str(response.status_code)).inc()
        latency.labels(INVOCATIONS_PATH, request.method).observe(time.perf_counter() - started)
        return response

    async def metrics(request: Request) -> Response:
        # OpenMetrics when the scraper asks for it (Prometheus does), else the classic text format.
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), headers={"content-type": content_type})

    async def execution_parameters(_: Request) -> Response:
        """What SageMaker batch transform asks before it sends records (when the job does not say)."""
        return Response(json.dumps(batch_parameters(settings, os.cpu_count() or 1)), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=state.load, args=(settings,), name="model-loader", daemon=True).start()
        if capture is not None:
            capture.start()
        yield
        if capture is not None:
            await run_in_threadpool(capture.close, CAPTURE_SHUTDOWN_SECONDS)

    health_paths = dict.fromkeys([PING_PATH, settings.health_path])
    routes = [
        *(Route(path, ping, methods=["GET"]) for path in health_paths),
        Route(INVOCATIONS_PATH, invocations, methods=["POST"]),
        Route(METRICS_PATH, metrics, methods=["GET"]),
        Route(EXECUTION_PARAMETERS_PATH, execution_parameters, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def batch_parameters(settings: Settings, cpus: int) -> dict[str, Any]:
    """Batch transform's parameters within its limits: payloads of at most 100 MB, and at most 100 MB in
    flight (MaxConcurrentTransforms x MaxPayloadInMB, CreateTransformJob), none larger than the server takes."""
    payload_mb = min(BATCH_MAX_PAYLOAD_MB, max(1, settings.max_payload_bytes // MEGABYTE))
    return {
        "MaxConcurrentTransforms": max(1, min(cpus, BATCH_MAX_PAYLOAD_MB // payload_mb)),
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": payload_mb,
    }


async def _invoke(request: Request, state: ModelState, settings: Settings, capture: Capture | None) -> Response:
    model = state.model
    if model is None:
        # Clients get no paths or exception text of the model directory; /ping and the log have them.
        return _error(503, LOADING if state.problem == LOADING else "the model could not be loaded (see /ping)")
    content_type = request.headers.get("content-type", "")
    try:
        body = await _body(request, settings.max_payload_bytes)
        answer = await run_in_threadpool(model.invoke, body, content_type, request.headers.get("accept", "*/*"))
    except ClientError as error:
        return _error(error.status, str(error))
    except Exception:
        # The exception may carry model internals, paths or another request's data: the log has it.
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        log.exception("request %s: the model failed", request_id)
        message = f"the model failed on this request (request id {request_id}); the server's log has the details"
        return _error(500, message, {REQUEST_ID_HEADER: request_id})
    if capture is not None:
        # Requests the model answered, as SageMaker captures them; a capture fault never reaches the caller.
        try:
            capture.offer(body, content_type, answer.body, answer.content_type)
        except Exception:
            log.exception("data capture: a request was not offered")
    return Response(answer.body, media_type=answer.content_type)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ClientError(f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise PayloadTooLarge(f"the body is {int(declared)} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    document: dict[str, Any] = {"error": message}
    return Response(json.dumps(document), status_code=status, headers=headers, media_type="application/json")
