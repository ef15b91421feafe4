"""Explicit providers: every resource names the provider it uses, none relies on ambient defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from modelplane.settings import Settings

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s


def aws_provider(settings: Settings, stack: str) -> aws.Provider:
    """The stack's AWS provider: the settings' region, or the local emulator for `local` stacks."""
    emulator = settings.local_emulator
    if emulator is None:
        return aws.Provider(f"aws-{stack}", region=settings.region)
    url = emulator.endpoint_url.rstrip("/")
    services = (
        "applicationautoscaling",
        "athena",
        "cloudwatch",
        "ecr",
        "glue",
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


def kubernetes_provider(settings: Settings, stack: str, kubeconfig: pulumi.Input[str] | None) -> k8s.Provider:
    """The stack's Kubernetes provider: the secret kubeconfig (or the ambient one when None) and its context.

    With `render_yaml_to_directory` it writes manifests for a GitOps tool instead of applying them.
    Server-side apply leaves fields owned by controllers (an HPA's replica count) alone.
    """
    import pulumi_kubernetes as k8s

    cluster = settings.kubernetes
    return k8s.Provider(
        f"kubernetes-{stack}",
        kubeconfig=kubeconfig,
        context=cluster.context,
        render_yaml_to_directory=cluster.render_yaml_to_directory,
        enable_server_side_apply=True,
    )
