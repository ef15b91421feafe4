"""The subcommands of `modelplane`: one module each, holding only its argparse wiring.

Each module exposes `register(subparsers)`, which adds its parser and sets `handler` (args -> exit
code). A handler returns 0, 1 or 3 for what it decided and raises `modelplane.errors.BadInput` or
`CheckFailed` otherwise; `outcome_of` turns any exception into one message and an exit code that is
never a decision's. Commands never import each other: what two of them share lives below this package.
"""

from __future__ import annotations

import json
import sys

from modelplane.errors import EXIT_FAILED, EXIT_USAGE, BadInput, CheckFailed

# Set to see the traceback of an unexpected error (a bug), which is otherwise one line.
TRACEBACK_ENV = "MODELPLANE_TRACEBACK"

# Subcommand -> module. Only the module of the command being run is imported: `plan` should not pay for
# boto3, nor `promote` for Pulumi.
COMMANDS: dict[str, str] = {
    "plan": "modelplane.commands.plan",
    "verify": "modelplane.commands.verify",
    "promote": "modelplane.commands.promote",
    "compare": "modelplane.commands.compare",
    "register": "modelplane.commands.register",
    "drift": "modelplane.commands.drift",
    "capacity": "modelplane.commands.capacity",
    "image": "modelplane.commands.image",
}


def outcome_of(command: str, error: Exception) -> tuple[int, str]:
    """The exit code and the one message for an exception `command` raised: 1 for `CheckFailed`, else 2."""
    from modelplane.config.loader import SettingsError

    code = EXIT_FAILED if isinstance(error, CheckFailed) else EXIT_USAGE
    if isinstance(error, SettingsError):
        return code, str(error)  # each line names its file and key already
    prefix = f"modelplane {command}: "
    if isinstance(error, BadInput | CheckFailed):
        return code, prefix + str(error)
    if _is_aws_error(error):
        from modelplane.aws import error_text

        return code, f"{prefix}AWS: {error_text(error)}"
    if (text := _kubernetes_error_text(error)) is not None:
        return code, f"{prefix}Kubernetes API: {text}"
    if isinstance(error, OSError) and error.filename is not None:
        return code, f"{prefix}{error.filename}: {error.strerror or error}"
    return code, (
        f"{prefix}unexpected error: {type(error).__name__}: {error}\n"
        f"This is a bug in modelplane, not in your input; {TRACEBACK_ENV}=1 shows where it happened."
    )


def _kubernetes_error_text(error: Exception) -> str | None:
    """The API server's answer (status, reason, its message), or why it could not be reached; None for other errors.

    The client's modules are loaded only by the commands that talk to a cluster.
    """
    client = sys.modules.get("kubernetes.client.exceptions")
    if client is not None and isinstance(error, client.ApiException):
        try:
            answer = json.loads(getattr(error, "body", None) or "{}")
        except ValueError:
            answer = None
        # A Status object has the message; a proxy in front of the API server may answer anything.
        message = answer.get("message") if isinstance(answer, dict) else None
        status = f"{getattr(error, 'status', '')} {getattr(error, 'reason', '')}".strip()
        return status + (f": {message}" if message else "")
    transport = sys.modules.get("urllib3.exceptions")
    if client is not None and transport is not None and isinstance(error, transport.HTTPError):
        return f"cannot reach the API server: {error}"
    return None


def _is_aws_error(error: Exception) -> bool:
    """A botocore error: AWS answered with an error, or could not be reached (botocore is loaded only then)."""
    exceptions = sys.modules.get("botocore.exceptions")
    return exceptions is not None and isinstance(error, exceptions.ClientError | exceptions.BotoCoreError)
