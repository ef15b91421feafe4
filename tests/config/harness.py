"""`python -m tests.config.harness <stack file>`: the stack file's config loaded as the program loads it under
the engine (Pulumi's runtime config, the mock runtime), printing the `RunError` the engine would report.

The mock runtime and Pulumi's config are process-global, so the tests run it in a process of its own: a fork of
the simulations' fork server (`modelplane.offline.simulation.start_module`), which has imported the SDK.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi.runtime
from pulumi import RunError
from pulumi.runtime.config import set_all_config

from modelplane.config.loader import load_from_pulumi, read_stack_file
from modelplane.offline.engine_config import runtime_config
from modelplane.offline.mocks import RealisticMocks


def main(argv: list[str]) -> int:
    (stack_file,) = argv
    pulumi.runtime.set_mocks(RealisticMocks("eu-west-1"), project="modelplane", stack="prod")
    set_all_config(*runtime_config(read_stack_file(Path(stack_file)), {}))
    try:
        load_from_pulumi()
    except RunError as error:
        print(error)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
