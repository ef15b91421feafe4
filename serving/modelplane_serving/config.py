"""The server's settings, from the environment the platform gives the container.

SageMaker sets `SAGEMAKER_BIND_TO_PORT` (inference pipelines, images labelled
`com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true`); the Kubernetes component sets
`MODELPLANE_PORT` and `MODELPLANE_HEALTH_PATH` when a service declares a port or health path other
than SageMaker's 8080 and `/ping`, and the `MODELPLANE_CAPTURE_*` variables when the endpoint captures
its requests (SageMaker captures outside the container). Everything else has a default that fits both
platforms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_PORT = 8080
PING_PATH = "/ping"
DEFAULT_MODEL_DIR = "/opt/ml/model"
# SageMaker's real-time payload limit.
DEFAULT_MAX_PAYLOAD_MB = 6.0
# Both platforms send SIGKILL 30 s after SIGTERM: in-flight requests get 20 s of it.
GRACEFUL_SHUTDOWN_SECONDS = 20

BIND_TO_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
PORT_ENV = "MODELPLANE_PORT"
HOST_ENV = "MODELPLANE_HOST"
HEALTH_PATH_ENV = "MODELPLANE_HEALTH_PATH"
MODEL_DIR_ENV = "MODELPLANE_MODEL_DIR"
HANDLER_ENV = "MODELPLANE_HANDLER"
MAX_PAYLOAD_ENV = "MODELPLANE_MAX_PAYLOAD_MB"
LOG_LEVEL_ENV = "MODELPLANE_LOG_LEVEL"
ONNX_THREADS_ENV = "MODELPLANE_ONNX_THREADS"
# Data capture in SageMaker's format (docs/containers.md).
CAPTURE_DESTINATION_ENV = "MODELPLANE_CAPTURE_DESTINATION"
CAPTURE_ENDPOINT_ENV = "MODELPLANE_CAPTURE_ENDPOINT"
CAPTURE_VARIANT_ENV = "MODELPLANE_CAPTURE_VARIANT"
CAPTURE_SAMPLING_ENV = "MODELPLANE_CAPTURE_SAMPLING_PERCENT"
CAPTURE_MODES_ENV = "MODELPLANE_CAPTURE_MODES"
CAPTURE_KMS_KEY_ENV = "MODELPLANE_CAPTURE_KMS_KEY_ID"
CAPTURE_FLUSH_ENV = "MODELPLANE_CAPTURE_FLUSH_SECONDS"
CAPTURE_QUEUE_ENV = "MODELPLANE_CAPTURE_QUEUE_RECORDS"
CAPTURE_MODES = ("input", "output")
# SageMaker writes a capture file every few minutes at most; a pod's buffer is flushed as often.
DEFAULT_CAPTURE_FLUSH_SECONDS = 60.0
DEFAULT_CAPTURE_QUEUE_RECORDS = 10_000


class ConfigError(ValueError):
    """An environment variable the server cannot use; the message names it."""


@dataclass(frozen=True)
class CaptureSettings:
    """Where and how much of the traffic is captured: SageMaker's `DataCaptureConfig`, as environment."""

    bucket: str
    prefix: str
    """The destination's key prefix, `data-capture/<endpoint>` (SageMaker's `DestinationS3Uri` path)."""
    endpoint: str
    variant: str
    kms_key_id: str
    sampling_percent: int = 100
    capture_input: bool = True
    capture_output: bool = True
    flush_seconds: float = DEFAULT_CAPTURE_FLUSH_SECONDS
    queue_records: int = DEFAULT_CAPTURE_QUEUE_RECORDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CaptureSettings | None:
        """None when `MODELPLANE_CAPTURE_DESTINATION` is unset (no capture)."""
        destination = environ.get(CAPTURE_DESTINATION_ENV)
        if not destination:
            return None
        parsed = urlparse(destination)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"{CAPTURE_DESTINATION_ENV}={destination!r}: not an s3://<bucket>/<prefix> URL")
        required = {
            name: environ.get(name) for name in (CAPTURE_ENDPOINT_ENV, CAPTURE_VARIANT_ENV, CAPTURE_KMS_KEY_ENV)
        }
        if missing := [name for name, value in required.items() if not value]:
            raise ConfigError(
                f"{', '.join(missing)} not set: capture names the endpoint and variant in its keys, and is"
                " encrypted with SSE-KMS under the given key"
            )
        modes = [mode.strip().lower() for mode in (environ.get(CAPTURE_MODES_ENV) or "input,output").split(",")]
        if not modes or not set(modes) <= set(CAPTURE_MODES):
            raise ConfigError(f"{CAPTURE_MODES_ENV}={environ.get(CAPTURE_MODES_ENV)!r}: input, output or both")
        return cls(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint=str(required[CAPTURE_ENDPOINT_ENV]),
            variant=str(required[CAPTURE_VARIANT_ENV]),
            kms_key_id=str(required[CAPTURE_KMS_KEY_ENV]),
            sampling_percent=_integer(environ, CAPTURE_SAMPLING_ENV, 100, 1, 100),
            capture_input="input" in modes,
            capture_output="output" in modes,
            flush_seconds=_number(environ, CAPTURE_FLUSH_ENV, DEFAULT_CAPTURE_FLUSH_SECONDS),
            queue_records=_integer(environ, CAPTURE_QUEUE_ENV, DEFAULT_CAPTURE_QUEUE_RECORDS, 1, 1_000_000),
        )


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"  # noqa: S104 - a container serves its platform's network, not its own loopback
    port: int = DEFAULT_PORT
    health_path: str = PING_PATH
    model_dir: Path = Path(DEFAULT_MODEL_DIR)
    handler: str | None = None
    """Module path of predict code baked into the image (else `code/inference.py` or an ONNX model)."""
    max_payload_bytes: int = int(DEFAULT_MAX_PAYLOAD_MB * 1024 * 1024)
    log_level: str = "INFO"
    onnx_threads: int = 0
    """onnxruntime's intra-op threads; 0 lets it choose."""
    capture: CaptureSettings | None = None
    """Data capture, when the endpoint captures its requests."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        port_variable = BIND_TO_PORT_ENV if environ.get(BIND_TO_PORT_ENV) else PORT_ENV
        health_path = environ.get(HEALTH_PATH_ENV) or PING_PATH
        if not health_path.startswith("/"):
            raise ConfigError(f"{HEALTH_PATH_ENV}={health_path!r}: a path starts with /")
        log_level = (environ.get(LOG_LEVEL_ENV) or "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise ConfigError(f"{LOG_LEVEL_ENV}={log_level!r}: not one of DEBUG, INFO, WARNING, ERROR")
        return cls(
            host=environ.get(HOST_ENV) or cls.host,
            port=_integer(environ, port_variable, DEFAULT_PORT, 1, 65535),
            health_path=health_path,
            model_dir=Path(environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR),
            handler=environ.get(HANDLER_ENV) or None,
            max_payload_bytes=int(_number(environ, MAX_PAYLOAD_ENV, DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024),
            log_level=log_level,
            onnx_threads=_integer(environ, ONNX_THREADS_ENV, 0, 0, 1024),
            capture=CaptureSettings.from_environ(environ),
        )


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: must be between {low} and {high}")
    return value


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a number") from None
    if not value > 0:
        raise ConfigError(f"{name}={text}: must be greater than 0")
    return value
