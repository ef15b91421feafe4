"""`python -m modelplane_serving fetch-model`: a registered model version's archive, verified, in the model directory.

The Kubernetes component runs it as the init container of a variant pinned to a model package version:
the version's archive and the sha256 `modelplane register` recorded on it are resolved when the stack is
deployed and given in the environment, the pod's workload identity (IRSA) reads the archive, and the
server container mounts the directory read-only at `/opt/ml/model`, as SageMaker unpacks it there.

- `MODELPLANE_MODEL_DATA_URL`: the version's archive, `s3://<bucket>/<key>.tar.gz`;
- `MODELPLANE_MODEL_SHA256`: the archive's recorded sha256 (64 hex digits);
- `MODELPLANE_MODEL_PACKAGE`: the version's ARN, named in every message;
- `MODELPLANE_MODEL_DIR`: where to unpack (default `/opt/ml/model`), emptied first;
- `MODELPLANE_MODEL_MAX_ARCHIVE_BYTES`, `MODELPLANE_MODEL_MAX_BYTES`, `MODELPLANE_MODEL_MAX_FILES`: the most
  bytes downloaded, bytes unpacked (regular files' sizes) and archive members (default 2 GiB, 2 GiB, 10,000;
  the component sets them from `resources.model_size_limit` and `model_files_limit`), so that a huge archive
  or a decompression bomb fails the pod with its reason instead of filling the node's disk.

The archive is downloaded to a temporary file (`TMPDIR`, the pod's `/tmp`), hashed while it arrives, and
unpacked only when the hash is the recorded one, with tarfile's `data` filter (no absolute paths, links
out of the directory, devices or set-id bits); an archive refused midway leaves the directory empty.
Exit 0 unpacked; 1 the archive is missing, unreadable, not the registered one, not a tar.gz, over a limit,
or the pod's /tmp or model volume cannot take it; 2 a setting is missing or malformed, or the image's
Python cannot unpack an archive safely (`tar_safety`). The reason goes to stderr and to the container's
termination message, which `kubectl describe pod` shows.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane_serving import s3, tar_safety
from modelplane_serving.config import DEFAULT_MODEL_DIR, MODEL_DIR_ENV, ConfigError

DATA_URL_ENV = "MODELPLANE_MODEL_DATA_URL"
SHA256_ENV = "MODELPLANE_MODEL_SHA256"
PACKAGE_ENV = "MODELPLANE_MODEL_PACKAGE"
# Where Kubernetes reads a container's termination message (`terminationMessagePath`'s default).
TERMINATION_LOG_ENV = "MODELPLANE_TERMINATION_LOG"
TERMINATION_LOG = "/dev/termination-log"
CHUNK_BYTES = 1 << 20
MAX_ARCHIVE_BYTES_ENV = "MODELPLANE_MODEL_MAX_ARCHIVE_BYTES"
MAX_BYTES_ENV = "MODELPLANE_MODEL_MAX_BYTES"
MAX_FILES_ENV = "MODELPLANE_MODEL_MAX_FILES"
# The Kubernetes component's defaults too (its `resources.model_size_limit` and `model_files_limit`): any single-file
# ONNX model (protobuf caps one at 2 GB), and far more files than a model directory holds.
DEFAULT_MAX_BYTES = 2 << 30
DEFAULT_MAX_FILES = 10_000
# Where a modelplane stack file raises each limit (the component passes it in the variable).
RAISED_BY = {
    MAX_ARCHIVE_BYTES_ENV: "kubernetes.resources.model_size_limit",
    MAX_BYTES_ENV: "kubernetes.resources.model_size_limit",
    MAX_FILES_ENV: "kubernetes.resources.model_files_limit",
}
NOT_DOWNLOADED = "refused, nothing unpacked"
LEFT_EMPTY = "refused, the model directory left empty"
MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}
DENIED = {"AccessDenied", "403", "Forbidden", "KMS.AccessDeniedException", "InvalidAccessKeyId"}

EXIT_FAILED = 1
EXIT_USAGE = 2


class FetchFailed(Exception):
    """The archive cannot be served: missing, unreadable, not the registered one, or not a safe tar.gz."""


class OverLimit(FetchFailed):
    """The archive is bigger, unpacks bigger or holds more members than its limit allows."""


@dataclass(frozen=True)
class Limits:
    """What one archive may cost the pod's volumes: bytes downloaded, bytes unpacked, members."""

    archive_bytes: int = DEFAULT_MAX_BYTES
    unpacked_bytes: int = DEFAULT_MAX_BYTES
    files: int = DEFAULT_MAX_FILES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        return cls(
            archive_bytes=_positive(environ, MAX_ARCHIVE_BYTES_ENV, DEFAULT_MAX_BYTES),
            unpacked_bytes=_positive(environ, MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
            files=_positive(environ, MAX_FILES_ENV, DEFAULT_MAX_FILES),
        )


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise ConfigError(f"{name}={environ[name]!r}: not a whole number from 1")
    return int(text)


def _over(what: str, variable: str, limit: int, outcome: str) -> OverLimit:
    """The one line a refused archive gets: what went over which limit, and how to raise it."""
    return OverLimit(
        f"{what} ({variable}={limit}): {outcome}. To serve it, raise {variable} (a modelplane stack file's"
        f" {RAISED_BY[variable]})"
    )


def _size_text(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.1f} MiB"


@dataclass(frozen=True)
class FetchSettings:
    data_url: str
    sha256: str
    package: str
    model_dir: Path
    limits: Limits = Limits()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> FetchSettings:
        missing = [name for name in (DATA_URL_ENV, SHA256_ENV) if not environ.get(name)]
        if missing:
            raise ConfigError(f"{', '.join(missing)} not set: the Kubernetes component sets them for a pinned version")
        sha256 = environ[SHA256_ENV].strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ConfigError(f"{SHA256_ENV}={environ[SHA256_ENV]!r}: not 64 hex digits")
        data_url = environ[DATA_URL_ENV]
        try:
            s3.split_url(data_url, DATA_URL_ENV)
        except s3.S3Error as error:
            raise ConfigError(str(error)) from None
        return cls(
            data_url=data_url,
            sha256=sha256,
            package=environ.get(PACKAGE_ENV) or "the pinned model version",
            model_dir=Path(environ.get(MODEL_DIR_ENV) or DEFAULT_MODEL_DIR),
            limits=Limits.from_environ(environ),
        )


def run(environ: Mapping[str, str]) -> int:
    """The command: fetch, verify and unpack, or say why not (stderr and the termination message)."""
    if (reason := tar_safety.unsafe_reason()) is not None:
        return _fail(f"fetch-model: {reason}: rebuild the image on a newer base", EXIT_USAGE, environ)
    try:
        settings = FetchSettings.from_environ(environ)
    except ConfigError as error:
        return _fail(f"fetch-model: {error}", EXIT_USAGE, environ)
    started = time.perf_counter()
    try:
        files, size = fetch(settings, s3.client())
    except FetchFailed as error:
        return _fail(f"fetch-model: {settings.package}: {error}", EXIT_FAILED, environ)
    print(
        f"fetch-model: {settings.package}: {settings.data_url} (sha256 {settings.sha256}, {size / 1e6:.1f} MB,"
        f" as registered) unpacked into {settings.model_dir}: {files} files in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return 0


def fetch(settings: FetchSettings, client: Any) -> tuple[int, int]:
    """Download, check the sha256, unpack; returns (files unpacked, archive bytes)."""
    bucket, key = s3.split_url(settings.data_url, DATA_URL_ENV)
    try:
        scratch_directory = tempfile.TemporaryDirectory(prefix="fetch-model-")
    except OSError as error:
        raise FetchFailed(f"no scratch space for the archive: {error}") from None
    with scratch_directory as scratch:
        archive = Path(scratch) / "model.tar.gz"
        actual, size = _download(client, bucket, key, archive, settings.data_url, limit=settings.limits.archive_bytes)
        if actual != settings.sha256:
            raise FetchFailed(
                f"{settings.data_url} has sha256 {actual}, not the registered {settings.sha256}: the archive was"
                " replaced or corrupted since `modelplane register`; refusing to serve it"
            )
        try:
            _empty(settings.model_dir)
        except OSError as error:
            raise FetchFailed(f"the model directory {settings.model_dir} cannot be written: {error}") from None
        return _unpack(archive, settings.model_dir, settings.data_url, settings.limits), size


def _download(client: Any, bucket: str, key: str, target: Path, url: str, *, limit: int) -> tuple[str, int]:
    """The archive into `target`, hashed as it arrives; refused by its announced length when that is over
    `limit`, else stopped at the first byte past it (a length S3 did not give, or one that lied)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    digest = hashlib.sha256()
    size = 0
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        announced = response.get("ContentLength")
        if isinstance(announced, int) and announced > limit:
            body.close()
            raise _over(
                f"{url} is {_size_text(announced)}, over its limit of {_size_text(limit)}",
                MAX_ARCHIVE_BYTES_ENV,
                limit,
                NOT_DOWNLOADED,
            )
        with target.open("wb") as handle:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    body.close()
                    raise _over(
                        f"{url} is larger than its limit of {_size_text(limit)}",
                        MAX_ARCHIVE_BYTES_ENV,
                        limit,
                        NOT_DOWNLOADED,
                    )
                digest.update(chunk)
                handle.write(chunk)
    except NoCredentialsError:
        raise FetchFailed(
            f"{url}: no AWS credentials; the pod's service account needs its IAM role (IRSA annotation"
            " eks.amazonaws.com/role-arn)"
        ) from None
    except ClientError as error:
        code = s3.error_code(error)
        if code in MISSING:
            raise FetchFailed(f"{url}: no such archive ({code}); was it deleted from the artifact bucket?") from None
        if code in DENIED:
            raise FetchFailed(
                f"{url}: access denied ({code}); the pod's IAM role may read the registered archives and decrypt"
                " them with the stack key through S3"
            ) from None
        raise FetchFailed(f"{url}: {code}: {error}") from None
    except (BotoCoreError, OSError) as error:
        raise FetchFailed(f"{url}: {type(error).__name__}: {error}") from None
    return digest.hexdigest(), size


def _empty(directory: Path) -> None:
    """The directory without its former contents (a restarted pod keeps its emptyDir)."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _unpack(archive: Path, directory: Path, url: str, limits: Limits) -> int:
    """The archive into `directory` in one pass, each member counted before it is written: a bomb is stopped
    at its limit, never unpacked in full. Returns the regular files unpacked."""
    budget = _Budget(limits, url)
    try:
        with tarfile.open(archive, "r:gz") as contents:
            contents.extractall(directory, members=(budget.admit(member) for member in contents), filter="data")
    except OverLimit:
        # The members unpacked before the refused one are no model: never leave half of one behind.
        with contextlib.suppress(OSError):
            _empty(directory)
        raise
    except (tarfile.TarError, OSError, EOFError) as error:
        with contextlib.suppress(OSError):
            _empty(directory)
        raise FetchFailed(f"{url}: not a model archive that unpacks safely (a .tar.gz): {error}") from None
    return budget.files


class _Budget:
    """What the members read so far would take, checked against the limits before each one is unpacked."""

    def __init__(self, limits: Limits, url: str) -> None:
        self.limits, self.url = limits, url
        self.members = self.files = self.unpacked = 0

    def admit(self, member: tarfile.TarInfo) -> tarfile.TarInfo:
        self.members += 1
        if self.members > self.limits.files:
            raise _over(
                f"{self.url} holds more than its limit of {self.limits.files} files and directories",
                MAX_FILES_ENV,
                self.limits.files,
                LEFT_EMPTY,
            )
        if member.isfile():
            self.files += 1
            self.unpacked += member.size
            if self.unpacked > self.limits.unpacked_bytes:
                raise _over(
                    f"{self.url} unpacks to more than its limit of {_size_text(self.limits.unpacked_bytes)}",
                    MAX_BYTES_ENV,
                    self.limits.unpacked_bytes,
                    LEFT_EMPTY,
                )
        return member


def _fail(message: str, code: int, environ: Mapping[str, str]) -> int:
    print(message, file=sys.stderr, flush=True)
    log = Path(environ.get(TERMINATION_LOG_ENV) or TERMINATION_LOG)
    # Kubernetes keeps at most 4096 bytes; outside Kubernetes there is no termination log, stderr has it.
    with contextlib.suppress(OSError):
        log.write_text(message[:4096], encoding="utf-8")
    return code
