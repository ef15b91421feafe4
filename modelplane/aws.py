"""boto3 access for the tools that talk to AWS (`verify`, `promote`, `register`, `capacity`, `compare`, `drift`, `image push`).

One place decides the retry policy (throttling is retried with backoff by botocore's standard
mode), when a command talks to an emulator (`--endpoint-url`, else the stack's `local_emulator`)
and which credentials an emulator gets: fixed fake ones, never the caller's real keys.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from modelplane.settings import Settings

# Standard mode retries throttling and transient errors with exponential backoff and jitter.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=10, read_timeout=60)
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What a call may raise for a network or AWS problem; anything else is a bug and may surface.
AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass(frozen=True)
class Aws:
    """A session in the stack's region, optionally aimed at an emulator."""

    session: boto3.Session
    endpoint_url: str | None = None

    @classmethod
    def connect(cls, region: str, endpoint_url: str | None) -> Aws:
        credentials = EMULATOR_CREDENTIALS if endpoint_url else {}
        core = botocore.session.Session()
        core.register_component("data_loader", _data_loader())
        return cls(boto3.Session(region_name=region, botocore_session=core, **credentials), endpoint_url)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str, *, max_attempts: int | None = None) -> Any:
        """A client with the shared retry policy; `max_attempts` lowers it for calls whose answer is optional."""
        config = RETRY_CONFIG
        if max_attempts is not None:
            config = config.merge(Config(retries={"mode": "standard", "max_attempts": max_attempts}))
        return self.session.client(service, endpoint_url=self.endpoint_url, config=config)


@functools.cache
def _data_loader() -> Any:
    """One loader of botocore's data for every session of the process: it keeps the service models it has
    parsed (SageMaker's is 2 MB of JSON, ≈0.2 s), which a command that connects twice (`promote --from
    --to` across regions) or a process that runs many commands would otherwise parse again."""
    return botocore.session.Session().get_component("data_loader")


def error_text(error: Exception) -> str:
    """`<operation>: <AWS error code>: <message>` for a service error, `<botocore exception>: <message>` otherwise."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = str(details.get("Code", "UnknownError")), " ".join(str(details.get("Message", "")).split())
        operation = f"{error.operation_name}: " if error.operation_name else ""
        if code.isdigit():
            # No AWS error in the body (an HTML page from a proxy or an emulator's crash): the status says it all.
            return f"{operation}HTTP {code}"
        return f"{operation}{code}: {message}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def add_endpoint_url_option(parser: argparse.ArgumentParser) -> None:
    """`--endpoint-url`, the same for every command that talks to AWS."""
    parser.add_argument(
        "--endpoint-url",
        type=http_url,
        metavar="URL",
        help="a local AWS emulator (default: the stack's local_emulator); fake credentials are used",
    )


def endpoint_url_for(requested: str | None, settings: Settings) -> str | None:
    """`--endpoint-url` when given, else the stack's local emulator; None means AWS itself."""
    emulator = settings.local_emulator
    return requested or (emulator.endpoint_url if emulator else None)


def http_url(value: str) -> str:
    """argparse type of an http(s) server option: `--endpoint-url`, compare's `--prometheus-url`."""
    parsed = urlparse(value)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value
