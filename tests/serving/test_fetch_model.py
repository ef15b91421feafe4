"""`fetch-model` in this process against the S3 emulator (moto on loopback): the registered archive unpacked,
a corrupt or missing one refused with a message in the termination log, an unsafe archive never unpacked,
an archive over its size, unpacked size or member limit refused with the limit named and nothing left behind."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.response import StreamingBody

from modelplane_serving import fetch_model
from tests.archives import tar_of
from tests.serving.harness import fraud_model, model_archive

BUCKET = "artifacts"
KEY = "fraud-detector/abc/model.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"
PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-detector-staging/3"


@pytest.fixture(scope="module", autouse=True)
def one_botocore_session() -> Iterator[None]:
    """fetch-model makes its S3 client from a new botocore session, which reads S3's service model again (about
    0.1 CPU-s): the module's runs share one session, and each run still makes its own client from its environment
    (the emulator's endpoint, region and credentials are the same for every test here)."""
    session = botocore.session.get_session()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "get_session", lambda: session)
        yield


@pytest.fixture
def s3(moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator as the pod's S3 (static test credentials in place of the pod's web identity), with the bucket."""
    for name, value in {
        "AWS_ENDPOINT_URL_S3": moto_server_url,
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


def run(tmp_path: Path, sha256: str, url: str = URL, **limits: str) -> tuple[int, Path, str]:
    """The command with the component's environment (and `limits`, variables by name); (exit code, model
    directory, termination message)."""
    model_dir, log = tmp_path / "model", tmp_path / "termination-log"
    code = fetch_model.run(
        {
            fetch_model.DATA_URL_ENV: url,
            fetch_model.SHA256_ENV: sha256,
            fetch_model.PACKAGE_ENV: PACKAGE,
            "MODELPLANE_MODEL_DIR": str(model_dir),
            fetch_model.TERMINATION_LOG_ENV: str(log),
            **limits,
        }
    )
    return code, model_dir, log.read_text() if log.exists() else ""


def upload(s3: Any, data: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=data)
    return hashlib.sha256(data).hexdigest()


def test_the_registered_archive_is_unpacked(s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = model_archive(tmp_path / "model.tar.gz", fraud_model()).read_bytes()
    sha256 = upload(s3, archive)
    stale = tmp_path / "model" / "old.onnx"
    stale.parent.mkdir()
    stale.write_text("from before the pod restarted")
    code, model_dir, message = run(tmp_path, sha256)
    assert (code, message) == (0, "")
    assert sorted(path.name for path in model_dir.iterdir()) == ["model.onnx"], "emptied first, then unpacked"
    assert (model_dir / "model.onnx").read_bytes() == fraud_model().SerializeToString()
    assert f"{PACKAGE}: {URL} (sha256 {sha256}" in capsys.readouterr().out


def test_a_corrupt_archive_fails_the_pod_and_is_not_unpacked(s3: Any, tmp_path: Path) -> None:
    archive = model_archive(tmp_path / "model.tar.gz", fraud_model()).read_bytes()
    registered = hashlib.sha256(archive).hexdigest()
    actual = upload(s3, archive[:-10] + b"0123456789")
    code, model_dir, message = run(tmp_path, registered)
    assert code == 1
    assert message == (
        f"fetch-model: {PACKAGE}: {URL} has sha256 {actual}, not the registered {registered}: the archive was"
        " replaced or corrupted since `modelplane register`; refusing to serve it"
    )
    assert not model_dir.exists() or not any(model_dir.iterdir())


def test_a_missing_archive_fails_the_pod_naming_it(s3: Any, tmp_path: Path) -> None:
    code, _, message = run(tmp_path, "a" * 64)
    assert code == 1
    assert message == (
        f"fetch-model: {PACKAGE}: {URL}: no such archive (NoSuchKey); was it deleted from the artifact bucket?"
    )


def test_an_archive_escaping_the_model_directory_is_refused(s3: Any, tmp_path: Path) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        entry = tarfile.TarInfo("../../escaped.txt")
        entry.size = 3
        archive.addfile(entry, io.BytesIO(b"bad"))
    sha256 = upload(s3, data.getvalue())
    code, _, message = run(tmp_path, sha256)
    assert code == 1
    assert "not a model archive that unpacks safely" in message and "outside the destination" in message
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "MODELPLANE_MODEL_DATA_URL, MODELPLANE_MODEL_SHA256 not set"),
        ({fetch_model.DATA_URL_ENV: URL, fetch_model.SHA256_ENV: "abc"}, "MODELPLANE_MODEL_SHA256='abc': not 64 hex"),
        (
            {fetch_model.DATA_URL_ENV: "https://example.org/model.tar.gz", fetch_model.SHA256_ENV: "a" * 64},
            "not an s3://<bucket>/<key> URL",
        ),
    ],
)
def test_missing_settings_exit_2_naming_them(tmp_path: Path, variables: dict[str, str], expected: str) -> None:
    log = tmp_path / "log"
    assert fetch_model.run({**variables, fetch_model.TERMINATION_LOG_ENV: str(log)}) == 2
    assert expected in log.read_text()


def test_an_archive_refused_midway_leaves_no_half_model(s3: Any, tmp_path: Path) -> None:
    """A member the filter refuses after others were unpacked: the model directory is left empty, not half filled."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        model = fraud_model().SerializeToString()
        entry = tarfile.TarInfo("model.onnx")
        entry.size = len(model)
        archive.addfile(entry, io.BytesIO(model))
        link = tarfile.TarInfo("weights")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    sha256 = upload(s3, data.getvalue())
    code, model_dir, message = run(tmp_path, sha256)
    assert code == 1
    assert "not a model archive that unpacks safely" in message and "absolute path" in message
    assert sorted(path.name for path in model_dir.iterdir()) == []


def test_a_model_directory_that_cannot_be_written_fails_with_its_reason(s3: Any, tmp_path: Path) -> None:
    """Exit 1 with one message in the termination log, not a traceback, when the model volume is unusable."""
    sha256 = upload(s3, model_archive(tmp_path / "model.tar.gz", fraud_model()).read_bytes())
    (tmp_path / "volume").write_text("a file where the model volume should be")
    log = tmp_path / "termination-log"
    code = fetch_model.run(
        {
            fetch_model.DATA_URL_ENV: URL,
            fetch_model.SHA256_ENV: sha256,
            fetch_model.PACKAGE_ENV: PACKAGE,
            "MODELPLANE_MODEL_DIR": str(tmp_path / "volume" / "model"),
            fetch_model.TERMINATION_LOG_ENV: str(log),
        }
    )
    assert code == 1
    assert log.read_text().startswith(
        f"fetch-model: {PACKAGE}: the model directory {tmp_path / 'volume' / 'model'} cannot be written:"
    )


def test_no_scratch_space_fails_with_its_reason(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pod's /tmp missing or full is a failed fetch with its reason, not a traceback."""
    sha256 = upload(s3, model_archive(tmp_path / "model.tar.gz", fraud_model()).read_bytes())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-tmp"))
    code, _, message = run(tmp_path, sha256)
    assert code == 1
    assert message.startswith(f"fetch-model: {PACKAGE}: no scratch space for the archive: ")
    assert "no-tmp" in message


# --- limits: what one archive may cost the pod's volumes -------------------------------------------------

MIB = 1 << 20


def test_limits_default_to_2_gib_and_10000_members() -> None:
    settings = fetch_model.FetchSettings.from_environ({fetch_model.DATA_URL_ENV: URL, fetch_model.SHA256_ENV: "a" * 64})
    assert settings.limits == fetch_model.Limits(archive_bytes=2 << 30, unpacked_bytes=2 << 30, files=10_000)


def test_an_archive_at_its_limits_is_unpacked(s3: Any, tmp_path: Path) -> None:
    """Each limit is the most allowed, not one past it."""
    archive = tar_of({"model.onnx": fraud_model().SerializeToString(), "labels.txt": b"ok\nfraud\n"}, gzip=True)
    sha256 = upload(s3, archive)
    unpacked = len(fraud_model().SerializeToString()) + len(b"ok\nfraud\n")
    code, model_dir, message = run(
        tmp_path,
        sha256,
        MODELPLANE_MODEL_MAX_ARCHIVE_BYTES=str(len(archive)),
        MODELPLANE_MODEL_MAX_BYTES=str(unpacked),
        MODELPLANE_MODEL_MAX_FILES="2",
    )
    assert (code, message) == (0, "")
    assert sorted(path.name for path in model_dir.iterdir()) == ["labels.txt", "model.onnx"]


def test_an_archive_over_its_download_limit_is_refused_before_unpacking(s3: Any, tmp_path: Path) -> None:
    archive = model_archive(tmp_path / "model.tar.gz", fraud_model()).read_bytes()
    sha256 = upload(s3, archive)
    limit = len(archive) - 1
    code, model_dir, message = run(tmp_path, sha256, MODELPLANE_MODEL_MAX_ARCHIVE_BYTES=str(limit))
    assert code == 1
    assert message == (
        f"fetch-model: {PACKAGE}: {URL} is 0.0 MiB, over its limit of 0.0 MiB"
        f" (MODELPLANE_MODEL_MAX_ARCHIVE_BYTES={limit}): refused, nothing unpacked. To serve it, raise"
        " MODELPLANE_MODEL_MAX_ARCHIVE_BYTES (a modelplane stack file's kubernetes.resources.model_size_limit)"
    )
    assert not model_dir.exists()


def test_an_archive_whose_length_is_not_announced_is_stopped_at_its_limit(tmp_path: Path) -> None:
    """S3 gives a length; a body without one (or longer than it said) is cut at the first chunk past the limit."""
    archive = tar_of({"weights.bin": os.urandom(4 * MIB)}, gzip=True)

    class Counted(io.BytesIO):
        delivered = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.delivered += len(data)
            return data

    body = Counted(archive)

    class NoLength:
        def get_object(self, **_: str) -> dict[str, Any]:
            return {"Body": StreamingBody(body, len(archive))}

    settings = fetch_model.FetchSettings(
        data_url=URL,
        sha256=hashlib.sha256(archive).hexdigest(),
        package=PACKAGE,
        model_dir=tmp_path / "model",
        limits=fetch_model.Limits(archive_bytes=MIB + 1),
    )
    with pytest.raises(fetch_model.OverLimit, match=r"is larger than its limit of 1\.0 MiB"):
        fetch_model.fetch(settings, NoLength())
    assert body.delivered == 2 * MIB, "read up to the chunk past the limit, no further"
    assert not (tmp_path / "model").exists()


def test_a_decompression_bomb_is_stopped_at_its_unpacked_limit_and_leaves_nothing(s3: Any, tmp_path: Path) -> None:
    """A small archive that unpacks to far more than its limit: refused at the member that goes past it, and the
    members unpacked before it are removed. (Twice the limit is enough: gzip takes 0.2 CPU-s to pack 64 MiB.)"""
    archive = tar_of({"model.onnx": fraud_model().SerializeToString(), "weights.bin": bytes(16 * MIB)}, gzip=True)
    assert len(archive) < MIB, "small to download: only the unpacked limit can stop it"
    sha256 = upload(s3, archive)
    stale = tmp_path / "model" / "old.onnx"
    stale.parent.mkdir()
    stale.write_text("from before the pod restarted")
    code, model_dir, message = run(tmp_path, sha256, MODELPLANE_MODEL_MAX_BYTES=str(8 * MIB))
    assert code == 1
    assert message == (
        f"fetch-model: {PACKAGE}: {URL} unpacks to more than its limit of 8.0 MiB"
        f" (MODELPLANE_MODEL_MAX_BYTES={8 * MIB}): refused, the model directory left empty. To serve it, raise"
        " MODELPLANE_MODEL_MAX_BYTES (a modelplane stack file's kubernetes.resources.model_size_limit)"
    )
    assert list(model_dir.iterdir()) == []


def test_an_archive_of_too_many_members_is_refused_and_leaves_nothing(s3: Any, tmp_path: Path) -> None:
    archive = tar_of({f"shard-{number}.bin": b"" for number in range(5)}, gzip=True)
    sha256 = upload(s3, archive)
    code, model_dir, message = run(tmp_path, sha256, MODELPLANE_MODEL_MAX_FILES="4")
    assert code == 1
    assert message == (
        f"fetch-model: {PACKAGE}: {URL} holds more than its limit of 4 files and directories"
        " (MODELPLANE_MODEL_MAX_FILES=4): refused, the model directory left empty. To serve it, raise"
        " MODELPLANE_MODEL_MAX_FILES (a modelplane stack file's kubernetes.resources.model_files_limit)"
    )
    assert list(model_dir.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "4Gi", "1.5", "\u00b2"])
@pytest.mark.parametrize(
    "variable",
    [fetch_model.MAX_ARCHIVE_BYTES_ENV, fetch_model.MAX_BYTES_ENV, fetch_model.MAX_FILES_ENV],
)
def test_a_limit_that_is_no_whole_number_exits_2_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    log = tmp_path / "log"
    environment = {
        fetch_model.DATA_URL_ENV: URL,
        fetch_model.SHA256_ENV: "a" * 64,
        fetch_model.TERMINATION_LOG_ENV: str(log),
        variable: value,
    }
    assert fetch_model.run(environment) == 2
    assert log.read_text() == f"fetch-model: {variable}={value!r}: not a whole number from 1"


def test_a_python_without_tarfiles_data_filter_exits_2_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python before 3.11.4 (Debian 12's 3.11.2 among them) would unpack without the filter's checks: refused."""
    monkeypatch.delattr(tarfile, "data_filter")
    monkeypatch.setattr(sys, "version", "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]")
    log = tmp_path / "log"
    environment = {
        fetch_model.DATA_URL_ENV: URL,
        fetch_model.SHA256_ENV: "a" * 64,
        fetch_model.TERMINATION_LOG_ENV: str(log),
    }
    assert fetch_model.run(environment) == 2
    assert log.read_text() == (
        "fetch-model: Python 3.11.2 has no tarfile's data filter (Python 3.11.4, 3.12 or newer): rebuild the image"
        " on a newer base"
    )
