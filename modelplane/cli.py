"""`modelplane` command line: one subcommand per tool, each in its own module.

Exit codes shared by every subcommand: 0 success, 1 the checked thing failed (mandatory policy
violations, a failed verification), 2 bad usage or invalid settings (one readable message, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes `register(subparsers)`, which adds its parser and sets `handler` (args -> exit code).
COMMAND_MODULES: tuple[str, ...] = ("modelplane.plan", "modelplane.verify", "modelplane.promote")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelplane", description="Plan, verify and promote modelplane deployments.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
