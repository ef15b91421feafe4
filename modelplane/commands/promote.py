"""`modelplane promote`: pin an approved model package version in a stack file, as a reviewable change.

Exit codes: 0 promoted, or the file already pins the confirmed versions; 1 the registry or the verdict
refused (a version missing, unapproved or rejected, another artifact than the source stack's; a verdict
other than promote, for another endpoint or version, or too old); 2 bad usage or input, or an AWS error.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelplane.abtest.verdict_file import read_verdict
from modelplane.aws import Aws, add_endpoint_url_option, endpoint_url_for
from modelplane.config.stackfiles import shown
from modelplane.errors import EXIT_OK
from modelplane.live.promote import (
    DEFAULT_VERDICT_MAX_AGE_HOURS,
    ModelRegistry,
    promote,
    requested_changes,
    require_verdict,
)
from modelplane.settings import Settings


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a model package version is a whole number from 1, not {value!r}")
    return number


def _hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not hours > 0:
        raise argparse.ArgumentTypeError(f"a number of hours above 0, not {value!r}")
    return hours


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="pin an approved model package version in a stack file (never deploys)",
        description="Pin a model package version for a variant (--stack/--endpoint/--variant/--version), "
        "or copy the pinned versions of one stack to another (--from/--to: each version must be the same "
        "artifact in both registries). The registry must hold the version as Approved. Only the version value "
        "in the stack file changes; the diff is printed.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stack", help="stack whose file to edit")
    mode.add_argument("--from", dest="source", metavar="STACK", help="copy pinned versions from this stack")
    parser.add_argument("--to", dest="target", metavar="STACK", help="...into this stack (with --from)")
    parser.add_argument("--endpoint", help="endpoint name in the settings (with --from: only this endpoint)")
    parser.add_argument("--variant", help="variant (or shadow) name")
    parser.add_argument("--version", type=_positive, help="model package version to pin")
    parser.add_argument("--approve", action="store_true", help="approve a pending version in the registry")
    parser.add_argument(
        "--require-verdict",
        type=Path,
        metavar="FILE",
        help="refuse unless this `modelplane compare --json` file says promote for this endpoint and version",
    )
    parser.add_argument(
        "--verdict-max-age",
        type=_hours,
        default=DEFAULT_VERDICT_MAX_AGE_HOURS,
        metavar="HOURS",
        help=f"how long ago the compared window may have ended (default {DEFAULT_VERDICT_MAX_AGE_HOURS:g})",
    )
    add_endpoint_url_option(parser)
    parser.set_defaults(handler=run)


def _registry(stack: str, settings: Settings, endpoint_url: str | None) -> ModelRegistry:
    return ModelRegistry(Aws.connect(settings.region, endpoint_url_for(endpoint_url, settings)), stack)


def run(args: argparse.Namespace) -> int:
    request = requested_changes(args)
    if args.require_verdict is not None:
        require_verdict(
            read_verdict(args.require_verdict),
            args.require_verdict,
            request.source,
            request.changes,
            max_age_hours=args.verdict_max_age,
            now=datetime.now(UTC),
        )
    promotion = promote(
        request.path,
        request.settings,
        request.stack,
        request.changes,
        _registry(request.stack, request.settings, args.endpoint_url),
        approve=args.approve,
        copied_from=(
            _registry(request.source, request.source_settings, args.endpoint_url)
            if request.source_settings is not None
            else None
        ),
    )
    for note in promotion.registry_notes:
        print(note)
    if not promotion.diff:
        print(f"{shown(request.path)} already pins these versions: confirmed above, nothing to change")
        return EXIT_OK
    print(promotion.diff, end="")
    print(f"Review and commit {shown(request.path)}; `pulumi up --stack {request.stack}` deploys it.")
    return EXIT_OK
