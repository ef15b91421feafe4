"""The Pulumi CLI's checks before a program runs, as `modelplane plan` applies them (`modelplane/prerun.py`).

Each rule is the CLI's (pulumi/pulumi sdk/go/common/workspace: project.json, `Project.Validate`,
`mergeConfig`, `validateStackConfigValues`; pkg/cmd/pulumi/stack/secrets.go), so the cases below are
written from those rules, not from our files: every shipped stack must pass them, and each mutation
must stop `plan` with exit 2 and the CLI's meaning, naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from modelplane.cli import main
from modelplane.config.loader import SettingsError
from modelplane.errors import EXIT_USAGE
from modelplane.offline.cli_checks import (
    PROJECT_SCHEMA,
    PROJECT_SCHEMA_SOURCE,
    Project,
    check_project,
    check_stack,
)
from tests.stacks import REPOSITORY, STACK_NAMES, stack_config, stack_file, write_stack

Config = dict[str, Any]
SECURE = {"secure": "v1:3mFZ4kB6p0w2iXdO:Yc7q9aQkQ8wqk2oJmJ3X0r4w1s9QmvA="}


def project_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        check_project(path)
    return caught.value.lines


def write_document(tmp_path: Path, document: dict[str, Any], stack: str) -> Path:
    """A whole stack file: secrets provider state and `config:`."""
    path = tmp_path / f"Pulumi.{stack}.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(document, handle)
    return path


def stack_problems(
    tmp_path: Path, document: dict[str, Any], stack: str = "prod", project: Project | None = None
) -> list[str]:
    path = write_document(tmp_path, document, stack)
    with pytest.raises(SettingsError) as caught:
        check_stack(project or check_project(), path, stack)
    return [line.removeprefix(f"{path}: ") for line in caught.value.lines]


PROJECT_HEAD = "name: modelplane\nruntime: python\nconfig:\n"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_shipped_stack_passes_the_clis_checks(stack: str) -> None:
    check_stack(check_project(), stack_file(stack), stack)


def test_the_project_schema_is_the_clis_own_data() -> None:
    schema = json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://github.com/pulumi/pulumi/blob/master/sdk/go/common/workspace/project.json"
    assert PROJECT_SCHEMA_SOURCE.startswith("https://github.com/pulumi/pulumi/blob/")
    assert schema["$defs"]["simpleConfigType"]["enum"] == ["string", "integer", "boolean", "array"]


def test_the_project_declares_only_required_keys_without_object_types() -> None:
    document = YAML(typ="safe").load((REPOSITORY / "Pulumi.yaml").read_text(encoding="utf-8"))
    declared = document["config"]
    assert all("default" not in entry and "value" not in entry for entry in declared.values())
    assert all(entry.get("type") in (None, "string", "integer", "boolean", "array") for entry in declared.values())
    assert document["requiredPulumiVersion"] == ">=3.272.0"


def test_object_types_are_refused_by_the_clis_schema(tmp_path: Path) -> None:
    problems = project_problems(tmp_path, PROJECT_HEAD + "  modelplane:tags:\n    type: object\n")

    assert problems == [
        'Pulumi.yaml: #/config/modelplane:tags/type: value must be one of "string", "integer", "boolean", "array"'
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "  modelplane:zones:\n    type: array\n",
            "#/config/modelplane:zones: The configuration key 'modelplane:zones' declares an array but does not "
            "specify the underlying type via the 'items' attribute",
        ),
        (
            "  modelplane:replicas:\n    type: integer\n    default: many\n",
            "#/config/modelplane:replicas: The default value specified for configuration key 'modelplane:replicas' "
            "is not of the expected type 'integer'",
        ),
        (
            "  aws:region:\n    type: string\n    value: eu-west-1\n",
            "#/config/aws:region: Configuration key 'aws:region' is not namespaced by the project and should not "
            "define a type",
        ),
        (
            "  aws:region:\n    default: eu-west-1\n",
            "#/config/aws:region: Configuration key 'aws:region' is not namespaced by the project and should not "
            "define a default value. Did you mean to use the 'value' attribute instead of 'default'?",
        ),
        (
            "  modelplane:x:\n    default: 1\n    value: 2\n",
            "#/config/modelplane:x: project config 'modelplane:x' cannot have both a 'default' and 'value' attribute",
        ),
        (
            "  modelplane:x:\n    typo: 1\n",
            "#/config/modelplane:x: additionalProperties 'typo' not allowed",
        ),
    ],
    ids=[
        "array-without-items",
        "default-of-wrong-type",
        "foreign-key-with-type",
        "foreign-key-default",
        "default-and-value",
        "unknown-attribute",
    ],
)
def test_project_validation_uses_the_clis_rules_and_words(tmp_path: Path, config: str, expected: str) -> None:
    assert project_problems(tmp_path, PROJECT_HEAD + config) == [f"Pulumi.yaml: {expected}"]


def test_a_project_without_a_name_is_refused_as_the_cli_does(tmp_path: Path) -> None:
    assert project_problems(tmp_path, "runtime: python\n") == ["Pulumi.yaml: project is missing a 'name' attribute"]


def test_shorthand_values_become_defaults_in_the_project_namespace_and_values_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(PROJECT_HEAD + "  modelplane:replicas: 2\n  aws:region: eu-west-1\n", encoding="utf-8")

    declared = {d.key: d for d in check_project(path).config}

    assert (declared["modelplane:replicas"].default, declared["modelplane:replicas"].value) == (2, None)
    assert (declared["aws:region"].default, declared["aws:region"].value) == (None, "eu-west-1")


def test_missing_required_keys_are_listed_in_the_clis_words(tmp_path: Path) -> None:
    config = stack_config("prod")
    del config["modelplane:tags"], config["modelplane:registry"]

    assert stack_problems(tmp_path, {"config": config}) == [
        "Stack 'prod' is missing configuration values 'modelplane:registry' and 'modelplane:tags'"
    ]
    del config["modelplane:environment"]
    assert stack_problems(tmp_path, {"config": config})[0].endswith(
        "values 'modelplane:environment', 'modelplane:registry' and 'modelplane:tags'"
    )


@pytest.mark.parametrize("key", ["tags", "modelplane:tags:extra", "1"])
def test_a_stack_file_key_must_parse_as_namespace_and_name(tmp_path: Path, key: str) -> None:
    """The CLI cannot load a stack file whose key is not `<namespace>:<name>` (`config.ParseKey`)."""
    config = {**stack_config("prod"), key: "x"}

    assert stack_problems(tmp_path, {"config": config}) == [
        f"{key}: could not parse {key} as a configuration key "
        "(configuration keys should be of the form `<namespace>:<name>`)"
    ]


def test_the_old_config_module_form_of_a_key_still_parses(tmp_path: Path) -> None:
    config = {**stack_config("prod"), "aws:config:profile": "deploy"}

    check_stack(check_project(), write_stack(tmp_path, config, "prod"), "prod")


def test_a_key_with_a_default_is_never_missing_and_foreign_keys_never_are(tmp_path: Path) -> None:
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(
        PROJECT_HEAD + "  modelplane:replicas:\n    type: integer\n    default: 2\n  aws:profile:\n    value: x\n"
    )
    path = write_stack(tmp_path, {"aws:region": "eu-west-1"}, "dev")

    check_stack(check_project(project_file), path, "dev")


def test_a_single_missing_key_reads_as_the_cli_prints_it(tmp_path: Path) -> None:
    config = stack_config("dev")
    del config["modelplane:environment"]

    assert stack_problems(tmp_path, {"config": config}, "dev") == [
        "Stack 'dev' is missing configuration value 'modelplane:environment'"
    ]


@pytest.mark.parametrize(
    ("value", "valid"),
    [("prod", True), (5, True), (True, True), (["prod"], False), ({"name": "prod"}, False)],
    ids=["string", "number-read-as-string", "boolean-read-as-string", "list", "mapping"],
)
def test_declared_types_are_checked_as_the_cli_reads_values(tmp_path: Path, value: Any, valid: bool) -> None:
    """A scalar in a stack file reaches the CLI as its text, so it is a valid string; a list or mapping is not."""
    config = {**stack_config("prod"), "modelplane:environment": value}
    path = write_stack(tmp_path, config, "prod")

    if valid:
        check_stack(check_project(), path, "prod")
    else:
        assert stack_problems(tmp_path, {"config": config}) == [
            "modelplane:environment: Stack 'prod' with configuration key 'modelplane:environment' must be of type 'string'"
        ]


@pytest.mark.parametrize(
    ("declaration", "value", "valid"),
    [
        ("type: integer", 3, True),
        ("type: integer", "three", False),
        ("type: integer", 2.5, False),
        ("type: boolean", "false", True),
        ("type: boolean", "no", False),
        ("type: array\n    items:\n      type: string", ["a", "b"], True),
        ("type: array\n    items:\n      type: string", ["a", 1], False),
        ("type: array\n    items:\n      type: integer", [1, 2], True),
    ],
)
def test_integer_boolean_and_array_types_follow_validate_config_value(
    tmp_path: Path, declaration: str, value: Any, valid: bool
) -> None:
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(PROJECT_HEAD + f"  modelplane:setting:\n    {declaration}\n")
    project = check_project(project_file)
    document = {"config": {"modelplane:setting": value}}

    if valid:
        check_stack(project, write_stack(tmp_path, document["config"], "dev"), "dev")
    else:
        (problem,) = stack_problems(tmp_path, document, "dev", project)
        assert problem.startswith(
            "modelplane:setting: Stack 'dev' with configuration key 'modelplane:setting' must be of type"
        )


def test_a_secret_key_must_be_encrypted(tmp_path: Path) -> None:
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(PROJECT_HEAD + "  modelplane:kubeconfig:\n    type: string\n    secret: true\n")
    project = check_project(project_file)

    assert stack_problems(tmp_path, {"config": {"modelplane:kubeconfig": "apiVersion: v1"}}, "dev", project) == [
        "modelplane:kubeconfig: Stack 'dev' with configuration key 'modelplane:kubeconfig' must be encrypted as it's secret"
    ]
    encrypted = {"encryptionsalt": "v1:c2FsdA==:v1:aXY=:Y3Q=", "config": {"modelplane:kubeconfig": SECURE}}
    check_stack(project, write_document(tmp_path, encrypted, "dev"), "dev")


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ({}, "no secrets provider state (encryptionsalt, or secretsprovider with encryptedkey)"),
        (
            {"secretsprovider": "awskms://alias/pulumi-prod"},
            "secrets provider 'awskms://alias/pulumi-prod' without its encryptedkey",
        ),
        ({"secretsprovider": "passphrase"}, "no secrets provider state"),
        ({"encryptionsalt": "v1:c2FsdA==:v1:aXY=:Y3Q="}, None),
        ({"secretsprovider": "awskms://alias/pulumi-prod", "encryptedkey": "AQICAHh..."}, None),
    ],
    ids=["nothing", "kms-without-key", "passphrase-without-salt", "passphrase", "kms"],
)
def test_secure_values_need_the_secrets_providers_state(
    tmp_path: Path, state: dict[str, str], problem: str | None
) -> None:
    config = {**stack_config("prod"), "modelplane:secret_values": {"feature-store-token": SECURE}}
    document = {**state, "config": config}

    if problem is None:
        check_stack(check_project(), write_document(tmp_path, document, "prod"), "prod")
        return
    (line,) = stack_problems(tmp_path, document)
    assert line.startswith(
        f"modelplane:secret_values.feature-store-token: secure value, but the stack file has {problem}"
    )
    assert "the Pulumi CLI cannot decrypt it" in line
    assert "pulumi stack init prod --secrets-provider 'awskms://alias/<key>" in line


def test_plan_stops_with_exit_2_naming_file_and_key_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**stack_config("prod"), "modelplane:secret_values": {"feature-store-token": SECURE}}
    del config["modelplane:tags"]
    path = write_stack(tmp_path, config, "prod")

    assert main(["plan", "--config", str(path)]) == EXIT_USAGE

    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"{path}: Stack 'prod' is missing configuration value 'modelplane:tags'",
        f"{path}: modelplane:secret_values.feature-store-token: secure value, but the stack file has no secrets "
        "provider state (encryptionsalt, or secretsprovider with encryptedkey): the Pulumi CLI cannot decrypt it; "
        "create the stack with pulumi stack init prod --secrets-provider 'awskms://alias/<key>?region=<region>', "
        "then pulumi config set --secret [--path] <key> <value>",
    ]


def test_the_stacks_before_this_check_would_not_have_passed(tmp_path: Path) -> None:
    """The shape of the stacks the CLI refused: made-up ciphertext with no provider state."""
    config = {**stack_config("dev"), "modelplane:secret_values": {"feature-store-token": SECURE}}

    assert "the Pulumi CLI cannot decrypt it" in stack_problems(tmp_path, {"config": config}, "dev")[0]


def test_an_endpoint_whose_models_cannot_be_auto_named_exits_2_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine auto-names each model `<endpoint>-<variant>-model-` plus 7 characters; SageMaker takes 63."""
    config = stack_config("staging")
    config["modelplane:endpoints"][0]["name"] = "f" * 50
    path = write_stack(tmp_path, config, "staging")

    assert main(["plan", "--config", str(path)]) == EXIT_USAGE

    errors = capsys.readouterr().err
    assert f"{path}: modelplane:endpoints[0].name: the model of variant 'champion' would be auto-named" in errors
    assert "over SageMaker's ModelName maximum of 63" in errors and "Traceback" not in errors
