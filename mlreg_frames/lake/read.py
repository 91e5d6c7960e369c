"""Reading the lake back: one snapshot, several, the list of them, their diff.

Only committed snapshots (a ``committed`` row in the ``snapshots`` ledger) are ever read, and
each table's rows of a snapshot are counted against the ledger: rows a crashed writer left
are never seen, and a table changed outside mlreg_frames is reported, not silently read.

:func:`read_assets` and :func:`read_backing` bring back the optional tables of one snapshot.

Example::

    >>> from mlreg_frames import lake
    >>> lake.read("out/lake").registries                 # doctest: +SKIP
    >>> lake.read("out/lake", "all").registries.snapshot   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, overload

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..assettables import AssetTables
from ..errors import LakeError
from ..flatten.backing import BackingTables
from ..tables import RegistryTables, from_arrow, types_mapper
from .layout import (
    ASSET_LAKE_TABLES,
    BACKING_LAKE_TABLES,
    COMMITTED,
    LEDGER,
    PARTITION_COLUMN,
    SNAPSHOT_COLUMN,
    month_of,
    snapshot_id,
)
from .ledger import ledger
from .store import LakeStore

__all__ = [
    "committed",
    "read",
    "read_assets",
    "read_backing",
    "require_lake",
    "resolve",
    "snapshots",
]

OLD_FORMAT_MARKERS = "_snapshots"


def require_lake(store: LakeStore) -> None:
    """Raise a LakeError unless ``store.root`` holds a Delta lake (saying what it holds)."""
    if not store.exists():
        raise LakeError(
            f"{store.root} does not exist; write a lake there with lake.append(tables, ROOT) "
            "or `mlreg-frames fetch --lake ROOT`",
            root=store.root,
        )
    if store.open(LEDGER) is not None:
        return
    if store.local and os.path.isdir(os.path.join(store.uri(""), OLD_FORMAT_MARKERS)):
        raise LakeError(
            f"{store.root} is a lake in the old marker format (_snapshots/*.json, "
            "mlreg_frames 0.1); convert it to Delta tables with "
            f"`mlreg-frames lake migrate {store.root} NEW_ROOT`",
            root=store.root,
        )
    raise LakeError(
        f"{store.root} is not a lake (no Delta table '{LEDGER}' in it); write one with "
        "lake.append(tables, ROOT) or `mlreg-frames fetch --lake ROOT`",
        root=store.root,
    )


def committed(store: LakeStore) -> pd.DataFrame:
    """The ledger's ``committed`` rows, one per snapshot, oldest first."""
    require_lake(store)
    rows = ledger(store)
    done = rows[rows["state"] == COMMITTED]
    return done.drop_duplicates(SNAPSHOT_COLUMN).sort_values(SNAPSHOT_COLUMN, ignore_index=True)


def resolve(store: LakeStore, ids: Sequence[str], wanted: Any) -> str:
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
        raise LakeError(
            f"no snapshot at position {wanted} in {store.root}: it holds {len(ids)} (positions "
            f"{-len(ids)} to -1 from the latest, 0 to {len(ids) - 1} from the first)",
            root=store.root,
            snapshot=str(wanted),
        )
    elif wanted == "latest":
        return ids[-1]
    elif isinstance(wanted, str) and wanted in ids:
        return wanted
    elif isinstance(wanted, str) and (match := [i for i in ids if i.startswith(wanted)]):
        if len(match) == 1:
            return match[0]
        raise LakeError(
            f"{wanted!r} is the start of {len(match)} snapshots in {store.root} ({match[0]} "
            f"... {match[-1]}); give more of the id, or a time with hours to take the one "
            "as of then",
            root=store.root,
            snapshot=wanted,
        )
    elif isinstance(wanted, (str, datetime, pd.Timestamp)):
        sid = None
        with contextlib.suppress(LakeError):
            sid = snapshot_id(wanted)
        if sid is not None:
            # a time: the snapshot as of then, i.e. the last one taken at or before it
            if earlier := [i for i in ids if i <= sid]:
                return earlier[-1]
            raise LakeError(
                f"no snapshot as of {wanted} in {store.root}: the first is {ids[0]}; pass a "
                "later time, an id or a unique prefix from `mlreg-frames snapshots ROOT`",
                root=store.root,
                snapshot=str(wanted),
            )
    shown = ", ".join(ids[-5:])
    raise LakeError(
        f"no single snapshot {wanted!r} in {store.root} (latest: {shown}); pass an id or a "
        "unique prefix from `mlreg-frames snapshots ROOT`, a time, a position (-1 is the "
        "latest) or 'latest'",
        root=store.root,
        snapshot=str(wanted),
    )


def _scan(store: LakeStore, name: str, chosen: list[str], counts: pd.Series) -> pa.Table:
    """The rows of table ``name`` for snapshots ``chosen``, checked against the ledger."""
    table = store.open(name)
    if table is None:
        arrow = pa.table({SNAPSHOT_COLUMN: pa.array([], pa.string())})
    else:
        months = {month_of(s) for s in chosen}
        with store.errors(f"reading table {name}"):
            arrow = store.dataset(table, months).to_table(
                filter=pc.field(SNAPSHOT_COLUMN).isin(chosen)
            )
    counted = pc.value_counts(arrow.column(SNAPSHOT_COLUMN))
    found = dict(
        zip(
            counted.field("values").to_pylist(),
            counted.field("counts").to_pylist(),
            strict=True,
        )
    )
    for sid in chosen:
        expected = counts.get(sid)
        if pd.isna(expected):
            continue  # a table this snapshot's writer did not know
        if found.get(sid, 0) != int(expected):
            raise LakeError(
                f"snapshot {sid}: table {name} holds {found.get(sid, 0)} rows, the snapshots "
                f"ledger says {int(expected)}; the table was changed outside mlreg_frames: "
                f"restore it (Delta time travel: RESTORE TABLE) before reading this snapshot",
                root=store.root,
                snapshot=sid,
            )
    if len(chosen) > 1 and not _sorted(arrow.column(SNAPSHOT_COLUMN)):
        # stable: each snapshot's rows keep their order
        arrow = arrow.take(pc.sort_indices(arrow, [(SNAPSHOT_COLUMN, "ascending")]))
    return arrow


def _sorted(column: pa.ChunkedArray) -> bool:
    """Whether the snapshot ids are already in order (they are, unless appends overlapped)."""
    if len(column) < 2:
        return True
    flat = column.combine_chunks()
    return bool(pc.all(pc.less_equal(flat[:-1], flat[1:])).as_py())


def _tables(
    store: LakeStore, chosen: list[str], done: pd.DataFrame, *, stacked: bool
) -> dict[str, pd.DataFrame]:
    rows = done.set_index(SNAPSHOT_COLUMN)
    frames = {}
    for name in schema.ALL_TABLES:
        arrow = _scan(store, name, chosen, rows[name])
        drop = [PARTITION_COLUMN] if stacked else [PARTITION_COLUMN, SNAPSHOT_COLUMN]
        arrow = arrow.drop_columns([c for c in drop if c in arrow.column_names])
        if arrow.num_rows == 0 and len(arrow.column_names) <= 1:
            frames[name] = schema.empty_frame(name, stacked=stacked)
            continue
        frame = from_arrow(name, arrow)
        if stacked and SNAPSHOT_COLUMN in frame:
            frame[SNAPSHOT_COLUMN] = frame[SNAPSHOT_COLUMN].astype(
                schema.pandas_dtype(schema.SNAPSHOT.kind)
            )
        frames[name] = frame
    return frames


def _provenance(row: pd.Series) -> dict[str, Any]:
    text = row.get("provenance")
    loaded = json.loads(text) if isinstance(text, str) and text else {}
    return {**loaded, SNAPSHOT_COLUMN: row[SNAPSHOT_COLUMN]}


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
        root: the lake root (folder or ``abfss://`` URL).
        snapshot: ``"latest"``; an id, a unique prefix of one (``"2025-06-01"``), a time (the
            snapshot as of then: the last one taken at or before it) or a position (``-2`` is
            the one before the latest) for one snapshot; ``"all"`` or a list of those for
            several.
        storage_options: delta-rs options (see :mod:`mlreg_frames.lake.store`).

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
    done = committed(store)
    ids = done[SNAPSHOT_COLUMN].tolist()
    by_id = done.set_index(SNAPSHOT_COLUMN, drop=False)
    if not (
        (isinstance(snapshot, str) and snapshot == "all") or isinstance(snapshot, (list, tuple))
    ):
        sid = resolve(store, ids, snapshot)
        frames = _tables(store, [sid], done, stacked=False)
        return RegistryTables.from_frames(
            frames, provenance=_provenance(by_id.loc[sid]), allow_missing=True
        )
    chosen = ids if snapshot == "all" else sorted({resolve(store, ids, s) for s in snapshot})
    if not chosen:
        resolve(store, ids, "latest")  # raises: the lake is empty
    frames = _tables(store, chosen, done, stacked=True)
    return RegistryTables.from_frames(
        frames,
        provenance={
            "snapshot_ids": list(chosen),
            "snapshots": {sid: _provenance(by_id.loc[sid]) for sid in chosen},
        },
        allow_missing=True,
    )


def read_backing(
    root: str | os.PathLike[str],
    snapshot: str | int | datetime | pd.Timestamp = "latest",
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> BackingTables | None:
    """The backing accounts of one committed snapshot, or None when it was written without.

    ``snapshot`` names one snapshot as for :func:`read`. The row counts are checked against
    the ledger, as for the registry tables.

    Example::

        >>> backing = read_backing("out/lake")                         # doctest: +SKIP
        >>> analysis.exposure(read("out/lake"), backing)               # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    done = committed(store)
    sid = resolve(store, done[SNAPSHOT_COLUMN].tolist(), snapshot)
    rows = done.set_index(SNAPSHOT_COLUMN)
    names = list(BACKING_LAKE_TABLES)
    if any(name not in rows.columns for name in names) or rows.loc[sid, names].isna().any():
        return None
    frames = {}
    for name, table in BACKING_LAKE_TABLES.items():
        arrow = _scan(store, name, [sid], rows[name])
        arrow = arrow.drop_columns([c for c in (PARTITION_COLUMN, SNAPSHOT_COLUMN)
                                    if c in arrow.column_names])  # fmt: skip
        frame = arrow.to_pandas(types_mapper=types_mapper, ignore_metadata=True)
        frame = frame.reindex(columns=list(table.column_names)).astype(table.dtypes)
        frames["fetch_errors" if name == "backing_fetch_errors" else name] = frame
    return BackingTables(**frames)


def snapshots(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The committed snapshots, oldest first: id, times, rows per table, failed scopes.

    ``assets`` and ``asset_versions`` count what the registries held (null for a snapshot
    written without its assets).

    Example::

        >>> snapshots("out/lake")[["snapshot", "registries", "failed_scopes"]]  # doctest: +SKIP
    """
    done = committed(LakeStore(root, storage_options))
    out = {
        SNAPSHOT_COLUMN: done[SNAPSHOT_COLUMN].astype("string"),
        "snapshot_at": done["snapshot_at"].astype("datetime64[us, UTC]"),
        "committed_at": done["recorded_at"].astype("datetime64[us, UTC]"),
    }
    for col in (*schema.ALL_TABLES, "failed_scopes", "skipped_scopes", "schema_version"):
        out[col] = done[col].astype("Int64")
    for col in ("assets", "asset_versions"):  # null: written without assets
        out[col] = done[col].astype("Int64")
    return pd.DataFrame(out)


def read_assets(
    root: str | os.PathLike[str],
    snapshot: str | int | datetime | pd.Timestamp = "latest",
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> AssetTables | None:
    """What the registries held in one committed snapshot, or None when it was written without.

    ``snapshot`` names one snapshot as for :func:`read`. The row counts are checked against
    the ledger, as for the registry tables; the tables come back exactly as appended (the
    declared dtypes, also when empty), each sorted by its key (the order ``fetch_assets``
    and ``flatten_assets`` give). ``provenance`` is the asset fetch's (asset types,
    ``listed``, ...) plus ``snapshot``. None means *not known*, never *holds nothing*: a
    snapshot whose asset fetch found nothing has empty tables.

    Example::

        >>> assets = read_assets("out/lake")                          # doctest: +SKIP
        >>> analysis.contents(read("out/lake"), assets)               # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    done = committed(store)
    sid = resolve(store, done[SNAPSHOT_COLUMN].tolist(), snapshot)
    rows = done.set_index(SNAPSHOT_COLUMN)
    names = list(ASSET_LAKE_TABLES)
    if any(name not in rows.columns for name in names) or rows.loc[sid, names].isna().any():
        return None
    frames = {}
    for name, table in ASSET_LAKE_TABLES.items():
        arrow = _scan(store, name, [sid], rows[name])
        arrow = arrow.drop_columns([c for c in (PARTITION_COLUMN, SNAPSHOT_COLUMN)
                                    if c in arrow.column_names])  # fmt: skip
        frame = from_arrow(table.name, arrow)
        # delta-rs does not keep a large append's row order; the key order is the one
        # fetch_assets and flatten_assets give, so the round trip stays exact
        frames[table.name] = frame.sort_values(
            list(table.key), kind="stable", na_position="last", ignore_index=True
        )
    text = rows.loc[sid].get("asset_provenance")
    loaded = json.loads(text) if isinstance(text, str) and text else {}
    return AssetTables.from_frames(
        frames, provenance={**loaded, SNAPSHOT_COLUMN: sid}, allow_missing=True
    )
