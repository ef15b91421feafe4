"""`fetch-model` in this process against the S3 emulator (moto on loopback): the registered archive unpacked,
a corrupt or missing one refused with a message in the termination log, an unsafe archive never unpacked.
(tests/images runs the same command in the real image, as the init container runs.)"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from modelplane_serving import fetch_model
from tests.serving.harness import fraud_model, model_archive

BUCKET = "artifacts"
KEY = "fraud-detector/abc/model.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"
PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-detector-staging/3"


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


def run(tmp_path: Path, sha256: str, url: str = URL) -> tuple[int, Path, str]:
    """The command with the component's environment; (exit code, model directory, termination message)."""
    model_dir, log = tmp_path / "model", tmp_path / "termination-log"
    code = fetch_model.run(
        {
            fetch_model.DATA_URL_ENV: url,
            fetch_model.SHA256_ENV: sha256,
            fetch_model.PACKAGE_ENV: PACKAGE,
            "MODELPLANE_MODEL_DIR": str(model_dir),
            fetch_model.TERMINATION_LOG_ENV: str(log),
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
