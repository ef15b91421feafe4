"""Reading resource properties the way they reach a pack, and the metadata conventions of every rule.

Over gRPC, mappings and lists arrive as read-only proxies (not `dict`/`list`), every number as a
float, and a value the engine does not know yet (preview) raises when it is read; the SDK turns
that into an advisory "can't run during preview" diagnostic. These helpers never catch it: a rule
that judges several independent things (containers, statements, entries) defers it with `Unknowns`,
so that one unknown value costs only the verdicts that need it, and a walk that must see every value
(the search for pods by shape) reads the proxies' own lists and dicts (`plain`), where an unknown
value is only a marker string (`is_unknown`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeGuard, TypeVar, cast
from urllib.parse import urlsplit

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

# Source ids travel as `source:<id>` tags: the analyzer protocol keeps every tag, and one policy
# often matches several scanner controls (a Checkov check and an AWS Config rule).
SOURCE_TAG_PREFIX = "source:"
# The resource types a policy judges travel the same way, for documentation and reports.
RESOURCE_TAG_PREFIX = "resource:"
# A rule that judges a concern on every type whose inputs express it (see property_map.py) says which.
CONCERN_TAG_PREFIX = "concern:"
PRODUCTION_PROPERTY = "production"
PRODUCTION_SCHEMA = {
    "type": "boolean",
    "default": True,
    "description": "Whether the stack serves production traffic; on other stacks the rule does not apply.",
}
NOT_PRODUCTION = "applies to production stacks only (config `production: false`)"
# Source ranges as wide as the internet: an IPv4 range of /8 or wider, an IPv6 one of /16 or wider
# (0.0.0.0/1 with 128.0.0.0/1 is 0.0.0.0/0 spelt in halves), unless it lies in private address space.
WORLD_PREFIX = {4: 8, 6: 16}
PRIVATE_RANGES = tuple(ipaddress.ip_network(cidr) for cidr in ("10.0.0.0/8", "127.0.0.0/8", "fc00::/7", "fe80::/10"))
# `alias/aws/<service>` (or its ARN) names the key AWS manages for a service in each account.
AWS_MANAGED_KEY = re.compile(r"(^|:)alias/aws/")


def is_world(source: str) -> bool:
    """Whether a CIDR (however spelt: spaces, host bits set) opens the whole internet or a share of it as wide."""
    try:
        network = ipaddress.ip_network(source.strip(), strict=False)
    except ValueError:
        return False
    if network.prefixlen > WORLD_PREFIX[network.version]:
        return False
    return not any(
        network.version == private.version and network.subnet_of(private)  # pyright: ignore[reportArgumentType]
        for private in PRIVATE_RANGES
    )


def aws_config_url(rule_name: str) -> str:
    """Documentation of an AWS Config managed rule."""
    return f"https://docs.aws.amazon.com/config/latest/developerguide/{rule_name}.html"


def sources(*ids: str) -> list[str]:
    """Tags naming the scanner controls a policy corresponds to, e.g. `CKV_AWS_98`, `aws-config:<rule>`."""
    return [f"{SOURCE_TAG_PREFIX}{source_id}" for source_id in ids]


def concern_tag(concern: str) -> str:
    """The tag naming the concern of the property index a rule judges (its types come from the index)."""
    return f"{CONCERN_TAG_PREFIX}{concern}"


def applies_to(*types: str) -> list[str]:
    """Tags naming the resource types a policy looks at (`aws:*` or `kubernetes:*` for a whole provider)."""
    return [f"{RESOURCE_TAG_PREFIX}{type_token}" for type_token in types]


def config_schema(properties: Mapping[str, Mapping[str, Any]]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={name: dict(schema) for name, schema in properties.items()})


def production_gate(args: ResourceValidationArgs | StackValidationArgs) -> None:
    """Stop a production-only rule on other stacks, with the reason the engine records."""
    if not args.get_config().get(PRODUCTION_PROPERTY, True):
        args.not_applicable(NOT_PRODUCTION)


class Report(Protocol):
    """The SDK's violation callback as it behaves: the URN is optional (and ignored for resource rules)."""

    def __call__(self, message: str, urn: str | None = None, /) -> None: ...


ArgsT = TypeVar("ArgsT", ResourceValidationArgs, StackValidationArgs)
Found = TypeVar("Found")


def rule(validate: Callable[[ArgsT, Report], None]) -> Callable[[ArgsT, ReportViolation], None]:
    """A validation written against `Report`, in the shape the SDK's policies take.

    The SDK's callback is a `Report` at run time, so the function itself serves: no wrapper on
    the path every resource takes through every policy.
    """
    return cast(Callable[[ArgsT, ReportViolation], None], validate)


def for_types(
    *types: str,
) -> Callable[
    [Callable[[ResourceValidationArgs, Report], None]], Callable[[ResourceValidationArgs, ReportViolation], None]
]:
    """A resource validation that runs only for the given type tokens."""
    judged = frozenset(types)

    def decorate(
        validate: Callable[[ResourceValidationArgs, Report], None],
    ) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        def run(args: ResourceValidationArgs, report: Report) -> None:
            if args.resource_type in judged:
                validate(args, report)

        run.__doc__ = validate.__doc__
        return rule(run)

    return decorate


class ReachingPolicy(ResourceValidationPolicy):
    """A resource policy that tells which resource types it judges, where a list in its tags cannot:
    the types the property index lists for a concern, or custom resources found by shape. The pack's
    server asks `reaches` instead of reading the tags; the rule returns at once for any other type, so
    the SDK's own server, which calls every rule, answers the same."""

    def __init__(self, reaches: Callable[[str], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reaches = reaches


# Whether values of a type are sequences (not strings) or mappings, learned once per type: the SDK's
# read-only proxies are ABC subclasses, whose isinstance checks are slow on the path of every resource.
_SEQUENCE_TYPES: dict[type, bool] = {}
_MAPPING_TYPES: dict[type, bool] = {}


def is_sequence(value: Any) -> bool:
    kind = type(value)
    known = _SEQUENCE_TYPES.get(kind)
    if known is None:
        known = _SEQUENCE_TYPES[kind] = isinstance(value, Sequence) and not isinstance(value, str | bytes)
    return known


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    kind = type(value)
    known = _MAPPING_TYPES.get(kind)
    if known is None:
        known = _MAPPING_TYPES[kind] = isinstance(value, Mapping)
    return known


# The markers the engine sends for values it does not know yet (preview); the SDK's proxies raise on them.
UNKNOWN_VALUES = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
# The key under which the SDK's proxies hand out the list or dict they wrap (its serializer reads it so).
PROXY_TARGET = "__target"


def is_unknown(value: Any) -> bool:
    """Whether a value read through `plain` is one the engine does not know yet."""
    return isinstance(value, str) and value in UNKNOWN_VALUES


def per_resource(compute: Callable[[Mapping[str, Any]], Found]) -> Callable[[Mapping[str, Any]], Found]:
    """`compute` kept for the last inputs it was given (by identity): the rules of one resource ask in
    turn for the same search over its inputs. Two threads may race; the loser only computes again."""
    last: tuple[Any, Any] = (None, None)

    def cached(props: Mapping[str, Any]) -> Found:
        nonlocal last
        seen, found = last
        if seen is not props:
            found = compute(props)
            last = (props, found)
        return found

    return cached


def value_at(props: Mapping[str, Any], keys: Sequence[str | int]) -> Any:
    """The value (an SDK proxy, as rules read it) at `keys` below a resource's inputs, found by a search on
    their plain copy: a rule that then reads a value not known yet (preview) still learns it is unknown."""
    node: Any = props
    for key in keys:
        node = plain(node)[key]
    return node


def plain(value: Any) -> Any:
    """The list or dict behind one of the SDK's read-only proxies (its elements are still proxies or
    scalars, unknown ones as marker strings), or the value itself: for walks that visit every value,
    where the proxies' per-read checks cost most of the time and one unknown value would stop the walk."""
    if is_mapping(value) or is_sequence(value):
        try:
            target = value[PROXY_TARGET]  # type: ignore[index]
        except (KeyError, TypeError, IndexError):
            return value
        return target if isinstance(target, dict | list) else value
    return value


class Unknowns:
    """Unknown values (preview) met by a rule's independent checks: a check that reads one is skipped
    (`with unknowns:` around it), the others still run, and `settle` raises the first once they have,
    so the SDK still notes, as advisory, that the rule could not judge everything. One unknown value
    of a resource no longer hides the findings that do not depend on it."""

    def __init__(self) -> None:
        self.first: UnknownValueError | None = None

    def __enter__(self) -> Unknowns:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, UnknownValueError):
            self.first = self.first or error
            return True
        return False

    def settle(self) -> None:
        if self.first is not None:
            raise self.first


SECRET_SHOWN = "[secret]"


class SecretText(str):
    """A string the program marked secret. The pack's server decodes secret strings so (the SDK unwraps
    them, and a rule cannot tell): rules read and compare it as the string it is, and a message that
    shows it with `!r` or in an f-string shows `[secret]` instead (`str()` still gives the text, for
    the rules' own comparisons)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return SECRET_SHOWN

    def __format__(self, spec: str) -> str:
        return SECRET_SHOWN


def without_credentials(text: str) -> str:
    """A URL without its user information, query and fragment (where passwords and tokens ride), or the text as it is."""
    try:
        parts = urlsplit(text.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return text
    if not parts.scheme or not host or not (parts.username or parts.password or parts.query or parts.fragment):
        return text
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


def as_list(value: Any) -> list[Any]:
    """A list property, or a single value standing for a one-element list, or nothing."""
    if value is None:
        return []
    return list(value) if is_sequence(value) else [value]


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def dig(value: Any, *path: str) -> Any:
    """A nested property, or None where any step is missing."""
    for key in path:
        if not is_mapping(value):
            return None
        value = value.get(key)
    return value


def as_number(value: Any) -> float | None:
    """Numbers arrive as floats over gRPC; numeric strings are accepted too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def number_text(value: float) -> str:
    return f"{value:g}"


def scalar_text(value: Any) -> str:
    """A scalar as the program wrote it: over gRPC every number is a float, and `str(-1.0)` is "-1.0"
    where the program said -1 (a protocol, a port, a user id); booleans as JSON writes them; "" for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    return str(value)


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [resource for resource in resources if resource.resource_type in types]


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource, *target_values: str) -> bool:
    """Whether `resource.<prop>` points at `target`: by the engine's property dependency, else by value."""
    if any(dependency.urn == target.urn for dependency in resource.property_dependencies.get(prop, [])):
        return True
    value = resource.props.get(prop)
    return isinstance(value, str) and value != "" and value in {candidate for candidate in target_values if candidate}


def aws_managed_key_problem(path: str, value: Any) -> str | None:
    """Why a key reference is not a customer managed key, if it names an AWS managed one.

    AWS writes the policy of its `alias/aws/...` keys: anyone in the account whom the service lets
    read the data can decrypt it, and no grant can be revoked, so it is no customer key.
    """
    if isinstance(value, str) and AWS_MANAGED_KEY.search(value):
        return (
            f"{path} is {value!r}, an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        )
    return None
