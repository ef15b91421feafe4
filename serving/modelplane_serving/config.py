"""The server's settings, from the environment the platform gives the container.

SageMaker sets `SAGEMAKER_BIND_TO_PORT` (inference pipelines, images labelled
`com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true`); the Kubernetes component sets
`MODELPLANE_PORT` and `MODELPLANE_HEALTH_PATH` when a service declares a port or health path other
than SageMaker's 8080 and `/ping`. Everything else has a default that fits both platforms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


class ConfigError(ValueError):
    """An environment variable the server cannot use; the message names it."""


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
