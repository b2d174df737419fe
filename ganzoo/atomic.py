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

from ganzoo.errors import StorageError


_SUFFIX = ".tmp"  # temporary files are ".TARGET.RANDOM.tmp" next to their target


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Temporary files that :func:`write_atomically` left in ``folder`` when the process was
    killed mid-write (a live writer's file looks the same: remove them only when nobody
    writes)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.name.startswith(".") and p.name.endswith(_SUFFIX) and p.is_file())


@functools.lru_cache(maxsize=1)
def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file; reading the umask means setting it briefly."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, then move it into place. A failing
    disk (full, read-only, no permission) is a one-line :class:`StorageError` naming ``path``;
    the old file, if any, is untouched."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=_SUFFIX, delete=False)
    except OSError as err:
        raise storage_error(target, err) from None
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _new_file_mode())  # temporary files are created 0600
        os.replace(handle.name, target)
    except BaseException as err:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise storage_error(target, err) from None
        raise
    return target


def storage_error(path: Path, err: OSError) -> StorageError:
    """The one-line error for an OSError while writing ``path``."""
    reason = err.strerror or str(err)
    return StorageError(f"{path}: cannot write ({reason})")
