"""One model family's ECR repository: immutable, scanned, KMS-encrypted images, pulled only by known accounts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


@dataclass(frozen=True)
class ContainerRepositoryArgs:
    repository_name: str
    """Physical repository name (lowercase)."""
    key_arn: pulumi.Input[str]
    """KMS key encrypting the image layers."""
    keep_tagged_images: int
    """Most recent tagged images kept; older ones expire."""
    untagged_image_days: int
    """Days after which untagged images expire."""
    pull_principal_arns: Sequence[pulumi.Input[str]]
    """Account root ARNs allowed to pull, this stack's account included."""
    tags: Mapping[str, str]
    """Tags of the repository."""
    protect: bool
    """Protect the repository and keep it on delete (prod); otherwise it is deleted with its images."""


class ContainerRepository(pulumi.ComponentResource):
    """Tags can't be overwritten, every push is scanned, and a lifecycle policy bounds the image count."""

    url: pulumi.Output[str]
    """Repository URL; an image is this plus `:tag` or `@sha256:...`."""
    arn: pulumi.Output[str]
    """Repository ARN, the only one an endpoint's execution role may pull from."""

    def __init__(self, name: str, args: ContainerRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:registry:ContainerRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.key_arn)
            ],
            force_delete=not args.protect,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(lifecycle_policy(args.keep_tagged_images, args.untagged_image_days)),
            opts=child,
        )
        aws.ecr.RepositoryPolicy(
            f"{name}-policy",
            repository=repository.name,
            policy=pulumi.Output.json_dumps(pull_policy(args.pull_principal_arns)),
            opts=child,
        )
        self.url = repository.repository_url
        self.arn = repository.arn
        self.register_outputs({"url": self.url, "arn": self.arn})


def lifecycle_policy(keep_tagged_images: int, untagged_image_days: int) -> dict[str, Any]:
    """Untagged images expire first (priority 1), then tagged ones beyond the newest N."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {untagged_image_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_image_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the {keep_tagged_images} most recent tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def pull_policy(principal_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """Pull (never push) for the named account principals, never `*`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NamedAccountsPull",
                "Effect": "Allow",
                "Principal": {"AWS": list(principal_arns)},
                "Action": list(PULL_ACTIONS),
            }
        ],
    }
