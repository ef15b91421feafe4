"""What the Pulumi CLI checks before it starts the program, applied by `modelplane plan` to the same files.

The rules and messages are the CLI's own (pulumi/pulumi, see docs/engine-compat.md): `Pulumi.yaml`
against the CLI's project schema and `Project.Validate` (sdk/go/common/workspace/project.go), the
stack file's keys (`ParseKey`, sdk/go/common/resource/config/key.go), the required keys of
`mergeConfig` and the declared types and secrets of `validateStackConfigValues`
(sdk/go/common/workspace/config.go), and the secrets provider state the CLI needs to decrypt any
`secure:` value (pkg/cmd/pulumi/stack/secrets.go, `SecretsManagerLoader.GetSecretsManager`). Every
violation is a `SettingsError` line `<file>: <key>: <problem>`, so `plan` exits 2 as for bad settings.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from modelplane.config import project
from modelplane.config.loader import SettingsError, read_stack_document, read_yaml

# The CLI's own schema for Pulumi.yaml, kept as data (sdk/go/common/workspace/project.json).
PROJECT_SCHEMA = Path(__file__).resolve().parent / "data" / "pulumi-project.schema.json"
PROJECT_SCHEMA_SOURCE = "https://github.com/pulumi/pulumi/blob/5351d868b25dea431a1cddd35ccf1a41d0985a81/sdk/go/common/workspace/project.json"
# Secrets providers whose state is a salt in the stack file; every other one is a KMS-style URL with a key.
PASSPHRASE_PROVIDERS = frozenset({"", "default", "passphrase"})
_ATOI = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Declaration:
    """One entry of `Pulumi.yaml`'s `config:` after the CLI's shorthand rewrite (`ProjectConfigType`)."""

    key: str
    type: str | None
    items: Mapping[str, Any] | None
    default: Any
    value: Any
    secret: bool

    @property
    def full_type(self) -> str:
        """`InferFullTypeName`: `array<string>` for arrays."""
        return _full_type(self.type or "", self.items)


@dataclass(frozen=True)
class Project:
    name: str
    config: tuple[Declaration, ...]


def check_project(path: Path | None = None, source: str = "Pulumi.yaml") -> Project:
    """`Pulumi.yaml` (default: the current project's) as the CLI loads it (`ValidateProject`, then
    `Project.Validate`), or every reason it would not."""
    path = path or project.current().project_file
    document = read_yaml(path, source)
    if not isinstance(document, dict):
        raise SettingsError(source, [("", f"expected project to be an object, was '{type(document).__name__}'")])
    name = document.get("name")
    if "name" not in document:
        raise SettingsError(source, [("", "project is missing a 'name' attribute")])
    if not isinstance(name, str) or not name:
        raise SettingsError(source, [("", "project is missing a non-empty string 'name' attribute")])
    problems = [(_pointer(error), _schema_message(error)) for error in _schema_errors(document)]
    if problems:
        raise SettingsError(source, problems)
    config = document.get("config")
    declarations = tuple(_declarations(name, config if isinstance(config, dict) else {}))
    problems = list(_declaration_problems(name, declarations))
    if problems:
        raise SettingsError(source, problems)
    return Project(name, declarations)


def check_stack(project: Project, stack_file: Path, stack: str, source: str | None = None) -> dict[str, Any]:
    """The CLI's checks of one stack file against the project, before the program may run; its `config:` block."""
    source = source or str(stack_file)
    document = read_stack_document(stack_file, source)
    config = document.get("config", {})
    problems = _unparsable_keys(config)
    problems += _missing_keys(project, config, stack, imports_environments="environment" in document)
    problems += _undecryptable(document, config, stack)
    problems += _type_problems(project, config, stack)
    if problems:
        raise SettingsError(source, problems)
    return config


# --- Pulumi.yaml -----------------------------------------------------------------------------------


@cache
def _project_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8")))


def _schema_errors(document: Mapping[str, Any]) -> Iterator[ValidationError]:
    """Each failing location once, at its most specific cause, as the CLI lists a schema error's causes."""
    for error in sorted(_project_validator().iter_errors(document), key=lambda e: list(e.absolute_path)):
        yield best_match([error]) if error.context else error


def _pointer(error: ValidationError) -> str:
    """The CLI prints schema errors at a JSON pointer: `#/config/modelplane:tags/type`."""
    return "#" + "".join(f"/{part}" for part in error.absolute_path)


def _schema_message(error: ValidationError) -> str:
    """The wording of the CLI's JSON-schema library (santhosh-tekuri/jsonschema) for the usual failures."""
    # jsonschema types these as possibly unset; on an error from `iter_errors` they are always set.
    kind: Any = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if kind == "enum":
        return "value must be one of " + ", ".join(json.dumps(value) for value in expected)
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(wanted)}, but got {_json_type(instance)}"
    if kind == "required":
        return f"missing properties: {error.message.split(' ', 1)[0]}"
    if kind == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return f"additionalProperties {', '.join(repr(key) for key in extra)} not allowed"
    if kind == "minLength":
        return f"length must be >= {expected}, but got {len(instance)}"
    if kind == "const":
        return f"value must be {json.dumps(expected)}"
    return error.message


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def _declarations(project: str, config: Mapping[str, Any]) -> Iterator[Declaration]:
    """`RewriteShorthandConfigValues`: a bare value is a `default` in the project's namespace, else a `value`."""
    for key, entry in config.items():
        if not isinstance(entry, dict):
            entry = {"default": entry} if _in_project_namespace(project, key) else {"value": entry}
        yield Declaration(
            key=key,
            type=entry.get("type"),
            items=entry.get("items"),
            default=entry.get("default"),
            value=entry.get("value"),
            secret=bool(entry.get("secret")),
        )


def _declaration_problems(project: str, declarations: tuple[Declaration, ...]) -> Iterator[tuple[str, str]]:
    """`Project.Validate`, key by key."""
    for declared in declarations:
        key = f"#/config/{declared.key}"
        if declared.default is not None and declared.value is not None:
            yield key, f"project config '{declared.key}' cannot have both a 'default' and 'value' attribute"
        elif _in_project_namespace(project, declared.key):
            if declared.type == "array" and declared.items is None:
                yield (
                    key,
                    f"The configuration key '{declared.key}' declares an array but does not specify the "
                    "underlying type via the 'items' attribute",
                )
            elif (
                declared.type is not None
                and declared.default is not None
                and not _valid_value(declared.type, declared.items, declared.default)
            ):
                yield (
                    key,
                    f"The default value specified for configuration key '{declared.key}' is not of the expected "
                    f"type '{declared.full_type}'",
                )
        elif declared.type is not None:
            yield (
                key,
                f"Configuration key '{declared.key}' is not namespaced by the project and should not define a type",
            )
        elif declared.default is not None:
            yield (
                key,
                f"Configuration key '{declared.key}' is not namespaced by the project and should not define a "
                "default value. Did you mean to use the 'value' attribute instead of 'default'?",
            )
        elif declared.value is None:
            yield key, f"Configuration key '{declared.key}' is namespaced and must provide an attribute 'value'"


def _in_project_namespace(project: str, key: str) -> bool:
    """`configKeyIsNamespacedByProject`."""
    return ":" not in key or key.startswith(f"{project}:")


def _full_key(project: str, key: str) -> str:
    """`parseConfigKey`: a key without a namespace is in the project's."""
    return key if ":" in key else f"{project}:{key}"


# --- the stack file --------------------------------------------------------------------------------


def _unparsable_keys(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`config.ParseKey`, which loading the stack file applies to every key: `<namespace>:<name>`, or the
    old `<namespace>:config:<name>`. A key without a namespace is no shorthand here, as it is in Pulumi.yaml."""
    return [
        (
            str(key),
            f"could not parse {key} as a configuration key "
            "(configuration keys should be of the form `<namespace>:<name>`)",
        )
        for key in config
        if not _parses_as_key(str(key))
    ]


def _parses_as_key(key: str) -> bool:
    parts = key.split(":")
    return len(parts) == 2 or (len(parts) == 3 and parts[1] == "config")


def _missing_keys(
    project: Project, config: Mapping[str, Any], stack: str, *, imports_environments: bool
) -> list[tuple[str, str]]:
    """`mergeConfig`: a project-namespace key declared without `default` or `value` must be set by every stack.

    Keys an ESC environment (`environment:` in the stack file) provides cannot be seen offline, so a stack
    that imports environments is not checked for missing keys.
    """
    if imports_environments:
        return []
    missing = sorted(
        declared.key
        for declared in project.config
        if _full_key(project.name, declared.key) not in config
        and declared.default is None
        and declared.value is None
        and _in_project_namespace(project.name, declared.key)
    )
    if not missing:
        return []
    values = "value" if len(missing) == 1 else "values"
    return [("", f"Stack '{stack}' is missing configuration {values} {_listed(missing)}")]


def _listed(keys: list[str]) -> str:
    """`formatMissingKeys`: 'a', 'b' and 'c'."""
    quoted = [f"'{key}'" for key in keys]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _undecryptable(document: Mapping[str, Any], config: Mapping[str, Any], stack: str) -> list[tuple[str, str]]:
    """Every `secure:` value the CLI could not decrypt because the file holds no state for its secrets provider.

    The CLI decrypts all config in one batch before the program starts. With neither `encryptionsalt`
    (passphrase provider) nor `secretsprovider` plus `encryptedkey` (a KMS provider), it creates a new
    key, and ciphertext made with any other key fails to decrypt.
    """
    provider = str(document.get("secretsprovider") or "")
    has_state = (
        bool(document.get("encryptionsalt")) if provider in PASSPHRASE_PROVIDERS else bool(document.get("encryptedkey"))
    )
    if has_state:
        return []
    how = (
        f"pulumi stack init {stack} --secrets-provider 'awskms://alias/<key>?region=<region>', then "
        "pulumi config set --secret [--path] <key> <value>"
    )
    missing_state = (
        f"secrets provider {provider!r} without its encryptedkey"
        if provider not in PASSPHRASE_PROVIDERS
        else "no secrets provider state (encryptionsalt, or secretsprovider with encryptedkey)"
    )
    return [
        (
            path,
            f"secure value, but the stack file has {missing_state}: the Pulumi CLI cannot decrypt it; create the stack with {how}",
        )
        for key, value in config.items()
        for path in _secure_paths(key, value)
    ]


def _secure_paths(path: str, value: Any) -> Iterator[str]:
    if _is_secure(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secure_paths(f"{path}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secure_paths(f"{path}[{index}]", item)


def _is_secure(value: Any) -> bool:
    """`isSecureValue`: a mapping with the single key `secure` holding a string."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _has_secure(value: Any) -> bool:
    return next(_secure_paths("", value), None) is not None


def _type_problems(project: Project, config: Mapping[str, Any], stack: str) -> list[tuple[str, str]]:
    """`validateStackConfigValue` for every typed declaration, on the merged value (a declared default counts).

    A `secure:` value's type cannot be checked without its plaintext; only its secrecy is.
    """
    problems: list[tuple[str, str]] = []
    for declared in project.config:
        if declared.type is None:
            continue
        key = _full_key(project.name, declared.key)
        if key in config:
            raw = config[key]
        elif declared.default is not None or declared.value is not None:
            raw = declared.default if declared.default is not None else declared.value
        else:
            continue
        if declared.secret and not _has_secure(raw):
            problems.append(
                (key, f"Stack '{stack}' with configuration key '{declared.key}' must be encrypted as it's secret")
            )
        elif not _has_secure(raw) and not _valid_value(declared.type, declared.items, _as_config_value(raw)):
            problems.append(
                (key, f"Stack '{stack}' with configuration key '{declared.key}' must be of type '{declared.full_type}'")
            )
    return problems


def _as_config_value(raw: Any) -> Any:
    """What the CLI validates: a scalar is kept as the string the YAML held; a mapping or list goes through
    JSON (`config.Value`), so its numbers become floats."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None:
        return ""
    if isinstance(raw, int | float | str):
        return str(raw)
    return json.loads(json.dumps(raw), parse_int=float)


def _valid_value(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """`ValidateConfigValue`."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and _ATOI.fullmatch(value) is not None
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_valid_value(str(items.get("type")), items.get("items"), item) for item in value)


def _full_type(type_name: str, items: Mapping[str, Any] | None) -> str:
    if items is not None:
        return f"array<{_full_type(str(items.get('type')), items.get('items'))}>"
    return type_name
