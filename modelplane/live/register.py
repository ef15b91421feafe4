"""Put a model version into a stack's model registry, ready for `promote` (`modelplane register`).

A version is an image pinned by digest plus a model archive pinned by its sha256. The archive goes to
the stack's artifact bucket under the family's prefix (`<family>/<sha256>/model.tar.gz`), encrypted
with SSE-KMS under the stack key (the bucket policy refuses anything else); the evaluation metrics
go next to it. The version is created in the family's model package group as
`PendingManualApproval`, with the digest and sha256 recorded as customer metadata, so registering the
same image and archive again finds that version instead of creating another.

Every input is checked before anything is written: an image by tag, a missing file, an undeclared family,
a bucket or key that is not the stack's are `BadInput`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from modelplane_components import naming
from pydantic import BaseModel, ConfigDict

from modelplane.abtest import variants
from modelplane.aws import Aws, error_text
from modelplane.config import inputs, stackfiles
from modelplane.config.stackfiles import shown
from modelplane.errors import BadInput
from modelplane.settings import Settings

PENDING = "PendingManualApproval"
ARCHIVE_SUFFIX = ".tar.gz"
ARCHIVE_NAME = "model.tar.gz"
# Customer metadata keys the idempotency check reads back (the Kubernetes component reads the sha256 too).
IMAGE_DIGEST_KEY = naming.IMAGE_DIGEST_METADATA
MODEL_SHA256_KEY = naming.MODEL_SHA256_METADATA
SHA256_METADATA = "sha256"
CHUNK_BYTES = 1 << 20
IMAGE_BY_DIGEST = re.compile(
    r"(?P<repository>[^\s@]+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?@(?P<digest>sha256:[0-9a-f]{64})"
)


class _FamilyOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    repository_url: str
    model_package_group_name: str


class RegistryOutputs(BaseModel):
    """The `registry` stack output (contract in `modelplane/program/build.py`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key_arn: str
    bucket_name: str
    families: dict[str, _FamilyOutputs]


@dataclass(frozen=True)
class Image:
    repository: str
    digest: str

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class Registration:
    group: str
    version: int
    status: str
    created: bool
    """False when the group already held this image and archive."""
    model_data_url: str
    sha256: str
    metrics_url: str | None
    log: list[str]
    """What was uploaded or found, in order."""


def parse_image(text: str) -> Image:
    match = IMAGE_BY_DIGEST.fullmatch(text.strip())
    if match is None:
        if "@" not in text:
            raise BadInput(
                f"--image {text}: give the image by digest (<repository>@sha256:<64 hex>), not by tag: a tag can"
                " be moved to other bytes. `aws ecr describe-images` or `docker buildx imagetools inspect` prints it"
            )
        raise BadInput(f"--image {text}: not <repository>@sha256:<64 lowercase hex digits>")
    return Image(match["repository"], match["digest"])


def register_model(
    aws: Aws,
    settings: Settings,
    stack: str,
    outputs: dict[str, Any],
    *,
    family: str,
    image: Image,
    model_data: str,
    metrics_path: Path | None,
    description: str | None,
) -> Registration:
    """Check every input, then upload and register; raises BadInput before anything is written."""
    stack_file = shown(stackfiles.stack_file(stack))
    if family not in settings.registry.families:
        known = ", ".join(settings.registry.families)
        raise BadInput(f"{stack_file}: no model family {family!r} in registry.families (families: {known})")
    registry = _registry_outputs(outputs)
    artifacts = registry.families.get(family)
    if artifacts is None:
        raise BadInput(f"family {family!r} is not in the stack outputs of {stack}; run `pulumi up` first")
    if image.repository != artifacts.repository_url:
        raise BadInput(
            f"--image {image.reference}: not in the family's repository {artifacts.repository_url}, the only one"
            f" the endpoints of {family} may pull from"
        )
    metrics = _read_metrics(metrics_path) if metrics_path is not None else None
    s3, sagemaker = aws.client("s3"), aws.client("sagemaker")
    log: list[str] = []
    archive = _Archive.of(model_data, registry, family, s3)
    _require_group(sagemaker, artifacts.model_package_group_name, stack)
    existing = _find_version(sagemaker, artifacts.model_package_group_name, image.digest, archive.sha256)
    if existing is not None:
        version, status, url = existing
        return Registration(artifacts.model_package_group_name, version, status, False, url, archive.sha256, None, log)
    model_data_url = archive.upload(s3, registry, family, log)
    metrics_url = None
    if metrics is not None:
        metrics_url = _upload_metrics(s3, registry, family, archive.sha256, metrics)
        log.append(f"uploaded the evaluation metrics to {metrics_url}")
    request: dict[str, Any] = {
        "ModelPackageGroupName": artifacts.model_package_group_name,
        "ModelPackageDescription": description
        or f"{family}: image {image.digest[:19]}..., model sha256 {archive.sha256[:12]}... (modelplane register)",
        "ModelApprovalStatus": PENDING,
        "InferenceSpecification": {
            "Containers": [{"Image": image.reference, "ImageDigest": image.digest, "ModelDataUrl": model_data_url}]
        },
        "CustomerMetadataProperties": {IMAGE_DIGEST_KEY: image.digest, MODEL_SHA256_KEY: archive.sha256},
        # Two registrations racing with the same inputs get one version.
        "ClientToken": hashlib.sha256(
            f"{artifacts.model_package_group_name}|{image.digest}|{archive.sha256}".encode()
        ).hexdigest()[:36],
    }
    if metrics_url is not None and metrics is not None:
        request["ModelMetrics"] = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": metrics_url,
                    "ContentDigest": f"sha256:{hashlib.sha256(metrics).hexdigest()}",
                }
            }
        }
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    return Registration(
        artifacts.model_package_group_name,
        int(described["ModelPackageVersion"]),
        described["ModelApprovalStatus"],
        True,
        model_data_url,
        archive.sha256,
        metrics_url,
        log,
    )


def _registry_outputs(outputs: dict[str, Any]) -> RegistryOutputs:
    if "registry" not in outputs:
        raise BadInput("the stack outputs have no `registry`; run `pulumi up` first")
    return inputs.validated(RegistryOutputs, outputs["registry"], "stack outputs registry", "the registry output")


def _read_metrics(path: Path) -> bytes:
    """The metrics file as uploaded, once it has read as a JSON object."""
    text = inputs.read_text(path)
    if not isinstance(inputs.parse_json(text, str(path)), dict):
        raise BadInput(f"{path}: not a JSON object of evaluation metrics")
    return text.encode("utf-8")


@dataclass(frozen=True)
class _Archive:
    """The model archive: a local file to upload, or an object already in the artifact bucket."""

    sha256: str
    local: Path | None = None
    url: str | None = None

    @classmethod
    def of(cls, model_data: str, registry: RegistryOutputs, family: str, s3: Any) -> _Archive:
        if model_data.startswith("s3://"):
            return cls._in_bucket(model_data, registry, family, s3)
        path = Path(model_data)
        if not path.is_file():
            raise BadInput(f"--model-data {model_data}: no such file")
        if not path.name.endswith(ARCHIVE_SUFFIX):
            raise BadInput(f"--model-data {model_data}: SageMaker loads a model from a {ARCHIVE_SUFFIX} archive")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
        return cls(digest.hexdigest(), local=path)

    @classmethod
    def _in_bucket(cls, url: str, registry: RegistryOutputs, family: str, s3: Any) -> _Archive:
        parsed = urlparse(url)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if bucket != registry.bucket_name:
            raise BadInput(f"--model-data {url}: not in the stack's artifact bucket {registry.bucket_name}")
        if not key.startswith(f"{family}/") or not key.endswith(ARCHIVE_SUFFIX):
            raise BadInput(
                f"--model-data {url}: the key must be a {ARCHIVE_SUFFIX} under the family's prefix {family}/"
            )
        try:
            head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise BadInput(f"--model-data {url}: no such object") from None
            raise
        if head.get("ServerSideEncryption") != "aws:kms" or head.get("SSEKMSKeyId") != registry.key_arn:
            raise BadInput(
                f"--model-data {url}: encrypted with {head.get('SSEKMSKeyId') or head.get('ServerSideEncryption')},"
                f" not SSE-KMS under the stack key {registry.key_arn}"
            )
        return cls(_object_sha256(s3, bucket, key, head), url=url)

    def upload(self, s3: Any, registry: RegistryOutputs, family: str, log: list[str]) -> str:
        """The archive's s3:// URL, uploading a local file unless the bucket already holds it."""
        if self.url is not None:
            log.append(f"model data {self.url} (sha256 {self.sha256})")
            return self.url
        assert self.local is not None
        key = f"{family}/{self.sha256}/{ARCHIVE_NAME}"
        url = f"s3://{registry.bucket_name}/{key}"
        if _stored_sha256(s3, registry.bucket_name, key) == self.sha256:
            log.append(f"model data already in {url} (sha256 {self.sha256})")
            return url
        s3.upload_file(
            str(self.local),
            registry.bucket_name,
            key,
            ExtraArgs={
                **_encryption(registry),
                "Metadata": {SHA256_METADATA: self.sha256},
                "ChecksumAlgorithm": "SHA256",
            },
        )
        log.append(f"uploaded {self.local} to {url} (SSE-KMS, stack key; sha256 {self.sha256})")
        return url


def _encryption(registry: RegistryOutputs) -> dict[str, str]:
    """What the bucket policy demands of every put: SSE-KMS with the stack key, named explicitly."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": registry.key_arn}


def _stored_sha256(s3: Any, bucket: str, key: str) -> str | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return head.get("Metadata", {}).get(SHA256_METADATA)


def _object_sha256(s3: Any, bucket: str, key: str, head: dict[str, Any]) -> str:
    """From the object's metadata, its full-object S3 checksum, or else by reading it once."""
    if recorded := head.get("Metadata", {}).get(SHA256_METADATA):
        return recorded
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum:  # "<base64>-<parts>" is a checksum of checksums, not of the bytes
        return base64.b64decode(checksum).hex()
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def _upload_metrics(s3: Any, registry: RegistryOutputs, family: str, model_sha256: str, metrics: bytes) -> str:
    key = f"{family}/{model_sha256}/evaluation-{hashlib.sha256(metrics).hexdigest()[:16]}.json"
    url = f"s3://{registry.bucket_name}/{key}"
    s3.put_object(
        Bucket=registry.bucket_name, Key=key, Body=metrics, ContentType="application/json", **_encryption(registry)
    )
    return url


def _require_group(sagemaker: Any, group: str, stack: str) -> None:
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"ValidationException", "ResourceNotFound"}:
            raise
        raise BadInput(
            f"model package group {group}: {error_text(error)}; deploy the registry first (`modelplane plan"
            f" --stack {stack}` prints the first-deploy order)"
        ) from None


def _find_version(sagemaker: Any, group: str, digest: str, sha256: str) -> tuple[int, str, str] | None:
    """The newest version recording this image digest and archive sha256: (version, status, model data URL)."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page["ModelPackageSummaryList"]:
            described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            recorded = described.get("CustomerMetadataProperties") or {}
            if recorded.get(IMAGE_DIGEST_KEY) == digest and recorded.get(MODEL_SHA256_KEY) == sha256:
                containers = described.get("InferenceSpecification", {}).get("Containers", [{}])
                return (
                    int(described["ModelPackageVersion"]),
                    described["ModelApprovalStatus"],
                    containers[0].get("ModelDataUrl", ""),
                )
    return None


def next_commands(settings: Settings, stack: str, family: str, version: int, status: str) -> list[str]:
    """What to run next per endpoint of the family: `promote` aimed at a variant pinned to the registry (its
    A/B candidate when that one is), or what to change in the stack file first when no variant is pinned."""
    approve = " --approve" if status == PENDING else ""
    stack_file = shown(stackfiles.stack_file(stack))
    commands = []
    for endpoint in settings.endpoints:
        if endpoint.family != family:
            continue
        pinned = [variant for variant in endpoint.all_variants if variant.model_package_version is not None]
        if not pinned:
            edit = (
                "replace a variant's model_artifact with"
                if any(variant.model_artifact for variant in endpoint.all_variants)
                else "add to a variant"
            )
            commands.append(
                f"# {endpoint.name} pins no variant to the registry: in {stack_file}, {edit}"
                f" `model_package_version: {version}`, then run `modelplane plan --stack {stack}`"
            )
            continue
        try:
            candidate = variants.choose(endpoint).candidate
        except ValueError:
            candidate = pinned[0]
        variant = candidate if candidate in pinned else pinned[0]
        commands.append(
            f"modelplane promote --stack {stack} --endpoint {endpoint.name} --variant {variant.name}"
            f" --version {version}{approve}"
        )
    return commands or [f"# no endpoint of {stack_file} serves {family} yet; add one to pin version {version}"]
