"""The stack's customer-managed KMS key: everything the registry and the endpoints store is encrypted with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

DELETION_WINDOW_DAYS = 30
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


@dataclass(frozen=True)
class EncryptionKeyArgs:
    stack: str
    """Stack name; the alias is `alias/modelplane-<stack>`."""
    tags: Mapping[str, str]
    """Tags of the key."""
    protect: bool
    """Protect the key and keep it on delete (prod): losing it loses every artifact encrypted with it."""


class EncryptionKey(pulumi.ComponentResource):
    """A symmetric key with yearly rotation whose policy lets the account use it only through named services."""

    arn: pulumi.Output[str]
    """Key ARN, given to every resource it encrypts."""
    key_id: pulumi.Output[str]
    """Key id (the UUID), as the KMS console and CLI show it."""
    alias_name: pulumi.Output[str]
    """`alias/modelplane-<stack>`, a stable name for people and scripts."""

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:kms:EncryptionKey", name, None, opts)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
        region = aws.get_region_output(opts=invoke_opts).region
        partition = aws.get_partition_output(opts=invoke_opts)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"modelplane {args.stack}: model artifacts, images, logs, topics and secrets",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=pulumi.Output.json_dumps(key_policy(account_id, region, partition.partition, partition.dns_suffix)),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/modelplane-{args.stack}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"arn": self.arn, "key_id": self.key_id, "alias_name": self.alias_name})


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
