"""Logs that are resources of their own: a VPC's flow log, a WAF web ACL's logging configuration.

No property of the VPC or of the web ACL says whether its traffic is logged; another resource does,
pointing back at it (a flow log's `vpcId`, a logging configuration's `resourceArn`). So these are stack
rules: each VPC and each web ACL of the stack needs such a resource in the same stack, matched by the
engine's property dependency or by the value it refers to. (The classic WAF's web ACLs keep their
logging inline and are judged by property, `audit-logging`.)
"""

from __future__ import annotations

from pulumi_policy import PolicyResource, Severity, StackValidationArgs, StackValidationPolicy

from .common import Report, applies_to, aws_config_url, of_type, refers_to, rule, sources

VPC_TYPES = ("aws:ec2/vpc:Vpc", "aws:ec2/defaultVpc:DefaultVpc")
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"


def _identifiers(resource: PolicyResource, *props: str) -> tuple[str, ...]:
    return tuple(str(resource.props.get(prop) or "") for prop in props)


def _vpc_flow_logs(args: StackValidationArgs, report: Report) -> None:
    flow_logs = of_type(args.resources, FLOW_LOG)
    for vpc in of_type(args.resources, *VPC_TYPES):
        if not any(refers_to(log, "vpcId", vpc, *_identifiers(vpc, "id")) for log in flow_logs):
            report(
                f"VPC {vpc.name!r} has no flow log in the stack: its accepted and rejected traffic is not recorded.",
                vpc.urn,
            )


vpc_flow_logs = StackValidationPolicy(
    name="vpc-flow-logs",
    description="Every VPC of the stack has a flow log (an `ec2.FlowLog` whose vpc_id is the VPC), so its traffic can be investigated.",
    validate=rule(_vpc_flow_logs),
    severity=Severity.MEDIUM,
    remediation_steps="Add an aws.ec2.FlowLog with vpc_id set to the VPC, traffic_type ALL, and a CloudWatch log group or S3 bucket with retention as its destination.",
    tags=[
        "logging",
        "network",
        *sources("CKV2_AWS_11", "aws-config:vpc-flow-logs-enabled"),
        *applies_to(*VPC_TYPES, FLOW_LOG),
    ],
    url=aws_config_url("vpc-flow-logs-enabled"),
)


def _web_acl_logging(args: StackValidationArgs, report: Report) -> None:
    configurations = of_type(args.resources, WEB_ACL_LOGGING)
    for acl in of_type(args.resources, WEB_ACL):
        if not any(refers_to(config, "resourceArn", acl, *_identifiers(acl, "arn")) for config in configurations):
            report(
                f"web ACL {acl.props.get('name') or acl.name!r} has no logging configuration in the stack: the requests it allows and blocks are not recorded.",
                acl.urn,
            )


web_acl_logging = StackValidationPolicy(
    name="wafv2-web-acl-logging",
    description="Every WAF (v2) web ACL of the stack has a logging configuration, so the requests it judges can be investigated.",
    validate=rule(_web_acl_logging),
    severity=Severity.MEDIUM,
    remediation_steps="Add an aws.wafv2.WebAclLoggingConfiguration with resource_arn set to the web ACL's ARN and a log destination (a CloudWatch log group, S3 bucket or Firehose stream whose name starts with aws-waf-logs-).",
    tags=[
        "logging",
        "network",
        *sources("CKV2_AWS_31", "aws-config:wafv2-logging-enabled"),
        *applies_to(WEB_ACL, WEB_ACL_LOGGING),
    ],
    url=aws_config_url("wafv2-logging-enabled"),
)

POLICIES = [vpc_flow_logs, web_acl_logging]
