"""Explicit providers: every resource names the provider it uses, none relies on ambient defaults."""

from __future__ import annotations

import pulumi_aws as aws

from modelplane.settings import Settings


def aws_provider(settings: Settings, stack: str) -> aws.Provider:
    """The stack's AWS provider: the settings' region, or the local emulator for `local` stacks."""
    emulator = settings.local_emulator
    if emulator is None:
        return aws.Provider(f"aws-{stack}", region=settings.region)
    url = emulator.endpoint_url.rstrip("/")
    services = (
        "applicationautoscaling",
        "cloudwatch",
        "ecr",
        "iam",
        "kms",
        "logs",
        "s3",
        "sagemaker",
        "secretsmanager",
        "sns",
        "sts",
    )
    return aws.Provider(
        f"aws-{stack}",
        region=settings.region,
        access_key="testing",
        secret_key="testing",
        endpoints=[aws.ProviderEndpointArgs(**{service: url for service in services})],
        s3_use_path_style=True,
        skip_credentials_validation=True,
        skip_metadata_api_check=True,
        skip_requesting_account_id=True,
        skip_region_validation=True,
    )
