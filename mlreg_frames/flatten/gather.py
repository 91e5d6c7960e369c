"""Merge walked chunks as they come, in any order, into what one ordered merge would give.

A fetch walks each scope's pages to Arrow while other scopes are still listing, so chunks
arrive in completion order, while the tables must come out in archive order (the order of
``flatten(read_pages(raw_dir))``: by page name). Keeping every chunk to the end and merging
once (:func:`mlreg_frames.flatten.engine._merge`) costs seven Arrow tables per chunk, most of
them empty in a large tenant (about 70 KiB per empty subscription: 3.4 GB for 50,000).

:class:`Gatherer` keeps instead one growing table per schema table: a chunk with no rows only
adds its counts, and every other chunk's rows are appended with their chunk's name in a
hidden column :data:`ORDER_KEY`, compacted every ``compact_every`` chunks. :meth:`Gatherer.result`
then sorts stably by that name and keeps a registry found in several chunks from the last
one only: exactly :func:`~mlreg_frames.flatten.engine._merge` of the chunks sorted by name.

Example::

    >>> from mlreg_frames.flatten import engine
    >>> gatherer = Gatherer()
    >>> gatherer.add("b", engine._flatten_chunk([], 0))
    >>> arrows, inputs, versions, skipped = gatherer.result()
    >>> arrows["registries"].num_rows, inputs
    (0, 0)
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .frames import build_arrow

__all__ = ["ORDER_KEY", "Gatherer"]

ORDER_KEY = "__mlreg_chunk"
"""The hidden column holding each row's chunk name while gathering (dropped at the end)."""

Chunk = tuple[dict[str, pa.Table], int, set[str], int]
"""What :func:`mlreg_frames.flatten.engine._flatten_chunk` returns: (tables, inputs seen,
api versions, items skipped)."""


class Gatherer:
    """The merge of named chunks, fed one at a time (not thread-safe: one walker feeds it).

    Args:
        compact_every: chunks appended between compactions into one Arrow chunk per table.
    """

    def __init__(self, compact_every: int = 256) -> None:
        self._tables: dict[str, list[pa.Table]] = {name: [] for name in schema.TABLES}
        self._blocks = {name: 0 for name in schema.TABLES}  # compacted tables, per table
        self._empty: dict[str, pa.Table] | None = None
        self._since_compaction = 0
        self._compact_every = max(1, compact_every)
        self.inputs = 0
        self.api_versions: set[str] = set()
        self.skipped = 0

    def count(self, inputs: int, api_versions: set[str], skipped: int = 0) -> None:
        """Count inputs that gave no rows (pages with an empty ``value``)."""
        self.inputs += inputs
        self.api_versions |= api_versions
        self.skipped += skipped

    def add(self, name: str, chunk: Chunk) -> None:
        """Merge one chunk named ``name`` (its first page's archive name)."""
        arrows, inputs, api_versions, skipped = chunk
        self.count(inputs, api_versions, skipped)
        if self._empty is None:
            self._empty = {key: table.slice(0, 0) for key, table in arrows.items()}
        if not any(table.num_rows for table in arrows.values()):
            return
        for key, table in arrows.items():
            if table.num_rows:
                keys = pa.array([name] * table.num_rows, type=pa.string())
                self._tables[key].append(table.append_column(ORDER_KEY, keys))
        self._since_compaction += 1
        if self._since_compaction >= self._compact_every:
            self._compact()

    def _compact(self) -> None:
        """The chunks appended since the last compaction become one block per table (the
        blocks before are left alone: each row is copied once, not once per compaction)."""
        for key, tables in self._tables.items():
            done = self._blocks[key]
            if len(tables) - done > 1:
                self._tables[key] = [
                    *tables[:done],
                    pa.concat_tables(tables[done:]).combine_chunks(),
                ]
            self._blocks[key] = len(self._tables[key])
        self._since_compaction = 0

    def result(self) -> Chunk:
        """(tables, inputs, api versions, skipped) of everything added, as one ordered merge."""
        template = self._empty if self._empty is not None else build_arrow([])
        self._compact()
        merged: dict[str, pa.Table] = {}
        for key, tables in self._tables.items():
            if tables:
                merged[key] = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            else:
                merged[key] = template[key].append_column(ORDER_KEY, pa.array([], pa.string()))
        merged = _keep_last(merged)
        out = {}
        for key, table in merged.items():
            order = pc.sort_indices(table, sort_keys=[(ORDER_KEY, "ascending")])  # stable
            out[key] = table.take(order).drop_columns([ORDER_KEY])
        return out, self.inputs, set(self.api_versions), self.skipped


def _keep_last(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Each registry only from the last chunk (by name) holding it, as the ordered merge keeps."""
    registries = tables["registries"]
    ids = registries.column("registry_id")
    if pc.count_distinct(ids).as_py() == registries.num_rows:
        return tables  # the usual case: every registry was seen once
    last: dict[Any, str] = {}
    for rid, name in zip(ids.to_pylist(), registries.column(ORDER_KEY).to_pylist(), strict=True):
        last[rid] = max(name, last.get(rid, name))
    out = {}
    for key, table in tables.items():
        keep = [
            last.get(rid) == name
            for rid, name in zip(
                table.column("registry_id").to_pylist(),
                table.column(ORDER_KEY).to_pylist(),
                strict=True,
            )
        ]
        out[key] = table.filter(pa.array(keep, type=pa.bool_()))
    return out
