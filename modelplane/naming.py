"""Physical names that must be known before the resources exist.

Endpoint and alarms reference each other (the alarms watch the endpoint, the endpoint's automatic
rollback watches the alarms). Both names are therefore derived here from settings, not from
outputs, which breaks the cycle: alarms are created first with the endpoint's future name as their
dimension, and the endpoint lists the alarms by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelplane.settings import Endpoint


def endpoint_name(endpoint: Endpoint, stack: str) -> str:
    """Deployed SageMaker endpoint name; the loader checks it fits SageMaker's 63 characters."""
    return f"{endpoint.name}-{stack}"


def model_resource_name(endpoint: str, variant: str) -> str:
    """Logical name of a variant's SageMaker model; the model itself is auto-named from it."""
    return f"{endpoint}-{variant}-model"


def endpoint_log_group(deployed_endpoint_name: str) -> str:
    """The log group SageMaker writes an endpoint's container logs to."""
    return f"/aws/sagemaker/Endpoints/{deployed_endpoint_name}"


def family_resource_name(family: str, stack: str) -> str:
    """Physical name of a family's repository and model package group, e.g. `fraud-detector-prod`.

    Stacks may share an account, so the stack is part of the name; the settings loader checks the
    result is a valid lowercase ECR name and SageMaker EntityName.
    """
    return f"{family}-{stack}"
