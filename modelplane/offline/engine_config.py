"""A stack file's config as the engine hands it to the program: strings, with stand-ins for secret values.

There is no key to decrypt `secure:` values offline, so the simulation gives each secret a stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelplane.config.loader import KUBECONFIG_KEY, SECRET_VALUES_KEY, config_key


def stand_in_secret_values(config: Mapping[str, Any]) -> dict[str, str]:
    """A value for every secret the stack file declares, as `pulumi config set --secret` sets them in a
    deployed stack (the shipped stack files hold none): the stand-in `runtime_config` gives a `secure:` value."""
    declared = config.get(config_key("secrets"))
    return {name: _stand_in(name) for name in declared} if isinstance(declared, dict) else {}


def _stand_in(secret_name: str) -> str:
    return f"simulated-{secret_name}"


def runtime_config(config: Mapping[str, Any], secret_values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Stack-file config as the engine hands it to a program: strings, with `secure:` values decrypted.

    There is no key to decrypt `secure:` values offline, so each gets a stand-in: the caller's value
    when given, else a placeholder. A caller's value for a key the file lacks is added as if set with
    `pulumi config set --secret` (the shipped stack files hold no secret values): secret names go to
    `modelplane:secret_values.<name>`, `kubeconfig` to `modelplane:kubeconfig`.
    """
    strings: dict[str, str] = {}
    secret_keys: list[str] = []
    given_names = {name: value for name, value in secret_values.items() if name != "kubeconfig"}
    for key, value in config.items():
        if key == SECRET_VALUES_KEY and isinstance(value, dict):
            value = {name: secret_values.get(name, _stand_in(name)) for name in value}
            secret_keys.append(key)
        elif key == KUBECONFIG_KEY:
            value = secret_values.get("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\n")
            secret_keys.append(key)
        strings[key] = value if isinstance(value, str) else json.dumps(value)
    if given_names:
        configured = json.loads(strings.get(SECRET_VALUES_KEY, "{}"))
        strings[SECRET_VALUES_KEY] = json.dumps({**configured, **given_names})
        secret_keys = [*dict.fromkeys([*secret_keys, SECRET_VALUES_KEY])]
    if "kubeconfig" in secret_values and KUBECONFIG_KEY not in strings:
        strings[KUBECONFIG_KEY] = secret_values["kubeconfig"]
        secret_keys.append(KUBECONFIG_KEY)
    return strings, secret_keys
