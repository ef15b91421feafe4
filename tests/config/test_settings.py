"""The settings loader: valid stacks load, bad ones yield `<file>: <path>: <problem>` and nothing else."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from modelplane.config.inputs import DOCUMENT_MAX_BYTES
from modelplane.config.loader import SettingsError, load_stack_file, read_stack_file, settings_from_config
from modelplane.offline.simulation import start_module
from modelplane.settings import Environment, Settings, Strategy
from tests.stacks import REPOSITORY, STACK_NAMES, settings_of, stack_config, stack_file, write_stack
from tools.generate.settings_schema import SCHEMA_PATH, render

Config = dict[str, Any]


def problems_of(tmp_path: Path, config: Config, name: str = "prod") -> list[str]:
    path = write_stack(tmp_path, config, name)
    with pytest.raises(SettingsError) as caught:
        load_stack_file(path)
    return [line.removeprefix(f"{path}: ") for line in caught.value.lines]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_stack_file_validates(stack: str) -> None:
    settings = settings_of(stack)
    assert settings.environment == Environment(stack)
    assert settings.endpoints, "each shipped stack serves at least one model"


def test_stacks_differ_as_documented() -> None:
    dev, staging, prod = (settings_of(name) for name in ("dev", "staging", "prod"))
    assert dev.endpoints[0].variants[0].serverless is not None
    staging_fraud = next(e for e in staging.endpoints if e.name == "fraud")
    assert len(staging_fraud.variants) == 2
    assert staging_fraud.traffic_shares() == {"champion": 0.8, "challenger": 0.2}
    assert any(e.shadow is not None for e in staging.endpoints if e.platform == "sagemaker")
    prod_fraud = next(e for e in prod.endpoints if e.name == "fraud")
    assert prod_fraud.deployment.strategy is Strategy.CANARY
    assert prod_fraud.autoscaling is not None


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Config], None]:
    def mutate(config: Config) -> None:
        target: Any = config
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Callable[[Config], None]:
    def mutate(config: Config) -> None:
        target: Any = config
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _add_variant(config: Config) -> None:
    endpoint = config["modelplane:endpoints"][0]
    endpoint["variants"].append({**endpoint["variants"][0], "name": "second", "weight": 0})


def _two_variants_and_shadow(config: Config) -> None:
    endpoint = config["modelplane:endpoints"][0]
    endpoint["variants"].append({**endpoint["variants"][0], "name": "challenger"})
    endpoint["shadow"] = {**endpoint["variants"][0], "name": "shadow"}


def _duplicate_variant(config: Config) -> None:
    endpoint = config["modelplane:endpoints"][0]
    endpoint["variants"].append(dict(endpoint["variants"][0]))


def _serverless_fraud(config: Config) -> None:
    endpoint = config["modelplane:endpoints"][0]
    variant = endpoint["variants"][0]
    del variant["instance_type"], endpoint["autoscaling"], endpoint["deployment"]
    variant["serverless"] = {"memory_size_mb": 2048, "max_concurrency": 5}
    endpoint["data_capture"] = {"enabled": False}
    endpoint.pop("drift")  # drift is judged on captured requests


ENDPOINT = ("modelplane:endpoints", 0)
VARIANT = (*ENDPOINT, "variants", 0)


def _drift_without_capture(config: Config) -> None:
    config["modelplane:endpoints"][0]["data_capture"] = {"capture": ["output"]}


MALFORMED: list[tuple[str, Callable[[Config], None], str]] = [
    (
        "drift without captured input",
        _drift_without_capture,
        "modelplane:endpoints[0].drift.enabled: drift is judged on captured requests: capture input in data_capture",
    ),
    ("zero weight", _add_variant, "modelplane:endpoints[0].variants[1].weight: must be greater than 0"),
    ("unknown top-level key", _set(("modelplane:colour",), "blue"), "modelplane:colour: unknown key"),
    ("unknown nested key", _set((*VARIANT, "wieght"), 2), "modelplane:endpoints[0].variants[0].wieght: unknown key"),
    ("missing environment", _delete(("modelplane:environment",)), "modelplane:environment: is required"),
    (
        "bad environment",
        _set(("modelplane:environment",), "qa"),
        "modelplane:environment: must be one of 'dev', 'staging', 'prod' or 'local'",
    ),
    ("missing tag", _delete(("modelplane:tags", "cost-center")), "modelplane:tags.cost-center: is required"),
    (
        "bad classification",
        _set(("modelplane:tags", "data-classification"), "secret"),
        "modelplane:tags.data-classification: must be one of 'public', 'internal', 'confidential' or 'restricted'",
    ),
    (
        "bad instance type",
        _set((*VARIANT, "instance_type"), "ml.x9.huge"),
        "modelplane:endpoints[0].variants[0].instance_type: unknown SageMaker instance type 'ml.x9.huge' (botocore ProductionVariantInstanceType)",
    ),
    (
        "bad endpoint name",
        _set((*ENDPOINT, "name"), "fraud_v2"),
        "modelplane:endpoints[0].name: must contain only letters, digits and hyphens, starting and ending with a letter or digit (SageMaker EndpointName",
    ),
    (
        "endpoint name too long",
        _set((*ENDPOINT, "name"), "f" * 64),
        "modelplane:endpoints[0].name: must be at most 63 characters",
    ),
    (
        # Each model is auto-named from the endpoint and variant names: the tighter limit of the two names.
        "model auto-name too long",
        _set((*ENDPOINT, "name"), "f" * 50),
        "modelplane:endpoints[0].name: the model of variant 'champion' would be auto-named '"
        + "f" * 50
        + "-champion-model-' plus 7 random chars, 73 characters, over SageMaker's ModelName maximum of 63",
    ),
    (
        "duplicate variant",
        _duplicate_variant,
        "modelplane:endpoints[0].variants[1].name: duplicate variant name 'champion'",
    ),
    (
        "shadow with two variants",
        _two_variants_and_shadow,
        "modelplane:endpoints[0].shadow: a shadow variant needs exactly one production variant, found 2",
    ),
    (
        "unknown family",
        _set((*ENDPOINT, "family"), "nope"),
        "modelplane:endpoints[0].family: unknown model family 'nope'; declare it in registry.families",
    ),
    (
        "unknown secret",
        _set((*ENDPOINT, "secrets"), ["nope"]),
        "modelplane:endpoints[0].secrets[0]: unknown secret 'nope'; declare it in secrets",
    ),
    (
        "burstable with autoscaling",
        _set((*VARIANT, "instance_type"), "ml.t2.medium"),
        "modelplane:endpoints[0].variants[0].instance_type: burstable ml.t* instances cannot autoscale",
    ),
    (
        "serverless and instances",
        _set((*VARIANT, "serverless"), {"memory_size_mb": 2048, "max_concurrency": 5}),
        "modelplane:endpoints[0].variants[0].instance_type: set exactly one of instance_type or serverless",
    ),
    (
        "bake too long",
        _set((*ENDPOINT, "deployment", "bake_seconds"), 3000),
        "modelplane:endpoints[0].deployment.bake_seconds: bake and termination waits add up to 3300s",
    ),
    (
        "timeout above provider wait",
        _set((*ENDPOINT, "deployment", "max_duration_seconds"), 7200),
        "modelplane:endpoints[0].deployment.max_duration_seconds: must be at most 3600",
    ),
    (
        "bad strategy",
        _set((*ENDPOINT, "deployment", "strategy"), "yolo"),
        "modelplane:endpoints[0].deployment.strategy: must be one of 'all-at-once', 'canary', 'linear' or 'rolling'",
    ),
    (
        "min above max",
        _set((*ENDPOINT, "autoscaling", "min_capacity"), 9),
        "modelplane:endpoints[0].autoscaling.min_capacity: must not exceed max_capacity",
    ),
    (
        "latest tag",
        _set((*VARIANT, "image_tag"), "latest"),
        "modelplane:endpoints[0].variants[0].image_tag: 'latest' is mutable; pin an immutable tag or a digest",
    ),
    (
        "tag and digest",
        _set((*VARIANT, "image_tag"), "2.4.0"),
        "modelplane:endpoints[0].variants[0].image_tag: set exactly one of image_tag or image_digest",
    ),
    (
        "weight not a number",
        _set((*VARIANT, "weight"), "heavy"),
        "modelplane:endpoints[0].variants[0].weight: must be a number",
    ),
    (
        "sampling above 100",
        _set((*ENDPOINT, "data_capture", "sampling_percent"), 150),
        "modelplane:endpoints[0].data_capture.sampling_percent: must be at most 100",
    ),
    (
        "prod without network",
        _delete(("modelplane:network",)),
        "modelplane:network: required in prod: models run in private subnets",
    ),
    (
        "bad subnet",
        _set(("modelplane:network", "subnet_ids"), ["vpc-123"]),
        "modelplane:network.subnet_ids[0]: must match ^subnet-[0-9a-f]{8,17}$",
    ),
    (
        "bad log retention",
        _set(("modelplane:monitoring", "log_retention_days"), 42),
        "modelplane:monitoring.log_retention_days: CloudWatch Logs accepts only 1, 3, 5",
    ),
    (
        "plaintext secret value",
        _set(("modelplane:secret_values",), {"feature-store-token": "hunter2"}),
        "modelplane:secret_values.feature-store-token: plain-text secret value; remove it and run: pulumi config set --secret --path 'modelplane:secret_values.feature-store-token' <value> --stack prod",
    ),
    (
        "secret value in spec",
        _set(("modelplane:secrets", "feature-store-token", "value"), "hunter2"),
        "modelplane:secrets.feature-store-token.value: secret values never go in YAML; remove it and run: pulumi config set --secret --path 'modelplane:secret_values.feature-store-token' <value> --stack prod",
    ),
    (
        "plaintext kubeconfig",
        _set(("modelplane:kubeconfig",), "apiVersion: v1"),
        "modelplane:kubeconfig: a kubeconfig holds credentials: store it with pulumi config set --secret 'modelplane:kubeconfig' <value> --stack prod",
    ),
    (
        "prod secret without rotation",
        _delete(("modelplane:secrets", "feature-store-token", "rotation")),
        "modelplane:secrets.feature-store-token.rotation: required in prod: secrets rotate at least every 90 days",
    ),
    (
        "canary step above AWS bound",
        _set((*ENDPOINT, "deployment", "step", "value"), 60),
        "modelplane:endpoints[0].deployment.step.value: canary steps must be 1-50 percent of capacity",
    ),
    (
        "instances outside autoscaling range",
        _set((*VARIANT, "instance_count"), 9),
        "modelplane:endpoints[0].variants[0].instance_count: must lie within autoscaling's 2..8",
    ),
    (
        "serverless in prod",
        _serverless_fraud,
        "modelplane:endpoints[0].variants[0].serverless: serverless endpoints cannot run in private subnets or with network isolation",
    ),
    ("missing region", _delete(("aws:region",)), "aws:region: is required (pulumi config set aws:region <region>)"),
    (
        "kubernetes fields on sagemaker",
        _set((*ENDPOINT, "kubernetes"), {"namespace": "x", "gateway": {"gateway_name": "g", "gateway_namespace": "n"}}),
        "modelplane:endpoints[0].kubernetes: only allowed with platform kubernetes",
    ),
    (
        "default namespace",
        _set(("modelplane:endpoints", 1, "kubernetes", "namespace"), "default"),
        "modelplane:endpoints[1].kubernetes.namespace: 'default' is a system namespace; use one of your own",
    ),
    (
        "emulator outside local",
        _set(("modelplane:local_emulator",), {"endpoint_url": "http://127.0.0.1:5000"}),
        "modelplane:local_emulator: only allowed with environment local",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_config_names_file_path_and_problem(
    tmp_path: Path, mutate: Callable[[Config], None], expected: str
) -> None:
    config = stack_config("prod")
    mutate(config)
    problems = problems_of(tmp_path, config)
    assert any(line.startswith(expected) for line in problems), problems


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    config = stack_config("prod")
    config["modelplane:tags"]["data-classification"] = "secret"
    config["modelplane:endpoints"][0]["variants"][0]["weight"] = -1
    config["modelplane:monitoring"]["log_retention_days"] = 42
    problems = problems_of(tmp_path, config)
    assert [line.split(": ")[0] for line in problems] == [
        "modelplane:tags.data-classification",
        "modelplane:endpoints[0].variants[0].weight",
        "modelplane:monitoring.log_retention_days",
    ]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  modelplane:environment: [dev\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_stack_file(path)
    assert caught.value.lines == [f"{path}: line 3: invalid YAML: expected ',' or ']', but got '<stream end>'"]


def test_a_file_nested_deeper_than_any_parse_is_refused_before_the_parser_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ruamel would spend seconds scanning it before its recursion gives up, for the same message."""
    deep = tmp_path / "Pulumi.deep.yaml"
    deep.write_text("config:\n  modelplane:environment: " + "[" * 100_000, encoding="utf-8")
    monkeypatch.setattr(YAML, "load", lambda *_: pytest.fail("the parser ran"))
    with pytest.raises(SettingsError) as caught:
        load_stack_file(deep)
    assert caught.value.lines == [f"{deep}: invalid YAML: nested too deeply"]


def test_a_stack_file_larger_than_any_input_may_be_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size limit every file a command reads has (config/inputs.py), and its message."""
    large = tmp_path / "Pulumi.large.yaml"
    with large.open("wb") as handle:  # sparse: as large as it says, instantly
        handle.truncate(DOCUMENT_MAX_BYTES + 1)
    monkeypatch.setattr(Path, "read_text", lambda *_, **__: pytest.fail("the file was read"))
    with pytest.raises(SettingsError) as caught:
        load_stack_file(large)
    assert caught.value.lines == [f"{large}: 67108865 bytes, more than the 67108864 bytes such a file may have"]


def test_a_text_read_again_is_not_parsed_again_and_each_read_gets_its_own_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_stack(tmp_path, stack_config("dev"), "dev")
    first = read_stack_file(path)
    first["modelplane:tags"]["team"] = "changed by a caller"
    monkeypatch.setattr(YAML, "load", lambda *_: pytest.fail("the same text was parsed again"))
    again = read_stack_file(path)
    assert again == stack_config("dev")

    edited = stack_config("dev")
    edited["modelplane:tags"]["team"] = "edited"
    write_stack(tmp_path, edited, "dev")
    monkeypatch.undo()
    assert read_stack_file(path)["modelplane:tags"]["team"] == "edited", "an edited file is read anew"


def test_nesting_the_parser_reads_and_brackets_in_strings_are_not_refused(tmp_path: Path) -> None:
    config = stack_config("dev")
    config["modelplane:tags"]["note"] = "]" * 2_000 + "[" * 900
    path = write_stack(tmp_path, config, "dev")
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("config:\n", "config:\n  nested: " + "[" * 400 + "]" * 400 + "\n", 1), encoding="utf-8"
    )
    read = read_stack_file(path)
    assert read["modelplane:tags"]["note"] == "]" * 2_000 + "[" * 900
    nested = read["nested"]
    for _ in range(399):
        (nested,) = nested
    assert nested == []


def test_prod_defaults_to_canary_and_other_environments_to_all_at_once(tmp_path: Path) -> None:
    prod = stack_config("prod")
    del prod["modelplane:endpoints"][0]["deployment"]
    settings = load_stack_file(write_stack(tmp_path, prod, "prod"))
    assert settings.endpoints[0].deployment.strategy is Strategy.CANARY
    staging = stack_config("staging")
    del staging["modelplane:endpoints"][0]["deployment"]
    settings = load_stack_file(write_stack(tmp_path, staging, "staging"))
    assert settings.endpoints[0].deployment.strategy is Strategy.ALL_AT_ONCE


def test_prod_refuses_all_at_once_for_instance_endpoints(tmp_path: Path) -> None:
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["deployment"]["strategy"] = "all-at-once"
    assert (
        "modelplane:endpoints[0].deployment.strategy: prod endpoints shift traffic gradually: use canary, linear or rolling"
        in problems_of(tmp_path, config)
    )


def test_pulumi_runtime_secret_config_is_accepted_as_decrypted() -> None:
    config = stack_config("prod")
    config["modelplane:secret_values"] = {"feature-store-token": "decrypted-by-the-engine"}
    settings = settings_from_config(
        config, source="stacks/Pulumi.prod.yaml", stack="prod", secret_keys=frozenset({"modelplane:secret_values"})
    )
    assert list(settings.secrets) == ["feature-store-token"]


def test_base_tags_merge_required_and_stack_tags() -> None:
    settings = settings_of("prod")
    assert settings.base_tags("modelplane", "prod") == {
        "service-tier": "tier-1",
        "owner": "ml-platform@example.com",
        "cost-center": "cc-4100",
        "data-classification": "restricted",
        "environment": "prod",
        "project": "modelplane",
        "stack": "prod",
        "managed-by": "pulumi",
    }


def test_schema_file_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        "run `make generate` and commit stacks/settings.schema.json"
    )


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_stack_files_reference_the_schema(stack: str) -> None:
    first_line = stack_file(stack).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./settings.schema.json"


def test_bad_config_fails_pulumi_run_with_the_same_message(tmp_path: Path) -> None:
    """Under the engine the loader's text becomes a RunError: one message, no traceback of ours."""
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["variants"][0]["weight"] = 0
    path = write_stack(tmp_path, config, "prod")
    printed: list[str] = []

    running = start_module("tests.config.harness", [str(path)], REPOSITORY, os.environ, on_line=printed.append)

    assert running.wait() == 0, running.errors
    assert (
        "".join(printed).strip()
        == "stacks/Pulumi.prod.yaml: modelplane:endpoints[0].variants[0].weight: must be greater than 0"
    )


# Random edits of a valid config: the loader returns settings or raises SettingsError, nothing else.
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.text(max_size=80)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


_TEMPLATE = stack_config("prod")
_TEMPLATE_PATHS = _paths(_TEMPLATE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_TEMPLATE_PATHS), st.one_of(_VALUES, st.just("<delete>"))), min_size=1, max_size=4
    )
)
def test_random_mutations_yield_settings_or_the_clean_error(edits: list[tuple[tuple[Any, ...], Any]]) -> None:
    config = copy.deepcopy(_TEMPLATE)
    for path, value in edits:
        parent: Any = config
        try:
            for part in path[:-1]:
                parent = parent[part]
            if value == "<delete>":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        result = settings_from_config(config, source="stacks/Pulumi.prod.yaml", stack="prod")
    except SettingsError as error:
        assert error.lines
        assert all(line.startswith("stacks/Pulumi.prod.yaml: ") for line in error.lines)
        assert all("Traceback" not in line and "pydantic" not in line for line in error.lines)
    else:
        assert isinstance(result, Settings)


def test_serverless_endpoints_refuse_what_aws_does_not_offer(tmp_path: Path) -> None:
    config = stack_config("dev")
    fraud = config["modelplane:endpoints"][0]
    fraud["data_capture"] = {"enabled": True}
    fraud["variants"].append({**fraud["variants"][0], "name": "challenger"})
    assert problems_of(tmp_path, config, "dev") == [
        "modelplane:endpoints[0].variants: a serverless endpoint takes exactly one production variant",
        "modelplane:endpoints[0].data_capture.enabled: data capture is not available for serverless endpoints; set it to false",
    ]
