"""Looking after the lake's Delta tables: repair crashed writers, compact, vacuum.

:func:`repair` deletes the rows of snapshots a killed writer claimed but never committed (a
Delta ``DELETE``, never of committed data); :func:`optimize` compacts the small files daily
appends make; :func:`vacuum` repairs, then removes files no table version within the retention
needs.

Example::

    >>> from mlreg_frames import lake
    >>> lake.optimize("out/lake")                                # doctest: +SKIP
    >>> lake.vacuum("out/lake", dry_run=True)                    # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pandas as pd
import pyarrow.compute as pc

from ..errors import LakeError
from . import ledger as ledger_mod
from .layout import (
    ABORTED,
    CLAIMED,
    COMMITTED,
    DATA_TABLES,
    LEDGER,
    SNAPSHOT_COLUMN,
    TABLE_PROPERTIES,
    month_of,
)
from .read import require_lake
from .store import LakeStore
from .write import _abort

__all__ = ["DEFAULT_REPAIR_AGE", "DEFAULT_RETENTION", "optimize", "repair", "vacuum"]

DEFAULT_REPAIR_AGE = timedelta(hours=1)
"""A claim younger than this is a writer still at work: :func:`repair` leaves it alone."""

DEFAULT_RETENTION = timedelta(days=7)
"""Delta vacuum keeps files removed less than this long ago (Delta's own default): readers
and time travel to the last week keep working."""


def repair(
    root: str | os.PathLike[str],
    *,
    older_than: timedelta = DEFAULT_REPAIR_AGE,
    dry_run: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Delete the rows of snapshots that were claimed but never committed (crashed writers).

    A claim younger than ``older_than`` is a writer still at work and is left alone, so
    ``older_than`` must exceed the longest append. Committed snapshots are never touched: the
    rows go through a Delta ``DELETE`` restricted to the uncommitted ids. Returns those ids.

    Example::

        >>> repair("out/lake")                                    # doctest: +SKIP
        ['2025-06-01T120000.000000Z']
    """
    _check_age(older_than, "older_than")
    store = LakeStore(root, storage_options)
    require_lake(store)
    rows = ledger_mod.ledger(store)
    states: dict[str, set[str]] = {}
    for sid, state in zip(rows[SNAPSHOT_COLUMN], rows["state"], strict=True):
        states.setdefault(str(sid), set()).add(str(state))
    claimed_at = rows[rows["state"] == CLAIMED].groupby(SNAPSHOT_COLUMN)["recorded_at"].min()
    cutoff = ledger_mod.now() - older_than
    open_claims = [
        sid for sid, seen in states.items() if seen == {CLAIMED} and claimed_at[sid] <= cutoff
    ]
    # An aborted id is cleaned again if it has rows: its writer may have gone on writing.
    aborted = [sid for sid, seen in states.items() if ABORTED in seen and COMMITTED not in seen]
    stale = sorted({*open_claims, *_with_rows(store, aborted)})
    if not dry_run:
        _abort(store, stale, f"repair-{uuid.uuid4().hex}")
    return stale


def _with_rows(store: LakeStore, sids: list[str]) -> set[str]:
    """Those of ``sids`` that still have rows in some data table."""
    found: set[str] = set()
    if not sids:
        return found
    months = {month_of(s) for s in sids}
    for name in DATA_TABLES:
        table = store.open(name)
        if table is None:
            continue
        with store.errors(f"reading {name}"):
            got = store.dataset(table, months).to_table(
                columns=[SNAPSHOT_COLUMN], filter=pc.field(SNAPSHOT_COLUMN).isin(sids)
            )
        found.update(got.column(SNAPSHOT_COLUMN).to_pylist())
    return found


def optimize(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Compact each table's small files (one per append) into few large ones, per month.

    Readers, raw ones included, see the same rows; the replaced files stay on storage for
    time travel until :func:`vacuum` removes them. Tables created by an older version get
    :data:`~mlreg_frames.lake.layout.TABLE_PROPERTIES` (a checkpoint every 10 commits) here.
    Returns one row per table: ``files_before``, ``files_after``, ``files_added``,
    ``files_removed``.

    Example::

        >>> optimize("out/lake")[["table", "files_before", "files_after"]]  # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    require_lake(store)
    rows = []
    for name in (*DATA_TABLES, LEDGER):
        table = store.open(name)
        if table is None:
            continue
        with store.errors(f"optimizing {name}"):
            have = table.metadata().configuration
            if any(have.get(k) != v for k, v in TABLE_PROPERTIES.items()):
                table.alter.set_table_properties(dict(TABLE_PROPERTIES))
            before = len(table.file_uris())
            metrics = table.optimize.compact()
            after = len(store.open(name).file_uris())  # type: ignore[union-attr]
        rows.append(
            {
                "table": name,
                "files_before": before,
                "files_after": after,
                "files_added": int(metrics.get("numFilesAdded", 0)),
                "files_removed": int(metrics.get("numFilesRemoved", 0)),
            }
        )
    return pd.DataFrame(
        rows, columns=["table", "files_before", "files_after", "files_added", "files_removed"]
    )


def vacuum(
    root: str | os.PathLike[str],
    *,
    older_than: timedelta = DEFAULT_REPAIR_AGE,
    retention: timedelta = DEFAULT_RETENTION,
    dry_run: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """:func:`repair` crashed writers, then Delta-vacuum files no version needs any more.

    ``retention`` keeps files removed (by an optimize, a repair, a delete) less recently than
    that, so running readers and time travel within it keep working; below Delta's own
    safety limit (7 days) it is refused. Returns what was (or, with ``dry_run``, would be)
    removed: ``snapshot <id>`` for each repaired snapshot, ``<table>/<file>`` for each file.

    Example::

        >>> vacuum("out/lake", dry_run=True)                      # doctest: +SKIP
        ['snapshot 2025-06-01T120000.000000Z', 'registries/month=2025-06/part-....parquet']
    """
    _check_age(retention, "retention")
    if retention < DEFAULT_RETENTION:
        raise LakeError(
            f"retention {retention} is shorter than Delta's safe minimum of "
            f"{DEFAULT_RETENTION.days} days: readers and time travel could lose files; "
            "keep the default"
        )
    removed = [
        f"snapshot {sid}"
        for sid in repair(
            root, older_than=older_than, dry_run=dry_run, storage_options=storage_options
        )
    ]
    store = LakeStore(root, storage_options)
    hours = math.ceil(retention.total_seconds() / 3600)
    for name in (*DATA_TABLES, LEDGER):
        table = store.open(name)
        if table is None:
            continue
        with store.errors(f"vacuuming {name}"):
            files = table.vacuum(retention_hours=hours, dry_run=dry_run)
        removed += [f"{name}/{_relative(f, store.uri(name))}" for f in files]
    return removed


def _relative(path: str, base: str) -> str:
    return path.removeprefix(base).lstrip("/") if path.startswith(base) else path


def _check_age(age: timedelta, name: str) -> None:
    if (
        not isinstance(age, timedelta)
        or not math.isfinite(age.total_seconds())
        or age < timedelta(0)
    ):
        raise LakeError(f"{name} must be a timedelta of 0 or more, got {age!r}")
