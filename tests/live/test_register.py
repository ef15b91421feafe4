"""`modelplane register` against a moto server: the archive lands encrypted under the stack key with its
sha256, the version is PendingManualApproval with the image digest and metrics, the same inputs again
create nothing, every refusal leaves the registry untouched, and `promote` then pins the version.

The registry is created in moto under the names the program exports (its stack outputs under the mock
runtime); only the KMS key is moto's own, since moto must know a key to encrypt with it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.config.loader import load_stack_file
from modelplane.errors import EXIT_OK, EXIT_USAGE
from modelplane.live.register import IMAGE_DIGEST_KEY, MODEL_SHA256_KEY, PENDING, next_commands
from tests.stacks import SimulateStack, settings_of

REGION = "eu-west-1"  # staging's
DIGEST = "sha256:" + "ab" * 32
GROUP = "fraud-detector-staging"


@pytest.fixture
def stacks(project_copy: Path) -> Path:
    """The stack files of a copy of the project, which promote edits instead of the real ones."""
    return project_copy / "stacks"


@functools.cache
def client(url: str, service: str) -> Any:
    """The test's own client of a service on the moto server, made once: a client costs ≈15 ms to build, and
    the test's clients only read and seed moto (the command under test makes its own)."""
    return Aws.connect(REGION, url).client(service)


@pytest.fixture
def registry(moto_server_url: str, simulate_stack: SimulateStack, tmp_path: Path) -> dict[str, Any]:
    """The staging registry created in moto as `pulumi up` would; returns the stack outputs, also in a file."""
    outputs = json.loads(json.dumps(simulate_stack("staging").outputs))
    key_arn = client(moto_server_url, "kms").create_key()["KeyMetadata"]["Arn"]
    outputs["registry"]["key_arn"] = key_arn
    client(moto_server_url, "s3").create_bucket(
        Bucket=outputs["registry"]["bucket_name"], CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    sagemaker = client(moto_server_url, "sagemaker")
    for family in outputs["registry"]["families"].values():
        sagemaker.create_model_package_group(ModelPackageGroupName=family["model_package_group_name"])
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    return outputs


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 40)
    return path


def image(outputs: dict[str, Any], digest: str = DIGEST) -> str:
    return f"{outputs['registry']['families']['fraud-detector']['repository_url']}@{digest}"


Register = Callable[..., int]


@pytest.fixture
def register(moto_server_url: str, registry: dict[str, Any], archive: Path, tmp_path: Path, stacks: Path) -> Register:
    def run(**overrides: str) -> int:
        arguments = {
            "--stack": "staging",
            "--family": "fraud-detector",
            "--image": image(registry),
            "--model-data": str(archive),
            "--outputs": str(tmp_path / "outputs.json"),
            "--endpoint-url": moto_server_url,
            **overrides,
        }
        return main(["register", *(part for item in arguments.items() for part in item)])

    return run


def versions(url: str, group: str = GROUP) -> list[dict[str, Any]]:
    sagemaker = client(url, "sagemaker")
    summaries = sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    return [sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


def test_register_uploads_under_the_stack_key_and_creates_a_pending_version(
    register: Register,
    registry: dict[str, Any],
    archive: Path,
    moto_server_url: str,
    tmp_path: Path,
    *,
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = tmp_path / "eval.json"
    metrics.write_text(json.dumps({"auc": 0.931, "precision_at_1pct_fpr": 0.62}), encoding="utf-8")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()

    assert register(**{"--metrics": str(metrics), "--description": "GBT retrained on May data"}) == EXIT_OK

    bucket, key = registry["registry"]["bucket_name"], f"fraud-detector/{sha256}/model.tar.gz"
    stored = client(moto_server_url, "s3").head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", registry["registry"]["key_arn"])
    assert stored["Metadata"] == {"sha256": sha256}
    assert base64.b64decode(stored["ChecksumSHA256"]).hex() == sha256
    [version] = versions(moto_server_url)
    assert version["ModelPackageVersion"] == 1
    assert version["ModelApprovalStatus"] == "PendingManualApproval"
    assert version["ModelPackageDescription"] == "GBT retrained on May data"
    assert version["InferenceSpecification"]["Containers"] == [
        {"Image": image(registry), "ImageDigest": DIGEST, "ModelDataUrl": f"s3://{bucket}/{key}"}
    ]
    assert version["CustomerMetadataProperties"] == {IMAGE_DIGEST_KEY: DIGEST, MODEL_SHA256_KEY: sha256}
    statistics = version["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentDigest"] == f"sha256:{hashlib.sha256(metrics.read_bytes()).hexdigest()}"
    metrics_key = statistics["S3Uri"].removeprefix(f"s3://{bucket}/")
    assert metrics_key.startswith(f"fraud-detector/{sha256}/evaluation-")
    uploaded = client(moto_server_url, "s3").get_object(Bucket=bucket, Key=metrics_key)
    assert (uploaded["ServerSideEncryption"], uploaded["SSEKMSKeyId"]) == ("aws:kms", registry["registry"]["key_arn"])
    assert json.loads(uploaded["Body"].read()) == {"auc": 0.931, "precision_at_1pct_fpr": 0.62}
    printed = capsys.readouterr().out
    assert "Registered fraud-detector-staging version 1 (PendingManualApproval)\n" in printed
    assert printed.rstrip().endswith(
        "modelplane promote --stack staging --endpoint fraud --variant challenger --version 1 --approve"
    )


def test_the_same_image_and_archive_again_create_nothing(
    register: Register, moto_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert register() == EXIT_OK
    capsys.readouterr()

    assert register() == EXIT_OK

    assert [version["ModelPackageVersion"] for version in versions(moto_server_url)] == [1]
    printed = capsys.readouterr().out
    assert "Already registered: fraud-detector-staging version 1 (PendingManualApproval)" in printed
    assert "uploaded" not in printed


def test_another_archive_or_image_is_a_new_version(
    register: Register, registry: dict[str, Any], archive: Path, tmp_path: Path, moto_server_url: str
) -> None:
    other = tmp_path / "other" / "model.tar.gz"
    other.parent.mkdir()
    other.write_bytes(archive.read_bytes() + b"retrained")

    assert register() == EXIT_OK
    assert register(**{"--model-data": str(other)}) == EXIT_OK
    assert register(**{"--image": image(registry, "sha256:" + "cd" * 32)}) == EXIT_OK

    assert sorted(version["ModelPackageVersion"] for version in versions(moto_server_url)) == [1, 2, 3]


def test_an_archive_already_in_the_bucket_is_registered_by_its_uri(
    register: Register, registry: dict[str, Any], archive: Path, moto_server_url: str
) -> None:
    bucket, key = registry["registry"]["bucket_name"], "fraud-detector/2025-05-01/model.tar.gz"
    data = archive.read_bytes()
    client(moto_server_url, "s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=registry["registry"]["key_arn"],
        ChecksumAlgorithm="SHA256",
    )

    assert register(**{"--model-data": f"s3://{bucket}/{key}"}) == EXIT_OK

    [version] = versions(moto_server_url)
    assert version["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == f"s3://{bucket}/{key}"
    assert version["CustomerMetadataProperties"][MODEL_SHA256_KEY] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"--image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector-staging:2.4.0"},
            "give the image by digest (<repository>@sha256:<64 hex>), not by tag",
        ),
        ({"--image": "fraud-detector-staging@sha256:abc"}, "not <repository>@sha256:<64 lowercase hex digits>"),
        ({"--model-data": "missing.tar.gz"}, "--model-data missing.tar.gz: no such file"),
        ({"--family": "speech"}, "stacks/Pulumi.staging.yaml: no model family 'speech' in registry.families"),
        (
            {"--model-data": "s3://someone-elses-bucket/fraud-detector/model.tar.gz"},
            "not in the stack's artifact bucket",
        ),
        (
            {"--image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-staging@{DIGEST}"},
            "not in the family's repository",
        ),
    ],
)
def test_refusals_exit_2_and_register_nothing(
    register: Register,
    moto_server_url: str,
    capsys: pytest.CaptureFixture[str],
    *,
    overrides: dict[str, str],
    message: str,
) -> None:
    assert register(**overrides) == EXIT_USAGE

    error = capsys.readouterr().err
    assert error.startswith("modelplane register: ")
    assert message in error
    assert versions(moto_server_url) == []


def test_an_object_outside_the_family_prefix_or_under_another_key_is_refused(
    register: Register,
    registry: dict[str, Any],
    archive: Path,
    moto_server_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = registry["registry"]["bucket_name"]
    s3 = client(moto_server_url, "s3")
    other_key = client(moto_server_url, "kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_object(
        Bucket=bucket,
        Key="fraud-detector/x/model.tar.gz",
        Body=b"x",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=other_key,
    )

    assert register(**{"--model-data": f"s3://{bucket}/churn/model.tar.gz"}) == EXIT_USAGE
    assert register(**{"--model-data": f"s3://{bucket}/fraud-detector/x/model.tar.gz"}) == EXIT_USAGE
    assert register(**{"--model-data": f"s3://{bucket}/fraud-detector/absent/model.tar.gz"}) == EXIT_USAGE

    errors = capsys.readouterr().err.splitlines()
    assert "the key must be a .tar.gz under the family's prefix fraud-detector/" in errors[0]
    assert f"encrypted with {other_key}, not SSE-KMS under the stack key" in errors[1]
    assert errors[2].endswith("fraud-detector/absent/model.tar.gz: no such object")
    assert versions(moto_server_url) == []


def test_a_missing_model_package_group_asks_to_deploy_the_registry_first(
    register: Register, registry: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry["registry"]["families"]["fraud-detector"]["model_package_group_name"] = "fraud-detector-never-deployed"
    (tmp_path / "outputs.json").write_text(json.dumps(registry), encoding="utf-8")

    assert register() == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("modelplane register: model package group fraud-detector-never-deployed: ")
    assert error.endswith(
        "; deploy the registry first (`modelplane plan --stack staging` prints the first-deploy order)\n"
    )


def test_promote_then_pins_the_registered_version(
    register: Register, stacks: Path, moto_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert register() == EXIT_OK
    printed = capsys.readouterr().out
    promote = printed.rstrip().splitlines()[-1].strip().split()

    assert promote[0] == "modelplane"
    assert main([*promote[1:], "--endpoint-url", moto_server_url]) == EXIT_OK

    fraud = load_stack_file(stacks / "Pulumi.staging.yaml").endpoints[0]
    assert [(v.name, v.model_package_version) for v in fraud.variants] == [("champion", 11), ("challenger", 1)]
    assert versions(moto_server_url)[0]["ModelApprovalStatus"] == "Approved"


def test_for_a_stack_that_pins_no_variant_register_says_what_to_change_first() -> None:
    # The local stack serves its fraud variant by image tag: no promote command could pin a version there.
    commands = next_commands(settings_of("local"), "local", "fraud-detector", 3, PENDING)

    assert commands == [
        "# fraud pins no variant to the registry: in stacks/Pulumi.local.yaml, replace a variant's model_artifact"
        " with `model_package_version: 3`, then run `modelplane plan --stack local`"
    ]


def test_register_names_the_promotion_of_a_kubernetes_variant_too() -> None:
    commands = next_commands(settings_of("staging"), "staging", "recommender", 4, PENDING)

    assert commands == [
        "modelplane promote --stack staging --endpoint recommender --variant two-tower-v6 --version 4 --approve"
    ]
