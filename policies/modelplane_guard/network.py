"""Security groups: from the whole internet, only web ports (80 and 443 unless configured otherwise).

pulumi-aws has four ways to declare an ingress rule, and the rule reads each: a `SecurityGroup`'s or
`DefaultSecurityGroup`'s inline `ingress` list, an `ec2.SecurityGroupRule` of type `ingress`, and a
`vpc.SecurityGroupIngressRule`. Protocol `-1` (or `all`, however the number is spelt: -1.0, "-1.0") opens
every port whatever the port range.
`world_exposure` is what the rule and the rules by property (network ACLs, any type's ingress list)
share: what a source list open to the whole internet exposes, given the protocol and ports beside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    Report,
    Unknowns,
    applies_to,
    as_list,
    as_mapping,
    as_number,
    aws_config_url,
    config_schema,
    for_types,
    is_world,
    number_text,
    scalar_text,
    sources,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALL_PROTOCOLS = ("-1", "all")
# ICMP's "ports" are message types and codes.
ICMP_PROTOCOLS = ("icmp", "icmpv6", "1", "58")
PUBLIC_PORTS = (80, 443)
PUBLIC_PORTS_SCHEMA = {
    "type": "array",
    "items": {"type": "number"},
    "default": list(PUBLIC_PORTS),
    "description": "Single ports that may be open to the whole internet (a public load balancer's listeners).",
}
PORT_NAMES = {22: "SSH", 3389: "RDP"}


def public_ports(config: Mapping[str, Any]) -> tuple[float, ...]:
    """The single ports a rule's `publicPorts` setting lets the whole internet reach."""
    return tuple(
        number for item in as_list(config.get("publicPorts", PUBLIC_PORTS)) if (number := as_number(item)) is not None
    )


def world_exposure(
    holder: Mapping[str, Any], source_keys: Sequence[str], protocol_keys: Sequence[str], allowed: Sequence[float]
) -> str | None:
    """What a rule exposes to the whole internet beyond the allowed single ports: "every port to
    0.0.0.0/0", "port 22 (SSH) to ::/0"..., or None. Its sources are the CIDRs (one or a list) under
    `source_keys`; its protocol the first of `protocol_keys` it sets (`-1`, `all`, or none at all with no
    ports: every port), numbers as the program wrote them (over gRPC -1 arrives as -1.0)."""
    sources = [source for key in source_keys for source in as_list(holder.get(key))]
    world = [text for text in (scalar_text(source).strip() for source in sources) if is_world(text)]
    if not world:
        return None
    protocol = next((protocol_name(holder.get(key)) for key in protocol_keys if holder.get(key) is not None), "")
    low, high = as_number(holder.get("fromPort")), as_number(holder.get("toPort"))
    what = _exposed(protocol, low, high, allowed)
    return f"{what} to {' and '.join(world)}" if what else None


def protocol_name(value: Any) -> str:
    """A protocol as one spelling: a number however it arrives (-1, -1.0, "-1.0" are all "-1"; "6.0" is
    "6"), a name in lower case ("ALL" is "all")."""
    number = as_number(value)
    return number_text(number) if number is not None else scalar_text(value).strip().lower()


def _exposed(protocol: str, low: float | None, high: float | None, allowed: Sequence[float]) -> str | None:
    if protocol in ICMP_PROTOCOLS:
        return None
    if protocol in ALL_PROTOCOLS or (not protocol and low is None and high is None):
        return "every port"
    if low is not None and high is not None and low <= 0 and high >= 65535:
        return "every port"
    if low is None or high is None or (low == high and low in allowed):
        return None
    named = [f"port {port} ({name})" for port, name in PORT_NAMES.items() if low <= port <= high]
    span = f"port {number_text(low)}" if low == high else f"ports {number_text(low)}-{number_text(high)}"
    return ", ".join(named) if named and low == high else f"{span}{' with ' + ', '.join(named) if named else ''}"


def ingress_rules(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any], tuple[str, ...], str]]:
    """Each ingress rule the resource declares, as (path, rule, the keys of its sources, the key of its protocol)."""
    props = args.props
    if args.resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for index, raw in enumerate(as_list(props.get("ingress"))):
            yield f"ingress[{index}]", as_mapping(raw), ("cidrBlocks", "ipv6CidrBlocks"), "protocol"
    elif args.resource_type == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        yield "rule", props, ("cidrBlocks", "ipv6CidrBlocks"), "protocol"
    elif args.resource_type == INGRESS_RULE:
        yield "rule", props, ("cidrIpv4", "cidrIpv6"), "ipProtocol"


@for_types(SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE)
def _ingress_restricted(args: ResourceValidationArgs, report: Report) -> None:
    allowed = public_ports(args.get_config())
    unknowns = Unknowns()
    with unknowns:
        for path, rule, source_keys, protocol_key in ingress_rules(args):
            with unknowns:
                what = world_exposure(rule, source_keys, (protocol_key,), allowed)
                if what:
                    report(f"{path} opens {what}: anyone on the internet can connect.")
    unknowns.settle()


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
    config_schema=config_schema({"publicPorts": PUBLIC_PORTS_SCHEMA}),
)

POLICIES = [ingress_restricted]
