"""One model family's SageMaker model package group: the versioned registry its endpoints deploy from."""

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, child_options, component_options, known, type_token
from .aws_limits import name_problem

FORMER_TOKEN = "modelplane:registry:ModelPackageGroup"
# Enough for another account to find a version and deploy it (CreateModel), not to change the registry.
READ_PACKAGE_ACTIONS = ("sagemaker:CreateModel", "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")
READ_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)


class ModelPackageGroupArgs(TypedDict):
    """The group's name and description, and who else may read it."""

    group_name: pulumi.Input[str]
    """Physical group name (SageMaker EntityName: letters, digits, hyphens, at most 63 characters)."""
    description: NotRequired[pulumi.Input[str]]
    """What the family predicts."""
    reader_principal_arns: NotRequired[Sequence[pulumi.Input[str]]]
    """Principals of other accounts (account roots) that may read and deploy the versions; none: no policy."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the group."""


class ModelPackageGroup(pulumi.ComponentResource):
    """The group, and a resource policy only when other accounts read it.

    `protect` in the options protects the group (it holds the approved versions); `retain_on_delete` keeps it.
    """

    name: pulumi.Output[str]
    """Group name: versions are registered here, and a variant's `model_package_version` picks one."""
    arn: pulumi.Output[str]
    """Group ARN."""

    def __init__(self, name: str, args: ModelPackageGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("ModelPackageGroup", name, problems(args))
        super().__init__(type_token("ModelPackageGroup"), name, None, component_options(opts, FORMER_TOKEN))
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=args["group_name"],
            model_package_group_description=args.get("description"),
            tags=args.get("tags"),
            opts=child_options(self, opts),
        )
        readers = args.get("reader_principal_arns") or []
        if readers:
            aws.sagemaker.ModelPackageGroupPolicy(
                f"{name}-policy",
                model_package_group_name=group.model_package_group_name,
                resource_policy=pulumi.Output.json_dumps(reader_policy(group.arn, readers)),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.name = group.model_package_group_name
        self.arn = group.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def problems(args: ModelPackageGroupArgs) -> list[Problem]:
    name = known(args.get("group_name"))
    if name is not None and (why := name_problem("EntityName", name)):
        return [("group_name", why)]
    return []


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
