"""The stack's customer-managed KMS key: everything the registry and the endpoints store is encrypted with it."""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, child_options, component_options, type_token
from .aws_limits import name_problem

FORMER_TOKEN = "modelplane:kms:EncryptionKey"
# KMS waits 7 to 30 days before it deletes a key scheduled for deletion.
MIN_DELETION_WINDOW_DAYS = 7
MAX_DELETION_WINDOW_DAYS = 30
# Services allowed to use the key on behalf of the account's principals (`kms:ViaService`).
VIA_SERVICES = ("ecr", "s3", "sagemaker", "secretsmanager", "sns")
# Key administration without the cryptographic operations: those are granted only through services.
ADMINISTRATION_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
# Services encrypt their own resources (ECR layers, SageMaker volumes) through grants they create.
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")


class EncryptionKeyArgs(TypedDict):
    """What the key is called and how long a scheduled deletion waits."""

    alias_name: NotRequired[str]
    """Alias for people and scripts, `alias/<name>`; default `alias/modelplane-<stack>`."""
    description: NotRequired[pulumi.Input[str]]
    """Key description; default names the stack and what the key encrypts."""
    deletion_window_days: NotRequired[int]
    """Days a scheduled deletion waits before the key is gone, 7-30 (KMS); default 30, the longest."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the key."""


class EncryptionKey(pulumi.ComponentResource):
    """A symmetric key with yearly rotation whose policy lets the account use it only through named services.

    `protect` and `retain_on_delete` in the options keep the key (losing it loses every artifact encrypted with it).
    """

    arn: pulumi.Output[str]
    """Key ARN, given to every resource it encrypts."""
    key_id: pulumi.Output[str]
    """Key id (the UUID), as the KMS console and CLI show it."""
    alias_name: pulumi.Output[str]
    """The key's alias, a stable name for people and scripts."""

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("EncryptionKey", name, problems(args))
        super().__init__(type_token("EncryptionKey"), name, None, component_options(opts, FORMER_TOKEN))
        stack = pulumi.get_stack()
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
        region = aws.get_region_output(opts=invoke_opts).region
        partition = aws.get_partition_output(opts=invoke_opts)

        key = aws.kms.Key(
            f"{name}-key",
            description=args.get(
                "description", f"modelplane {stack}: model artifacts, images, logs, topics and secrets"
            ),
            enable_key_rotation=True,
            deletion_window_in_days=args.get("deletion_window_days", MAX_DELETION_WINDOW_DAYS),
            policy=pulumi.Output.json_dumps(key_policy(account_id, region, partition.partition, partition.dns_suffix)),
            tags=args.get("tags"),
            opts=child_options(self, opts),
        )
        alias = aws.kms.Alias(
            f"{name}-alias",
            name=args.get("alias_name", f"alias/modelplane-{stack}"),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"arn": self.arn, "key_id": self.key_id, "alias_name": self.alias_name})


def problems(args: EncryptionKeyArgs) -> list[Problem]:
    """KMS's rules for the alias and the deletion window."""
    found: list[Problem] = []
    alias = args.get("alias_name")
    if alias is not None:
        if not alias.startswith("alias/") or alias.startswith("alias/aws/"):
            found.append(
                ("alias_name", "must start with alias/ and not with alias/aws/ (reserved for AWS managed keys)")
            )
        elif why := name_problem("AliasNameType", alias, service="kms"):
            found.append(("alias_name", why))
    window = args.get("deletion_window_days")
    if window is not None and not MIN_DELETION_WINDOW_DAYS <= window <= MAX_DELETION_WINDOW_DAYS:
        found.append(
            (
                "deletion_window_days",
                f"must be between {MIN_DELETION_WINDOW_DAYS} and {MAX_DELETION_WINDOW_DAYS} (KMS ScheduleKeyDeletion)",
            )
        )
    return found


def key_policy(
    account_id: pulumi.Input[str],
    region: pulumi.Input[str],
    partition: pulumi.Input[str],
    dns_suffix: pulumi.Input[str],
) -> dict[str, Any]:
    """The key policy: the account root administers the key and uses it only through the listed services.

    Service principals get exactly what their features need: CloudWatch Logs for the account's log
    groups, and CloudWatch alarms to publish to topics encrypted with this key. Never a `*` principal.
    """
    account_root = pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":root")
    via_services = [pulumi.Output.concat(service, ".", region, ".", dns_suffix) for service in VIA_SERVICES]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountRootAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": list(ADMINISTRATION_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "AccountUsesKeyThroughServices",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": list(USE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via_services},
                },
            },
            {
                "Sid": "ServicesGrantThemselvesForTheirResources",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": list(GRANT_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via_services},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            },
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "CloudWatchLogsEncryptsAccountLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": pulumi.Output.concat("logs.", region, ".", dns_suffix)},
                "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                            "arn:", partition, ":logs:", region, ":", account_id, ":log-group:*"
                        )
                    }
                },
            },
        ],
    }
