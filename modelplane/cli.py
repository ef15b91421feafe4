"""`modelplane` command line: one subcommand per tool, each in its own module.

Exit codes shared by every subcommand: 0 success, 1 the checked thing failed (mandatory policy
violations, a failed verification, a rollback verdict), 2 bad usage or invalid settings (one readable
message, no traceback); `compare` and `drift` add 3 for an inconclusive verdict.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

# Subcommand -> module. Each module exposes `register(subparsers)`, which adds its parser and sets
# `handler` (args -> exit code). Only the module of the command being run is imported: `plan` should
# not pay for boto3, nor `promote` for Pulumi.
COMMANDS: dict[str, str] = {
    "plan": "modelplane.plan",
    "verify": "modelplane.verify",
    "promote": "modelplane.promote",
    "compare": "modelplane.compare",
    "register": "modelplane.register",
    "drift": "modelplane.drift.command",
    "image": "modelplane.commands.image",
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# `compare`, `drift`: the data do not decide yet (too little of it, or within neither bound).
EXIT_INCONCLUSIVE = 3


def build_parser(commands: Sequence[str] = tuple(COMMANDS)) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelplane",
        description="Plan, verify, compare, register and promote modelplane deployments; watch their drift.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        importlib.import_module(COMMANDS[command]).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    wanted = arguments[:1] if arguments and arguments[0] in COMMANDS else tuple(COMMANDS)
    args = build_parser(wanted).parse_args(arguments)
    return args.handler(args)


def run() -> NoReturn:
    """The `modelplane` program: `main`, then exit with its code."""
    code = main()
    # All the command built (gRPC, the SDK, botocore's models for `plan`) dies with the process: frozen,
    # it is left out of the exit's garbage collection, a fifth of a second of `plan` (docs/performance.md).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
