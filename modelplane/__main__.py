"""`python -m modelplane ...` runs the command line."""

import sys

from modelplane.cli import main

sys.exit(main())
