"""The rules of the `modelplane-guard` policy pack, grouped by service."""

from pulumi_policy import Policy, ResourceValidationPolicy

def _placeholder(args, report):
    if args.resource_type == "aws:kms/key:Key" and not args.props.get("enableKeyRotation"):
        report("no rotation")

POLICIES: list[Policy] = [ResourceValidationPolicy("kms-key-rotation", "Keys rotate.", validate=_placeholder)]
