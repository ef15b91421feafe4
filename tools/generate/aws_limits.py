"""Writes `components/aws_limits.json`: the AWS API constraints the components check, read from botocore's
service models: `python -m tools.generate.aws_limits`.

The components distribution depends on Pulumi's packages only, so it ships these few shapes as data
instead of botocore; a test regenerates the file from the installed botocore and fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import botocore
import botocore.session

from tools.generate import REPOSITORY

LIMITS_PATH = REPOSITORY / "components" / "aws_limits.json"
# Every shape a component checks a value against, by service (`components/aws_limits.py`).
SHAPES = {
    "ecr": ("RepositoryName",),
    "kms": ("AliasNameType",),
    "sagemaker": (
        "EndpointName",
        "EntityName",
        "EnvironmentKey",
        "EnvironmentMap",
        "MaxConcurrentInvocationsPerInstance",
        "ModelName",
        "ProductionVariantInstanceType",
        "ProductionVariantList",
        "ServerlessMaxConcurrency",
        "ServerlessProvisionedConcurrency",
        "TerminationWaitInSeconds",
        "VariantName",
        "VariantWeight",
        "WaitIntervalInSeconds",
    ),
    "secretsmanager": ("AutomaticallyRotateAfterDaysType",),
}
CONSTRAINTS = ("pattern", "min", "max")


def render() -> str:
    session = botocore.session.get_session()
    limits: dict[str, dict[str, dict[str, Any]]] = {}
    for service, shapes in SHAPES.items():
        model = session.get_service_model(service)
        limits[service] = {}
        for name in shapes:
            shape = model.shape_for(name)
            entry = {key: shape.metadata[key] for key in CONSTRAINTS if key in shape.metadata}
            if enum := getattr(shape, "enum", None):
                entry["enum"] = sorted(enum)
            limits[service][name] = entry
    document = {"generated_from": f"botocore {botocore.__version__}", "shapes": limits}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main() -> int:
    LIMITS_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {LIMITS_PATH.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
