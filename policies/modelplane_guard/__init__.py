"""The rules of the `modelplane-guard` policy pack, grouped by service; `POLICIES` is the whole pack:
the rules, and the policy that checks the waivers configured for them."""

from pulumi_policy import Policy

from . import (
    account_logs,
    anomaly_detection,
    athena,
    by_property,
    containers,
    ecr,
    iam,
    kms,
    kubernetes,
    kubernetes_access,
    lifecycle,
    monitoring,
    network,
    network_logs,
    notebooks,
    s3,
    sagemaker,
    secretsmanager,
    sqs,
    tagging,
    waivers,
    workloads,
)

RULES: list[Policy] = [
    *sagemaker.POLICIES,
    *notebooks.POLICIES,
    *workloads.POLICIES,
    *kubernetes.POLICIES,
    *kubernetes_access.POLICIES,
    *iam.POLICIES,
    *s3.POLICIES,
    *ecr.POLICIES,
    *kms.POLICIES,
    *secretsmanager.POLICIES,
    *sqs.POLICIES,
    *network.POLICIES,
    *network_logs.POLICIES,
    *account_logs.POLICIES,
    *monitoring.POLICIES,
    *anomaly_detection.POLICIES,
    *tagging.POLICIES,
    *lifecycle.POLICIES,
    *by_property.POLICIES,
    *containers.POLICIES,
    *athena.POLICIES,
]

POLICIES: list[Policy] = [*RULES, waivers.waiver_policy(RULES)]
