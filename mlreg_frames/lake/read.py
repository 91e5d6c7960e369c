"""Reading a snapshot lake back: one snapshot, several, the list of them, their diff.

The writing side is :mod:`mlreg_frames.lake`, which re-exports everything here; import from
there. Only committed snapshots (those with a marker in ``_snapshots/``) are ever read, and
each snapshot's files are exactly those its marker lists, so parts a crashed writer left
behind are never seen.

Example::

    >>> from mlreg_frames import lake
    >>> lake.read("out/lake").registries                 # doctest: +SKIP
    >>> lake.read("out/lake", "all").registries.snapshot   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, overload

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import LakeError
from ..tables import RegistryTables, from_arrow
from .diff import diff
from .layout import (
    MARKER_PATH,
    SNAPSHOT_COLUMN,
    committed,
    read_marker,
    snapshot_id,
)
from .store import LakeStore

__all__ = ["diff_snapshots", "read", "snapshots"]


def _resolve(store: LakeStore, ids: Sequence[str], wanted: Any) -> str:
    """The one committed id ``wanted`` names (see :func:`read`), or a LakeError listing some."""
    if not ids:
        raise LakeError(
            f"{store.root} holds no committed snapshot; write one with lake.append(tables, "
            "ROOT) or `mlreg-frames fetch --lake ROOT`",
            root=store.root,
        )
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if -len(ids) <= wanted < len(ids):
            return ids[wanted]
    elif wanted == "latest":
        return ids[-1]
    elif isinstance(wanted, str) and wanted in ids:
        return wanted
    elif isinstance(wanted, str) and len(match := [i for i in ids if i.startswith(wanted)]) == 1:
        return match[0]
    elif isinstance(wanted, (str, datetime, pd.Timestamp)):
        with contextlib.suppress(LakeError):
            if (sid := snapshot_id(wanted)) in ids:
                return sid
    shown = ", ".join(ids[-5:])
    raise LakeError(
        f"no single snapshot {wanted!r} in {store.root} (latest: {shown}); pass an id or a "
        "unique prefix from `mlreg-frames snapshots ROOT`, 'latest' or 'all'",
        root=store.root,
        snapshot=str(wanted),
    )


def _read_one(store: LakeStore, sid: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    marker = read_marker(store, sid)
    listed = {
        name: list(entry.get("files", []))
        for name, entry in marker.get("tables", {}).items()
        if name in schema.ALL_TABLES  # a table a newer version added is skipped
    }
    try:
        blobs = store.read_many([f for files in listed.values() for f in files])
    except FileNotFoundError as exc:
        raise LakeError(
            f"snapshot {sid} lists a file that is gone ({exc}); the lake was changed outside "
            f"mlreg_frames: restore the file or delete _snapshots/{sid}.json",
            root=store.root,
            snapshot=sid,
        ) from exc
    frames = {}
    for name, files in listed.items():
        try:
            parts = [from_arrow(name, pq.read_table(io.BytesIO(blobs[f]))) for f in files]
        except pa.ArrowException as exc:
            raise LakeError(
                f"snapshot {sid}: a {name} file is not readable Parquet ({exc}); restore it "
                f"from a backup or delete _snapshots/{sid}.json to drop the snapshot",
                root=store.root,
                snapshot=sid,
            ) from exc
        frames[name] = pd.concat(parts, ignore_index=True) if parts else schema.empty_frame(name)
    provenance = {**marker.get("provenance", {}), SNAPSHOT_COLUMN: sid}
    return frames, provenance


@overload
def read(  # type: ignore[overload-overlap]  # "all" is a str, but picks the other result
    root: str | os.PathLike[str],
    snapshot: Literal["all"] | list[str] | tuple[str, ...],
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> RegistryTables: ...


@overload
def read(
    root: str | os.PathLike[str],
    snapshot: str | int | datetime | pd.Timestamp = "latest",
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> RegistryTables: ...


def read(
    root: str | os.PathLike[str],
    snapshot: Any = "latest",
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> RegistryTables:
    """Read committed snapshots back with the declared dtypes (older schemas: nulls).

    Args:
        root: the lake root (folder or fsspec URL).
        snapshot: ``"latest"``; an id, a unique prefix of one (``"2025-06-01"``), a time or
            a position (``-2`` is the one before the latest) for one snapshot; ``"all"`` or
            a list of those for several.
        storage_options: fsspec options.

    Returns:
        A :class:`RegistryTables`: for one snapshot, its tables (the id in
        ``provenance["snapshot"]``); for several, the snapshots stacked, every table with a
        leading ``snapshot`` column (``.snapshot_ids`` lists them, ``.at(id)`` gives one back,
        ``provenance["snapshots"]`` holds each one's provenance).

    Example::

        >>> read("out/lake").registries                       # doctest: +SKIP
        >>> read("out/lake", "all").registries.snapshot       # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    with store.errors("reading snapshots"):
        ids = committed(store)
        if not (snapshot == "all" or isinstance(snapshot, (list, tuple))):
            frames, provenance = _read_one(store, _resolve(store, ids, snapshot))
            return RegistryTables.from_frames(frames, provenance=provenance, allow_missing=True)
        chosen = ids if snapshot == "all" else sorted({_resolve(store, ids, s) for s in snapshot})
        if not chosen:
            _resolve(store, ids, "latest")  # raises: the lake is empty
        stacked: dict[str, list[pd.DataFrame]] = {name: [] for name in schema.ALL_TABLES}
        provenances = {}
        for sid in chosen:
            frames, provenances[sid] = _read_one(store, sid)
            for name in schema.ALL_TABLES:
                frame = frames.get(name, schema.empty_frame(name))
                frame.insert(0, SNAPSHOT_COLUMN, pd.Series(sid, index=frame.index, dtype="string"))
                stacked[name].append(frame)
    return RegistryTables.from_frames(
        {name: pd.concat(parts, ignore_index=True) for name, parts in stacked.items()},
        provenance={"snapshot_ids": list(chosen), "snapshots": provenances},
        allow_missing=True,
    )


def snapshots(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The committed snapshots, oldest first: id, times, rows per table, failed scopes.

    Example::

        >>> snapshots("out/lake")[["snapshot", "registries", "failed_scopes"]]  # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    with store.errors("listing snapshots"):
        ids = committed(store)
        raw = store.read_many([MARKER_PATH.format(snapshot=s) for s in ids])
    rows = []
    for sid in ids:
        marker = json.loads(raw[MARKER_PATH.format(snapshot=sid)])
        tables = marker.get("tables", {})
        rows.append(
            {
                SNAPSHOT_COLUMN: sid,
                "snapshot_at": marker.get("snapshot_at"),
                "committed_at": marker.get("committed_at"),
                **{n: tables.get(n, {}).get("rows") for n in schema.ALL_TABLES},
                "failed_scopes": marker.get("failed_scopes"),
                "skipped_scopes": marker.get("skipped_scopes"),
                "schema_version": marker.get("schema_version"),
            }
        )
    columns = [SNAPSHOT_COLUMN, "snapshot_at", "committed_at", *schema.ALL_TABLES]
    columns += ["failed_scopes", "skipped_scopes", "schema_version"]
    frame = pd.DataFrame(rows, columns=columns)
    out = {SNAPSHOT_COLUMN: frame[SNAPSHOT_COLUMN].astype("string")}
    for col in ("snapshot_at", "committed_at"):
        out[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601").astype(
            "datetime64[us, UTC]"
        )
    for col in columns[3:]:
        out[col] = frame[col].astype("Int64")
    return pd.DataFrame(out)


def diff_snapshots(
    root: str | os.PathLike[str],
    old: Any = None,
    new: Any = "latest",
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """What changed between two snapshots (default: the latest and the one before it).

    ``old`` and ``new`` take what :func:`read` takes for one snapshot. The result is
    :func:`~mlreg_frames.lake.diff`'s frame, with ``attrs["from"]`` and ``attrs["to"]``.

    Example::

        >>> diff_snapshots("out/lake")                              # doctest: +SKIP
        >>> diff_snapshots("out/lake", "2025-06-01", "2025-06-08")  # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    with store.errors("listing snapshots"):
        ids = committed(store)
    to_id = _resolve(store, ids, new)
    if old is None:
        earlier = [i for i in ids if i < to_id]
        if not earlier:
            raise LakeError(
                f"snapshot {to_id} has no earlier snapshot to compare with; append another "
                "run, or pass old= / --from",
                root=store.root,
                snapshot=to_id,
            )
        old = earlier[-1]
    from_id = _resolve(store, ids, old)
    changes = diff(
        read(root, from_id, storage_options=storage_options),
        read(root, to_id, storage_options=storage_options),
    )
    changes.attrs.update({"from": from_id, "to": to_id})
    return changes
