"""Writing the lake: append a snapshot; repair, optimize and vacuum the Delta tables.

Each :func:`append` lands one run (a fetch, a flatten) as a *snapshot*: rows in each of the
eight Delta tables, then a ``committed`` row in the ``snapshots`` ledger (see
:mod:`mlreg_frames.lake.ledger` for why that makes the snapshot all-or-nothing).

Guarantees (see ``docs/lake.md``):

* :func:`~mlreg_frames.lake.read` only sees committed snapshots, and checks each table's row
  count against the ledger;
* a writer killed at any moment leaves every table openable and the last committed snapshot
  readable; its rows stay visible to *raw* readers of one table until :func:`repair` (or
  :func:`vacuum`) deletes them, with a Delta ``DELETE``;
* two writers at once both land (Delta's optimistic concurrency, retried on conflict); they
  never share a snapshot id (ids are claimed serially in the ledger).

Example::

    >>> from mlreg_frames import flatten, lake, read_pages
    >>> sid = lake.append(flatten(read_pages("data/sample")), "out/lake")  # doctest: +SKIP
    >>> lake.optimize("out/lake")                                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import schema
from ..errors import LakeError
from ..tables import SCHEMA_VERSION, RegistryTables, to_arrow
from . import ledger as ledger_mod
from .layout import (
    ABORTED,
    CLAIMED,
    COMMITTED,
    LEDGER,
    PARTITION_COLUMN,
    SNAPSHOT_COLUMN,
    month_of,
    parse_snapshot_id,
    snapshot_id,
)
from .store import LakeStore

__all__ = [
    "DEFAULT_REPAIR_AGE",
    "DEFAULT_RETENTION",
    "append",
    "optimize",
    "repair",
    "vacuum",
]

DEFAULT_REPAIR_AGE = timedelta(hours=1)
"""A claim younger than this is a writer still at work: :func:`repair` leaves it alone."""

DEFAULT_RETENTION = timedelta(days=7)
"""Delta vacuum keeps files removed less than this long ago (Delta's own default): readers
and time travel to the last week keep working."""

_DATA_ATTEMPTS = 20


def _table_arrow(name: str, frame: pd.DataFrame, sid: str) -> pa.Table:
    arrow = to_arrow(name, frame).replace_schema_metadata(None)
    rows = arrow.num_rows
    arrow = arrow.add_column(0, SNAPSHOT_COLUMN, pa.array([sid] * rows, pa.string()))
    return arrow.add_column(1, PARTITION_COLUMN, pa.array([month_of(sid)] * rows, pa.string()))


def _write_table(store: LakeStore, name: str, arrow: pa.Table, sid: str) -> None:
    """One Delta append, retried when it loses a race Delta does not retry itself."""
    dl = store.dl
    for attempt in range(_DATA_ATTEMPTS):
        try:
            with store.errors(f"writing table {name}", sid):
                dl.write_deltalake(
                    store.uri(name),
                    arrow,
                    mode="append",
                    partition_by=[PARTITION_COLUMN],
                    schema_mode="merge",
                    storage_options=store.options or None,
                    commit_properties=dl.CommitProperties(
                        custom_metadata={"mlreg_frames.snapshot": sid}
                    ),
                )
            return
        except LakeError as exc:
            if not isinstance(exc.__cause__, dl.exceptions.CommitFailedError) and not (
                attempt == 0 and "exist" in str(exc.__cause__).lower()
            ):
                raise
        time.sleep(random.uniform(0.01, 0.1))
    raise LakeError(
        f"lake {store.root!r}: table {name} kept changing under {_DATA_ATTEMPTS} attempts to "
        "append; try again",
        root=store.root,
        snapshot=sid,
    )


def _claim(store: LakeStore, sid: str, writer: str, explicit: bool) -> str:
    """Claim a free snapshot id in the ledger; move on by 1 µs when ``sid`` is taken."""
    chosen: dict[str, str] = {}

    def decide(rows: pd.DataFrame) -> dict[str, Any]:
        taken = set(rows[SNAPSHOT_COLUMN].dropna())
        candidate = sid
        while candidate in taken:
            if explicit:
                raise LakeError(
                    f"snapshot {candidate} already exists in {store.root} (or another writer "
                    "holds it); pass another snapshot_at, or leave it None to use the "
                    "current time",
                    root=store.root,
                    snapshot=candidate,
                )
            candidate = snapshot_id(parse_snapshot_id(candidate) + timedelta(microseconds=1))
        chosen["sid"] = candidate
        return ledger_mod.new_row(candidate, CLAIMED, writer)

    # A bumped id stays in its month but on the last microsecond of one: read the next too.
    later = month_of(snapshot_id(parse_snapshot_id(sid) + timedelta(days=1)))
    ledger_mod.append_row(store, decide, {month_of(sid), later})
    return chosen["sid"]


def _commit(store: LakeStore, sid: str, writer: str, values: Mapping[str, Any]) -> None:
    """Append the ``committed`` row: the one step that makes the snapshot exist."""

    def decide(rows: pd.DataFrame) -> dict[str, Any]:
        mine = rows[rows[SNAPSHOT_COLUMN] == sid]
        if ABORTED in set(mine["state"]) or writer not in set(mine["writer"]):
            raise LakeError(
                f"the claim on snapshot {sid} was aborted before the commit (a repair or "
                "vacuum with a too short older_than?); nothing was committed, append again",
                root=store.root,
                snapshot=sid,
            )
        return ledger_mod.new_row(sid, COMMITTED, writer, **values)

    ledger_mod.append_row(store, decide, [month_of(sid)])


def _abort(store: LakeStore, sids: list[str], writer: str) -> list[str]:
    """Record ``aborted`` for each uncommitted id, then delete their rows from every table."""
    aborted = []
    for sid in sids:

        def decide(rows: pd.DataFrame, sid: str = sid) -> dict[str, Any] | None:
            states = set(rows.loc[rows[SNAPSHOT_COLUMN] == sid, "state"])
            if COMMITTED in states or ABORTED in states:
                return None
            return ledger_mod.new_row(sid, ABORTED, writer)

        ledger_mod.append_row(store, decide, [month_of(sid)])
        aborted.append(sid)
    _delete_rows(store, sids)
    return aborted


def _delete_rows(store: LakeStore, sids: list[str]) -> None:
    """Delete the rows of uncommitted snapshots ``sids`` from every data table."""
    if not sids:
        return
    ids = ", ".join(f"'{s}'" for s in sids)
    months = ", ".join(sorted({f"'{month_of(s)}'" for s in sids}))
    predicate = f"{PARTITION_COLUMN} IN ({months}) AND {SNAPSHOT_COLUMN} IN ({ids})"
    for name in schema.ALL_TABLES:
        table = store.open(name)
        if table is None:
            continue
        with store.errors(f"deleting uncommitted rows from {name}"):
            for attempt in range(_DATA_ATTEMPTS):
                try:
                    table.delete(predicate)
                    break
                except store.dl.exceptions.CommitFailedError:
                    if attempt == _DATA_ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0.01, 0.1))
                    table = store.open(name) or table


def append(
    tables: RegistryTables,
    root: str | os.PathLike[str],
    snapshot_at: datetime | pd.Timestamp | str | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Write ``tables`` (the seven tables and ``fetch_errors``) as one new snapshot.

    Args:
        tables: what a fetch or flatten returned.
        root: a folder or ``abfss://container@account.dfs.core.windows.net/path``.
        snapshot_at: the snapshot's time (naive = UTC). ``None`` uses now, moved on by a
            microsecond if another snapshot has that id; an explicit time that is taken
            raises :class:`LakeError`.
        storage_options: delta-rs options, e.g. ``{"account_name": ..., "sas_token": ...}``
            or ``{"credential": DefaultAzureCredential()}``.

    Returns:
        The snapshot id, e.g. ``"2025-06-01T120000.000000Z"``.

    Example::

        >>> sid = append(tables, "out/lake")                      # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    if store.local:
        with store.errors("creating the lake folder"):
            os.makedirs(store.uri(""), exist_ok=True)
    writer = uuid.uuid4().hex
    sid = snapshot_id(ledger_mod.now() if snapshot_at is None else snapshot_at)
    sid = _claim(store, sid, writer, explicit=snapshot_at is not None)
    provenance = dict(tables.provenance)
    outcomes = tables.fetch_errors["outcome"].astype("string")
    try:
        for name, frame in tables.items(include_errors=True):
            _write_table(store, name, _table_arrow(name, frame, sid), sid)
        _commit(
            store,
            sid,
            writer,
            {
                "snapshot_at": parse_snapshot_id(sid),
                **tables.counts(include_errors=True),
                "failed_scopes": int((outcomes == "failed").sum()),
                "skipped_scopes": int((outcomes == "skipped").sum()),
                "schema_version": SCHEMA_VERSION,
                "provenance": provenance,
            },
        )
    except BaseException:
        # A clean failure (not a kill) removes its own rows; repair() handles a kill.
        with contextlib.suppress(Exception):
            _abort(store, [sid], writer)
        raise
    return sid


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
    _require_lake(store)
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
    import pyarrow.compute as pc

    found: set[str] = set()
    if not sids:
        return found
    months = {month_of(s) for s in sids}
    for name in schema.ALL_TABLES:
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
    time travel until :func:`vacuum` removes them. Returns one row per table: ``files_before``,
    ``files_after``, ``files_added``, ``files_removed``.

    Example::

        >>> optimize("out/lake")[["table", "files_before", "files_after"]]  # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    _require_lake(store)
    rows = []
    for name in (*schema.ALL_TABLES, LEDGER):
        table = store.open(name)
        if table is None:
            continue
        with store.errors(f"optimizing {name}"):
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
    for name in (*schema.ALL_TABLES, LEDGER):
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


def _require_lake(store: LakeStore) -> None:
    from .read import require_lake

    require_lake(store)
