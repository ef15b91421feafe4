"""SageMaker constraints read from botocore's own service model, so they track AWS, not our memory."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session

from modelplane import autonaming

# What Application Auto Scaling scales for a SageMaker variant; the endpoint component registers it,
# `modelplane verify` looks it up.
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@cache
def _sagemaker_model() -> Any:
    """botocore's SageMaker service model: parsed once, it is large."""
    return botocore.session.get_session().get_service_model("sagemaker")


def _sagemaker_shape(name: str) -> Any:
    return _sagemaker_model().shape_for(name)


@cache
def instance_types() -> frozenset[str]:
    """Every instance type a production variant accepts (`ProductionVariantInstanceType`)."""
    return frozenset(_sagemaker_shape("ProductionVariantInstanceType").enum)


@cache
def _name_rule(shape: str) -> tuple[re.Pattern[str], int]:
    meta = _sagemaker_shape(shape).metadata
    return re.compile(meta["pattern"]), int(meta["max"])


def check_name(shape: str, value: str) -> str | None:
    """Return why `value` is not a valid SageMaker `shape` name, or None when it is."""
    pattern, max_length = _name_rule(shape)
    if len(value) > max_length:
        return f"must be at most {max_length} characters (SageMaker {shape})"
    if not pattern.fullmatch(value):
        return (
            "must contain only letters, digits and single hyphens, starting and ending with a "
            f"letter or digit (SageMaker {shape} pattern {pattern.pattern})"
        )
    return None


def check_auto_name(shape: str, logical_name: str) -> str | None:
    """Why the name the engine would draw for `logical_name` is no valid SageMaker `shape`, or None."""
    drawn = autonaming.example(logical_name)
    _, max_length = _name_rule(shape)
    if len(drawn) > max_length:
        return (
            f"auto-named '{autonaming.prefix(logical_name)}' plus {autonaming.RANDOM_CHARS} random chars, "
            f"{len(drawn)} characters, over SageMaker's {shape} maximum of {max_length}"
        )
    return check_name(shape, drawn)


# Families with local NVMe instance storage: SageMaker rejects a volume KMS key for them.
_NVME_FAMILIES = frozenset(
    {"g5", "g6", "g6e", "g7", "g7e", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "trn1", "trn1n", "trn2"}
)


def _family(instance_type: str) -> str:
    return instance_type.split(".")[1]


def has_local_nvme(instance_type: str) -> bool:
    """`ml.m5d.*`, `ml.g4dn.*`, `ml.p4d.*` and the GPU families that always ship NVMe."""
    family = _family(instance_type)
    generation_suffix = re.sub(r"^[a-z]+\d+", "", family)
    return "d" in generation_suffix or family in _NVME_FAMILIES


def is_gpu(instance_type: str) -> bool:
    return _family(instance_type)[0] in {"g", "p"}


def is_burstable(instance_type: str) -> bool:
    return _family(instance_type).startswith("t")
