"""One model family's ECR repository: immutable, scanned, KMS-encrypted images, pulled only by known accounts."""

import json
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, child_options, component_options, known, type_token
from .aws_limits import name_problem

FORMER_TOKEN = "modelplane:registry:ContainerRepository"
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
DEFAULT_KEEP_TAGGED_IMAGES = 30
DEFAULT_UNTAGGED_IMAGE_DAYS = 7


class ContainerRepositoryArgs(TypedDict):
    """The repository's name, key, image retention and the accounts that pull."""

    repository_name: pulumi.Input[str]
    """Physical repository name (ECR: lowercase, 2-256 characters)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key encrypting the image layers."""
    pull_principal_arns: Sequence[pulumi.Input[str]]
    """Principals allowed to pull (account roots such as `arn:aws:iam::<account>:root`); never `*`."""
    keep_tagged_images: NotRequired[int]
    """Most recent tagged images kept, older ones expire; default 30."""
    untagged_image_days: NotRequired[int]
    """Days after which untagged images expire; default 7."""
    force_delete: NotRequired[pulumi.Input[bool]]
    """Let `pulumi destroy` delete the repository with its images; default false."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the repository."""


class ContainerRepository(pulumi.ComponentResource):
    """Tags can't be overwritten, every push is scanned, and a lifecycle policy bounds the image count.

    `protect` in the options protects the repository and its policies; `retain_on_delete` keeps the repository.
    """

    url: pulumi.Output[str]
    """Repository URL; an image is this plus `:tag` or `@sha256:...`."""
    arn: pulumi.Output[str]
    """Repository ARN, the only one an endpoint's execution role may pull from."""

    def __init__(self, name: str, args: ContainerRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("ContainerRepository", name, problems(args))
        super().__init__(type_token("ContainerRepository"), name, None, component_options(opts, FORMER_TOKEN))
        child = pulumi.ResourceOptions(parent=self)

        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args["repository_name"],
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args["kms_key_arn"])
            ],
            force_delete=args.get("force_delete", False),
            tags=args.get("tags"),
            opts=child_options(self, opts),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                lifecycle_policy(
                    args.get("keep_tagged_images", DEFAULT_KEEP_TAGGED_IMAGES),
                    args.get("untagged_image_days", DEFAULT_UNTAGGED_IMAGE_DAYS),
                )
            ),
            opts=child,
        )
        aws.ecr.RepositoryPolicy(
            f"{name}-policy",
            repository=repository.name,
            policy=pulumi.Output.json_dumps(pull_policy(args["pull_principal_arns"])),
            opts=child,
        )
        self.url = repository.repository_url
        self.arn = repository.arn
        self.register_outputs({"url": self.url, "arn": self.arn})


def problems(args: ContainerRepositoryArgs) -> list[Problem]:
    """ECR's name rule, lifecycle counts of at least 1, and at least one principal to pull."""
    found: list[Problem] = []
    name = known(args.get("repository_name"))
    if name is not None and (why := name_problem("RepositoryName", name, service="ecr")):
        found.append(("repository_name", why))
    for field in ("keep_tagged_images", "untagged_image_days"):
        count = args.get(field)
        if count is not None and count < 1:
            found.append((field, "must be at least 1 (ECR lifecycle countNumber)"))
    if not args.get("pull_principal_arns"):
        found.append(("pull_principal_arns", "name at least one principal (a repository policy needs one)"))
    return found


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
