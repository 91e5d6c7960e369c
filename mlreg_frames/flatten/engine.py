"""Registry JSON -> the seven tidy tables. Pure: no I/O, no HTTP.

The walk is written for real payloads, which are messy:

* property names match case-insensitively (``Value``, ``Properties``, ``RegionDetails``);
* renamed fields are read under either name (``registryPrivateEndpointConnections`` /
  ``privateEndpointConnections``, ``registryPrivateLinkServiceConnectionState`` /
  ``privateLinkServiceConnectionState``, ``systemCreated*`` / ``userCreated*`` accounts);
* null or missing objects and lists give nulls or no child rows;
* keys this version does not model are kept in each table's ``extra`` column as
  ``{"dotted.path": value}``, so nothing is dropped;
* a registry seen twice (two pages, two runs) gives one row, the last one seen.

Structurally broken input (a page ``value`` that is not a list, a registry that is not an
object or has no string ``id``, a list or object of the wrong shape) raises
:class:`~mlreg_frames.errors.FlattenError` naming the page, the registry and the field path.

Example::

    >>> from mlreg_frames import flatten
    >>> t = flatten([{"id": "/subscriptions/S/resourceGroups/rg/providers/"
    ...               "Microsoft.MachineLearningServices/registries/r1", "location": "eastus",
    ...               "properties": {"regionDetails": [{"location": "eastus"}]}}])
    >>> t.regions[["location", "is_primary"]].values.tolist()
    [['eastus', True]]
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._gc import paused_gc
from ..errors import FlattenError, NotRegistriesWarning
from ..pages import Page, SubscriptionsPage
from ..tables import RegistryTables
from . import frames, pool
from .subscriptions import subscriptions_frame
from .walk import Ctx, Rows, parse_arm_id, walk_registry

__all__ = ["CHUNK_BYTES", "CHUNK_ITEMS", "PARALLEL_MIN_BYTES", "flatten", "parse_arm_id"]


def _get(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]`` matched case-insensitively (for the page envelope)."""
    if key in obj:
        return obj[key]
    lower = key.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lower), None)


def _registries_of(item: Any, position: int) -> tuple[str, list[Any]]:
    """(page label, registry list) of one input item: a Page, a page dict or a registry."""
    if isinstance(item, Page):
        label = item.source
        body: Any = item.body
    else:
        label = f"input item {position}"
        body = item
    if not isinstance(body, dict):
        raise FlattenError(
            f"expected a page or a registry object, got {type(body).__name__}",
            page=label,
            field="(root)",
        )
    if _get(body, "id") is not None and _get(body, "value") is None:
        return label, [body]
    # `value` and `Value` both present: read both lists rather than drop one unseen.
    lists = [key for key in body if isinstance(key, str) and key.lower() == "value"]
    if not lists:
        raise FlattenError(
            "neither a page (no `value`) nor a registry (no `id`)", page=label, field="(root)"
        )
    found: list[Any] = []
    for key in lists:
        value = body[key]
        if value is None:
            continue
        if not isinstance(value, list):
            raise FlattenError(
                f"a page's `{key}` must be a list of registries, got {type(value).__name__}",
                page=label,
                field=key,
            )
        if len(lists) == 1:
            return label, value
        found.extend(value)
    return label, found


def flatten(
    items: Iterable[Any],
    *,
    provenance: Mapping[str, Any] | None = None,
    workers: int | None = None,
    strict: bool = False,
) -> RegistryTables:
    """Turn ARM registry pages (or registry dicts) into the seven tidy tables.

    Args:
        items: an iterable of :class:`~mlreg_frames.pages.Page` (from ``read_pages``), page
            dicts (``{"value": [...], "nextLink": ...}``), registry dicts, or a mix.
        provenance: merged into the returned tables' ``provenance``.
        workers: processes that parse and flatten page files side by side, this one
            included. ``None`` (the default) uses every core (at most 8) when the input is
            page files not parsed yet, at least :data:`PARALLEL_MIN_BYTES` in all; ``1``
            never starts a process; ``N`` asks for N. Workers are fresh interpreters
            (``python -m mlreg_frames.flatten.worker``), never forks of this process, so
            threads, Jupyter kernels and scripts without a main guard are all safe (see
            :mod:`mlreg_frames.flatten.pool`). The result is the same either way.
        strict: refuse input that is not registries. An item whose ``id`` is a
            well-formed ARM id of another resource type (``/subscriptions/<id>``, a
            workspace, ...) or whose ``type`` names another type is skipped with one
            :class:`~mlreg_frames.errors.NotRegistriesWarning` giving the count; with
            ``strict=True`` it raises :class:`~mlreg_frames.errors.FlattenError`.
            Placeholders that are no ARM id or type at all (``"string"`` in the spec
            examples) are kept.

    Returns:
        RegistryTables with every column declared in :mod:`mlreg_frames.schema`, the same
        dtypes for empty and non-empty input; a registry seen twice is kept once (the last).

    Raises:
        FlattenError: structurally broken input (also: input that is not an iterable of
            pages or dicts, nesting deeper than :data:`~mlreg_frames.flatten.text.MAX_DEPTH`,
            a key that is not a string), naming page, registry and field path.
        PagesError: a page file that cannot be parsed (lazily read pages).

    Example::

        >>> import mlreg_frames as mf
        >>> tables = mf.flatten(mf.read_pages("data/sample"))   # doctest: +SKIP
        >>> tables.storage.groupby("origin").size()             # doctest: +SKIP
    """
    items = _as_list(items)
    listed = [item for item in items if isinstance(item, SubscriptionsPage)]
    if listed:
        items = [item for item in items if not isinstance(item, SubscriptionsPage)]
    if provenance is not None and not isinstance(provenance, Mapping):
        raise TypeError(f"provenance must be a mapping or None, got {type(provenance).__name__}")
    n_workers = _worker_count(items, workers)
    with paused_gc():
        chunks = _chunks(items)
        if n_workers > 1 and len(chunks) > 1:
            results = pool.run(chunks, _flatten_chunk, strict, n_workers)
        else:
            results = [_flatten_chunk(chunk, offset, strict) for chunk, offset in chunks]
        warn_skipped(sum(r[3] for r in results), stacklevel=3)
        arrows = _merge([r[0] for r in results])
        prov: dict[str, Any] = {
            "inputs": sum(r[1] for r in results),
            "registries": arrows["registries"].num_rows,
        }
        api_versions = set().union(*(r[2] for r in results))
        if api_versions:
            prov["api_versions"] = sorted(api_versions)
        prov.update(provenance or {})
        tables = frames.to_tables(arrows, prov)
    if listed:
        tables.subscriptions = _subscriptions(listed)
    return tables


def _subscriptions(listed: list[SubscriptionsPage]) -> pd.DataFrame:
    """The ``subscriptions`` table of saved Subscriptions - List bodies (the last wins)."""
    entries = [entry for page in listed for entry in page.entries]
    outcomes: dict[str, str | None] | None = None
    if any(page.outcomes is not None for page in listed):
        outcomes = {}
        for page in listed:
            outcomes.update(page.outcomes or {})
    return subscriptions_frame(entries, outcomes, source=listed[-1].source)


def _as_list(items: Any) -> list[Any]:
    """The input as a list; a clear error for what is not an iterable of pages or dicts."""
    if isinstance(items, (dict, Page)):
        return [items]
    if items is None or isinstance(items, (str, bytes, bytearray, os.PathLike)):
        hint = (
            "; read files with read_pages(path) first"
            if isinstance(items, (str, os.PathLike))
            else ""
        )
        raise FlattenError(
            f"flatten takes pages or registry dicts (or an iterable of them), got "
            f"{type(items).__name__}{hint}",
            field="(root)",
        )
    try:
        return list(items)
    except TypeError as exc:
        raise FlattenError(
            f"flatten takes pages or registry dicts (or an iterable of them), got "
            f"{type(items).__name__}",
            field="(root)",
        ) from exc


_Result = tuple[dict[str, pa.Table], int, set[str], int]

CHUNK_BYTES = 8 * 2**20
"""Page files are flattened in runs of about this many bytes: the parsed JSON of one run is
all that is alive at a time (the Arrow results are far smaller), and runs spread over
worker processes."""

CHUNK_ITEMS = 256
"""Runs of in-memory pages or registries."""

PARALLEL_MIN_BYTES = 32 * 2**20
"""Below this many bytes of page files, starting processes costs more than it saves."""


def _file_size(item: Any) -> int | None:
    """The byte size of a page file not parsed yet; None for anything in memory."""
    if isinstance(item, Page) and item.path is not None and not item.loaded:
        try:
            return item.path.stat().st_size
        except OSError:
            return 0  # reading it will raise a PagesError naming the file
    return None


def _chunks(items: list[Any]) -> list[tuple[list[Any], int]]:
    """Contiguous runs of the input (with their start position), bounded in bytes or items."""
    chunks: list[tuple[list[Any], int]] = []
    current: list[Any] = []
    start = weight = 0
    for position, item in enumerate(items):
        size = _file_size(item)
        weight += CHUNK_BYTES // CHUNK_ITEMS if size is None else size
        current.append(item)
        if weight >= CHUNK_BYTES:
            chunks.append((current, start))
            current, start, weight = [], position + 1, 0
    if current or not chunks:
        chunks.append((current, start))
    return chunks


def warn_skipped(skipped: int, *, stacklevel: int = 2) -> None:
    """One :class:`NotRegistriesWarning` for ``skipped`` items of other resource types (if any).

    Shared by :func:`flatten` and the fetch, which walks pages as they arrive, so both say
    the same thing once per call rather than once per page.
    """
    if skipped:
        warnings.warn(
            f"skipped {skipped} input item(s) whose id or type names another resource type "
            "(a subscription, a workspace, ...), not a registry; pass registries list "
            "responses, or use strict=True to make this an error",
            NotRegistriesWarning,
            stacklevel=stacklevel,
        )


def _flatten_chunk(items: list[Any], offset: int, strict: bool = False) -> _Result:
    """Walk one run of the input: (Arrow tables, inputs seen, api versions, items skipped).

    A page file not parsed yet is parsed into a throw-away copy, so the caller's lazy
    pages do not keep every parsed body alive.
    """
    seen: dict[str, Rows] = {}
    api_versions: set[str] = set()
    skipped = 0
    for position, item in enumerate(items, start=offset):
        if isinstance(item, Page) and not item.loaded:
            item = item.parsed()
        label, registries = _registries_of(item, position)
        if isinstance(item, Page) and isinstance(item.api_version, str) and item.api_version:
            api_versions.add(item.api_version)
        for index, reg in enumerate(registries):
            ctx = Ctx(label, f"#{index}", strict=strict)
            walked = walk_registry(reg, ctx, index)
            if walked is None:
                skipped += 1
                continue
            rid, rows = walked
            seen.pop(rid, None)  # the last one seen wins, and moves to the end
            seen[rid] = rows
    return frames.build_arrow(seen.values()), len(items), api_versions, skipped


def _merge(results: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Concatenate the runs' tables, keeping each registry only from the last run holding it.

    Runs keep the input order, so this gives exactly the one-pass result: the last one
    seen wins, in the same order.
    """
    later: set[str] = set()
    kept: list[dict[str, pa.Table]] = []
    for arrows in reversed(results):
        ids = set(arrows["registries"].column("registry_id").to_pylist())
        again = ids & later
        if again:
            taken = pa.array(sorted(again), type=pa.string())
            arrows = {
                name: table.filter(pc.invert(pc.is_in(table.column("registry_id"), taken)))
                for name, table in arrows.items()
            }
        later |= ids
        kept.append(arrows)
    kept.reverse()
    if len(kept) == 1:
        return kept[0]
    return {name: pa.concat_tables([k[name] for k in kept]) for name in schema.TABLES}


def _worker_count(items: list[Any], workers: int | None) -> int:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise TypeError(f"workers must be an int or None, got {type(workers).__name__}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    if workers == 1 or len(items) < 2:
        return 1
    sizes = [_file_size(item) for item in items]
    if any(size is None for size in sizes):
        return 1  # only unparsed page files are worth shipping to another process
    if workers is None:
        if not pool.can_start_workers() or sum(s or 0 for s in sizes) < PARALLEL_MIN_BYTES:
            return 1
        workers = min(os.cpu_count() or 1, 8)
    return max(1, workers)
