"""Which values of the shipped stack files are placeholders: values that name something outside this repository
(an account, a network, a cluster, a mailbox, a DNS name, a built artifact) and so cannot be right as shipped.

Two kinds of rule decide it. A key rule holds whatever the value: the key always names such a thing. A value
rule catches the documentation-reserved forms wherever they appear (an AWS account id, an ARN, subnet and
security-group ids, RFC 2606's example domains, AWS's `EXAMPLE` marker), so a placeholder added under a new key
is found too. The `local` stack is left out: it deploys to the emulator on loopback only, and its values name
nothing real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelplane.config.loader import read_stack_file
from modelplane.config.stackfiles import stack_file

STACKS = ("dev", "staging", "prod")

# (kind, key pattern over the generic path: list indices as [], map keys as given).
KEY_RULES: tuple[tuple[str, str], ...] = (
    ("subnet", r"modelplane:network\.subnet_ids\[\]"),
    ("security group", r"modelplane:network\.security_group_ids\[\]"),
    ("account id", r"modelplane:registry\.pull_account_ids\[\]"),
    ("account id", r"modelplane:registry\.families\.[^.]+\.cross_account_principals\[\]"),
    ("EKS OIDC provider", r"modelplane:kubernetes\.oidc_provider_arn"),
    ("kube context", r"modelplane:kubernetes\.context"),
    ("e-mail", r"modelplane:monitoring\.emails\[\]"),
    ("paging endpoint", r"modelplane:monitoring\.https_endpoints\[\]"),
    ("rotation function", r"modelplane:secrets\.[^.]+\.rotation\.lambda_arn"),
    ("rotation role", r"modelplane:secrets\.[^.]+\.rotation\.lambda_role_arn"),
    ("owner", r"modelplane:tags\.owner"),
    ("cost centre", r"modelplane:tags\.cost-center"),
    ("hostname", r"modelplane:endpoints\[\]\.kubernetes\.gateway\.hostnames\[\]"),
    ("gateway", r"modelplane:endpoints\[\]\.kubernetes\.gateway\.gateway_(name|namespace)"),
    ("node label", r"modelplane:endpoints\[\]\.kubernetes\.node_selector\..+"),
    ("custom metric", r"modelplane:endpoints\[\]\.autoscaling\.custom_metric"),
    (
        "model version",
        r"modelplane:endpoints\[\]\.(variants\[\]|shadow)\.(image_tag|image_digest|model_package_version|model_artifact)",
    ),
)
# (kind, value pattern): the documentation-reserved forms, found under any key.
VALUE_RULES: tuple[tuple[str, str], ...] = (
    ("ARN", r"\barn:aws[a-z-]*:"),
    ("account id", r"(?<![0-9])[0-9]{12}(?![0-9])"),
    ("subnet", r"\bsubnet-[0-9a-f]+\b"),
    ("security group", r"\bsg-[0-9a-f]+\b"),
    ("example domain", r"\bexample\.(com|org|net)\b"),
    ("AWS example marker", r"EXAMPLE"),
)


@dataclass(frozen=True, order=True)
class Placeholder:
    stack: str
    key: str
    value: str
    kind: str


def _leaves(path: str, generic: str, value: Any) -> Iterator[tuple[str, str, Any]]:
    """(path with indices, path with [] for indices, scalar) for every scalar under `value`."""
    if isinstance(value, dict):
        for name, item in value.items():
            segment = f".{name}" if re.fullmatch(r"[\w-]+", str(name)) else f'."{name}"'
            yield from _leaves(path + segment, generic + segment, item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(f"{path}[{index}]", f"{generic}[]", item)
    else:
        yield path, generic, value


def kind_of(generic: str, value: Any) -> str | None:
    """The placeholder kind of one value at one key (its generic path), or None when it is not one."""
    unquoted = generic.replace('"', "")
    for kind, pattern in KEY_RULES:
        if re.fullmatch(pattern, unquoted):
            return kind
    text = str(value)
    return next((kind for kind, pattern in VALUE_RULES if re.search(pattern, text)), None)


def placeholders() -> list[Placeholder]:
    """Every placeholder of the shipped stack files, by stack and key."""
    found = []
    for stack in STACKS:
        for key, value in read_stack_file(stack_file(stack)).items():
            for path, generic, leaf in _leaves(key, key, value):
                kind = kind_of(generic, leaf)
                if kind is not None:
                    found.append(Placeholder(stack, path, str(leaf), kind))
    return sorted(found)
