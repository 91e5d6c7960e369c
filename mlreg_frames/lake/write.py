"""Snapshots over time in a data lake: one Hive-partitioned Parquet dataset per table.

Each :func:`append` lands one run (a fetch, a flatten) as a *snapshot*; :func:`read` brings
one or all of them back; :func:`snapshots` lists them; :func:`diff_snapshots` (and
:func:`~mlreg_frames.lake.diff`) says what changed; :func:`vacuum` clears what a crashed
writer left behind. The root is a folder or an fsspec URL (``memory://``, ``abfs://``).

This module is the public face and the writing side; the layout is declared once in
:mod:`mlreg_frames.lake.layout` (:data:`LAYOUT`), reading lives in :mod:`mlreg_frames.lake.read`
and the storage verbs in :mod:`mlreg_frames.lake.store`::

    <root>/<table>/snapshot=2025-06-01T120000.000000Z/part-<writer>.parquet
    <root>/_snapshots/2025-06-01T120000.000000Z.json      <- the commit marker

Guarantees (see ``docs/lake.md``):

* a snapshot exists exactly when its commit marker does, and the marker is published last
  and atomically, so :func:`read` never sees a half-written snapshot;
* a crash (even ``kill -9``) leaves earlier snapshots intact and the lake readable; on a
  local folder the parts are staged under ``_staging/`` and renamed into place, so partition
  folders appear only when complete; on object storage every part appears whole, but a
  crashed writer's parts stay visible to plain globbing readers until :func:`vacuum`;
* two writers never share a snapshot id (an exclusive lock per id) nor a file name.

Example::

    >>> from mlreg_frames import flatten, lake, read_pages
    >>> sid = lake.append(flatten(read_pages("data/sample")), "out/lake")  # doctest: +SKIP
    >>> lake.read("out/lake").registries.shape                             # doctest: +SKIP
    >>> lake.diff_snapshots("out/lake")                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from .. import schema
from ..errors import LakeError
from ..tables import SCHEMA_VERSION, RegistryTables, to_arrow
from .diff import diff
from .layout import (
    LAKE_FORMAT,
    LAYOUT,
    LOCK_PATH,
    MARKER_PATH,
    MARKERS,
    PART_PATH,
    SNAPSHOT_COLUMN,
    SNAPSHOT_FORMAT,
    STAGING,
    STAGING_DIR,
    parse_snapshot_id,
    snapshot_id,
)
from .read import diff_snapshots, read, snapshots
from .store import LakeStore

__all__ = [
    "LAKE_FORMAT",
    "LAYOUT",
    "LOCK_PATH",
    "MARKER_PATH",
    "PART_PATH",
    "SNAPSHOT_COLUMN",
    "SNAPSHOT_FORMAT",
    "STAGING_DIR",
    "append",
    "diff",
    "diff_snapshots",
    "parse_snapshot_id",
    "read",
    "snapshot_id",
    "snapshots",
    "vacuum",
]

DEFAULT_VACUUM_AGE = timedelta(hours=1)


def _parquet_bytes(name: str, frame: pd.DataFrame, provenance: Mapping[str, Any]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(to_arrow(name, frame, provenance), sink, compression="zstd")
    return sink.getvalue()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _claim(store: LakeStore, sid: str, writer: str, explicit: bool) -> str:
    """Take the exclusive lock on a free snapshot id; bump by 1 µs when ``sid`` is taken."""
    for _ in range(1000):
        lock = json.dumps({"writer": writer, "created_at": _now().isoformat()}).encode()
        taken = not store.create_exclusive(LOCK_PATH.format(snapshot=sid), lock)
        if not taken and store.exists(MARKER_PATH.format(snapshot=sid)):
            store.remove(LOCK_PATH.format(snapshot=sid))
            taken = True
        if not taken:
            return sid
        if explicit:
            raise LakeError(
                f"snapshot {sid} already exists in {store.root} or another writer holds it; "
                "pass another snapshot_at, or leave it None to use the current time",
                root=store.root,
                snapshot=sid,
            )
        sid = snapshot_id(parse_snapshot_id(sid) + timedelta(microseconds=1))
    raise LakeError(f"no free snapshot id near {sid} in {store.root}", root=store.root)


def _write_parts(store: LakeStore, sid: str, writer: str, parts: Mapping[str, bytes]) -> None:
    targets = {name: PART_PATH.format(table=name, snapshot=sid, writer=writer) for name in parts}
    # We hold the lock and no marker exists: a partition already there is a crashed writer's.
    for target in targets.values():
        folder = target.rpartition("/")[0]
        if store.exists(folder):
            store.remove(folder, recursive=True)
    if not store.local:
        store.write_many({targets[name]: data for name, data in parts.items()})
        return
    stage = STAGING_DIR.format(snapshot=sid, writer=writer)
    store.write_many(
        {f"{stage}/{name}/{targets[name].rpartition('/')[2]}": data for name, data in parts.items()}
    )
    for name, target in targets.items():
        store.rename_dir(f"{stage}/{name}", target.rpartition("/")[0])
    store.remove(stage, recursive=True)


def _holds_lock(store: LakeStore, sid: str, writer: str) -> bool:
    lock = LOCK_PATH.format(snapshot=sid)
    try:
        return bool(json.loads(store.read_many([lock])[lock]).get("writer") == writer)
    except (FileNotFoundError, ValueError, AttributeError):
        return False


def _commit(store: LakeStore, sid: str, writer: str, marker: Mapping[str, Any]) -> None:
    """Publish the marker: the one step that makes the snapshot exist."""
    if not _holds_lock(store, sid, writer):
        raise LakeError(
            f"the lock on snapshot {sid} was lost before the commit (a vacuum with a too "
            "short older_than?); nothing was committed, append again",
            root=store.root,
            snapshot=sid,
        )
    # One line of JSON: Spark's and Synapse's JSON readers take it without options.
    body = json.dumps(marker, ensure_ascii=False, separators=(",", ":")) + "\n"
    store.write_atomic(MARKER_PATH.format(snapshot=sid), body.encode())


def _abandon(store: LakeStore, sid: str, writer: str, tables: list[str]) -> None:
    """After a clean failure, remove this writer's own files (never another writer's)."""
    if store.exists(MARKER_PATH.format(snapshot=sid)):
        return  # the commit happened after all (an answer lost on the way back)
    for name in tables:
        with contextlib.suppress(Exception):
            store.remove(PART_PATH.format(table=name, snapshot=sid, writer=writer))
    with contextlib.suppress(Exception):
        store.remove(STAGING_DIR.format(snapshot=sid, writer=writer), recursive=True)
    if _holds_lock(store, sid, writer):
        store.remove(LOCK_PATH.format(snapshot=sid))


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
        root: a folder or fsspec URL (``memory://x``, ``abfs://container/path``).
        snapshot_at: the snapshot's time (naive = UTC). ``None`` uses now, moved on by a
            microsecond if another snapshot has that id; an explicit time that is taken
            raises :class:`LakeError`.
        storage_options: fsspec options, e.g. ``{"account_name": ..., "sas_token": ...}``.

    Returns:
        The snapshot id, e.g. ``"2025-06-01T120000.000000Z"``.

    Example::

        >>> sid = append(tables, "out/lake")                      # doctest: +SKIP
        >>> append(tables, "abfs://lake/mlreg", storage_options={"account_name": "acct",
        ...        "anon": False})                                # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    provenance = dict(tables.provenance)
    parts = {
        name: _parquet_bytes(name, frame, provenance)
        for name, frame in tables.items(include_errors=True)
    }
    writer = uuid.uuid4().hex
    sid = snapshot_id(_now() if snapshot_at is None else snapshot_at)
    with store.errors("claiming a snapshot id", sid):
        sid = _claim(store, sid, writer, explicit=snapshot_at is not None)
    outcomes = tables.fetch_errors["outcome"].astype("string")
    marker = {
        "format": LAKE_FORMAT,
        SNAPSHOT_COLUMN: sid,
        "snapshot_at": parse_snapshot_id(sid).isoformat(),
        "schema_version": SCHEMA_VERSION,
        "writer": writer,
        "tables": {
            name: {
                "files": [PART_PATH.format(table=name, snapshot=sid, writer=writer)],
                "rows": len(tables[name]),
            }
            for name in parts
        },
        "failed_scopes": int((outcomes == "failed").sum()),
        "skipped_scopes": int((outcomes == "skipped").sum()),
        "provenance": json.loads(json.dumps(provenance, default=str)),
    }
    try:
        with store.errors("writing the snapshot", sid):
            _write_parts(store, sid, writer, parts)
            marker["committed_at"] = _now().isoformat()
            _commit(store, sid, writer, marker)
    except BaseException:
        # A clean failure (not a kill) tidies up; vacuum() handles what is left.
        with contextlib.suppress(Exception):
            _abandon(store, sid, writer, list(parts))
        raise
    # Committed: a lock left behind by a failure here is harmless, and vacuum() removes it.
    with contextlib.suppress(Exception):
        store.remove(LOCK_PATH.format(snapshot=sid))
    return sid


def vacuum(
    root: str | os.PathLike[str],
    *,
    older_than: timedelta = DEFAULT_VACUUM_AGE,
    dry_run: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Delete what crashed writers left: uncommitted partitions, staging folders, stale locks.

    A lock younger than ``older_than`` is a writer still at work and is left alone, with its
    files; so ``older_than`` must exceed the longest append. Committed snapshots are never
    touched. Returns the removed paths (relative to the root), or those it would remove.

    Example::

        >>> vacuum("out/lake")                                    # doctest: +SKIP
        ['registries/snapshot=2025-06-01T120000.000000Z', '_snapshots/2025-06-01T...lock']
    """
    store = LakeStore(root, storage_options)
    doomed: list[tuple[str, bool]] = []
    with store.errors("vacuuming"):
        # Partitions are listed before locks: a writer locks before it creates a partition.
        partitions = [
            (f"{name}/{entry}", entry.partition("=")[2])
            for name in schema.ALL_TABLES
            for entry in store.list_dir(name)
            if entry.startswith(f"{SNAPSHOT_COLUMN}=")
        ]
        staged = [(f"{STAGING}/{e}", e.rpartition("-")[0]) for e in store.list_dir(STAGING)]
        names = store.list_dir(MARKERS)
        done = {n[: -len(".json")] for n in names if n.endswith(".json")}
        live = set()
        for sid in (n[: -len(".lock")] for n in names if n.endswith(".lock")):
            lock = LOCK_PATH.format(snapshot=sid)
            try:
                created = datetime.fromisoformat(
                    json.loads(store.read_many([lock])[lock])["created_at"]
                )
            except (FileNotFoundError, ValueError, KeyError):
                created = _now()  # being written right now
            if sid in done or _now() - created >= older_than:
                doomed.append((lock, False))
            else:
                live.add(sid)
        doomed += [(p, True) for p, sid in partitions if sid not in done | live]
        doomed += [(p, True) for p, sid in staged if sid not in live]
        if not dry_run:
            for path, recursive in doomed:
                store.remove(path, recursive=recursive)
    return [path for path, _ in doomed]
