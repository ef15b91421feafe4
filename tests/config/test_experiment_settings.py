"""The `experiment` settings of an endpoint: documented defaults, business metrics that CloudWatch can
hold, and one readable message per mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from modelplane.config.loader import SettingsError, load_stack_file
from modelplane.settings import Experiment
from modelplane.settings import experiments as limits
from tests.stacks import REPOSITORY, stack_config, write_stack


def problems_of(tmp_path: Path, experiment: dict[str, Any]) -> list[str]:
    config = stack_config("staging")
    config["modelplane:endpoints"][0]["experiment"] = experiment
    path = write_stack(tmp_path, config, "staging")
    with pytest.raises(SettingsError) as caught:
        load_stack_file(path)
    return [line.removeprefix(f"{path}: ") for line in caught.value.lines]


def test_the_defaults_are_the_documented_ones() -> None:
    experiment = Experiment()
    assert (experiment.alpha, experiment.min_invocations, experiment.min_periods) == (0.05, 1000, 10)
    assert (experiment.error_rate_margin, experiment.latency_margin, experiment.period_seconds) == (0.2, 10.0, 60)
    documented = (REPOSITORY / "docs" / "ab-testing.md").read_text(encoding="utf-8")
    for line in [
        "| `alpha` | 0.05 |",
        "| `min_invocations` | 1000 |",
        "| `min_periods` | 10 |",
        "| `period_seconds` | 60 |",
        "| `error_rate_margin` | 0.2 |",
        "| `latency_margin` | 10 |",
    ]:
        assert line in documented


def test_cloudwatch_limits_are_botocores() -> None:
    model = botocore.session.get_session().get_service_model("cloudwatch")
    metric = model.shape_for("Metric")
    assert metric.members["Namespace"].metadata["max"] == limits.CLOUDWATCH_NAME_MAX
    assert metric.members["MetricName"].metadata["max"] == limits.CLOUDWATCH_NAME_MAX
    dimension = model.shape_for("Dimension")
    assert dimension.members["Name"].metadata["max"] == limits.CLOUDWATCH_NAME_MAX
    assert dimension.members["Value"].metadata["max"] == limits.CLOUDWATCH_DIMENSION_VALUE_MAX
    assert metric.members["Dimensions"].metadata["max"] == limits.CLOUDWATCH_MAX_DIMENSIONS


@pytest.mark.parametrize(
    ("experiment", "expected"),
    [
        (
            {
                "business_metrics": [
                    {"name": "c", "namespace": "AWS/SageMaker", "metric": "M", "kind": "proportion", "margin": 1}
                ]
            },
            "modelplane:endpoints[0].experiment.business_metrics[0].namespace: AWS/ namespaces are reserved for AWS"
            " services; publish business metrics in your own",
        ),
        (
            {
                "business_metrics": [
                    {
                        "name": "basket",
                        "namespace": "Shop",
                        "metric": "B",
                        "trials_metric": "T",
                        "kind": "continuous",
                        "margin": 5,
                    }
                ]
            },
            "modelplane:endpoints[0].experiment.business_metrics[0].trials_metric: only a proportion has trials",
        ),
        (
            {
                "business_metrics": [
                    {
                        "name": "c",
                        "namespace": "Shop",
                        "metric": "C",
                        "dimensions": {"VariantName": "x"},
                        "kind": "proportion",
                        "margin": 1,
                    }
                ]
            },
            "modelplane:endpoints[0].experiment.business_metrics[0].dimensions.VariantName: compare sets it to each"
            " variant's name",
        ),
        (
            {
                "business_metrics": [
                    {"name": "c", "namespace": "Shop", "metric": "C", "kind": "proportion", "margin": 1},
                    {"name": "c", "namespace": "Shop", "metric": "D", "kind": "proportion", "margin": 1},
                ]
            },
            "modelplane:endpoints[0].experiment.business_metrics[1].name: duplicate business metric name 'c'",
        ),
        ({"period_seconds": 90}, "modelplane:endpoints[0].experiment.period_seconds: input should be a multiple of 60"),
        ({"alpha": 0.5}, "modelplane:endpoints[0].experiment.alpha: must be at most 0.2"),
        (
            {"business_metrics": [{"name": "c", "namespace": "Shop", "metric": "C", "kind": "ratio", "margin": 1}]},
            "modelplane:endpoints[0].experiment.business_metrics[0].kind: must be one of 'proportion' or 'continuous'",
        ),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, experiment: dict[str, Any], expected: str) -> None:
    assert problems_of(tmp_path, experiment) == [expected]
