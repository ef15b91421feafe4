"""Security groups: from the whole internet, only web ports (80 and 443 unless configured otherwise).

pulumi-aws has four ways to declare an ingress rule, and the rule reads each: a `SecurityGroup`'s or
`DefaultSecurityGroup`'s inline `ingress` list, an `ec2.SecurityGroupRule` of type `ingress`, and a
`vpc.SecurityGroupIngressRule`. Protocol `-1` (or `all`) opens every port whatever the port range.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    WORLD,
    Report,
    applies_to,
    as_list,
    as_mapping,
    as_number,
    aws_config_url,
    config_schema,
    for_types,
    sources,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALL_PROTOCOLS = ("-1", "all")
# ICMP's "ports" are message types and codes.
ICMP_PROTOCOLS = ("icmp", "icmpv6", "1", "58")
PUBLIC_PORTS = [80, 443]
PORT_NAMES = {22: "SSH", 3389: "RDP"}


def ingress_rules(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each ingress rule the resource declares, as (path, {protocol, fromPort, toPort, sources})."""
    props = args.props
    if args.resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for index, raw in enumerate(as_list(props.get("ingress"))):
            rule = as_mapping(raw)
            sources_ = [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))]
            yield f"ingress[{index}]", {**_ports(rule, "protocol"), "sources": sources_}
    elif args.resource_type == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        sources_ = [*as_list(props.get("cidrBlocks")), *as_list(props.get("ipv6CidrBlocks"))]
        yield "rule", {**_ports(props, "protocol"), "sources": sources_}
    elif args.resource_type == INGRESS_RULE:
        sources_ = [value for value in (props.get("cidrIpv4"), props.get("cidrIpv6")) if value]
        yield "rule", {**_ports(props, "ipProtocol"), "sources": sources_}


def _ports(rule: Mapping[str, Any], protocol_key: str) -> dict[str, Any]:
    return {
        "protocol": str(rule.get(protocol_key) or "").lower(),
        "fromPort": as_number(rule.get("fromPort")),
        "toPort": as_number(rule.get("toPort")),
    }


def exposed(rule: Mapping[str, Any], public_ports: list[float]) -> str | None:
    """What a rule open to the world exposes beyond the public ports: every port, or its range."""
    protocol, low, high = rule["protocol"], rule["fromPort"], rule["toPort"]
    if protocol in ICMP_PROTOCOLS:
        return None
    if protocol in ALL_PROTOCOLS or (low is not None and high is not None and low <= 0 and high >= 65535):
        return "every port"
    if low is None or high is None or (low == high and low in public_ports):
        return None
    named = [f"port {port} ({name})" for port, name in PORT_NAMES.items() if low <= port <= high]
    span = f"port {low:g}" if low == high else f"ports {low:g}-{high:g}"
    return ", ".join(named) if named and low == high else f"{span}{' with ' + ', '.join(named) if named else ''}"


@for_types(SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE)
def _ingress_restricted(args: ResourceValidationArgs, report: Report) -> None:
    public_ports = [float(port) for port in as_list(args.get_config().get("publicPorts", PUBLIC_PORTS))]
    for path, rule in ingress_rules(args):
        world = [source for source in rule["sources"] if str(source).strip() in WORLD]
        what = exposed(rule, public_ports) if world else None
        if what:
            report(f"{path} opens {what} to {' and '.join(world)}: anyone on the internet can connect.")


ingress_restricted = ResourceValidationPolicy(
    name="ec2-security-group-ingress-restricted",
    description="Security group ingress from the whole internet (0.0.0.0/0 or ::/0) reaches only public web ports, never every port, SSH, RDP or a service port, whichever resource declares the rule.",
    validate=_ingress_restricted,
    severity=Severity.HIGH,
    remediation_steps="Allow only the CIDRs or security groups that need the port (a load balancer's group, a VPN range); reach instances through SSM Session Manager instead of SSH/RDP; publish services through a load balancer on 443.",
    tags=[
        "network",
        "public-exposure",
        *sources(
            "CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277", "aws-config:restricted-ssh", "aws-config:restricted-common-ports"
        ),
        *applies_to(SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
    ],
    url=aws_config_url("restricted-ssh"),
    config_schema=config_schema(
        {
            "publicPorts": {
                "type": "array",
                "items": {"type": "number"},
                "default": PUBLIC_PORTS,
                "description": "Single ports that may be open to the whole internet (a public load balancer's listeners).",
            }
        }
    ),
)

POLICIES = [ingress_restricted]
