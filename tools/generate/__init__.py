"""The files generated from the code, each written by one module here: `python -m tools.generate.<name>`.

Development tools, not shipped: the repository runs them (`make generate`) and its tests fail while a
generated file is stale.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
