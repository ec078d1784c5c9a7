"""Private files written whole: a secret, a key, a generated password."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``path`` atomically, with ``mode`` (owner-only by default) from its first byte:
    a temporary file beside it (``NAME.tmp``), created exclusively, synced, then renamed
    over ``path``.  A reader sees the old content or the new, never a part, and never a
    readable copy."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # One name per file: what a crash left there is removed, never renamed into place.
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
