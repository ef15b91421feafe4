"""SageMaker notebook instances and Studio domains: in the VPC, without root, under a customer key.

Their unsafe settings are the defaults: a notebook instance without `directInternetAccess` or
`rootAccess` gets both `Enabled`, and a domain without `appNetworkAccessType` is `PublicInternetOnly`
(SageMaker API reference), so a missing field is judged as the value AWS applies.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import Report, applies_to, as_list, aws_config_url, aws_managed_key_problem, for_types, sources

NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"
ENABLED, DISABLED = "Enabled", "Disabled"


def _effective(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else f"{default} (the default)"


@for_types(NOTEBOOK)
def _notebook_network(args: ResourceValidationArgs, report: Report) -> None:
    access = args.props.get("directInternetAccess")
    if access != DISABLED:
        report(
            f"directInternetAccess is {_effective(access, ENABLED)}: the notebook reaches, and can send data to, the internet outside your VPC."
        )
    if not args.props.get("subnetId"):
        report(
            "subnetId is not set: the notebook does not run in your VPC, so no security group or endpoint policy applies."
        )
    elif not as_list(args.props.get("securityGroups")):
        report("securityGroups is empty: the notebook's network interface gets the VPC's default security group.")


notebook_network = ResourceValidationPolicy(
    name="sagemaker-notebook-network",
    description="SageMaker notebook instances run in your VPC with direct internet access disabled.",
    validate=_notebook_network,
    severity=Severity.HIGH,
    remediation_steps="Set direct_internet_access Disabled with subnet_id and security_groups of private subnets (reach AWS services through VPC endpoints).",
    tags=[
        "sagemaker",
        "network",
        *sources(
            "CKV_AWS_122",
            "aws-config:sagemaker-notebook-no-direct-internet-access",
            "aws-config:sagemaker-notebook-instance-inside-vpc",
        ),
        *applies_to(NOTEBOOK),
    ],
    url=aws_config_url("sagemaker-notebook-no-direct-internet-access"),
)


@for_types(NOTEBOOK)
def _notebook_root(args: ResourceValidationArgs, report: Report) -> None:
    access = args.props.get("rootAccess")
    if access != DISABLED:
        report(
            f"rootAccess is {_effective(access, ENABLED)}: notebook users can become root, change the instance and read its role's credentials."
        )


notebook_root = ResourceValidationPolicy(
    name="sagemaker-notebook-no-root-access",
    description="SageMaker notebook instances do not give their users root.",
    validate=_notebook_root,
    severity=Severity.HIGH,
    remediation_steps="Set root_access Disabled (install packages through a lifecycle configuration instead).",
    tags=[
        "sagemaker",
        "access",
        *sources("CKV_AWS_307", "aws-config:sagemaker-notebook-instance-root-access-check"),
        *applies_to(NOTEBOOK),
    ],
    url=aws_config_url("sagemaker-notebook-instance-root-access-check"),
)


@for_types(NOTEBOOK, DOMAIN)
def _encrypted(args: ResourceValidationArgs, report: Report) -> None:
    key = args.props.get("kmsKeyId")
    if not key:
        storage = "the notebook's storage volume" if args.resource_type == NOTEBOOK else "the domain's EFS volume"
        report(f"kmsKeyId is not set: {storage} is encrypted with an AWS managed key.")
    elif problem := aws_managed_key_problem("kmsKeyId", key):
        report(problem)


encrypted = ResourceValidationPolicy(
    name="sagemaker-notebook-and-studio-encrypted",
    description="SageMaker notebook instances and Studio domains encrypt their storage with a customer managed KMS key.",
    validate=_encrypted,
    severity=Severity.MEDIUM,
    remediation_steps="Set kms_key_id to a customer managed key (the stack's key).",
    tags=[
        "sagemaker",
        "encryption",
        *sources("CKV_AWS_22", "CKV_AWS_187", "aws-config:sagemaker-notebook-instance-kms-key-configured"),
        *applies_to(NOTEBOOK, DOMAIN),
    ],
    url=aws_config_url("sagemaker-notebook-instance-kms-key-configured"),
)


@for_types(DOMAIN)
def _domain_network(args: ResourceValidationArgs, report: Report) -> None:
    access = args.props.get("appNetworkAccessType")
    if access != "VpcOnly":
        report(
            f"appNetworkAccessType is {_effective(access, 'PublicInternetOnly')}: Studio apps reach the internet through a network SageMaker manages, outside your VPC's controls."
        )


domain_network = ResourceValidationPolicy(
    name="sagemaker-studio-vpc-only",
    description="SageMaker Studio domains send app traffic through your VPC only (appNetworkAccessType VpcOnly).",
    validate=_domain_network,
    severity=Severity.HIGH,
    remediation_steps="Set app_network_access_type VpcOnly with private subnet_ids and security groups; reach AWS services through VPC endpoints.",
    tags=["sagemaker", "network", *applies_to(DOMAIN)],
    url="https://docs.aws.amazon.com/sagemaker/latest/dg/studio-notebooks-and-internet-access.html",
)

POLICIES = [notebook_network, notebook_root, encrypted, domain_network]
