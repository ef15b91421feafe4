"""Stateful resources in production: protected from `pulumi destroy` and from deletions that lose data."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    Report,
    applies_to,
    as_list,
    as_number,
    config_schema,
    is_true,
    production_gate,
    rule,
)

STATEFUL_TYPES = [
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:secretsmanager/secret:Secret",
    "aws:sagemaker/endpoint:Endpoint",
]
# Inputs that make a deletion take the data with it.
FORCE_DELETE_PROPERTIES = ("forceDestroy", "forceDelete")


def _protected(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in [
        str(token) for token in as_list(args.get_config().get("statefulTypes", STATEFUL_TYPES))
    ]:
        return
    production_gate(args)
    if not args.opts.protect:
        report("is not protected: `pulumi destroy` or a refactoring would delete it; set protect=True.")
    for prop in FORCE_DELETE_PROPERTIES:
        if is_true(args.props.get(prop)):
            report(f"{prop} is true: deleting it would also delete everything it holds.")
    if as_number(args.props.get("recoveryWindowInDays")) == 0:
        report("recoveryWindowInDays is 0: a deleted secret could not be restored.")


protected = ResourceValidationPolicy(
    name="stateful-resources-protected",
    description="Production resources that hold state (statefulTypes: by default keys, buckets, repositories, model package groups, secrets and endpoints) are protected and never force-deleted.",
    validate=rule(_protected),
    severity=Severity.HIGH,
    remediation_steps="Deploy production stacks with environment prod (modelplane then sets protect and retain_on_delete); never set force_destroy, force_delete or recovery_window_in_days 0 there.",
    # Any type: the statefulTypes setting decides which ones the rule judges.
    tags=["lifecycle", "data-loss", *applies_to("*")],
    config_schema=config_schema(
        {
            PRODUCTION_PROPERTY: PRODUCTION_SCHEMA,
            "statefulTypes": {
                "type": "array",
                "items": {"type": "string"},
                "default": STATEFUL_TYPES,
                "description": "Resource types that hold state and must be protected.",
            },
        }
    ),
)

POLICIES = [protected]
