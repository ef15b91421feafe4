"""Rules of `policies/modelplane_guard/network.py` (security groups): compliant and non-compliant inputs, with
the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import network
from tests.policies.harness import (
    SECURITY_GROUP,
    TAGS,
    Case,
    case_id,
    one,
    run,
    uncovered,
)

SG = "aws:ec2/securityGroup:SecurityGroup"


SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"


INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def ingress(port: int, cidr: str = "10.0.0.0/8", protocol: str = "tcp", to: int | None = None) -> dict[str, Any]:
    return {"protocol": protocol, "fromPort": port, "toPort": port if to is None else to, "cidrBlocks": [cidr]}


CASES: list[Case] = [
    one(
        "ec2-security-group-ingress-restricted",
        "https-from-anywhere-ssh-from-vpn",
        SG,
        {
            "vpcId": "vpc-0a1b2c3d",
            "ingress": [ingress(443, "0.0.0.0/0"), ingress(22, "10.20.0.0/16"), ingress(8, "0.0.0.0/0", "icmp", 0)],
            "tags": TAGS,
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "inline-ssh-and-everything",
        SG,
        {
            "vpcId": "vpc-0a1b2c3d",
            "ingress": [
                ingress(22, "0.0.0.0/0"),
                {"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]},
            ],
            "tags": TAGS,
        },
        [
            "ingress[0] opens port 22 (SSH) to 0.0.0.0/0: anyone on the internet can connect.",
            "ingress[1] opens every port to ::/0: anyone on the internet can connect.",
        ],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "rule-range-covering-rdp",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "tcp",
            "fromPort": 3000,
            "toPort": 4000,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        ["rule opens ports 3000-4000 with port 3389 (RDP) to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "jupyter-from-anywhere",
        SG,
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(8888, "0.0.0.0/0")], "tags": TAGS},
        ["ingress[0] opens port 8888 to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "configured-public-port",
        SG,
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(8443, "0.0.0.0/0")], "tags": TAGS},
        [],
        config={"publicPorts": [443, 8443]},
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "egress-rule-is-not-ingress",
        SG_RULE,
        {
            "type": "egress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "-1",
            "fromPort": 0,
            "toPort": 0,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "vpc-ingress-rule-all-traffic",
        INGRESS_RULE,
        {"securityGroupId": SECURITY_GROUP, "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        ["rule opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    # The internet spelt in halves, with space and as text: every range /8 or wider outside private space.
    one(
        "ec2-security-group-ingress-restricted",
        "ssh-from-the-internet-in-halves",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "6",
            "fromPort": "22",
            "toPort": "22",
            "cidrBlocks": ["0.0.0.0/1", " 128.0.0.0/1 "],
        },
        ["rule opens port 22 (SSH) to 0.0.0.0/1 and 128.0.0.0/1: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "ssh-from-the-private-network",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "cidrBlocks": ["10.0.0.0/8"],
            "ipv6CidrBlocks": ["fd00::/8"],
        },
        [],
    ),
    # However the program spells "every protocol", the port range beside it does not narrow it.
    one(
        "ec2-security-group-ingress-restricted",
        "rule-protocol-minus-one-as-text-of-a-float",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "-1.0",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        ["rule opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "inline-protocol-minus-one-as-a-float",
        SG,
        {
            "vpcId": "vpc-0a1b2c3d",
            "ingress": [{"protocol": -1.0, "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}],
            "tags": TAGS,
        },
        ["ingress[0] opens every port to ::/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "vpc-ingress-rule-protocol-all-in-capitals",
        INGRESS_RULE,
        {"securityGroupId": SECURITY_GROUP, "ipProtocol": "ALL", "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0"},
        ["rule opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "protocol-number-as-text-of-a-float-is-that-protocol",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "6.0",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "vpc-ingress-rule-from-load-balancer",
        INGRESS_RULE,
        {
            "securityGroupId": SECURITY_GROUP,
            "ipProtocol": "tcp",
            "fromPort": 8080,
            "toPort": 8080,
            "referencedSecurityGroupId": "sg-0aa",
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "default-security-group",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(0, "0.0.0.0/0", "tcp", 65535)]},
        ["ingress[0] opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(network.POLICIES, CASES) == []
