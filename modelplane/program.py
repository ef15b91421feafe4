"""The program's build function: settings in, components and stack outputs out."""

from __future__ import annotations

from typing import Any

import pulumi

from modelplane.providers import aws_provider
from modelplane.settings import Settings


def build(settings: Settings) -> dict[str, Any]:
    """Create every component of the stack and return its outputs by name."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    tags = settings.base_tags(project, stack)
    aws_opts = pulumi.ResourceOptions(provider=aws_provider(settings, stack))
    del tags, aws_opts
    return {"environment": settings.environment.value}
