"""One change log from the lake and Resource Graph: snapshot diffs and ARG change records.

Two sources, one shape (the ``changes`` table of :mod:`mlreg_frames.schema`):

* **lake rows** (``source = "lake"``): :func:`snapshot_changes` turns the diff of each pair of
  consecutive snapshots (:func:`~mlreg_frames.lake.diff`) into change rows: a registry added is
  a ``Create``, one removed a ``Delete``, a field or child row that differs an ``Update``
  (``property`` ``<table>.<column>`` or ``<table>[<key>]``). ``time`` is the later snapshot's
  time, ``changed_by`` is null (a diff does not know who). ``unfetched`` rows (a scope that
  failed) are not changes and are left out;
* **graph rows** (``source = "graph"``): what :func:`mlreg_frames.fetch_changes` returned,
  and what :func:`store_changes` (``lake.append(..., changes=)``) kept in the lake's
  ``graph_changes`` table, deduplicated by ``change_id``, so history outlives ARG's 14 days.

:func:`changes` merges them. **The matching rule**: a lake row is the same change as a graph
row, and is dropped (the graph row says who), when all of these hold:

1. the same resource (``resource_id``, case-insensitive);
2. the graph row's ``time`` is after the earlier snapshot of the pair and at most the later one
   (the window in which the lake saw the change);
3. the same property: the lake column and the last part of the ARG path agree once case,
   ``_`` and list positions are dropped (``public_network_access`` ~
   ``properties.publicNetworkAccess``), or the lake child table is the ARG list
   (``regions``/``storage``/``acr`` ~ ``properties.regionDetails``, ``tags`` ~ ``tags.*``,
   ``identities`` ~ ``identity.*``, ``pe_connections`` ~
   ``properties.privateEndpointConnections``), or both are the Create / Delete row;
4. the same new value, case-insensitive (ARG's ``"null"`` and null both meaning none); for a
   child row, whose lake value is the row as JSON, the graph value appears in it.

Every other row is kept: graph rows (stored and fresh, once per ``change_id`` and property),
and lake rows for older spans and for what ARG does not track.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import schema
from ..flatten.changes import REGISTRY_TYPE, ChangeSet, sort_changes
from .diff import diff
from .layout import PARTITION_COLUMN, SNAPSHOT_COLUMN, month_of, parse_snapshot_id
from .read import committed, read
from .store import LakeStore

__all__ = ["GRAPH_CHANGES", "changes", "lake_rows", "read_stored_changes", "snapshot_changes",
           "store_changes"]  # fmt: skip

GRAPH_CHANGES = "graph_changes"
"""The Delta table of the lake that keeps Resource Graph change rows (``lake.append(changes=)``)."""

_FAMILIES = {
    "regions": "properties.regiondetails",
    "storage": "properties.regiondetails",
    "acr": "properties.regiondetails",
    "tags": "tags",
    "identities": "identity",
    "pe_connections": "properties.privateendpointconnections",
}
_NONE = {"", "null", "none"}


def _digest(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


def lake_rows(found: pd.DataFrame, sid: str, previous: str) -> list[dict[str, Any]]:
    """The change rows of one :func:`~mlreg_frames.lake.diff` (from snapshot ``previous`` to
    ``sid``), as dicts with the ``changes`` columns and ``_from``: the earlier snapshot's time."""
    when = parse_snapshot_id(sid)
    rows = []
    for row in found.astype(object).where(found.notna(), None).to_dict("records"):
        if row["change"] == "unfetched":
            continue
        whole = row["table"] == "registries" and row["change"] in ("added", "removed")
        if whole:
            kind, prop = ("Create" if row["change"] == "added" else "Delete"), None
        else:
            kind = "Update"
            prop = (f"registries.{row['field']}" if row["table"] == "registries"
                    else f"{row['table']}[{row['key']}]" if row["field"] is None
                    else f"{row['table']}[{row['key']}].{row['field']}")  # fmt: skip
        rid = str(row["registry_id"])
        rows.append({
            "change_id": "lake:" + _digest(sid, rid, prop, row["change"]),
            "time": when, "resource_id": rid, "registry_id": rid,
            "resource_type": REGISTRY_TYPE, "change_type": kind, "property": prop,
            "old": row["before"], "new": row["after"], "is_truncated": False,
            "changed_by": None, "changed_by_type": None, "client_type": None,
            "operation": None, "correlation_id": None, "source": "lake",
            "_from": parse_snapshot_id(previous),
        })  # fmt: skip
    return rows


def snapshot_changes(
    root: str | os.PathLike[str],
    since: Any = None,
    until: Any = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The lake's changes: each pair of consecutive snapshots diffed, as ``changes`` rows.

    Args:
        root: the lake root.
        since: only changes first seen in snapshots after this time (None: every snapshot);
            the snapshot just before it is the baseline of the first diff.
        until: only changes first seen in snapshots at or before this time (None: the latest).

    Returns:
        The ``changes`` frame (``source = "lake"``), newest first, with ``attrs["windows"]``:
        change_id -> the earlier snapshot's time (the start of the window it happened in).

    Example::

        >>> snapshot_changes("out/lake", since="2025-06-01")     # doctest: +SKIP
    """
    store = LakeStore(root, storage_options)
    ids = committed(store)[SNAPSHOT_COLUMN].tolist()
    start = _utc(since)
    first = 1
    if start is not None:
        later = [i for i, sid in enumerate(ids) if parse_snapshot_id(sid) > start]
        first = max(1, later[0]) if later else len(ids)
    end = _utc(until)
    pairs = [(ids[i - 1], ids[i]) for i in range(first, len(ids))
             if end is None or parse_snapshot_id(ids[i]) <= end]  # fmt: skip
    rows: list[dict[str, Any]] = []
    if pairs:
        wanted = sorted({sid for pair in pairs for sid in pair})
        stack = read(root, wanted, storage_options=storage_options)
        for old, new in pairs:
            rows += lake_rows(diff(stack.at(old), stack.at(new)), new, old)
    frame = pd.DataFrame(rows, columns=[*schema.CHANGES.column_names, "_from"])
    windows = dict(zip(frame["change_id"], frame["_from"], strict=True))
    out = sort_changes(schema.conform("changes", frame.drop(columns="_from")))
    out.attrs["windows"] = windows
    return out


def _utc(when: Any) -> pd.Timestamp | None:
    if when is None:
        return None
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _frame(changes: ChangeSet | pd.DataFrame) -> pd.DataFrame:
    frame = changes.changes if isinstance(changes, ChangeSet) else changes
    return schema.conform("changes", frame)


def read_stored_changes(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The Resource Graph change rows kept in the lake (empty when none were stored)."""
    store = LakeStore(root, storage_options)
    table = store.open(GRAPH_CHANGES)
    if table is None:
        return schema.empty_frame("changes")
    with store.errors(f"reading table {GRAPH_CHANGES}"):
        arrow = store.dataset(table).to_table()
    frame = arrow.drop_columns([SNAPSHOT_COLUMN, PARTITION_COLUMN]).to_pandas(
        types_mapper=lambda t: schema.pandas_dtype("string") if t == pa.string() else None
    )
    return sort_changes(schema.conform("changes", frame, allow_missing=True))


def store_changes(
    changes: ChangeSet | pd.DataFrame,
    root: str | os.PathLike[str],
    sid: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> int:
    """Append the graph rows of ``changes`` whose ``change_id`` the lake does not hold yet.

    Called by ``lake.append(..., changes=)`` with the snapshot id; returns the rows written.
    """
    frame = _frame(changes)
    frame = frame[frame["source"] == "graph"]
    known = set(read_stored_changes(root, storage_options=storage_options)["change_id"])
    fresh = frame[~frame["change_id"].isin(list(known))]
    fresh = fresh.drop_duplicates(["change_id", "property"]).reset_index(drop=True)
    if fresh.empty:
        return 0
    store = LakeStore(root, storage_options)
    arrow = pa.Table.from_pandas(fresh, schema=schema.arrow_schema("changes"),
                                 preserve_index=False).replace_schema_metadata(None)  # fmt: skip
    rows = arrow.num_rows
    arrow = arrow.add_column(0, SNAPSHOT_COLUMN, pa.array([sid] * rows, pa.string()))
    arrow = arrow.add_column(1, PARTITION_COLUMN, pa.array([month_of(sid)] * rows, pa.string()))
    with store.errors(f"writing table {GRAPH_CHANGES}", sid):
        store.dl.write_deltalake(store.uri(GRAPH_CHANGES), arrow, mode="append",
                                 partition_by=[PARTITION_COLUMN], schema_mode="merge",
                                 storage_options=store.options or None)  # fmt: skip
    return rows


def _norm(text: Any) -> str:
    return re.sub(r"\[[^\]]*\]|[^a-z0-9.]", "", str(text).lower())


def _same_property(lake_prop: Any, graph_prop: Any) -> bool:
    if lake_prop is None or graph_prop is None:
        return lake_prop is None and graph_prop is None
    table, _, rest = str(lake_prop).partition(".")
    graph = _norm(graph_prop)
    if table.startswith("registries"):
        return graph.rsplit(".", 1)[-1] == _norm(rest)
    family = _FAMILIES.get(re.sub(r"\[.*", "", str(lake_prop)))
    return family is not None and (graph == family or graph.startswith(family + "."))


def _value(value: Any) -> str:
    text = "" if value is None or value is pd.NA else str(value).strip().lower()
    return "" if text in _NONE else text


def _same_value(lake_new: Any, graph_new: Any, child: bool) -> bool:
    lake, graph = _value(lake_new), _value(graph_new)
    return lake == graph or (child and bool(graph) and graph in lake)


def _matched(lake: pd.DataFrame, graph: pd.DataFrame, windows: Mapping[str, Any]) -> set[str]:
    """The change ids of lake rows that a graph row already records (the module's rule)."""
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for row in graph.astype(object).where(graph.notna(), None).to_dict("records"):
        by_resource.setdefault(str(row["resource_id"]).lower(), []).append(row)
    dropped = set()
    for row in lake.astype(object).where(lake.notna(), None).to_dict("records"):
        start, end = windows.get(row["change_id"]), row["time"]
        child = row["property"] is not None and not str(row["property"]).startswith("registries")
        for other in by_resource.get(str(row["resource_id"]).lower(), []):
            when = other["time"]
            if when is None or end is None or (start is not None and when <= start):
                continue
            if when > end or row["change_type"] != other["change_type"]:
                continue
            if _same_property(row["property"], other["property"]) and _same_value(
                row["new"], other["new"], child
            ):
                dropped.add(row["change_id"])
                break
    return dropped


def changes(
    root: str | os.PathLike[str] | None = None,
    since: Any = None,
    *,
    graph: ChangeSet | pd.DataFrame | None = None,
    registry: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One change log: the lake's snapshot diffs and Resource Graph's change records, merged.

    Args:
        root: a lake root (None: only ``graph``).
        since: only changes at or after this time (None: all).
        graph: what :func:`mlreg_frames.fetch_changes` returned (stored rows are added).
        registry: only this registry's changes (its name or id, case-insensitive).

    Returns:
        The ``changes`` frame, newest first; a change both sources saw appears once, as its
        graph row (the matching rule is in the module docstring).

    Example::

        >>> found = mf.fetch_changes(tables)                          # doctest: +SKIP
        >>> mf.changes("out/lake", since="2025-06-01", graph=found)   # doctest: +SKIP
    """
    parts = [] if graph is None else [_frame(graph)]
    lake = schema.empty_frame("changes")
    windows: dict[str, Any] = {}
    if root is not None:
        parts.append(read_stored_changes(root, storage_options=storage_options))
        lake = snapshot_changes(root, since, storage_options=storage_options)
        windows = lake.attrs.get("windows", {})
    graph_rows = pd.concat([p for p in parts if len(p)] or [schema.empty_frame("changes")])
    graph_rows = graph_rows.drop_duplicates(["change_id", "property"])
    lake = lake[~lake["change_id"].isin(list(_matched(lake, graph_rows, windows)))]
    merged = pd.concat([f for f in (graph_rows, lake) if len(f)] or [lake], ignore_index=True)
    merged = schema.conform("changes", merged)
    start = _utc(since)
    if start is not None:
        merged = merged[merged["time"].fillna(start) >= start]
    if registry is not None:
        wanted = registry.strip().lower()
        ids = merged["registry_id"].fillna("").str.lower()
        merged = merged[(ids == wanted) | (ids.str.rsplit("/", n=1).str[-1] == wanted)]
    return sort_changes(merged)
