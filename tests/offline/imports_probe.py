"""`python -m tests.offline.imports_probe <stack file>`: simulate the stack, then print (as JSON) the modules the
simulation imported that its process had not imported before, and how many objects the collector found frozen
when it started; run as a fork of the simulations' fork server, those are what the server's preload misses and
what it froze."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from modelplane.config.loader import read_stack_file
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.mocks import simulate

if __name__ == "__main__":
    before, frozen = set(sys.modules), gc.get_freeze_count()
    stack_file = Path(sys.argv[1])
    simulate(stack_file, secret_values=stand_in_secret_values(read_stack_file(stack_file)))
    print(json.dumps({"imported": sorted(set(sys.modules) - before), "frozen": frozen}))
