"""Which tables of a lake cannot be opened: a damaged Delta log, a missing file, no access.

:func:`~mlreg_frames.lake.snapshots` reads the ledger only, so a data table whose log is
damaged goes unnoticed until a read fails. :func:`unreadable_tables` opens every table of the
lake (the ledger included) and says which fail and why, so that ``mlreg-frames snapshots``
can say so next to the list.

Example::

    >>> from mlreg_frames import lake
    >>> lake.unreadable_tables("out/lake")                          # doctest: +SKIP
    {'registries': 'DeltaError: Kernel error: Json error: ...'}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import LakeError
from .layout import DATA_TABLES, LEDGER
from .store import LakeStore, _detail

__all__ = ["unreadable_tables"]


def unreadable_tables(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The tables of the lake at ``root`` that fail to open, each with the error of the storage
    or of delta-rs, on one line and without stack frames.

    A table that does not exist (an optional one never written) is not unreadable. Empty when
    every table opens.
    """
    store = LakeStore(root, storage_options)
    failed: dict[str, str] = {}
    for name in (LEDGER, *DATA_TABLES):
        try:
            store.open(name)
        except LakeError as exc:
            cause = exc.__cause__
            failed[name] = (
                str(exc) if cause is None else f"{type(cause).__name__}: {_detail(cause)}"
            )
    return failed
