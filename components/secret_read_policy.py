"""Who may read one secret: its readers, and the account's administrators; everyone else is denied.

Created after the readers (their roles need the secret's ARN first), one per secret of `ModelSecrets`.
The deploying identity stays exempt from the deny: it manages the secret's versions.
"""

import json
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import type_token

READ_ACTION = "secretsmanager:GetSecretValue"
# Administrators exempt from the deny, as `aws:PrincipalArn` patterns below `arn:<partition>:iam::<account>:`:
# IAM Identity Center's AdministratorAccess permission-set roles (any region path).
ADMIN_ROLE_PATTERNS = ("role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*",)


class SecretReadPolicyArgs(TypedDict):
    """The secret and the roles that read it."""

    secret_arn: pulumi.Input[str]
    """ARN of the secret."""
    reader_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Roles allowed to read the value (`GetSecretValue`); an empty list leaves only the administrators."""
    administrator_role_patterns: NotRequired[Sequence[str]]
    """Roles also exempt from the deny, as patterns below `arn:<partition>:iam::<account>:`; default IAM
    Identity Center's AdministratorAccess roles."""


class SecretReadPolicy(pulumi.ComponentResource):
    """The secret's resource policy: allow the readers, deny `GetSecretValue` to every other principal."""

    reader_arns: pulumi.Output[list[str]]
    """The roles allowed to read, sorted and without repeats."""

    def __init__(self, name: str, args: SecretReadPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("SecretReadPolicy"), name, None, opts)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        caller = aws.get_caller_identity_output(opts=invoke_opts)
        partition = aws.get_partition_output(opts=invoke_opts).partition
        deployer = aws.iam.get_session_context_output(arn=caller.arn, opts=invoke_opts).issuer_arn
        iam_prefix = pulumi.Output.concat("arn:", partition, ":iam::", caller.account_id, ":")
        administrators = [pulumi.Output.concat(iam_prefix, "root"), deployer]
        patterns = args.get("administrator_role_patterns", ADMIN_ROLE_PATTERNS)
        admin_patterns = [pulumi.Output.concat(iam_prefix, pattern) for pattern in patterns]
        readers = pulumi.Output.from_input(args["reader_arns"]).apply(lambda arns: sorted({str(arn) for arn in arns}))
        aws.secretsmanager.SecretPolicy(
            f"{name}-policy",
            secret_arn=args["secret_arn"],
            policy=pulumi.Output.all(
                readers=readers,
                administrators=pulumi.Output.all(*administrators),
                admin_patterns=pulumi.Output.all(*admin_patterns),
            ).apply(lambda arns: read_policy(arns["readers"], arns["administrators"], arns["admin_patterns"])),
            block_public_policy=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.reader_arns = readers
        self.register_outputs({"reader_arns": self.reader_arns})


def read_policy(readers: list[str], administrators: list[str], admin_patterns: list[str]) -> str:
    """Allow `GetSecretValue` to the readers; deny it to any principal that is neither a reader nor an administrator."""
    readers = sorted(set(readers))
    statements: list[dict[str, Any]] = []
    if readers:
        statements.append(
            {
                "Sid": "GrantedRolesRead",
                "Effect": "Allow",
                "Principal": {"AWS": readers},
                "Action": READ_ACTION,
                "Resource": "*",
            }
        )
    statements.append(
        {
            "Sid": "NobodyElseReads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": READ_ACTION,
            "Resource": "*",
            "Condition": {
                "ArnNotEquals": {"aws:PrincipalArn": sorted(set(readers + administrators))},
                "ArnNotLike": {"aws:PrincipalArn": admin_patterns},
            },
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
