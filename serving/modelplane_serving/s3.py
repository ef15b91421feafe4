"""S3 through botocore, as the pod's workload identity: what `fetch-model` and data capture share.

Credentials come from botocore's default chain, never from the image or the pod spec: on EKS, IRSA's
webhook gives the pod `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (botocore exchanges the token
with STS, `AssumeRoleWithWebIdentity`), EKS Pod Identity gives `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
`AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL_STS` (the SDKs' service-specific endpoints) point both at an
emulator in the tests, or at VPC endpoints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")


class S3Error(Exception):
    """An S3 location the image cannot use; the message names it."""


def region(environ: Mapping[str, str]) -> str | None:
    return next((environ[name] for name in REGION_ENVS if environ.get(name)), None)


def client(*, connect_timeout: float = 5, read_timeout: float = 60, attempts: int = 3) -> Any:
    """An S3 client with bounded waits: a stalled connection fails the call instead of hanging it."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": attempts, "mode": "standard"},
    )
    return botocore.session.get_session().create_client("s3", region_name=region(os.environ), config=config)


def split_url(url: str, what: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise S3Error(f"{what} {url!r}: not an s3://<bucket>/<key> URL")
    return parsed.netloc, parsed.path.lstrip("/")


def error_code(error: Exception) -> str:
    """S3's error code of a botocore ClientError (`NoSuchKey`, `AccessDenied`, `404`), else the exception's name."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__
