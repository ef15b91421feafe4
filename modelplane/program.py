"""The program's build function: settings in, components and stack outputs out.

Stack outputs (a contract read by `modelplane verify` and the docs; add keys, never rename):
- `environment`: the stack's environment.
- `registry`: `key_arn`, `bucket_name`, `bucket_arn`, and `families.<family>` with
  `repository_url`, `repository_arn`, `model_package_group_name`, `model_package_group_arn`.
- `secrets`: secret name -> secret ARN.
- `endpoints.<settings endpoint name>`, for `platform: sagemaker`: `platform`, `endpoint_name`,
  `endpoint_arn`, `endpoint_config_name`, `role_arn`, `variants.<variant>` (`weight`,
  `traffic_share`), `shadow_variant` (name or null), `autoscaling.<variant>` (`resource_id`,
  `min_capacity`, `max_capacity`), `data_capture` (bool), `alarm_names`, `rollback_alarm_names`,
  `dashboard_name`, `log_group_name`, `alarm_topic_arn`.
- `endpoints.<settings endpoint name>`, for `platform: kubernetes`: `platform`, `namespace`,
  `services.<variant>`, `route_name`, `variants.<variant>` (`weight`, `traffic_share`),
  `shadow_variant`.
"""

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
