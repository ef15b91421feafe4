"""`python -m fork_probe`: print (as JSON) whether the process started with the SDK already imported (a fork of the
simulations' fork server) and which `modelplane` it imports; cheap, as it simulates nothing."""

from __future__ import annotations

import json
import sys

if __name__ == "__main__":
    forked = "pulumi_aws" in sys.modules
    import modelplane

    print(json.dumps({"forked": forked, "modelplane": modelplane.__file__}))
