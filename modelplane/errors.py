"""Exit codes and the two exceptions every command raises instead of choosing an exit code itself.

The command line maps them, and any other error, in one place (`modelplane.cli`): 0 success, 1 the
checked thing failed (mandatory policy violations, a failed verification, a rollback verdict, a
refused promotion), 2 bad usage, bad input or an error that stopped the command (an unreadable
file, AWS or the network failing, a bug), 3 the data do not decide yet (`compare`, `drift`). Only
0, 1 and 3 are decisions; nothing unexpected ever exits with one of them.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3


class BadInput(Exception):
    """What the command was given cannot be used: the message names the file, flag or answer (exit 2)."""


class CheckFailed(Exception):
    """The command checked something and it did not hold; nothing was changed (exit 1)."""
