"""Builds `Settings` from a stack file or from Pulumi's runtime config, with one readable error for bad input.

Both paths go through `settings_from_config`, so `pulumi up`, the offline tools and the tests see the
same checks and the same `<file>: <key path>: <problem>` messages.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML, YAMLError

from modelplane.config.inputs import DOCUMENT_MAX_BYTES, too_large
from modelplane.errors import BadInput

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from modelplane.settings import Settings

NAMESPACE = "modelplane"
SECRET_VALUES_KEY = f"{NAMESPACE}:secret_values"
KUBECONFIG_KEY = f"{NAMESPACE}:kubeconfig"
REGION_KEY = "aws:region"
# ruamel's parser recurses once per nested flow collection (`[`, `{`) and gives up near 500 levels, after its
# scanner has spent time that grows with the square of the depth (2 s on `[` x 2,000). A text that opens
# more than this many at once is refused before parsing; brackets in strings and comments count too, which
# only a document no one writes could reach.
FLOW_NESTING_LIMIT = 1000
# Texts up to this size keep their parsed document for the next read of the same text (`_parsed`).
PARSED_TEXT_KEPT_MAX = 1024 * 1024
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_TOO_DEEP = "invalid YAML: nested too deeply"
PROJECT = "modelplane"


class SettingsError(BadInput):
    """Every problem of one config, each line `<source>: <key path>: <problem>`."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        return [
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
            for path, message in self.problems
        ]


def config_key(field: str) -> str:
    return REGION_KEY if field == "region" else f"{NAMESPACE}:{field}"


def set_secret_command(key: str, stack: str) -> str:
    path_flag = " --path" if "." in key else ""
    return f"pulumi config set --secret{path_flag} '{key}' <value> --stack {stack}"


def settings_from_config(
    config: Mapping[str, Any], *, source: str, stack: str, secret_keys: frozenset[str] = frozenset()
) -> Settings:
    """Validate a stack's config (full keys such as `modelplane:endpoints`, decoded values).

    `secret_keys` lists keys Pulumi holds encrypted; in a stack file those are the `secure:` values.
    """
    # Imported here: the offline tools read stack files (and report SettingsError) in processes
    # that never validate, and pydantic's model building is a large part of their start-up.
    from pydantic import ValidationError

    from modelplane.settings import Settings

    problems: list[tuple[str, str]] = []
    data: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if key == REGION_KEY:
            data["region"] = value
        elif key == SECRET_VALUES_KEY:
            problems += _secret_value_problems(value, config.get(f"{NAMESPACE}:secrets"), key in secret_keys, stack)
        elif key == KUBECONFIG_KEY:
            if key not in secret_keys and not _is_ciphertext(value):
                problems.append(
                    (key, f"a kubeconfig holds credentials: store it with {set_secret_command(key, stack)}")
                )
        elif namespace == NAMESPACE:
            if name not in Settings.model_fields or name == "region":
                problems.append(
                    (key, f"unknown key; known keys: {', '.join(sorted(config_key(f) for f in Settings.model_fields))}")
                )
            else:
                data[name] = value
    problems += _plaintext_secret_problems(config.get(f"{NAMESPACE}:secrets"), stack)
    if REGION_KEY not in config:
        problems.append((REGION_KEY, "is required (pulumi config set aws:region <region>)"))
    try:
        settings = Settings.model_validate(data, context={"stack": stack})
    except ValidationError as error:
        problems += [problem for detail in error.errors() for problem in _describe(detail)]
        settings = None
    if problems or settings is None:
        raise SettingsError(source, _unique(problems))
    return settings


def read_stack_file(path: Path, source: str | None = None) -> dict[str, Any]:
    """The `config:` block of a stack file, values as written (`secure:` values stay ciphertext).

    `source` names the file in messages when `path` was made absolute for opening.
    """
    return read_stack_document(path, source).get("config", {})


def read_stack_document(path: Path, source: str | None = None) -> dict[str, Any]:
    """A whole stack file: its `config:` mapping and the secrets provider's state beside it."""
    source = source or str(path)
    document = read_yaml(path, source, "stack file")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise SettingsError(source, [("", "a stack file is a mapping with a `config:` block")])
    if not isinstance(document.get("config", {}), dict):
        raise SettingsError(source, [("config", "must be a mapping of config keys")])
    return document


def read_yaml(path: Path, source: str, what: str = "file") -> Any:
    """A YAML file's document; a missing, unreadable, absurdly large or malformed file is one `SettingsError`
    line."""
    try:
        size = path.stat().st_size
        if size > DOCUMENT_MAX_BYTES:
            raise SettingsError(source, [("", too_large(size, DOCUMENT_MAX_BYTES))])
        text = path.read_text(encoding="utf-8")
        if _nests_deeper_than(text, FLOW_NESTING_LIMIT):
            raise SettingsError(source, [("", _TOO_DEEP)])
        if len(text) > PARSED_TEXT_KEPT_MAX:
            return YAML(typ="safe").load(text)
        return copy.deepcopy(_parsed(text))
    except FileNotFoundError:
        raise SettingsError(source, [("", f"no such {what}")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(source, [("", f"cannot read: {error}")]) from None
    except RecursionError:
        raise SettingsError(source, [("", _TOO_DEEP)]) from None
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SettingsError(source, [("", f"{where}invalid YAML: {problem}")]) from None


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> Any:
    """`text`'s document, parsed once per text: a command reads its stack and project files more than once
    (`plan`: for the CLI's checks, the settings, the pack and the program), and ruamel's parser, pure Python,
    takes milliseconds a stack file. `read_yaml` hands out copies."""
    return YAML(typ="safe").load(text)


def _nests_deeper_than(text: str, limit: int) -> bool:
    """Whether more than `limit` flow collections are open at some point of `text` (a closing bracket with
    none open is ignored)."""
    depth = 0
    for bracket in _FLOW_BRACKETS.finditer(text):
        depth = depth + 1 if bracket[0] in "[{" else max(depth - 1, 0)
        if depth > limit:
            return True
    return False


def stack_name_of(path: Path) -> str:
    """`stacks/Pulumi.prod.yaml` -> `prod`."""
    name = path.name
    for suffix in (".yaml", ".yml"):
        name = name.removesuffix(suffix)
    return name.removeprefix("Pulumi.")


def load_stack_file(path: Path, stack: str | None = None) -> Settings:
    return stack_file_settings(read_stack_file(path), source=str(path), stack=stack or stack_name_of(path))


def stack_file_settings(config: Mapping[str, Any], *, source: str, stack: str) -> Settings:
    """Settings from a stack file's `config:` block (`read_stack_file`), whose `secure:` values are the secrets."""
    secret_keys = frozenset(key for key, value in config.items() if _is_ciphertext(value))
    return settings_from_config(config, source=source, stack=stack, secret_keys=secret_keys)


def load_from_pulumi() -> Settings:
    """Settings of the running stack; a bad config fails the update with the loader's message."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

    config: dict[str, Any] = {}
    for key, raw in {**get_config_env(), **CONFIG.get()}.items():
        try:
            config[key] = json.loads(raw)
        except json.JSONDecodeError:
            config[key] = raw
    stack = pulumi.get_stack()
    secret_keys = frozenset(key for key in config if is_config_secret(key))
    try:
        return settings_from_config(config, source=f"stacks/Pulumi.{stack}.yaml", stack=stack, secret_keys=secret_keys)
    except SettingsError as error:
        raise pulumi.RunError(str(error)) from None


def _is_ciphertext(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _secret_value_problems(values: Any, declared: Any, encrypted: bool, stack: str) -> list[tuple[str, str]]:
    if not isinstance(values, dict):
        return [(SECRET_VALUES_KEY, "must be a mapping of secret name to encrypted value")]
    declared_names = set(declared) if isinstance(declared, dict) else set()
    problems = []
    for name, value in values.items():
        key = f"{SECRET_VALUES_KEY}.{name}"
        if name not in declared_names:
            problems.append((key, f"no secret {name!r} is declared in {NAMESPACE}:secrets"))
        elif not encrypted and not _is_ciphertext(value):
            problems.append((key, f"plain-text secret value; remove it and run: {set_secret_command(key, stack)}"))
    return problems


def _plaintext_secret_problems(secrets: Any, stack: str) -> list[tuple[str, str]]:
    if not isinstance(secrets, dict):
        return []
    return [
        (
            f"{NAMESPACE}:secrets.{name}.value",
            f"secret values never go in YAML; remove it and run: {set_secret_command(f'{SECRET_VALUES_KEY}.{name}', stack)}",
        )
        for name, spec in secrets.items()
        if isinstance(spec, dict) and "value" in spec
    ]


def _path(loc: tuple[int | str, ...]) -> str:
    text = config_key(str(loc[0])) if loc else ""
    for part in loc[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}"
    return text


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "frozen_instance": "cannot be changed",
}


def _describe(detail: ErrorDetails) -> list[tuple[str, str]]:
    loc = tuple(detail["loc"])
    ctx = detail.get("ctx", {})
    kind = detail["type"]
    error = ctx.get("error")
    from modelplane.settings import FieldProblems

    if isinstance(error, FieldProblems):
        base = _path(loc)
        return [(f"{base}.{sub}" if base else _path((sub,)), message) for sub, message in error.problems]
    if "[key]" in loc:
        return [(_path(loc), f"invalid name {detail['input']!r}: {_message(kind, ctx, detail['msg'])}")]
    return [(_path(loc), _message(kind, ctx, detail["msg"]))]


def _message(kind: str, ctx: dict[str, Any], fallback: str) -> str:
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    bounds = {
        "greater_than": "must be greater than {gt}",
        "greater_than_equal": "must be at least {ge}",
        "less_than": "must be less than {lt}",
        "less_than_equal": "must be at most {le}",
        "too_short": "must have at least {min_length} item(s)",
        "too_long": "must have at most {max_length} item(s)",
        "string_too_short": "must be at least {min_length} character(s)",
        "string_too_long": "must be at most {max_length} characters",
        "string_pattern_mismatch": "must match {pattern}",
        "literal_error": "must be one of {expected}",
        "enum": "must be one of {expected}",
    }
    if kind in bounds:
        return bounds[kind].format(**{key: _number(value) for key, value in ctx.items()})
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return fallback[:1].lower() + fallback[1:]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _unique(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop repeats, and the generic "unknown key" where a specific message already names the path."""
    specific = {path for path, message in problems if message != _MESSAGES["extra_forbidden"]}
    kept = [
        (path, message) for path, message in problems if message != _MESSAGES["extra_forbidden"] or path not in specific
    ]
    return list(dict.fromkeys(kept))
