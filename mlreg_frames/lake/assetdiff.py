"""What changed in what the registries hold: asset versions added, archived and removed.

:func:`diff_assets` compares the ``asset_versions`` of two :class:`AssetTables` (two
snapshots' :func:`~mlreg_frames.lake.read_assets`) by their natural key ``registry_id,
asset_type, name, version`` and returns rows in the shape of
:func:`~mlreg_frames.lake.diff` (:data:`~mlreg_frames.lake.DIFF_COLUMNS`, table
``asset_versions``), so :func:`~mlreg_frames.lake.diff_snapshots` and ``mlreg-frames diff``
show them beside the registry changes.

A version missing from one side is only *removed* (or *added*) when that side could have
seen it. When that side's fetch failed for the version's registry, type or container (a
``fetch_errors`` row whose scope covers ``{registry id}/{type}/{name}/versions``), did not
ask for its type, listed containers only (``versions=False``) or did not read the registry
at all, the change is ``unknown``: an unread list is never reported as a deletion.

Example::

    >>> import pandas as pd
    >>> def held(versions):
    ...     rows = pd.DataFrame({"registry_id": "/subscriptions/s/.../registries/r",
    ...                          "asset_type": "models", "name": "m",
    ...                          "version": [v for v, _ in versions],
    ...                          "is_archived": [a for _, a in versions]})
    ...     return AssetTables.from_frames({"asset_versions": rows}, allow_missing=True)
    >>> old, new = held([("1", False), ("2", False)]), held([("2", True), ("3", False)])
    >>> diff_assets(old, new)[["key", "change"]].values.tolist()
    [['models/m/1', 'removed'], ['models/m/2', 'archived'], ['models/m/3', 'added']]
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd

from ..assettables import AssetTables
from .diff import DIFF_COLUMNS

__all__ = ["ASSET_CHANGES", "diff_assets"]

ASSET_CHANGES = {
    "added": "the version is only in `new`, whose fetch could see it (after: a few of its "
    "fields as JSON)",
    "removed": "the version is only in `old`, and `new`'s fetch read its list and did not "
    "find it (before: a few of its fields as JSON)",
    "archived": "is_archived went from false to true (field `is_archived`)",
    "unarchived": "is_archived went from true to false (field `is_archived`)",
    "unknown": "the version is on one side only, but the other side could not have seen it; "
    "`field` says why: `fetch_errors` (its list failed; before/after hold the scope), "
    "`asset_types` (that type was not fetched), `versions` (containers only were listed), "
    "`registries` (the registry was not read); or `is_archived` when one side does not say",
}
"""The values of ``change`` on ``asset_versions`` rows, and what they mean."""

_KEY = ["registry_id", "asset_type", "name", "version"]
_SHOWN = ("created_at", "created_by", "is_archived")


def _path(registry_id: str, asset_type: str, name: str) -> str:
    """The versions list a version was read from, as a ``fetch_errors`` scope names it."""
    return f"{registry_id}/{asset_type}/{quote(name, safe='')}/versions".lower()


class _Sight:
    """What one side's fetch could have seen: the failed scopes, types and versions it read."""

    def __init__(self, assets: AssetTables, unread: Collection[str]) -> None:
        self.failed = {str(s).lower().rstrip("/") for s in assets.fetch_errors["scope"].dropna()}
        kinds = assets.provenance.get("asset_types")
        self.kinds = {str(k) for k in kinds} if isinstance(kinds, (list, tuple)) else None
        self.versions = assets.provenance.get("versions", True) is not False
        self.unread = {str(r).lower() for r in unread}

    def blind(self, registry_id: str, asset_type: str, name: str) -> tuple[str, str | None]:
        """Why this side could not have seen a version (field, scope), or ``("", None)``."""
        if registry_id.lower() in self.unread:
            return "registries", registry_id
        if self.kinds is not None and asset_type not in self.kinds:
            return "asset_types", asset_type
        if not self.versions:
            return "versions", f"{registry_id}/{asset_type}"
        if self.failed:
            # the list itself or any list above it (the type's containers, the registry):
            # a few set look-ups per version, however many lists failed
            parts = _path(registry_id, asset_type, name).split("/")
            for end in range(len(parts), 1, -1):
                scope = "/".join(parts[:end])
                if scope in self.failed:
                    return "fetch_errors", scope
        return "", None


def _fields(row: Mapping[str, Any]) -> str:
    shown = {}
    for column in _SHOWN:
        value = row[column]
        if value is None or pd.isna(value):  # NA, NaN and NaT alike: a field not given
            continue
        shown[column] = value.isoformat() if isinstance(value, pd.Timestamp) else value
    return json.dumps(shown, sort_keys=True, default=str)


def _flag(value: Any) -> bool | None:
    return None if value is pd.NA or value is None else bool(value)


def diff_assets(
    old: AssetTables,
    new: AssetTables,
    *,
    unread_old: Collection[str] = (),
    unread_new: Collection[str] = (),
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The asset version changes from ``old`` to ``new`` (see :data:`ASSET_CHANGES`).

    Args:
        old, new: the asset tables of two runs, e.g. two :func:`read_assets` snapshots.
        unread_old, unread_new: registry ids that side's registry fetch did not read (its
            scope failed); their versions are ``unknown`` there, not removed or added.
        names: registry id -> name as ARM spells it (default: the end of the id).

    Returns:
        A frame with :data:`~mlreg_frames.lake.DIFF_COLUMNS` (strings), ``table`` =
        ``asset_versions`` and ``key`` = ``{asset_type}/{name}/{version}``, sorted by
        registry and key. Archiving is compared only on versions both sides hold.
    """
    for side, value in (("old", old), ("new", new)):
        if not isinstance(value, AssetTables):
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"diff_assets takes AssetTables, got {type(value).__name__} for {side}",
                argument=side,
            )
    before = old.asset_versions.set_index(_KEY)
    after = new.asset_versions.set_index(_KEY)
    sight = {"old": _Sight(old, unread_old), "new": _Sight(new, unread_new)}
    rows: list[dict[str, Any]] = []

    def emit(key: tuple[str, ...], change: str, field: str | None, b: Any, a: Any) -> None:
        rid, kind, name, version = key
        rows.append({"registry_id": rid, "key": f"{kind}/{name}/{version}", "change": change,
                     "field": field, "before": b, "after": a})  # fmt: skip

    for frame, missing_from, change in ((before, "new", "removed"), (after, "old", "added")):
        other = after if missing_from == "new" else before
        only = frame.index.difference(other.index, sort=False)
        records = frame.loc[only].reset_index().to_dict("records") if len(only) else []
        for record in records:
            key = tuple(str(record[k]) for k in _KEY)
            why, scope = sight[missing_from].blind(key[0], key[1], key[2])
            text = _fields(record)
            if why:
                sides = (text, scope) if missing_from == "new" else (scope, text)
                emit(key, "unknown", why, *sides)
            else:
                emit(key, change, None, text if change == "removed" else None,
                     text if change == "added" else None)  # fmt: skip
    common = before.index.intersection(after.index, sort=False)
    if len(common):
        was = before.loc[common, "is_archived"]
        now = after.loc[common, "is_archived"]
        for key, b_raw, a_raw in zip(common, was, now, strict=True):
            b, a = _flag(b_raw), _flag(a_raw)
            if b == a:
                continue
            texts = (None if b is None else str(b).lower(), None if a is None else str(a).lower())
            if b is None or a is None:
                emit(key, "unknown", "is_archived", *texts)
            else:
                emit(key, "archived" if a else "unarchived", "is_archived", *texts)
    frame = pd.DataFrame(rows, columns=["registry_id", "key", "change", "field", "before", "after"])
    frame["table"] = "asset_versions"
    frame["name"] = frame["registry_id"].map(
        lambda rid: (names or {}).get(rid) or rid.rsplit("/", 1)[-1]
    )
    frame = frame[list(DIFF_COLUMNS)].sort_values(["registry_id", "key"], kind="stable")
    return frame.reset_index(drop=True).astype("string")
