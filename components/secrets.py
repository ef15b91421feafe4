"""Secrets Manager secrets whose values come only from Pulumi secret config and never appear in plain text.

Consumers get a secret's ARN (SageMaker: the `<NAME>_SECRET_ARN` environment variable) and read the
value at run time; the Kubernetes backend mounts `values` as files from a Kubernetes `Secret`.

Reading is two-phase because the readers' roles are created after the secrets (they need the ARNs):
consumers call `grant_read`, then the program calls `seal` once, which writes one resource policy per
secret: `GetSecretValue` is allowed to the granted roles and denied to every other principal except
the account's administrators (`ADMIN_ROLE_PATTERNS`, the account root and the deploying identity, which
reads the versions it manages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from modelplane.loader import NAMESPACE, SECRET_VALUES_KEY
from modelplane.settings import Rotation, SecretSpec

PROD_RECOVERY_WINDOW_DAYS = 30
RECOVERY_WINDOW_DAYS = 7
READ_ACTION = "secretsmanager:GetSecretValue"
# Administrators exempt from the deny, as `aws:PrincipalArn` patterns below `arn:<partition>:iam::<account>:`:
# IAM Identity Center's AdministratorAccess permission-set roles (any region path).
ADMIN_ROLE_PATTERNS = ("role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*",)


def secret_arn_env_var(secret_name: str) -> str:
    """The environment variable carrying a secret's ARN to a SageMaker container: `feature-store-token` -> `FEATURE_STORE_TOKEN_SECRET_ARN`."""
    return f"{secret_name.upper().replace('-', '_')}_SECRET_ARN"


def secret_values_from_config() -> dict[str, pulumi.Output[Any]]:
    """The values set with `pulumi config set --secret --path 'modelplane:secret_values.<name>'`, by name.

    Which names have a value decides which secrets get a version, and that must be known outside
    `apply()`; so only the names are read in the clear, each value stays inside the secret Output.
    """
    config = pulumi.Config(NAMESPACE)
    key = SECRET_VALUES_KEY.removeprefix(f"{NAMESPACE}:")
    names = list(config.get_object(key) or {})
    every_value = config.get_secret_object(key, {})
    return {name: every_value[name] for name in names}


@dataclass(frozen=True)
class ModelSecretsArgs:
    secrets: Mapping[str, SecretSpec]
    """The `secrets` settings: description and rotation per name."""
    values: Mapping[str, pulumi.Input[str]]
    """Configured values by name (wrapped as secrets again here); a declared name without one is set out of band."""
    kms_key_arn: pulumi.Input[str]
    """The stack key encrypting every secret."""
    tags: Mapping[str, str]
    """Tags of every secret."""
    prod: bool
    """Prod: secrets are protected and a deleted one stays recoverable for 30 days instead of 7."""


class ModelSecrets(pulumi.ComponentResource):
    """One KMS-encrypted secret per settings entry, with its version, optional rotation and a read-only-by-grant policy."""

    arns: dict[str, pulumi.Output[str]]
    """Secret ARN by settings name: all a consumer gets (and the stack output `secrets`)."""
    values: dict[str, pulumi.Output[str]]
    """Configured values by name as secret Outputs, for the Kubernetes `Secret`; names set out of band are absent."""

    def __init__(self, name: str, args: ModelSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:secrets:ModelSecrets", name, None, opts)
        undeclared = sorted(set(args.values) - set(args.secrets))
        if undeclared:
            raise ValueError(f"values given for undeclared secrets {undeclared}; declare them in modelplane:secrets")
        self._name = name
        self._grants: dict[str, list[pulumi.Input[str]]] = {secret_name: [] for secret_name in args.secrets}
        self._sealed = False
        self.arns = {}
        self.values = {}
        for secret_name, spec in args.secrets.items():
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                description=spec.description,
                kms_key_id=args.kms_key_arn,
                recovery_window_in_days=PROD_RECOVERY_WINDOW_DAYS if args.prod else RECOVERY_WINDOW_DAYS,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, protect=args.prod),
            )
            self.arns[secret_name] = secret.arn
            if secret_name in args.values:
                value = pulumi.Output.secret(args.values[secret_name])
                aws.secretsmanager.SecretVersion(
                    f"{name}-{secret_name}-version",
                    secret_id=secret.arn,
                    secret_string=value,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.values[secret_name] = value
            if spec.rotation is not None:
                self._rotate(f"{name}-{secret_name}", secret, spec.rotation)
                self._grants[secret_name].append(spec.rotation.lambda_role_arn)
        self.register_outputs({"arns": self.arns})

    def _rotate(self, resource_name: str, secret: aws.secretsmanager.Secret, rotation: Rotation) -> None:
        aws.secretsmanager.SecretRotation(
            f"{resource_name}-rotation",
            secret_id=secret.arn,
            rotation_lambda_arn=rotation.lambda_arn,
            rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                automatically_after_days=rotation.automatically_after_days,
                schedule_expression=rotation.schedule_expression,
            ),
            # The configured value stays current until the first scheduled rotation; rotating at
            # creation would race the version above (or fail on a secret still to be set out of band).
            rotate_immediately=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def grant_read(self, secret_name: str, role_arn: pulumi.Input[str]) -> None:
        """Let a role read one secret; takes effect when `seal` writes the policies."""
        if secret_name not in self._grants:
            raise KeyError(f"unknown secret {secret_name!r}; declared secrets: {', '.join(sorted(self._grants))}")
        if self._sealed:
            raise RuntimeError(f"grant_read({secret_name!r}) after seal(): grant every reader before sealing")
        self._grants[secret_name].append(role_arn)

    def seal(self) -> None:
        """Write every secret's resource policy from the grants recorded so far; call once, after the last consumer."""
        if self._sealed:
            raise RuntimeError("seal() was already called")
        self._sealed = True
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        caller = aws.get_caller_identity_output(opts=invoke_opts)
        partition = aws.get_partition_output(opts=invoke_opts).partition
        deployer = aws.iam.get_session_context_output(arn=caller.arn, opts=invoke_opts).issuer_arn
        iam_prefix = pulumi.Output.concat("arn:", partition, ":iam::", caller.account_id, ":")
        administrators = [pulumi.Output.concat(iam_prefix, "root"), deployer]
        admin_patterns = [pulumi.Output.concat(iam_prefix, pattern) for pattern in ADMIN_ROLE_PATTERNS]
        for secret_name, readers in self._grants.items():
            aws.secretsmanager.SecretPolicy(
                f"{self._name}-{secret_name}-policy",
                secret_arn=self.arns[secret_name],
                policy=pulumi.Output.all(
                    readers=pulumi.Output.all(*readers),
                    administrators=pulumi.Output.all(*administrators),
                    admin_patterns=pulumi.Output.all(*admin_patterns),
                ).apply(lambda arns: read_policy(arns["readers"], arns["administrators"], arns["admin_patterns"])),
                block_public_policy=True,
                opts=pulumi.ResourceOptions(parent=self),
            )


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
