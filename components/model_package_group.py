"""One model family's SageMaker model package group: the versioned registry its endpoints deploy from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

# Enough for another account to find a version and deploy it (CreateModel), not to change the registry.
READ_PACKAGE_ACTIONS = ("sagemaker:CreateModel", "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")
READ_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)


@dataclass(frozen=True)
class ModelPackageGroupArgs:
    group_name: str
    """Physical group name (SageMaker EntityName)."""
    description: str
    """What the family predicts."""
    reader_principal_arns: Sequence[pulumi.Input[str]]
    """Account root ARNs of other accounts that may read and deploy the family's versions; none: no policy."""
    tags: Mapping[str, str]
    """Tags of the group."""
    protect: bool
    """Protect the group and keep it on delete (prod): it holds the approved model versions."""


class ModelPackageGroup(pulumi.ComponentResource):
    """The group, and a resource policy only when other accounts read it."""

    name: pulumi.Output[str]
    """Group name: the family's versions are registered here, and `model_package_version` picks one."""
    arn: pulumi.Output[str]
    """Group ARN, listed in the `registry` stack output."""

    def __init__(self, name: str, args: ModelPackageGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:registry:ModelPackageGroup", name, None, opts)
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=args.group_name,
            model_package_group_description=args.description,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        if args.reader_principal_arns:
            aws.sagemaker.ModelPackageGroupPolicy(
                f"{name}-policy",
                model_package_group_name=group.model_package_group_name,
                resource_policy=pulumi.Output.json_dumps(reader_policy(group.arn, args.reader_principal_arns)),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.name = group.model_package_group_name
        self.arn = group.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def reader_policy(group_arn: pulumi.Output[str], principal_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """Read access to the group and to every version in it (`model-package/<group>/<version>`)."""
    packages = group_arn.apply(lambda arn: arn.replace(":model-package-group/", ":model-package/", 1) + "/*")
    principal = {"AWS": list(principal_arns)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OtherAccountsReadGroup",
                "Effect": "Allow",
                "Principal": principal,
                "Action": list(READ_GROUP_ACTIONS),
                "Resource": group_arn,
            },
            {
                "Sid": "OtherAccountsReadAndDeployVersions",
                "Effect": "Allow",
                "Principal": principal,
                "Action": list(READ_PACKAGE_ACTIONS),
                "Resource": packages,
            },
        ],
    }
