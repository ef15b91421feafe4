"""The rules of the `modelplane-guard` policy pack, grouped by service; `POLICIES` is the whole pack."""

from pulumi_policy import Policy

from . import (
    anomaly_detection,
    ecr,
    iam,
    kms,
    kubernetes,
    lifecycle,
    monitoring,
    s3,
    sagemaker,
    secretsmanager,
    tagging,
    workloads,
)

POLICIES: list[Policy] = [
    *sagemaker.POLICIES,
    *workloads.POLICIES,
    *kubernetes.POLICIES,
    *iam.POLICIES,
    *s3.POLICIES,
    *ecr.POLICIES,
    *kms.POLICIES,
    *secretsmanager.POLICIES,
    *monitoring.POLICIES,
    *anomaly_detection.POLICIES,
    *tagging.POLICIES,
    *lifecycle.POLICIES,
]
