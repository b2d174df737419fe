"""Atomic file writes: a reader (or a crash) never sees half a file.

Data is written to a temporary file in the target's folder, flushed to disk, then moved over
the target with :func:`os.replace`, which is atomic on POSIX and Windows. Killing the process
at any point leaves either the old file or the new one, never a truncated mix.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


@functools.lru_cache(maxsize=1)
def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file; reading the umask means setting it briefly."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, then move it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _new_file_mode())  # temporary files are created 0600
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target
