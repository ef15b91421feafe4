"""Whether this Python can unpack a tar archive it did not make, for `fetch-model` (in the image) and
`modelplane image test --model-data` (on the user's machine): only with tarfile's `data` filter (PEP 706),
which came in 3.11.4 and 3.12. Asked of the module, not of the version number: Debian 12's 3.11.2 has
none. `requires-python` cannot say 3.11.4 without refusing Debian 12's `python3` to the whole uv
workspace (its members share one floor), which runs no code of this kind on the user's machine but
`image test --model-data`: there and in the image the need is checked, and `modelplane image build`
refuses a base without the filter.
"""

from __future__ import annotations

import sys
import tarfile

NEEDED = "tarfile's data filter (Python 3.11.4, 3.12 or newer)"


def unsafe_reason() -> str | None:
    """Why this Python must not unpack an archive it did not make, or None when it may."""
    if hasattr(tarfile, "data_filter"):
        return None
    return f"Python {sys.version.split()[0]} has no {NEEDED}"
