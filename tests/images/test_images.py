"""`modelplane image build|test|push` against a real Docker daemon and a real registry on loopback."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import cast

import boto3
import docker
import pytest
from docker.errors import DockerException
from modelplane_components.kubernetes_pods import MODEL_DIR, NON_ROOT_ID
from urllib3.exceptions import ProtocolError

from modelplane.cli import main
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.images import build, daemon, push
from modelplane.images.contract import Contract, Result, _await_ready, _Container, _free_port, _sigterm
from modelplane.images.manifests import Verdict, judge_local, judge_registry
from modelplane.images.registry import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Reference, fetch_manifest
from modelplane.images.table import DETAIL_INDENT
from tests.images.harness import (
    ContainerdStoreDaemon,
    ensure_base_image,
    image_documents,
    push_oci,
    scripted_server,
)
from tests.stacks import REPOSITORY

pytestmark = pytest.mark.long

CHECKS = ["manifest", "label", "port", "readiness", "ping", "invocations", "bad input", "metrics", "sigterm"]
CHECKS += ["bind-to-port", "non-root"]
SHORT = ["--readiness-timeout", "6", "--stop-timeout", "3"]
"""Time for the broken servers (Python's http.server, up in well under a second) to become ready and to stop."""
_ROW = re.compile(r"^  (pass|FAIL|skip)\s{2,}(\S+(?: \S+)?)\s{2,}", re.M)


def results(output: str) -> dict[str, str]:
    """Check name -> pass / FAIL / skip, from the table."""
    return {name: result for result, name in _ROW.findall(output)}


def detail(output: str, check: str) -> str:
    """A check's detail, its wrapped lines joined."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^  \S+\s+{re.escape(check)}\s{{2,}}", line))
    parts = [lines[start][DETAIL_INDENT:]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * DETAIL_INDENT):
            break
        parts.append(line.strip())
    return " ".join(parts)


def contract(capsys: pytest.CaptureFixture[str], image: str, *options: str) -> tuple[int, str]:
    code = main(["image", "test", image, "--stack", "dev", "--endpoint", "fraud", *options])
    return code, capsys.readouterr().out


def test_the_build_is_labelled_and_pushes_as_a_docker_v2_manifest(
    serving_image: build.BuiltImage, docker_client: docker.DockerClient, base_image: str
) -> None:
    facts = daemon.image_facts(docker_client, serving_image.id)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert facts.labels["org.opencontainers.image.revision"] in {head, f"{head}-dirty"}
    assert facts.labels["org.opencontainers.image.base.name"] == base_image
    assert facts.labels[daemon.BIND_TO_PORT_LABEL] == "true"
    config = docker_client.api.inspect_image(serving_image.id)["Config"]
    assert config["Entrypoint"] == ["python", "-m", "modelplane_serving"] and config["Cmd"] == ["serve"]
    assert serving_image.manifest.ok and DOCKER_MANIFEST in serving_image.manifest.detail
    assert serving_image.tags == [
        f"modelplane-serving:fraud-detector-{serving_image.id.removeprefix('sha256:')[:20]}",
        "modelplane-serving:fraud-detector",
    ]
    assert 0 < serving_image.layers_above_base == daemon.layers_size_above(docker_client, serving_image.id, base_image)


def test_our_image_keeps_both_contracts_as_root_and_as_a_restricted_pod(
    serving_image: build.BuiltImage, fraud_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = contract(capsys, serving_image.tags[0], "--model-data", str(fraud_archive))
    assert code == EXIT_OK, output
    assert results(output) == dict.fromkeys(CHECKS, "pass")
    assert '"score":0.265417' in detail(output, "invocations")
    assert "codes 200, 400" in detail(output, "metrics")
    assert "exited with code 0" in detail(output, "sigterm")
    assert "UID 10001" in detail(output, "non-root") and "/invocations 200" in detail(output, "non-root")
    assert output.rstrip().endswith("OK: 11 passed, 0 failed, 0 skipped")


def test_a_kubernetes_endpoint_is_checked_on_its_own_health_path(
    serving_image: build.BuiltImage, fraud_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dev's recommender declares /healthz: the image learns it as the component tells it (MODELPLANE_HEALTH_PATH)."""
    code = main(
        [
            "image",
            "test",
            serving_image.id,
            "--stack",
            "dev",
            "--endpoint",
            "recommender",
            "--model-data",
            str(fraud_archive),
        ]
    )
    output = capsys.readouterr().out
    assert code == EXIT_OK, output
    assert "/healthz 200 on port 8080" in detail(output, "non-root")
    assert results(output)["invocations"] == "skip", "recommender has no smoke_test"


@pytest.mark.parametrize(
    "case",
    [
        # Its three runs wait out the readiness timeout for a port it never listens on: 2 s each (the server
        # is up on its wrong port long before; it would pass on the right one, as the other faults show).
        (
            "port",
            ["--readiness-timeout", "2", "--stop-timeout", "3"],
            {"port", "bind-to-port", "non-root"},
            "port",
            "nothing accepted connections on 127.0.0.1:8080 within 2 s",
        ),
        # SIGTERM never stops it (PID 1 without a handler): a second is as telling as three.
        (
            "sigterm",
            ["--readiness-timeout", "6", "--stop-timeout", "1"],
            {"sigterm"},
            "sigterm",
            "still running 1 s after SIGTERM",
        ),
        ("root", SHORT, {"non-root"}, "non-root", "the container exited with code 1"),
        # Run side by side with SageMaker's run, it would answer for it on 8080 (or fail to bind there): the
        # check says so as soon as 8080 answers, not after the readiness timeout.
        ("bind-to-port", SHORT, {"bind-to-port"}, "bind-to-port", "it listens on port 8080 instead"),
    ],
    ids=lambda case: case[0],
)
def test_a_broken_image_fails_the_check_that_names_its_fault(
    broken_images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, list[str], set[str], str, str],
) -> None:
    fault, options, failed, check, reason = case
    code, output = contract(capsys, broken_images[fault], *options)
    assert code == EXIT_FAILED, output
    assert {name for name, result in results(output).items() if result == "FAIL"} == failed, output
    assert reason in detail(output, check)
    if fault == "root":
        assert "/var/run/model-server.pid" in detail(output, "non-root")


def test_a_container_that_stopped_on_its_own_is_not_ready_whoever_answers_its_port_and_fails_sigterm(
    broken_images: dict[str, str],
) -> None:
    """The 200 of another server on the port is not the container's readiness; a container gone before
    SIGTERM (the daemon removed it when it exited) did not stop on SIGTERM."""
    image = broken_images["none"]
    stopped = _Container.create(Contract(image, Verdict(True, "")), ["serve"], {"FAULT": "exit"}, False)
    with scripted_server(lambda _path, _authorization: (200, {}, b"")) as address:
        port = int(address.rsplit(":", 1)[1])
        try:
            assert (
                stopped.start_on(port) == f"port {port} was taken before the container started (another process"
                " on this machine)"
            )
            assert stopped.start_on(_free_port()) is None
            assert stopped.exit_code(30) == "3"
            problem, _ = _await_ready(stopped, port, "/ping", 5)
            sigterm = _sigterm(stopped, 3)
        finally:
            stopped.discard()
    assert problem is not None and problem.startswith("the container exited with code 3")
    assert sigterm.result is Result.FAIL
    assert sigterm.detail.startswith("it had stopped before SIGTERM: the container exited with code 3")


def test_an_image_under_an_oci_manifest_fails_the_manifest_check_alone(
    broken_images: dict[str, str], docker_client: docker.DockerClient, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = push_oci(docker_client, broken_images["none"], registry, "oci-image", index=False)
    code, output = contract(capsys, reference, *SHORT)
    assert code == EXIT_FAILED, output
    assert {name for name, result in results(output).items() if result == "FAIL"} == {"manifest"}, output
    assert "the registry holds an OCI manifest (application/vnd.oci.image.manifest.v1+json)" in detail(
        output, "manifest"
    )


def test_an_image_index_with_an_attestation_is_refused_as_buildkit_makes_it(
    small_image: str, docker_client: docker.DockerClient, registry: str
) -> None:
    reference = push_oci(docker_client, small_image, registry, "indexed", index=True)
    manifest = fetch_manifest(Reference.parse(reference))
    assert manifest is not None
    verdict = judge_registry(manifest)
    assert not verdict.ok
    assert (
        "an image index (application/vnd.oci.image.index.v1+json) of 2 manifests, 1 of them attestations"
        in verdict.detail
    )
    assert "(platforms linux/amd64)" in verdict.detail and "--provenance=false" in verdict.detail


@pytest.mark.parametrize(
    ("media", "verdict"),
    [
        ("docker", f"the containerd image store holds {DOCKER_MANIFEST}, one platform"),
        ("oci", f"the containerd image store holds an OCI manifest ({OCI_MANIFEST}): SageMaker refuses it"),
        (
            "index",
            f"the containerd image store holds an image index ({OCI_INDEX}) of 2 manifests, 1 of them attestations"
            " (platforms linux/amd64): SageMaker refuses image indexes",
        ),
    ],
)
def test_on_the_containerd_image_store_the_manifest_is_judged_as_docker_save_exports_it(
    small_image: str, docker_client: docker.DockerClient, registry: str, media: str, verdict: str
) -> None:
    """The classic store (this daemon) pushes whatever built the image as a Docker v2 manifest; the containerd
    store keeps the builder's manifest or index and pushes it as is, so that is what is judged before a push."""
    assert judge_local(docker_client, small_image) == Verdict(
        True, f"{DOCKER_MANIFEST} on push (classic image store: one config, no index)"
    )
    documents = image_documents(docker_client, small_image, media=media)
    store = ContainerdStoreDaemon(docker_client, small_image, "modelplane-small:c8d", documents, registry)
    judged = judge_local(cast(docker.DockerClient, store), "modelplane-small:c8d")
    assert (judged.ok, judged.detail.startswith(verdict)) == (media == "docker", True), judged.detail


@pytest.mark.parametrize("media", ["docker", "index"])
def test_on_the_containerd_image_store_push_knows_the_image_by_its_manifest_digest(
    small_image: str, docker_client: docker.DockerClient, registry: str, media: str
) -> None:
    """There the image ID is the digest of the manifest or index, not of the config (the classic store's ID,
    which the real push test covers): the content tag, the found-not-pushed case and the read-back all
    know the image by it."""
    documents = image_documents(docker_client, small_image, media=media)
    store = cast(
        docker.DockerClient,
        ContainerdStoreDaemon(docker_client, small_image, "modelplane-small:c8d", documents, registry),
    )
    target = push.Target(f"{registry}/c8d-{media}-{uuid.uuid4().hex[:8]}")
    first = push.push(store, "modelplane-small:c8d", target, lambda _: None)
    again = push.push(store, "modelplane-small:c8d", target, lambda _: None)
    digest = documents.top.digest
    assert first.tag == again.tag == build.content_tag(digest)
    assert (first.digest, first.already_there, again.digest, again.already_there) == (digest, False, digest, True)
    assert first.verdict.ok is (media == "docker"), first.verdict.detail


def test_push_by_content_tag_reads_back_the_digest_and_prints_the_register_command(
    small_image: str, docker_client: docker.DockerClient, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real `docker push` of an image of two layers (what is pushed and read back does not depend on what
    the layers hold)."""
    image_id = daemon.image_facts(docker_client, small_image).id
    arguments = ["image", "push", small_image, "--stack", "dev", "--family", "fraud-detector"]
    arguments += ["--registry", f"http://{registry}", "--model-data", "out/model.tar.gz"]
    assert main(arguments) == EXIT_OK
    output = capsys.readouterr().out
    tag = build.content_tag(image_id)
    manifest = fetch_manifest(Reference.parse(f"{registry}/fraud-detector:{tag}"))
    assert manifest is not None
    assert (manifest.media_type, manifest.config_digest) == (DOCKER_MANIFEST, image_id)
    assert f"Pushed to {registry}/fraud-detector:{tag}\n  digest    {manifest.digest}\n" in output
    register = (
        f"  modelplane register --stack dev --family fraud-detector"
        f" --image {registry}/fraud-detector@{manifest.digest} --model-data out/model.tar.gz\n"
    )
    assert register in output
    assert main(arguments) == EXIT_OK, "the same image again: found, not pushed"
    again = capsys.readouterr().out
    assert f"Already in {registry}/fraud-detector:{tag}\n  digest    {manifest.digest}\n" in again
    docker_client.api.remove_image(f"{registry}/fraud-detector:{tag}")  # the push's tag: this session's registry


def test_push_goes_to_the_familys_ecr_repository_with_an_ecr_token(moto_server_url: str, tmp_path: Path) -> None:
    import boto3

    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector"
    outputs = {"registry": {"families": {"fraud-detector": {"repository_url": repository}}}}
    assert push.family_repository(outputs, "fraud-detector", "dev") == repository
    with pytest.raises(
        daemon.ImageError, match=r"family 'recommender' has no repository_url .* \(families: fraud-detector\)"
    ):
        push.family_repository(outputs, "recommender", "dev")
    assert push.ecr_region(repository) == "eu-west-1"
    ecr = boto3.client(
        "ecr", region_name="eu-west-1", endpoint_url=moto_server_url, aws_access_key_id="x", aws_secret_access_key="x"
    )
    credentials = push.ecr_credentials(ecr)
    assert credentials.username == "AWS" and credentials.password
    assert (
        push.registry_target("http://127.0.0.1:5000/", "fraud-detector").repository == "127.0.0.1:5000/fraud-detector"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["image", "test", "x", "--stack", "dev", "--endpoint", "nope"], "stacks/Pulumi.dev.yaml: no endpoint 'nope'"),
        (["image", "test", "x", "--model-data", "/nonexistent/model.tar.gz"], "no such file"),
        (["image", "build", "--family", "Fraud Detector"], "--family Fraud Detector: a model family name is"),
        (["image", "push", "x", "--stack", "dev", "--family", "nope"], "no model family 'nope'"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(arguments) == EXIT_USAGE
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error and error.count("\n") == 1


@pytest.mark.parametrize(("version", "numpy"), [("3.11.13", "numpy==2.4.6"), ("3.13.5", "numpy==2.5.5")])
def test_the_wheels_are_those_the_lock_gives_the_bases_python(version: str, numpy: str) -> None:
    """uv.lock holds a numpy per Python version; pip download would pick by its own interpreter's (and then
    the base's pip finds no wheel of the version its Python needs)."""
    base = build.Platform(version.rsplit(".", 1)[0], version, "x86_64", (2, 36))
    requirements = base.requirements_for(build._locked_requirements())
    pinned = [line.split()[0] for line in requirements.splitlines() if line.startswith("numpy==")]
    assert pinned == [numpy]
    assert ";" not in requirements, "judged for the base: no marker left for pip download to judge by its own Python"
    assert "--hash=sha256:" in requirements.split(numpy, 1)[1].split("\n", 2)[1], "its hashes stay with it"


def test_a_base_whose_python_cannot_unpack_safely_is_refused_before_building(
    docker_client: docker.DockerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian 12's python3 (3.11.2) has no tarfile data filter: fetch-model would refuse every archive in a pod."""
    old = ensure_base_image(docker_client, "bookworm")
    assert main(["image", "build", "--family", "fraud-detector", "--base", old]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error == (
        f"modelplane image: base image {old}: Python 3.11.2 has no tarfile's data filter (Python 3.11.4, 3.12 or newer),"
        " which fetch-model unpacks registered model archives with; build on a newer base (--base)\n"
    )


def test_model_data_is_not_unpacked_by_a_python_without_the_data_filter(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fraud_archive: Path
) -> None:
    monkeypatch.delattr(tarfile, "data_filter")
    monkeypatch.setattr(sys, "version", "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]")
    assert main(["image", "test", "x", "--model-data", str(fraud_archive)]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        f"modelplane image: --model-data {fraud_archive}: Python 3.11.2 has no tarfile's data filter (Python 3.11.4, 3.12"
        " or newer) to unpack it with: run modelplane on one\n"
    )


@pytest.mark.parametrize("option", ["--readiness-timeout", "--stop-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "soon"])
def test_a_timeout_that_is_no_positive_finite_number_exits_2_naming_the_option(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["image", "test", "modelplane-serving:fraud-detector", option, value])
    assert exited.value.code == EXIT_USAGE
    assert f"error: argument {option}: " in capsys.readouterr().err


def test_no_docker_daemon_exits_2_naming_where_it_looked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["image", "test", "modelplane-serving:fraud-detector"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(
        "modelplane image: no Docker daemon answers at unix:///nonexistent/docker.sock"
    )


def test_with_modelplane_traceback_a_refusal_shows_the_daemons_error_below_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MODELPLANE_TRACEBACK=1 is for finding out why: the ImageError keeps the SDK's error as its cause."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("MODELPLANE_TRACEBACK", "1")
    with pytest.raises(daemon.ImageError) as refused:
        main(["image", "test", "modelplane-serving:fraud-detector"])
    assert isinstance(refused.value.__cause__, DockerException)
    assert capsys.readouterr().err.startswith("modelplane image: no Docker daemon answers at")
    unknown = ["image", "test", "x", "--stack", "dev", "--endpoint", "nope"]
    assert main(unknown) == EXIT_USAGE, "a refusal with nothing below it: no traceback"
    assert capsys.readouterr().err.count("\n") == 1


def test_a_daemon_that_stops_answering_mid_stream_is_an_image_error_naming_the_operation() -> None:
    """What the SDK raises when a streamed answer (push progress, build output) is cut off: urllib3's error."""
    cut = ProtocolError("Connection broken: IncompleteRead(0 bytes read)")
    with (
        pytest.raises(daemon.ImageError, match=r"^docker push r/x:t: the Docker daemon stopped answering: ") as refused,
        daemon.daemon_errors("docker push r/x:t"),
    ):
        raise cut
    assert refused.value.__cause__ is cut


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint), "--format", "json", str(REPOSITORY / "serving" / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout or "[]") == [] and result.returncode == 0, result.stdout + result.stderr


def test_fetch_model_in_the_image_unpacks_the_registered_archive_and_refuses_one_over_its_limit(
    docker_client: docker.DockerClient,
    serving_image: build.BuiltImage,
    fraud_archive: Path,
    moto_server_url: str,
    tmp_path: Path,
) -> None:
    """The init container's command in the built image, run as the pod runs it (its user, a read-only root,
    /tmp and the model volume its own), against S3 on loopback: the image's own Python unpacks the archive."""
    credentials = {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server_url,
        region_name=credentials["AWS_REGION"],
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    archive = fraud_archive.read_bytes()
    s3.put_object(Bucket="artifacts", Key="fraud-detector/model.tar.gz", Body=archive)

    def fetch(model_dir: Path, **limits: str) -> tuple[int, str]:
        model_dir.mkdir(mode=0o777)
        model_dir.chmod(0o777)  # written by the pod's user, as an emptyDir is
        container = docker_client.containers.run(
            serving_image.id,
            ["fetch-model"],
            detach=True,
            network_mode="host",
            user=f"{NON_ROOT_ID}:{NON_ROOT_ID}",
            read_only=True,
            tmpfs={"/tmp": ""},  # noqa: S108 - the container's own, as the pod's emptyDir
            volumes={str(model_dir): {"bind": MODEL_DIR, "mode": "rw"}},
            environment={
                **credentials,
                "AWS_ENDPOINT_URL_S3": moto_server_url,
                "MODELPLANE_MODEL_DATA_URL": "s3://artifacts/fraud-detector/model.tar.gz",
                "MODELPLANE_MODEL_SHA256": hashlib.sha256(archive).hexdigest(),
                "MODELPLANE_TERMINATION_LOG": "/tmp/termination-log",  # noqa: S108 - in its own /tmp
                **limits,
            },
        )
        try:
            return container.wait(timeout=120)["StatusCode"], container.logs().decode()
        finally:
            container.remove(force=True)

    code, logs = fetch(tmp_path / "served")
    assert code == 0, logs
    assert [path.name for path in (tmp_path / "served").iterdir()] == ["model.onnx"]
    with tarfile.open(fraud_archive) as contents:
        registered = contents.extractfile("model.onnx")
        assert registered is not None and (tmp_path / "served" / "model.onnx").read_bytes() == registered.read()

    code, logs = fetch(tmp_path / "refused", MODELPLANE_MODEL_MAX_BYTES="16")
    assert code == 1, logs
    assert "unpacks to more than its limit" in logs and "raise MODELPLANE_MODEL_MAX_BYTES" in logs, logs
    assert "Traceback" not in logs
    assert list((tmp_path / "refused").iterdir()) == [], "nothing of a refused archive is left"
