"""A registered model version as the Kubernetes component serves it: resolved from the model registry when deploying.

SageMaker creates a model from a version's ARN and takes its image and archive from the version itself.
On Kubernetes the component does the same when the stack is deployed: it reads the version through
the AWS provider's Cloud Control data source (`aws.cloudcontrol.getResource` of
`AWS::SageMaker::ModelPackage`, which calls `DescribeModelPackage` as the deployer), and writes the
version's image, archive and recorded sha256 into the pod spec. The manifest then says exactly what
runs, a changed version rolls the Deployment, and the pods need no access to SageMaker at all.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from .naming import MODEL_SHA256_METADATA

# The CloudFormation type Cloud Control reads a version as; its primary identifier is the version's ARN.
MODEL_PACKAGE_TYPE = "AWS::SageMaker::ModelPackage"
APPROVED = "Approved"
SHA256_PATTERN = r"[0-9a-f]{64}"


@dataclass(frozen=True)
class RegisteredVersion:
    """What the pods of a pinned variant run: the version's image by digest, its archive and that archive's sha256."""

    arn: str
    image: str
    data_url: str
    sha256: str

    def archive_object_arn(self, partition: str) -> str:
        """The archive as an S3 object ARN, the one object the pods may read for this version."""
        parsed = urlparse(self.data_url)
        return f"arn:{partition}:s3:::{parsed.netloc}/{parsed.path.lstrip('/')}"

    @property
    def digest(self) -> str:
        return self.image.rsplit("@", 1)[1]


def version_arn(group_arn: str, version: int) -> str:
    """`...:model-package-group/<group>` -> `...:model-package/<group>/<version>`."""
    prefix, _, group = group_arn.partition(":model-package-group/")
    if not group:
        raise ValueError(f"{group_arn!r} is not the ARN of a model package group")
    return f"{prefix}:model-package/{group}/{version}"


def partition_of(arn: str) -> str:
    return arn.split(":", 2)[1]


def registered_version(arn: str, properties: str, repository_url: str) -> RegisteredVersion:
    """The version's image, archive and sha256 from its Cloud Control properties; ValueError says why it cannot be served."""
    described = json.loads(properties)
    status = described.get("ModelApprovalStatus")
    if status != APPROVED:
        raise ValueError(
            f"model package {arn} is {status}, not {APPROVED}: approve it (`modelplane promote ... --approve`)"
            " before pinning it, as SageMaker deploys only approved versions"
        )
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    if len(containers) != 1:
        raise ValueError(f"model package {arn} has {len(containers)} containers; a Kubernetes variant serves one")
    image, data_url = containers[0].get("Image", ""), containers[0].get("ModelDataUrl", "")
    if not re.fullmatch(re.escape(repository_url) + r"@sha256:[0-9a-f]{64}", image):
        raise ValueError(
            f"model package {arn} records the image {image!r}, not one of {repository_url} by digest: register"
            " versions with `modelplane register`"
        )
    if not data_url.startswith("s3://") or not data_url.endswith(".tar.gz"):
        raise ValueError(f"model package {arn} records no model archive (s3://...tar.gz) but {data_url!r}")
    sha256 = str((described.get("CustomerMetadataProperties") or {}).get(MODEL_SHA256_METADATA, ""))
    if not re.fullmatch(SHA256_PATTERN, sha256):
        raise ValueError(
            f"model package {arn} records no sha256 of its archive ({MODEL_SHA256_METADATA}): the pods could not"
            " verify it; register the version with `modelplane register`"
        )
    return RegisteredVersion(arn, image, data_url, sha256)
