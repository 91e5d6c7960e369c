"""Files the package writes get the permissions the user's umask asks for, like any other tool.

``tempfile.mkstemp`` creates its file ``-rw-------`` whatever the umask: right for secrets,
wrong for tables and pages that analysts share. :func:`atomic_file` keeps mkstemp's safe
temp-then-rename dance and then gives the file ``0o666 & ~umask`` (``-rw-r--r--`` under the
common umask 022, ``-rw-rw-r--`` under 002), as ``open(path, "w")`` would have.

Example::

    >>> oct(default_mode(umask=0o022))
    '0o644'
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["TMP_SUFFIX", "atomic_file", "current_umask", "default_mode", "fsync_dir"]

TMP_SUFFIX = ".tmp"
"""Suffix of the temporary files the package writes before renaming them into place."""

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # os.umask can only be read by setting it: do so briefly, one thread at a time
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_mode(*, umask: int | None = None) -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    return 0o666 & ~(current_umask() if umask is None else umask)


@contextmanager
def atomic_file(path: Path, *, prefix: str | None = None) -> Iterator[tuple[IO[bytes], Path]]:
    """Yield ``(binary file, temp path)`` in ``path``'s folder, created with the umask's mode.

    The caller writes the file and renames the temp path into place itself (so several files
    can be renamed together); the file is flushed and fsynced when the block ends. On an
    error the temp file is removed.
    """
    fd, tmp = tempfile.mkstemp(
        prefix=prefix or f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            os.chmod(tmp, default_mode())
            yield fh, Path(tmp)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable across a power loss (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
