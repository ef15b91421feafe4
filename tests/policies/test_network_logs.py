"""Rules of `policies/modelplane_guard/network_logs.py` (a VPC's flow log and a web ACL's logging
configuration, resources of their own): stacks with and without them, with the exact messages."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import network_logs
from tests.policies.harness import TAGS, Case, Res, case_id, run, uncovered

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow"
ACL_ARN = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/scorer/1a2b3c4d"


def vpc(name: str = "app-vpc", vpc_id: str = "vpc-0a1b2c3d") -> Res:
    return Res(VPC, name, {"cidrBlock": "10.0.0.0/16", "id": vpc_id, "tags": TAGS})


def flow_log(vpc_id: str = "vpc-0a1b2c3d", **depends: list[str]) -> Res:
    props = {"vpcId": vpc_id, "trafficType": "ALL", "logDestination": LOG_GROUP}
    return Res(FLOW_LOG, "app-vpc-flow-log", props, depends=depends)


def web_acl() -> Res:
    return Res(
        WEB_ACL, "scorer-waf", {"name": "scorer", "scope": "REGIONAL", "arn": ACL_ARN, "defaultAction": {"allow": {}}}
    )


def logging(resource_arn: str = ACL_ARN) -> Res:
    return Res(
        WEB_ACL_LOGGING,
        "scorer-waf-logs",
        {"resourceArn": resource_arn, "logDestinationConfigs": ["arn:aws:logs:::log-group:aws-waf-logs-scorer"]},
    )


CASES: list[Case] = [
    Case("vpc-flow-logs", "flow-log-by-dependency", [vpc(), flow_log("", vpcId=["app-vpc"])], []),
    Case("vpc-flow-logs", "flow-log-by-id", [vpc(), flow_log()], []),
    Case(
        "vpc-flow-logs",
        "no-flow-log",
        [vpc(), vpc("ml-vpc", "vpc-9f8e7d6c"), flow_log()],
        ["ml-vpc: VPC 'ml-vpc' has no flow log in the stack: its accepted and rejected traffic is not recorded."],
    ),
    Case("wafv2-web-acl-logging", "logged", [web_acl(), logging()], []),
    Case(
        "wafv2-web-acl-logging",
        "logging-for-another-acl",
        [web_acl(), logging("arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/other/9f8e")],
        [
            "scorer-waf: web ACL 'scorer' has no logging configuration in the stack: the requests it allows and blocks are not recorded."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(network_logs.POLICIES, CASES) == []
