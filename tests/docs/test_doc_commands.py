"""Every command the README and docs/ show is one the tools accept, and those that need no cloud run.

- `modelplane …`: the subcommand exists, every flag is one of its `--help`, a flag that takes a value
  has one; a fenced command without placeholders parses as a whole; those that need no cloud account
  (`plan`, `drift baseline`) run here, on the shipped stacks or a fixture, and must succeed.
- `make …`: the target and the variables exist in the Makefile.
- `pulumi …`: the subcommand and its flags are in PULUMI_COMMANDS, a list taken from the CLI's reference
  (no Pulumi CLI runs here).
- `aws …`: the service, operation (or waiter) and every option are in botocore's models, which the AWS CLI
  is generated from; CLI customisations are listed with their reference.
- `. .venv/bin/activate`, `python <script>`: the file exists (and the script takes the flag).
Commands of other programs are listed in UNCHECKED with the reason; any other program fails the test.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from modelplane import cli
from tests.docs.commands import PLACEHOLDER, README, Command, documented_commands
from tests.stacks import REPOSITORY, copy_project

COMMANDS = documented_commands()
MAKEFILE = REPOSITORY / "Makefile"

# Programs whose commands are shown but not checked, and why.
UNCHECKED = {
    "docker": "Docker's own CLI (login, build, push with their standard flags: docs.docker.com/reference/cli/docker/)",
    "uv build": "uv's own command, named in prose about building the components' wheel (docs.astral.sh/uv)",
    "uv sync": "uv's own command, named in prose about what `make sync` runs (docs.astral.sh/uv)",
    "uv export": "uv's own command, named in prose about how `image build` reads the lock (docs.astral.sh/uv)",
}

# Global options of the Pulumi CLI (every command's "Options inherited from parent commands").
PULUMI_GLOBAL = {"-C", "--cwd", "--color", "--non-interactive", "-v", "--verbose", "--emoji", "-e"}
# The Pulumi CLI's commands the docs use, with the options of each that the docs may use, from the CLI
# reference (https://www.pulumi.com/docs/iac/cli/commands/pulumi_<command>/, generated from the CLI).
PULUMI_COMMANDS: dict[tuple[str, ...], set[str]] = {
    ("login",): {"--local"},
    ("stack",): {"-s", "--stack", "-u", "--show-urns", "-i", "--show-ids"},
    ("stack", "init"): {"-s", "--stack", "--secrets-provider", "--copy-config-from"},
    ("stack", "output"): {"-s", "--stack", "-j", "--json", "--show-secrets"},
    ("config", "set"): {"-s", "--stack", "--secret", "--path", "--plaintext", "--type"},
    ("config", "get"): {"-s", "--stack", "-j", "--json", "--path", "--open"},
    ("up",): {
        "-s", "--stack", "--policy-pack", "--policy-pack-config", "-t", "--target", "--target-dependents",
        "-y", "--yes", "-r", "--refresh", "--expect-no-changes", "-f", "--skip-preview",
    },
    ("preview",): {
        "-s", "--stack", "--policy-pack", "--policy-pack-config", "-t", "--target", "-r", "--refresh",
        "--expect-no-changes",
    },
    ("refresh",): {"-s", "--stack", "-y", "--yes", "-t", "--target"},
    ("cancel",): {"-s", "--stack", "-y", "--yes"},
    ("destroy",): {"-s", "--stack", "-y", "--yes"},
    ("import",): {"-s", "--stack", "--parent", "--provider", "-y", "--yes", "-f", "--file"},
    ("state", "unprotect"): {"-s", "--stack", "--all", "-y", "--yes"},
    ("package", "add"): set(),
    ("package", "get-schema"): set(),
}  # fmt: skip

# The AWS CLI's global options (`aws help`).
AWS_GLOBAL = {"--region", "--output", "--query", "--profile", "--endpoint-url", "--no-cli-pager", "--debug"}
# `aws <service>` names that are not botocore's service names.
AWS_SERVICE_NAMES = {"s3api": "s3"}
# Commands of the AWS CLI that are its own, not an API operation, with their options.
AWS_CUSTOMISATIONS = {
    # https://docs.aws.amazon.com/cli/latest/reference/ecr/get-login-password.html
    ("ecr", "get-login-password"): set(),
    # https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html
    ("logs", "tail"): {"--since", "--follow", "--filter-pattern", "--format"},
    # https://docs.aws.amazon.com/cli/latest/reference/s3/rb.html
    ("s3", "rb"): {"--force"},
    # https://docs.aws.amazon.com/cli/latest/reference/eks/get-token.html
    ("eks", "get-token"): {"--cluster-name", "--role-arn"},
}

# Files the offline runs read, as the docs name them.
STACK_COPY = {"my-stack.yaml": REPOSITORY / "stacks" / "Pulumi.prod.yaml"}
POLICY_COPY = {"my-waivers.json": REPOSITORY / "policies" / "config" / "prod.json"}
NOT_RUN = {
    "--against": "compares with a git ref of the reader's clone (origin/main), which this checkout need not have",
}


def _program(command: Command) -> tuple[str, list[str]]:
    """The program and its arguments, `uv run [options] X` being X."""
    words = list(command.words)
    if words[:2] == ["uv", "run"]:
        words = words[2:]
        while words and words[0].startswith("-"):
            words = words[1:]
    return words[0], words[1:]


def _unchecked_reason(command: Command) -> str | None:
    program, arguments = _program(command)
    return UNCHECKED.get(program) or UNCHECKED.get(" ".join([program, *arguments[:1]]))


# modelplane


@functools.cache
def _parser() -> argparse.ArgumentParser:
    return cli.build_parser()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: action for action in parser._actions for option in action.option_strings}


def check_modelplane(command: Command, arguments: list[str]) -> list[str]:
    """Problems of one `modelplane` command line."""
    if not arguments:
        return []
    commands = _subparsers(_parser())
    name = arguments[0]
    if name not in commands:
        return [
            f"`modelplane {name}` is not a command of this CLI (modelplane/cli.py COMMANDS: {', '.join(commands)}); "
            "if another change adds it, the docs wait for that change"
        ]
    parser, rest, path = commands[name], arguments[1:], name
    nested = _subparsers(parser)
    if rest and rest[0] in nested:
        parser, rest, path = nested[rest[0]], rest[1:], f"{name} {rest[0]}"
    options = _options(parser)
    problems: list[str] = []
    for index, word in enumerate(rest):
        if not word.startswith("-") or word == "-":
            continue
        flag = word.split("=", 1)[0]
        action = options.get(flag)
        if action is None:
            problems.append(f"`modelplane {path}` has no option {flag} (see `modelplane {path} --help`)")
            continue
        takes_value = action.nargs is None or action.nargs == 1
        if takes_value and "=" not in word:
            following = rest[index + 1] if index + 1 < len(rest) else None
            if following is None or following.startswith("--"):
                problems.append(f"`modelplane {path} {flag}` needs a value")
    if problems:
        return problems
    if not command.inline and not command.has_placeholders:
        try:
            _parser().parse_args(arguments)
        except SystemExit as exit_:
            return [f"`modelplane {' '.join(arguments)}` does not parse (exit {exit_.code})"]
    return []


# make


def check_make(arguments: list[str]) -> list[str]:
    makefile = MAKEFILE.read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))
    variables = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*[?:]?=", makefile, flags=re.MULTILINE))
    problems = []
    for word in arguments:
        if "=" in word:
            name = word.split("=", 1)[0]
            if name not in variables:
                problems.append(f"the Makefile has no variable {name}")
        elif word not in targets:
            problems.append(f"the Makefile has no target {word!r}")
    return problems


# pulumi


def check_pulumi(arguments: list[str]) -> list[str]:
    words = [word for word in arguments if not word.startswith("-")]
    command = next((key for length in (2, 1) if (key := tuple(words[:length])) in PULUMI_COMMANDS), None)
    if command is None:
        return [
            f"`pulumi {' '.join(words[:2])}` is not in PULUMI_COMMANDS: add it with its options from the CLI reference"
        ]
    allowed = PULUMI_COMMANDS[command] | PULUMI_GLOBAL
    flags = [word.split("=", 1)[0] for word in arguments if word.startswith("-")]
    return [f"`pulumi {' '.join(command)}` has no option {flag}" for flag in flags if flag not in allowed]


# aws


@functools.cache
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


def _service(service: str) -> Any:
    """botocore's model of a service (its cached properties confuse the type checker, hence Any)."""
    return _botocore().get_service_model(service)


def _members(service: str, operation: str) -> set[str]:
    shape = _service(service).operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    return {f"--{xform_name(member, '-')}" for member in members}


def check_aws(arguments: list[str]) -> list[str]:
    if len(arguments) < 2:
        return ["an aws command names a service and an operation"]
    service = AWS_SERVICE_NAMES.get(arguments[0], arguments[0])
    if service not in _botocore().get_available_services():
        return [f"botocore has no service {service!r}"]
    rest = arguments[2:]
    if (service, arguments[1]) in AWS_CUSTOMISATIONS:
        allowed = AWS_CUSTOMISATIONS[service, arguments[1]]
    elif arguments[1] == "wait":
        waiters = {xform_name(name, "-"): name for name in _botocore().get_waiter_model(service).waiter_names}
        if not rest or rest[0] not in waiters:
            return [f"`aws {arguments[0]} wait` has no waiter {rest[:1]}"]
        operation = _botocore().get_waiter_model(service).get_waiter(waiters[rest[0]]).operation
        allowed, rest = _members(service, operation), rest[1:]
    else:
        operations = {xform_name(name, "-"): name for name in _service(service).operation_names}
        if arguments[1] not in operations:
            return [f"botocore's {service} has no operation {arguments[1]!r}"]
        allowed = _members(service, operations[arguments[1]])
    flags = [word.split("=", 1)[0] for word in rest if word.startswith("--")]
    return [
        f"`aws {arguments[0]} {arguments[1]}` has no option {flag}"
        for flag in flags
        if flag not in allowed | AWS_GLOBAL
    ]


# the rest


def check_source(arguments: list[str]) -> list[str]:
    if arguments != [".venv/bin/activate"]:
        return [f"only the project's environment is sourced, not {arguments}"]
    if not (REPOSITORY / ".venv" / "bin" / "activate").is_file():
        return ["`make sync` made no .venv/bin/activate"]
    return []


def check_python(arguments: list[str]) -> list[str]:
    script = REPOSITORY / arguments[0]
    if not script.is_file():
        return [f"no script {arguments[0]}"]
    source = script.read_text(encoding="utf-8")
    flags = [word for word in arguments[1:] if word.startswith("--")]
    return [f"{arguments[0]} takes no {flag}" for flag in flags if f'"{flag}"' not in source]


def check_with_dockerd(arguments: list[str]) -> list[str]:
    """`tools/with-dockerd <command>`: the repository's wrapper (a Docker daemon for the command), then the
    command, here a Python module of the repository run with the project's interpreter."""
    if not (REPOSITORY / "tools" / "with-dockerd").is_file():
        return ["no tools/with-dockerd"]
    interpreter, *rest = arguments
    if not interpreter.endswith("python") or rest[:1] != ["-m"]:
        return [f"tools/with-dockerd runs {interpreter!r} here: check that command too"]
    module, *flags = rest[1:]
    return check_python([module.replace(".", "/") + ".py", *flags])


CHECKS = {
    "make": check_make,
    "pulumi": check_pulumi,
    "aws": check_aws,
    ".": check_source,
    "python": check_python,
    "tools/with-dockerd": check_with_dockerd,
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: f"{command.where}:{command.words[0]}")
def test_documented_command_is_accepted_by_its_tool(command: Command) -> None:
    if (reason := _unchecked_reason(command)) is not None:
        assert not command.inline or command.words[0] == "uv", reason
        return
    program, arguments = _program(command)
    if program == "modelplane":
        problems = check_modelplane(command, arguments)
    elif program in CHECKS:
        problems = CHECKS[program](arguments)
    else:
        problems = [f"no check for the program {program!r}: check it here, or list it in UNCHECKED with the reason"]
    assert problems == [], f"{command.where}: `{command.text}`"


def test_the_docs_show_commands_of_every_kind_checked_here() -> None:
    programs = {_program(command)[0] for command in COMMANDS}
    assert {"modelplane", "make", "pulumi", "aws", ".", "python"} <= programs
    assert sum(not command.inline for command in COMMANDS) >= 60


# Commands that need no cloud run here


def _runnable(command: Command) -> bool:
    program, arguments = _program(command)
    if program != "modelplane" or command.inline or command.has_placeholders or not arguments:
        return False
    if any(word in NOT_RUN for word in arguments):
        return False
    return arguments[0] == "plan" or arguments[:2] == ["drift", "baseline"]


RUNNABLE = sorted({tuple(_program(command)[1]) for command in COMMANDS if _runnable(command)})


def test_the_offline_commands_of_the_docs_are_run() -> None:
    assert ("plan", "--stack", "prod") in RUNNABLE
    assert any(arguments[:2] == ("drift", "baseline") for arguments in RUNNABLE)


def _training_csv(path: Path) -> None:
    """A training file as `drift baseline --from` expects one: features, then the label."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["amount", "merchant_risk", "country", "channel", "label"])
        for row in range(400):
            writer.writerow(
                [20 + row % 97, (row % 10) / 10, ["IE", "FR", "DE", "ES"][row % 4], ["web", "app"][row % 2], row % 2]
            )


@pytest.mark.parametrize("arguments", RUNNABLE, ids=" ".join)
def test_offline_command_of_the_docs_succeeds(
    arguments: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Run as a reader runs it: in the project, with the files the command names next to it. In this process
    # (`cli.main` is what the `modelplane` script runs), so that the plans share one simulation fork server.
    project = copy_project(tmp_path / "project")
    for name, source in {**STACK_COPY, **POLICY_COPY}.items():
        if name in arguments:
            shutil.copy(source, project / name)
    if "train.csv" in arguments:
        _training_csv(project / "train.csv")
    monkeypatch.chdir(project)

    code = cli.main(list(arguments))

    printed = capsys.readouterr()
    assert code == 0, f"`modelplane {' '.join(arguments)}` exited {code}:\n{printed.out}\n{printed.err}"
    if arguments[:2] == ("drift", "baseline"):
        out = project / arguments[arguments.index("--out") + 1]
        dropped = {arguments[index + 1] for index, word in enumerate(arguments) if word == "--drop"}
        columns = json.loads(out.read_text(encoding="utf-8"))["columns"]
        assert columns == [
            name for name in ["amount", "merchant_risk", "country", "channel", "label"] if name not in dropped
        ]
    for flag in ("--json", "--sarif", "--markdown"):
        if flag in arguments:
            assert (project / arguments[arguments.index(flag) + 1]).stat().st_size > 0


# How the docs show the project's commands


def _sections_by_heading(text: str) -> dict[str, str]:
    parts = re.split(r"^## +(.+)$", text, flags=re.MULTILINE)
    return {heading: body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


# The bootstrap change of issue 22 rewrites these README sections, and with them how they run the tool.
README_SECTIONS_OF_THE_BOOTSTRAP = {"Quick start", "Developing"}


def test_people_run_modelplane_from_the_activated_environment() -> None:
    """After `make sync` and `. .venv/bin/activate`, the docs say `modelplane …`, never `uv run modelplane …`."""
    offenders = [
        command.where
        for command in COMMANDS
        if command.words[:2] == ("uv", "run")
        and not (command.document == README and _heading_of(README, command.line) in README_SECTIONS_OF_THE_BOOTSTRAP)
    ]
    assert offenders == []
    assert any(". .venv/bin/activate" in document.read_text(encoding="utf-8") for document in (README,))


def _heading_of(document: Path, line: int) -> str:
    headings = [
        (number, match.group(1))
        for number, text in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1)
        if (match := re.match(r"^## +(.+)$", text))
    ]
    return next((heading for number, heading in reversed(headings) if number <= line), "")


def test_placeholder_words_are_never_run() -> None:
    assert not any(PLACEHOLDER in word for arguments in RUNNABLE for word in arguments)
