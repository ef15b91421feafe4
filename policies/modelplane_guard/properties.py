"""The property index at run time: which inputs of a resource type carry which concern, and how to judge them.

`property_index.json` (generated from the providers' schemas, see `property_map.py`) is read once, on
the first call; each rule then looks up the entries of the resource's type, a dictionary access, so a
resource of a type no signal names costs nothing. `resolve` walks an entry's path through the
resource's inputs (every element of a list, every value of a map) and `judge` tells what is wrong with
the value it finds there, or with its absence.

An absent value is judged by the default the provider documents for it, when its enclosing blocks are
present, or when the block left out is a top-level input: a resource without `encryptAtRest` gets the
block's defaults. A nested optional block left out (one engine's settings among several) or an element
of a list without the block is not judged: nothing says it applies.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from .common import (
    SECRET_SHOWN,
    SecretText,
    Unknowns,
    as_list,
    as_mapping,
    as_number,
    aws_managed_key_problem,
    is_false,
    is_mapping,
    is_sequence,
    is_true,
    number_text,
    plain,
    scalar_text,
    without_credentials,
)
from .network import PUBLIC_PORTS, world_exposure
from .property_map import ANY_VALUE, BY_ID, LOG_SWITCHES, Absent, Exemption, Kind, Settings, Signal

INDEX_FILE = Path(__file__).with_name("property_index.json")
PROTOCOL_KEYS = ("protocol", "ipProtocol")


@dataclass(frozen=True)
class Step:
    name: str
    many: str
    """"[]" after a list, "{}" after a map, "" otherwise."""


@dataclass(frozen=True)
class Entry:
    """One property of a resource type that a signal names."""

    path: str
    steps: tuple[Step, ...]
    signal: Signal
    default: str | None
    """The default the provider documents for it (as text), if one."""


@dataclass(frozen=True)
class Index:
    aws: Mapping[str, tuple[Entry, ...]]
    """Resource type -> its entries."""
    by_concern: Mapping[str, Mapping[str, tuple[Entry, ...]]]
    """Concern -> resource type -> the entries of that concern."""
    pod_spec_paths: Mapping[str, tuple[str, ...]]
    """Built-in Kubernetes kind -> where it keeps its pod spec."""
    builtin_kubernetes: frozenset[str]
    """Every built-in Kubernetes type token; any other is a custom resource."""


def path_steps(path: str) -> tuple[Step, ...]:
    """The steps of an index path: `blockDeviceMappings[].ebs.encrypted`."""
    steps = []
    for part in path.split("."):
        name = part.rstrip("[]{}")
        steps.append(Step(name, part[len(name) :][:2]))
    return tuple(steps)


@functools.cache
def property_index() -> Index:
    """The index shipped with the pack, read once."""
    return index_of(json.loads(INDEX_FILE.read_text(encoding="utf-8")))


def index_of(document: Mapping[str, Any]) -> Index:
    """An index from its JSON document (`property_index.json`'s shape)."""
    aws: dict[str, tuple[Entry, ...]] = {
        token: tuple(Entry(path, path_steps(path), BY_ID[signal], default) for path, signal, default in entries)
        for token, entries in document["aws"].items()
    }
    by_concern: dict[str, dict[str, tuple[Entry, ...]]] = {}
    for token, entries in aws.items():
        for entry in entries:
            by_concern.setdefault(entry.signal.concern, {}).setdefault(token, ())
            by_concern[entry.signal.concern][token] += (entry,)
    kubernetes = document["kubernetes"]
    return Index(
        MappingProxyType(aws),
        MappingProxyType({concern: MappingProxyType(types) for concern, types in by_concern.items()}),
        MappingProxyType({token: tuple(path.split(".")) for token, path in kubernetes["podSpecPaths"].items()}),
        frozenset(kubernetes["builtinKinds"]),
    )


def entries_of(concern: str, resource_type: str, excluded: frozenset[str] = frozenset()) -> tuple[Entry, ...]:
    """The entries of one concern for a resource type (none for the types a named rule judges instead)."""
    if resource_type in excluded:
        return ()
    return property_index().by_concern.get(concern, {}).get(resource_type, ())


@dataclass(frozen=True)
class Found:
    """What an entry's path holds in one resource."""

    path: str
    """The concrete path, with list indexes and map keys: `blockDeviceMappings[1].ebs.encrypted`."""
    value: Any
    """The value, or None when absent."""
    holder: Mapping[str, Any]
    """The block holding the property (its siblings decide exemptions); empty when that block is absent."""
    root: Mapping[str, Any]
    """The resource's inputs."""
    enclosed: bool
    """Every enclosing block is present (False: a top-level block was left out)."""
    missing: tuple[str, ...] = ()
    """The names of the blocks left out on the way to the property."""
    unknown: UnknownValueError | None = None
    """Set when the value, or a block on its way, is not known yet (preview)."""

    def known(self) -> Any:
        """The value, or the engine's unknown-value error for it."""
        if self.unknown is not None:
            raise self.unknown
        return self.value


def resolve(props: Mapping[str, Any], steps: tuple[Step, ...]) -> Iterator[Found]:
    """Each place the path reaches in the resource's inputs (an unknown value where one is not known yet)."""

    def walk(node: Mapping[str, Any], position: int, prefix: str, in_element: bool) -> Iterator[Found]:
        step = steps[position]
        path = f"{prefix}{step.name}"
        try:
            value = node.get(step.name)
        except UnknownValueError as error:
            yield Found(path, None, node, props, True, unknown=error)
            return
        if position == len(steps) - 1:
            yield Found(path, value, node, props, True)
            return
        if value is None:
            # A top-level block left out takes its defaults; a nested or per-element one is another
            # variant, and a list or map left out has no element to judge.
            if position == 0 and not in_element and not step.many:
                rest = ".".join(later.name for later in steps[1:])
                blocks = tuple(later.name for later in steps[:-1])
                yield Found(f"{path}.{rest}", None, {}, props, False, blocks)
            return
        if step.many == "[]":
            for number, item in _elements(value, path):
                if isinstance(item, Found):
                    yield item
                elif is_mapping(item):
                    yield from walk(item, position + 1, f"{path}[{number}].", True)
        elif step.many == "{}":
            for key, item in as_mapping(value).items():
                if is_mapping(item):
                    yield from walk(item, position + 1, f"{path}.{key}.", True)
        elif is_mapping(value):
            yield from walk(value, position + 1, f"{path}.", in_element)

    def _elements(value: Any, path: str) -> Iterator[tuple[int, Any]]:
        items = as_list(value)
        for number in range(len(items)):
            try:
                yield number, items[number]
            except UnknownValueError as error:
                yield number, Found(f"{path}[{number}]", None, {}, props, True, unknown=error)

    yield from walk(props, 0, "", False)


@dataclass(frozen=True)
class Options:
    """What the rules' configuration decides."""

    require_customer_key: bool = True
    min_backup_days: float = 7
    public_ports: tuple[float, ...] = PUBLIC_PORTS


def judge(props: Mapping[str, Any], entries: tuple[Entry, ...], options: Options, unknowns: Unknowns) -> list[str]:
    """A message for each place where the resource's inputs fail an entry's signal (once, where two
    signals name the same property). A verdict that needs a value not known yet (preview) is left to
    `unknowns`; the others are given."""
    problems: dict[str, None] = {}
    for entry in entries:
        settings = entry.signal.settings
        with unknowns:
            for found in resolve(props, entry.steps):
                with unknowns:
                    places = (found,) if settings is None else setting_places(found, entry.steps[-1].name, settings)
                    for place in places:
                        with unknowns:
                            problem = _problem(entry, place, options)
                            if problem:
                                problems[problem] = None
    return list(problems)


# --- settings held by key ----------------------------------------------------------------------------

# Keys that say only "on" or "off": they take their block's words (`centralizedLogging.enabled`).
BARE_SWITCHES = frozenset({"enabled", "enable", "disabled"})
# How services spell a setting's state in strings and numbers.
SETTING_ON = frozenset({"true", "1", "on", "yes", "enabled", "enable"})
SETTING_OFF = frozenset({"false", "0", "off", "no", "disabled", "disable"})
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `key=value` settings in text: one a line, or separated by `;`; a key is one word of letters, digits, `._-`.
_PAIR_SEPARATOR = re.compile(r"[;\r\n]+")
_PAIR = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*\s*=.*")


@functools.lru_cache(maxsize=4096)
def key_words(key: str) -> str:
    """A key's words in lower case joined by `_`, however the service spells it: `EnableAtRestEncryption`,
    `JDBC_ENFORCE_SSL`, `spark.ssl.enabled`, `--encryption-type`, `useSSL`."""
    return "_".join(word for word in _NOT_WORD.split(_WORD_BOUNDARY.sub("_", key).lower()) if word)


@dataclass(frozen=True)
class Setting:
    """One scalar a settings map or document holds."""

    path: str
    """From the property: `.EncryptionConfiguration.EnableInTransitEncryption`, `["spark.ssl.enabled"]`."""
    words: str
    """The key's words (`key_words`), after its block's for a bare switch."""
    value: Any
    holder: Mapping[str, Any]
    unknown: UnknownValueError | None = None


def setting_places(found: Found, name: str, settings: Settings) -> Iterator[Found]:
    """The places a signal judges in the settings a property (named `name`) holds: every key whose words
    match its `keys`, or its one `required` key, absent or not."""
    held = found.known()
    if settings.required is not None:
        yield _required_setting(found, held, settings.required)
        return
    pattern = settings.keys or ""
    for setting in _pair_settings(held) if settings.pairs else held_settings(held, name):
        if re.fullmatch(pattern, setting.words):
            yield Found(
                found.path + setting.path, setting.value, setting.holder, found.root, True, unknown=setting.unknown
            )


def _pair_settings(items: Any) -> tuple[Setting, ...]:
    """The settings a list of option-setting blocks (`{namespace, name, value}`) names, each read as `namespace:name`."""
    if not is_sequence(items):
        return ()
    found = []
    for index, item in _elements(items):
        view = plain(item)
        if not is_mapping(view) or not isinstance(view.get("name"), str) or "value" not in view:
            continue
        namespace = view.get("namespace")
        key = f"{namespace}:{view['name']}" if isinstance(namespace, str) and namespace else str(view["name"])
        try:
            found.append(Setting(f"[{index}] ({key})", key_words(key), item["value"], item))
        except UnknownValueError as error:
            found.append(Setting(f"[{index}] ({key})", key_words(key), None, item, error))
    return tuple(found)


def held_settings(held: Any, name: str) -> tuple[Setting, ...]:
    """Every scalar setting of a map, or of a document in a string (`_document`); nothing in any other value."""
    if isinstance(held, str):
        found = _document_settings(str(held), name)
        if isinstance(held, SecretText):
            return tuple(_secret(setting) for setting in found)
        return found
    return tuple(_walk(held, "", key_words(name)))


@functools.lru_cache(maxsize=256)
def _document_settings(text: str, name: str) -> tuple[Setting, ...]:
    """The settings of a document in a string, read once per text (several signals judge the same document)."""
    document = _document(text)
    return () if document is None else tuple(_walk(document, "", key_words(name)))


def _document(text: str) -> Any:
    """The settings a string holds: a JSON object or array, or `key=value` pairs one a line or separated by
    `;` (a Java properties file such as an MSK configuration's `serverProperties`, a DMS endpoint's extra
    connection attributes); None for anything else (a name, a URL, prose)."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    pairs = [segment.strip() for segment in _PAIR_SEPARATOR.split(text)]
    pairs = [pair for pair in pairs if pair and not pair.startswith("#")]
    if not pairs or not all(_PAIR.fullmatch(pair) for pair in pairs):
        return None
    return {key.strip(): value.strip() for key, _, value in (pair.partition("=") for pair in pairs)}


def _walk(node: Any, path: str, parent: str) -> Iterator[Setting]:
    if is_mapping(node):
        for key in list(node):
            step, words = f"{path}{_key_path(str(key))}", _setting_words(str(key), parent)
            try:
                value = node[key]
            except UnknownValueError as error:
                yield Setting(step, words, None, node, error)
                continue
            if is_mapping(value) or is_sequence(value):
                yield from _walk(value, step, words)
            else:
                yield Setting(step, words, value, node)
    elif is_sequence(node):
        for index, item in _elements(node):
            yield from _walk(item, f"{path}[{index}]", parent)


def _elements(items: Any) -> Iterator[tuple[int, Any]]:
    """A list's elements, but those not known yet (their keys unknown too, nothing to judge)."""
    for index in range(len(items)):
        try:
            yield index, items[index]
        except UnknownValueError:
            continue


def _setting_words(key: str, parent: str) -> str:
    words = key_words(key)
    return f"{parent}_{words}" if words in BARE_SWITCHES and parent else words


def _key_path(key: str) -> str:
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{json.dumps(key)}]"


def _secret(setting: Setting) -> Setting:
    """A setting of a document the program marked secret: its text is shown as `[secret]`."""
    if isinstance(setting.value, str):
        return Setting(setting.path, setting.words, SecretText(setting.value), setting.holder, setting.unknown)
    return setting


def _required_setting(found: Found, held: Any, required: str) -> Found:
    """The one key a signal requires, where it is (None where it, or a block on its way, is left out)."""
    keys = required.split(".")
    path = found.path + "".join(_key_path(key) for key in keys)
    node = _document(str(held)) if isinstance(held, str) else held
    holder: Mapping[str, Any] = {}
    for key in keys:
        if not is_mapping(node):
            return Found(path, None, holder, found.root, True)
        holder = node
        try:
            node = node.get(key)
        except UnknownValueError as error:
            return Found(path, None, holder, found.root, True, unknown=error)
    if isinstance(held, SecretText) and isinstance(node, str):
        node = SecretText(node)
    return Found(path, node, holder, found.root, True)


def _setting_state(value: Any) -> bool | None:
    """On (True), off (False) or neither, as a service reads a setting: `"true"`, `"ENABLED"`, `1`, `"off"`."""
    text = scalar_text(value).strip().lower()
    return True if text in SETTING_ON else False if text in SETTING_OFF else None


def _absent(value: Any) -> bool:
    """Left out, or set to nothing (an empty string, list or block)."""
    return value is None or value == "" or ((is_sequence(value) or is_mapping(value)) and len(value) == 0)


def _problem(entry: Entry, found: Found, options: Options) -> str | None:
    """The message for what the entry's signal finds at one place, if anything: the value (or, left out,
    its documented default, or the absence itself) is judged first, and the exemptions (siblings that
    make the finding not apply) are read only for a finding."""
    signal = entry.signal
    if found.unknown is not None and signal.kind == Kind.KEY:
        return None  # a key reference to be known later names a key (a customer key's ARN, an output)
    value = found.known()
    if _absent(value):
        if not found.enclosed and (signal.needs_parent or not _implied(signal, found)):
            return None
        if signal.kind == Kind.KEY and not options.require_customer_key:
            return None
        if signal.absent == Absent.IGNORE:
            return None
        documented = entry.default if signal.settings is None else signal.settings.default
        unset = signal.absent == Absent.INSECURE or (
            documented is None and signal.absent == Absent.DEFAULT_OR_INSECURE and found.enclosed
        )
        if unset:
            return None if _exempt(signal, found) else f"{found.path} is not set: {_unset_reason(signal, options)}."
        if documented is None:
            return None
        default = _typed(documented)
        reason = _reason(signal, found, default, options)
        if reason is None or _exempt(signal, found):
            return None
        return f"{found.path} is not set, so it is {_shown(default)} (the default): {reason}."
    reason = _reason(signal, found, value, options)
    if reason is None or _exempt(signal, found):
        return None
    if signal.kind == Kind.CIDRS:
        return f"{found.path} includes the whole internet: {reason}."
    if signal.kind == Kind.SWITCHES:
        return f"{found.path}: {reason}."
    return f"{found.path} is {_shown(value)}: {reason}."


def _implied(signal: Signal, found: Found) -> bool:
    """Whether leaving out the blocks on the way leaves the property out: always for a signal about any
    block, and for one about named blocks (`encryptAtRest`, an encryption block) only through those."""
    return signal.within is None or all(re.fullmatch(signal.within, block) for block in found.missing)


def _unset_reason(signal: Signal, options: Options) -> str:
    if signal.kind == Kind.MINIMUM:
        return f"no {signal.why} are kept; keep them for at least {number_text(options.min_backup_days)} days"
    return signal.why


def _typed(default: str) -> Any:
    """A documented default as the value it stands for: `false` is False, `0` is 0."""
    if default in ("true", "false"):
        return default == "true"
    number = as_number(default)
    return default if number is None else number


def _reason(signal: Signal, found: Found, value: Any, options: Options) -> str | None:
    """Why the value fails the signal, or None if it passes."""
    kind = signal.kind
    if kind == Kind.SWITCH:
        if signal.settings is not None:
            bad = _setting_state(value) is (not signal.secure)
        else:
            bad = is_false(value) if signal.secure else is_true(value)
        return signal.why if bad else None
    if kind == Kind.CHOICE:
        # A map's values (a document's `permissions`, whose keys are spelt as the program wrote them).
        items = list(as_mapping(value).values()) if is_mapping(value) else as_list(value)
        values = [scalar_text(item) for item in items]
        if signal.insecure is not None and any(re.fullmatch(signal.insecure, item, re.IGNORECASE) for item in values):
            return signal.why
        if signal.accepted is not None and not all(re.fullmatch(signal.accepted, item) for item in values):
            return signal.why
        return None
    if kind == Kind.KEY:
        if aws_managed_key_problem("", value):
            return "it names an AWS managed key, whose key policy you cannot restrict"
        return None
    if kind == Kind.MINIMUM:
        days = as_number(value)
        if days is None or days >= options.min_backup_days:
            return None
        return f"keep {signal.why} for at least {number_text(options.min_backup_days)} days"
    if kind == Kind.URL:
        return signal.why if str(value).strip().lower().startswith("http://") else None
    if kind == Kind.CIDRS:
        name = found.path.rsplit(".", 1)[-1]
        what = world_exposure(found.holder, (name,), PROTOCOL_KEYS, options.public_ports)
        return f"it opens {what}; {signal.why}" if what else None
    if kind == Kind.SWITCHES:
        switches = _switches(value, "") if is_mapping(value) and "enabled" not in value else []
        if switches and all(is_false(setting) for _, setting in switches):
            return f"every log it configures is switched off ({', '.join(sorted(path for path, _ in switches))}); {signal.why}"
        return None
    return None


def _switches(block: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """The log switches of a block at any depth, with their paths in it (`brokerLogs.s3.enabled`)."""
    found = []
    for key, value in block.items():
        if is_mapping(value):
            found += _switches(value, f"{prefix}{key}.")
        elif re.fullmatch(LOG_SWITCHES, str(key)) and (isinstance(value, bool) or is_true(value) or is_false(value)):
            found.append((f"{prefix}{key}", value))
    return found


def _shown(value: Any) -> str:
    """A value for a message: never one the program marked secret, and never a URL's credentials or query."""
    if isinstance(value, SecretText):
        return SECRET_SHOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, str):
        return repr(without_credentials(value))
    if is_sequence(value):
        return f"[{', '.join(_shown(item) for item in value)}]"
    return "a block" if is_mapping(value) else repr(scalar_text(value))


def _exempt(signal: Signal, found: Found) -> bool:
    """Whether a sibling of the property (or an input of the resource) makes the signal not apply.

    A sibling not known yet (preview) exempts where any value would (a read replica's source is set);
    otherwise the verdict waits for it."""
    for sibling, pattern in signal.exempt.items():
        origin = found.root if sibling.startswith("/") else found.holder
        try:
            values = [scalar_text(item) for item in _values_at(origin, sibling.removeprefix("/"))]
        except UnknownValueError:
            if pattern == ANY_VALUE:
                return True
            raise
        if values and all(_allows(pattern, value) for value in values):
            return True
        if not values and _allows(pattern, ""):
            return True
    return False


def _allows(exemption: Exemption, value: str) -> bool:
    if callable(exemption):
        return exemption(value)
    return re.fullmatch(exemption, value, re.IGNORECASE) is not None


def _values_at(holder: Mapping[str, Any], path: str) -> list[Any]:
    """The values at a relative path (`defaultActions[].redirect.protocol`), absent ones left out."""
    nodes: list[Any] = [holder]
    for part in path.split("."):
        name = part.rstrip("[]")
        nodes = [as_mapping(node).get(name) for node in nodes]
        if part.endswith("[]"):
            nodes = [item for node in nodes for item in as_list(node)]
    return [node for node in nodes if not _absent(node)]


def reach() -> dict[str, int]:
    """Signal id -> the number of resource types it reaches, for the docs."""
    counts: dict[str, int] = {}
    for entries in property_index().aws.values():
        for signal_id in {entry.signal.id for entry in entries}:
            counts[signal_id] = counts.get(signal_id, 0) + 1
    return counts
