"""Data capture in SageMaker's format, written by the server (on Kubernetes; SageMaker captures outside the container).

A sampled request and its answer become one JSON line, as SageMaker writes them:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-11-01T10:30:45.123Z"},
     "eventVersion": "0"}

under `s3://<bucket>/<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl` (UTC), encrypted
with SSE-KMS under the given key: `modelplane drift` and the Athena capture table read them as they read
SageMaker's. Payloads are `CSV` or `JSON` text by their content type, `BASE64` otherwise.

Capture is never in a request's way: the request only draws the sample and hands the raw bytes to a
bounded buffer (no lock held across I/O, never a wait). A background thread encodes, batches per hour and
uploads every `flush_seconds`. What cannot be written is counted, never hidden:
`modelplane_data_capture_lost_total{reason}` with `queue_full` (the buffer was full: the bucket is slow or
unreachable), `upload_failed` (S3 refused or did not answer, after retries) and `shutdown` (still buffered
when the server stopped). `modelplane_data_capture_sampled_total` counts the sampled requests and
`modelplane_data_capture_written_total` those written; sampled = written + lost + still buffered.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from modelplane_serving import payloads, s3
from modelplane_serving.config import CaptureSettings

# SageMaker's capture keys: hour folders in UTC (`modelplane_components.naming.CAPTURE_HOUR_FORMAT`).
HOUR_FORMAT = "%Y/%m/%d/%H"
# A buffer's records are held in memory until written: bounded in bytes as well as in records.
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
LOST_REASONS = ("queue_full", "upload_failed", "shutdown")
TEXT_ENCODINGS = {"text/csv": "CSV", "application/json": "JSON"}

log = logging.getLogger("modelplane_serving.capture")


@dataclass(frozen=True)
class _Event:
    """One sampled request as it was answered; encoded off the request's path."""

    at: float
    body: bytes
    content_type: str
    answer: bytes
    answer_type: str

    @property
    def size(self) -> int:
        return len(self.body) + len(self.answer)


class Capture:
    """The bounded buffer, its uploader thread and its counters."""

    def __init__(
        self,
        settings: CaptureSettings,
        registry: CollectorRegistry,
        client_factory: Callable[[], Any] | None = None,
        sample: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._client_factory = client_factory or (lambda: s3.client(connect_timeout=2, read_timeout=10, attempts=2))
        self._sample = sample
        self._buffer: collections.deque[_Event] = collections.deque()
        self._buffered_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._settled = False
        self._thread = threading.Thread(target=self._upload_loop, name="data-capture", daemon=True)
        self.sampled = Counter(
            "modelplane_data_capture_sampled", "Requests sampled for data capture.", registry=registry
        )
        self.written = Counter("modelplane_data_capture_written", "Captured records written to S3.", registry=registry)
        self.lost = Counter(
            "modelplane_data_capture_lost",
            "Sampled requests whose capture was not written, by reason.",
            ["reason"],
            registry=registry,
        )
        for reason in LOST_REASONS:
            self.lost.labels(reason)
        self._outstanding = 0

    def start(self) -> None:
        self._thread.start()

    def offer(self, body: bytes, content_type: str, answer: bytes, answer_type: str) -> None:
        """Called for every answered request: sample it and buffer it, or count it lost. Never waits."""
        if self._sample() * 100 >= self.settings.sampling_percent:
            return
        event = _Event(time.time(), body, content_type, answer, answer_type)
        self.sampled.inc()
        with self._lock:
            if self._settled:
                self.lost.labels("shutdown").inc()
                return
            if (
                len(self._buffer) >= self.settings.queue_records
                or self._buffered_bytes + event.size > MAX_BUFFERED_BYTES
            ):
                self.lost.labels("queue_full").inc()
                return
            self._buffer.append(event)
            self._buffered_bytes += event.size
            self._outstanding += 1
            # Half full: write now rather than at the next flush, so a steady high rate loses nothing.
            if len(self._buffer) * 2 >= self.settings.queue_records or self._buffered_bytes * 2 >= MAX_BUFFERED_BYTES:
                self._wake.set()

    def close(self, timeout: float) -> None:
        """Write what is buffered within `timeout` seconds; what is not written by then is counted lost."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._lock:
            self._settled = True
            if self._outstanding:
                self.lost.labels("shutdown").inc(self._outstanding)
                log.warning("data capture: %d records not written before shutdown", self._outstanding)
            self._outstanding = 0
            self._buffer.clear()
            self._buffered_bytes = 0

    def _take(self) -> list[_Event]:
        with self._lock:
            taken = list(self._buffer)
            self._buffer.clear()
            self._buffered_bytes = 0
        return taken

    def _upload_loop(self) -> None:
        client = None
        while True:
            self._wake.wait(self.settings.flush_seconds)
            self._wake.clear()
            stopping = self._stopping.is_set()
            events = self._take()
            if events:
                if client is None:
                    try:
                        client = self._client_factory()
                    except Exception:
                        log.exception("data capture: no S3 client")
                        self._settle(len(events), "upload_failed")
                        continue
                for hour, group in _by_hour(events).items():
                    self._upload(client, hour, group)
            if stopping:
                return

    def _upload(self, client: Any, hour: str, events: list[_Event]) -> None:
        settings = self.settings
        first = datetime.fromtimestamp(events[0].at, UTC)
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        key = "/".join(part for part in (settings.prefix, settings.endpoint, settings.variant, hour, name) if part)
        body = "".join(json.dumps(record(event, settings), separators=(",", ":")) + "\n" for event in events)
        try:
            client.put_object(
                Bucket=settings.bucket,
                Key=key,
                Body=body.encode(),
                ContentType="application/jsonlines",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=settings.kms_key_id,
            )
        except Exception as error:
            log.warning(
                "data capture: %d records not written to s3://%s/%s: %s", len(events), settings.bucket, key, error
            )
            self._settle(len(events), "upload_failed")
            return
        self._settle(len(events), None)

    def _settle(self, count: int, lost_reason: str | None) -> None:
        with self._lock:
            if self._settled:
                return
            self._outstanding -= count
            if lost_reason is None:
                self.written.inc(count)
            else:
                self.lost.labels(lost_reason).inc(count)


def _by_hour(events: list[_Event]) -> dict[str, list[_Event]]:
    groups: dict[str, list[_Event]] = {}
    for event in events:
        groups.setdefault(f"{datetime.fromtimestamp(event.at, UTC):{HOUR_FORMAT}}", []).append(event)
    return groups


def record(event: _Event, settings: CaptureSettings) -> dict[str, Any]:
    """One capture line, as SageMaker writes it."""
    data: dict[str, Any] = {}
    if settings.capture_input:
        data["endpointInput"] = _payload(event.body, event.content_type, "INPUT")
    if settings.capture_output:
        data["endpointOutput"] = _payload(event.answer, event.answer_type, "OUTPUT")
    moment = datetime.fromtimestamp(event.at, UTC)
    return {
        "captureData": data,
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z",
        },
        "eventVersion": "0",
    }


def _payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    encoding = TEXT_ENCODINGS.get(payloads.media_type(content_type))
    if encoding is not None:
        try:
            return {
                "observedContentType": content_type,
                "mode": mode,
                "data": body.decode("utf-8"),
                "encoding": encoding,
            }
        except UnicodeDecodeError:
            pass  # not text after all: base64, as SageMaker writes any other payload
    data = base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": "BASE64"}
