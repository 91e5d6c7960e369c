"""Writing the lake: append a snapshot; repair, optimize and vacuum the Delta tables.

This module lands snapshots; :mod:`.maintain` repairs, compacts and vacuums the tables.
Each :func:`append` lands one run (a fetch, a flatten) as a *snapshot*: rows in each of the
eight Delta tables, then a ``committed`` row in the ``snapshots`` ledger (see
:mod:`mlreg_frames.lake.ledger` for why that makes the snapshot all-or-nothing).

Guarantees (see ``docs/lake.md``):

* :func:`~mlreg_frames.lake.read` only sees committed snapshots, and checks each table's row
  count against the ledger;
* a writer killed at any moment leaves every table openable and the last committed snapshot
  readable; its rows stay visible to *raw* readers of one table until
  :func:`~mlreg_frames.lake.repair` deletes them, with a Delta ``DELETE``;
* two writers at once both land (Delta's optimistic concurrency, retried on conflict); they
  never share a snapshot id (ids are claimed serially in the ledger).

Example::

    >>> from mlreg_frames import flatten, lake, read_pages
    >>> sid = lake.append(flatten(read_pages("data/sample")), "out/lake")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
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
from ..assettables import AssetTables
from ..errors import InvalidArgumentError, LakeError
from ..flatten.backing import BackingTables
from ..flatten.changes import ChangeSet
from ..tables import SCHEMA_VERSION, RegistryTables, to_arrow
from . import ledger as ledger_mod
from .changelog import store_changes
from .layout import (
    ABORTED,
    ASSET_LAKE_TABLES,
    BACKING_LAKE_TABLES,
    CLAIMED,
    COMMITTED,
    DATA_TABLES,
    PARTITION_COLUMN,
    SNAPSHOT_COLUMN,
    TABLE_PROPERTIES,
    USER_METADATA,
    list_twins,
    month_of,
    parse_snapshot_id,
    snapshot_id,
)
from .store import LakeStore

__all__ = ["append", "commit_metadata", "with_twins"]

_DATA_ATTEMPTS = 20


def with_twins(arrow: pa.Table, columns: tuple[schema.Column, ...]) -> pa.Table:
    """``arrow`` with the scalar twin of each list column (see :data:`.layout.TWIN_SUFFIX`)
    right after it: JSON array text that SQL engines without array support read."""
    for column, twin in list_twins(columns).items():
        values = arrow.column(column).to_pylist()
        texts = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        at = arrow.schema.get_field_index(column) + 1
        arrow = arrow.add_column(at, twin, pa.array(texts, pa.string()))
    return arrow


def _table_arrow(name: str, frame: pd.DataFrame, sid: str) -> pa.Table:
    arrow = to_arrow(name, frame).replace_schema_metadata(None)
    arrow = with_twins(arrow, schema.table(name).columns)
    rows = arrow.num_rows
    arrow = arrow.add_column(0, SNAPSHOT_COLUMN, pa.array([sid] * rows, pa.string()))
    return arrow.add_column(1, PARTITION_COLUMN, pa.array([month_of(sid)] * rows, pa.string()))


def _asset_arrows(assets: AssetTables, sid: str) -> dict[str, pa.Table]:
    """The asset tables as Arrow tables with the snapshot and partition columns."""
    out = {}
    for name, table in ASSET_LAKE_TABLES.items():
        frame = assets["fetch_errors" if name == "asset_fetch_errors" else name]
        out[name] = _table_arrow(table.name, frame, sid)
    return out


def _backing_arrows(backing: BackingTables, sid: str) -> dict[str, pa.Table]:
    """The backing tables as Arrow tables with the snapshot and partition columns."""
    out = {}
    for name, table in BACKING_LAKE_TABLES.items():
        frame = backing["fetch_errors" if name == "backing_fetch_errors" else name]
        fields = [pa.field(c.name, schema.arrow_type(c.kind)) for c in table.columns]
        arrow = pa.Table.from_pandas(
            frame[list(table.column_names)], schema=pa.schema(fields), preserve_index=False
        ).replace_schema_metadata(None)
        arrow = with_twins(arrow, table.columns)
        rows = arrow.num_rows
        arrow = arrow.add_column(0, SNAPSHOT_COLUMN, pa.array([sid] * rows, pa.string()))
        out[name] = arrow.add_column(
            1, PARTITION_COLUMN, pa.array([month_of(sid)] * rows, pa.string())
        )
    return out


def commit_metadata(sid: str) -> dict[str, str]:
    """What each commit of snapshot ``sid`` carries in its ``commitInfo``: ``userMetadata``
    (shown by Spark's and Fabric's ``DESCRIBE HISTORY``) and ``mlreg_frames.snapshot``."""
    return {USER_METADATA: sid, "mlreg_frames.snapshot": sid}


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
                    configuration=TABLE_PROPERTIES,  # used when the table is created
                    storage_options=store.options or None,
                    commit_properties=dl.CommitProperties(custom_metadata=commit_metadata(sid)),
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
    for sid in sids:  # only well-formed ids reach the SQL predicate
        if snapshot_id(parse_snapshot_id(sid)) != sid:
            raise LakeError(f"{sid!r} is not a snapshot id; not deleting it", root=store.root)
    ids = ", ".join(f"'{s}'" for s in sids)
    months = ", ".join(sorted({f"'{month_of(s)}'" for s in sids}))
    predicate = f"{PARTITION_COLUMN} IN ({months}) AND {SNAPSHOT_COLUMN} IN ({ids})"
    for name in DATA_TABLES:
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
    backing: BackingTables | None = None,
    assets: AssetTables | None = None,
    changes: ChangeSet | pd.DataFrame | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Write ``tables`` (the seven tables and ``fetch_errors``) as one new snapshot.

    Args:
        tables: what a fetch or flatten returned.
        root: a folder or ``abfss://container@account.dfs.core.windows.net/path``.
        snapshot_at: the snapshot's time (naive = UTC). ``None`` uses now, moved on by a
            microsecond if another snapshot has that id; an explicit time that is taken
            raises :class:`LakeError`.
        backing: the accounts behind the registries (:func:`mlreg_frames.fetch_backing`),
            written in the same snapshot (``storage_accounts``, ``container_registries``,
            ``backing_pe_connections``, ``backing_fetch_errors``); read them back with
            :func:`mlreg_frames.lake.read_backing`.
        assets: what the registries hold (:func:`mlreg_frames.fetch_assets`), written in
            the same snapshot (``assets``, ``asset_versions``, ``asset_tags``,
            ``asset_fetch_errors``); read them back with
            :func:`mlreg_frames.lake.read_assets`, compare them with
            :func:`mlreg_frames.lake.diff_snapshots`. The asset fetch's provenance (the
            asset types asked for, whether versions were listed) is kept with them.
        storage_options: delta-rs options, e.g. ``{"account_name": ..., "sas_token": ...}``
            or ``{"credential": DefaultAzureCredential()}``.

    Returns:
        The snapshot id, e.g. ``"2025-06-01T120000.000000Z"``.

    Example::

        >>> sid = append(tables, "out/lake")                      # doctest: +SKIP
    """
    if not isinstance(tables, RegistryTables):
        swapped = (
            " (the tables come first: append(tables, root))"
            if isinstance(root, RegistryTables)
            else ""
        )
        raise InvalidArgumentError(
            f"append takes RegistryTables, got {type(tables).__name__}{swapped}",
            argument="tables",
        )
    if backing is not None and not isinstance(backing, BackingTables):
        raise InvalidArgumentError(
            f"backing must be BackingTables (from fetch_backing), got {type(backing).__name__}",
            argument="backing",
        )
    if assets is not None and not isinstance(assets, AssetTables):
        raise InvalidArgumentError(
            f"assets must be AssetTables (from fetch_assets), got {type(assets).__name__}",
            argument="assets",
        )
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
        extra: dict[str, int] = {}
        extra_text: dict[str, str] = {}
        if backing is not None:
            for name, arrow in _backing_arrows(backing, sid).items():
                _write_table(store, name, arrow, sid)
                extra[name] = arrow.num_rows
        if assets is not None:
            for name, arrow in _asset_arrows(assets, sid).items():
                _write_table(store, name, arrow, sid)
                extra[name] = arrow.num_rows
            extra_text = {"asset_provenance": json.dumps(assets.provenance, default=str,
                                                         sort_keys=True)}  # fmt: skip
        _commit(
            store,
            sid,
            writer,
            {
                "snapshot_at": parse_snapshot_id(sid),
                **tables.counts(include_errors=True),
                **extra,
                **extra_text,
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
    if changes is not None:
        store_changes(changes, root, sid, storage_options=storage_options)
    return sid
