"""Tags: every taggable AWS resource says who owns it, who pays, how sensitive its data is, and where it runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import Report, applies_to, as_list, as_mapping, config_schema, dig, rule

REQUIRED_TAGS = ["owner", "cost-center", "data-classification", "environment"]
ALLOWED_VALUES = {"data-classification": ["public", "internal", "confidential", "restricted"]}
# Taggable types that may come without a `tags` input (pulumi-aws 7 schema); any resource whose
# inputs carry `tags` is checked as well.
TAGGABLE_TYPES = frozenset(
    {
        "aws:appautoscaling/target:Target",
        "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:ecr/repository:Repository",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:iam/user:User",
        "aws:kms/key:Key",
        "aws:kms/replicaKey:ReplicaKey",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/featureGroup:FeatureGroup",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
        "aws:secretsmanager/secret:Secret",
        "aws:sns/topic:Topic",
    }
)


def effective_tags(args: ResourceValidationArgs) -> Mapping[str, Any]:
    """The resource's tags over its provider's `defaultTags`, which AWS applies as well."""
    defaults = as_mapping(dig(args.provider.props, "defaultTags", "tags")) if args.provider is not None else {}
    return {**defaults, **as_mapping(args.props.get("tagsAll")), **as_mapping(args.props.get("tags"))}


def _required_tags(args: ResourceValidationArgs, report: Report) -> None:
    if not args.resource_type.startswith("aws:") or (
        args.resource_type not in TAGGABLE_TYPES and "tags" not in args.props
    ):
        return
    config = args.get_config()
    tags = effective_tags(args)
    missing = [str(key) for key in as_list(config.get("requiredTags", REQUIRED_TAGS)) if not tags.get(str(key))]
    if missing:
        report(f"missing tags: {', '.join(missing)}.")
    for key, allowed in as_mapping(config.get("allowedValues", ALLOWED_VALUES)).items():
        value = tags.get(key)
        choices = [str(choice) for choice in as_list(allowed)]
        if value and value not in choices:
            report(f"tag {key}={value!r} is not one of {', '.join(choices)}.")


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description="Every taggable AWS resource carries the owner, cost-center, data-classification and environment tags, with allowed values.",
    validate=rule(_required_tags),
    severity=Severity.MEDIUM,
    remediation_steps="Set modelplane:tags (owner, cost-center, data-classification); modelplane adds environment, project, stack and managed-by. Hand-written resources need the same tags or provider default_tags.",
    tags=["tagging", "governance", *applies_to("aws:*")],
    config_schema=config_schema(
        {
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": REQUIRED_TAGS,
                "description": "Tag keys every taggable resource must carry with a non-empty value.",
            },
            "allowedValues": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "default": ALLOWED_VALUES,
                "description": "For some tag keys, the values allowed.",
            },
        }
    ),
)

POLICIES = [required_tags]
