"""KMS keys: rotated, enabled, and governed by a key policy that names its principals."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    Report,
    applies_to,
    as_number,
    aws_config_url,
    config_schema,
    for_types,
    is_false,
    is_true,
    number_text,
    sources,
)
from .documents import checked_statements
from .waivers import NON_WAIVABLE

KEY = "aws:kms/key:Key"
# Every resource that carries a key policy: keys of each kind, and a key's policy on its own.
KEY_POLICY_TYPES = (
    KEY,
    "aws:kms/keyPolicy:KeyPolicy",
    "aws:kms/replicaKey:ReplicaKey",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
)
SYMMETRIC = "SYMMETRIC_DEFAULT"


@for_types(KEY)
def _rotation(args: ResourceValidationArgs, report: Report) -> None:
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or SYMMETRIC
    if spec != SYMMETRIC or (args.props.get("keyUsage") or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return
    if not is_true(args.props.get("enableKeyRotation")):
        report("enableKeyRotation is not true: the key material never changes.")
        return
    maximum = as_number(args.get_config().get("maxRotationPeriodDays")) or 365
    period = as_number(args.props.get("rotationPeriodInDays"))
    if period is not None and period > maximum:
        report(f"rotationPeriodInDays is {number_text(period)}; rotate at least every {number_text(maximum)} days.")


rotation = ResourceValidationPolicy(
    name="kms-key-rotation",
    description="Symmetric KMS keys rotate their key material automatically, at least yearly.",
    validate=_rotation,
    severity=Severity.HIGH,
    remediation_steps="Set enable_key_rotation True (rotation_period_in_days at most the configured maximum).",
    tags=["kms", "encryption", *sources("CKV_AWS_7", "aws-config:cmk-backing-key-rotation-enabled"), *applies_to(KEY)],
    url=aws_config_url("cmk-backing-key-rotation-enabled"),
    config_schema=config_schema(
        {
            "maxRotationPeriodDays": {
                "type": "number",
                "minimum": 90,
                "maximum": 2560,
                "default": 365,
                "description": "Longest accepted rotation period in days.",
            }
        }
    ),
)


@for_types(*KEY_POLICY_TYPES)
def _key_policy(args: ResourceValidationArgs, report: Report) -> None:
    if is_true(args.props.get("bypassPolicyLockoutSafetyCheck")):
        report("bypassPolicyLockoutSafetyCheck is true: a policy that locks everyone out of the key would be accepted.")
    document = args.props.get("policy")
    if not document:
        return
    for statement in checked_statements("policy", document, report):
        if statement.allows and statement.wildcard_principal_unrestricted:
            report(f"policy {statement.label} allows any principal without an account or source condition.")


key_policy = ResourceValidationPolicy(
    name="kms-key-policy-restricted",
    description="KMS key policies never allow everyone and keep the policy lockout safety check, whichever resource carries the policy (a key, a replica or external key, or a KeyPolicy).",
    validate=_key_policy,
    severity=Severity.CRITICAL,
    remediation_steps="Name the account root or roles as principals (or add kms:CallerAccount / aws:PrincipalOrgID conditions) and drop bypass_policy_lockout_safety_check.",
    tags=["kms", "access", NON_WAIVABLE, *sources("CKV_AWS_33"), *applies_to(*KEY_POLICY_TYPES)],
)


@for_types(KEY)
def _enabled(args: ResourceValidationArgs, report: Report) -> None:
    if is_false(args.props.get("isEnabled")):
        report("isEnabled is false: everything encrypted with the key becomes unreadable.")


enabled = ResourceValidationPolicy(
    name="kms-key-enabled",
    description="KMS keys are enabled, so the data they protect stays readable.",
    validate=_enabled,
    severity=Severity.LOW,
    remediation_steps="Set is_enabled True; schedule deletion (with a waiting period) to retire a key instead.",
    tags=["kms", "availability", *sources("CKV_AWS_227"), *applies_to(KEY)],
)

POLICIES = [rotation, key_policy, enabled]
