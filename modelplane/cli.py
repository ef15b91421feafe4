"""`modelplane`, the command line: parse, find the project, run one subcommand, report what it raised.

Exit codes (`modelplane.errors`): 0 success, 1 the checked thing failed, 2 bad usage, bad input or an
error (AWS, the network, an unreadable file, a bug: one message, no traceback), 3 the data do not
decide yet (`compare`, `drift`). What an exception means is decided in one place,
`modelplane.commands.outcome_of`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from modelplane.commands import COMMANDS, TRACEBACK_ENV, outcome_of
from modelplane.errors import BadInput, CheckFailed

EXIT_INTERRUPTED = 130


def build_parser(commands: Sequence[str] = tuple(COMMANDS)) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelplane",
        description="Plan, verify, compare, register and promote modelplane deployments; watch their drift.",
    )
    _add_cwd_option(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        importlib.import_module(COMMANDS[command]).register(subparsers)
    for subparser in subparsers.choices.values():
        # Also after the subcommand, as the Pulumi CLI takes it; there it overrides the one before.
        _add_cwd_option(subparser, default=argparse.SUPPRESS)
    return parser


def _add_cwd_option(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "-C",
        "--cwd",
        type=Path,
        metavar="DIR",
        default=default,
        help="run as if started in DIR: the project is the nearest folder at or above it with Pulumi.yaml",
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    wanted = next((argument for argument in arguments if argument in COMMANDS), None)
    args = build_parser((wanted,) if wanted else tuple(COMMANDS)).parse_args(arguments)
    try:
        if args.cwd is not None:
            _enter(args.cwd)
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"modelplane {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        code, message = outcome_of(args.command, error)
        print(message, file=sys.stderr)
        # The traceback of a bug, or of the error below a refusal that wraps one (a daemon, a registry).
        if os.environ.get(TRACEBACK_ENV) and (not isinstance(error, BadInput | CheckFailed) or error.__cause__):
            raise
        return code


def _enter(folder: Path) -> None:
    try:
        os.chdir(folder)
    except OSError as error:
        raise BadInput(f"--cwd {folder}: {error.strerror}") from None


def run() -> NoReturn:
    """The `modelplane` program: `main`, then exit with its code."""
    code = main()
    # All the command built (gRPC, the SDK, botocore's models for `plan`) dies with the process: frozen,
    # it is left out of the exit's garbage collection, a fifth of a second of `plan` (docs/performance.md).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
