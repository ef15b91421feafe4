"""AWS's own constraints, taken from botocore's service models so they track AWS, not our memory.

Components check their arguments against these (so direct users get AWS's rules before a deploy),
and modelplane's settings call the same checks to report them at stack-file field paths. The shapes
they need are copied from botocore into `aws_limits.json` (`tools/generate/aws_limits.py`, checked for
staleness by the tests), so this package depends on Pulumi's packages only.
"""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from . import autonaming

LIMITS_FILE = Path(__file__).with_name("aws_limits.json")

# What Application Auto Scaling scales for a SageMaker variant; the endpoint component registers it,
# `modelplane verify` looks it up.
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"

# CloudWatch Logs accepts only these retention periods (botocore documents them in prose only).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# What AWS's name patterns mean, for messages people can act on.
_PATTERN_MEANINGS = {
    "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}": "must contain only letters, digits and hyphens, starting and ending with a letter or digit",
}
_SERVICE_NAMES = {
    "ecr": "ECR",
    "kms": "KMS",
    "sagemaker": "SageMaker",
    "secretsmanager": "Secrets Manager",
    "cloudwatch": "CloudWatch",
}


@cache
def _limits() -> dict[str, dict[str, dict[str, Any]]]:
    return json.loads(LIMITS_FILE.read_text(encoding="utf-8"))["shapes"]


def _shape(service: str, shape: str) -> dict[str, Any]:
    """The shape's constraints (`pattern`, `min`, `max`, `enum`); a KeyError names a shape nobody generated."""
    return _limits()[service][shape]


@cache
def _name_rule(service: str, shape: str) -> tuple[re.Pattern[str], int]:
    meta = _shape(service, shape)
    return re.compile(meta["pattern"]), int(meta["max"])


def name_problem(shape: str, value: str, service: str = "sagemaker") -> str | None:
    """Why `value` is not a valid `shape` name of `service`, or None when it is."""
    pattern, max_length = _name_rule(service, shape)
    label = f"{_SERVICE_NAMES[service]} {shape}"
    if len(value) > max_length:
        return f"must be at most {max_length} characters ({label})"
    if not pattern.fullmatch(value):
        meaning = _PATTERN_MEANINGS.get(pattern.pattern, "must match the pattern")
        return f"{meaning} ({label} pattern {pattern.pattern})"
    return None


def auto_name_problem(shape: str, logical_name: str, service: str = "sagemaker") -> str | None:
    """Why the name the engine draws for a resource without one (`autonaming`) is no valid `shape` name, or None."""
    drawn = autonaming.example(logical_name)
    auto_name = f"auto-named '{autonaming.prefix(logical_name)}' plus {autonaming.RANDOM_CHARS} random chars"
    _, max_length = _name_rule(service, shape)
    if len(drawn) > max_length:
        label = f"{_SERVICE_NAMES[service]}'s {shape}"
        return f"{auto_name}, {len(drawn)} characters, over {label} maximum of {max_length}"
    if why := name_problem(shape, drawn, service):
        return f"{auto_name}, which {why}"
    return None


def range_problem(shape: str, value: float, service: str = "sagemaker") -> str | None:
    """Why `value` lies outside the bounds of the numeric `shape` of `service`, or None when it is inside."""
    meta = _shape(service, shape)
    low, high = meta.get("min"), meta.get("max")
    label = f"{_SERVICE_NAMES[service]} {shape}"
    if low is not None and high is not None and not low <= value <= high:
        return f"must be between {low} and {high} ({label})"
    if low is not None and value < low:
        return f"must be at least {low} ({label})"
    if high is not None and value > high:
        return f"must be at most {high} ({label})"
    return None


def length_problem(shape: str, count: int, service: str = "sagemaker") -> str | None:
    """Why a list of `count` items breaks the bounds of the list `shape`, or None."""
    meta = _shape(service, shape)
    low, high = meta.get("min", 0), meta.get("max")
    if count < low or (high is not None and count > high):
        return f"takes {low} to {high} items ({_SERVICE_NAMES[service]} {shape}), got {count}"
    return None


@cache
def instance_types() -> frozenset[str]:
    """Every instance type a production variant accepts (`ProductionVariantInstanceType`)."""
    return frozenset(_shape("sagemaker", "ProductionVariantInstanceType")["enum"])


def instance_type_problem(instance_type: str) -> str | None:
    if instance_type not in instance_types():
        return f"unknown SageMaker instance type {instance_type!r} (botocore ProductionVariantInstanceType)"
    return None


# Families with local NVMe instance storage: SageMaker rejects a volume KMS key for them.
_NVME_FAMILIES = frozenset(
    {"g5", "g6", "g6e", "g7", "g7e", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "trn1", "trn1n", "trn2"}
)


def _family(instance_type: str) -> str:
    """`g5` of `ml.g5.xlarge`; empty for a value that is no instance type (refused by `instance_type_problem`)."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else ""


def has_local_nvme(instance_type: str) -> bool:
    """`ml.m5d.*`, `ml.g4dn.*`, `ml.p4d.*` and the GPU families that always ship NVMe."""
    family = _family(instance_type)
    generation_suffix = re.sub(r"^[a-z]+\d+", "", family)
    return "d" in generation_suffix or family in _NVME_FAMILIES


def is_gpu(instance_type: str) -> bool:
    return _family(instance_type)[:1] in {"g", "p"}


def is_burstable(instance_type: str) -> bool:
    return _family(instance_type).startswith("t")
