"""Tar archives the tests make from named bytes: image layers and OCI layouts, model archives."""

from __future__ import annotations

import io
import tarfile


def tar_of(files: dict[str, bytes], *, gzip: bool = False) -> bytes:
    """A tar archive holding each path with its bytes, in that order (`gzip`: a .tar.gz)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz" if gzip else "w") as contents:
        for path, data in files.items():
            member = tarfile.TarInfo(path)
            member.size = len(data)
            contents.addfile(member, io.BytesIO(data))
    return archive.getvalue()
