"""What changed between two sets of registry tables, as one tidy frame of changes.

Rows are matched by natural keys where ARM gives them, so a reordered ``regionDetails`` list
is not a change, and fall back to the declared keys (list positions) where it does not:

=================  ===========================================================
table              a row is the same row when it has the same...
=================  ===========================================================
``registries``     ``registry_id``
``regions``        ``location`` (compared without case or spaces)
``storage``        ``resource_id``, else (``location``, ``storage_account_name``)
``acr``            ``resource_id``, else (``location``, ``acr_name``)
``identities``     (``kind``, ``resource_id``), else (``kind``, ``principal_id``)
``pe_connections`` ``connection_id``
``tags``           (``source``, ``key``)
``subscriptions``  ``subscription_id`` (its rows have no ``registry_id``)
=================  ===========================================================

``subscriptions`` are compared only when both sides have some: an older lake or pages
without ``_subscriptions.json`` have none, which means "not known", not "all removed". Their
``outcome`` (what that run's fetch did) describes the run, not the estate, and is not
compared: a truncated fetch shows as ``unfetched`` registries, not as a change.

ARM ids and locations are compared case-insensitively (ARM ids are), list positions are not
compared at all, and ``extra`` (payload keys the schema does not model) is compared as JSON,
reported as field ``extra`` with only the differing entries on each side.

Example::

    >>> from mlreg_frames import flatten
    >>> rid = "/subscriptions/s/resourceGroups/g/providers/P/registries/r"
    >>> old = flatten([{"id": rid, "properties": {"publicNetworkAccess": "Enabled"}}])
    >>> new = flatten([{"id": rid, "properties": {"publicNetworkAccess": "Disabled"}}])
    >>> diff(old, new)[["table", "change", "field", "before", "after"]].values.tolist()
    [['registries', 'changed', 'public_network_access', 'Enabled', 'Disabled']]
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..tables import RegistryTables

__all__ = ["CHANGES", "DIFF_COLUMNS", "NATURAL_KEYS", "diff"]

DIFF_COLUMNS = ("registry_id", "name", "table", "change", "key", "field", "before", "after")
"""The columns of a diff, all strings. ``name`` is the registry's name as ARM returned it."""

CHANGES = {
    "added": "the registry or child row is only in `new` (before is null)",
    "removed": "the registry or child row is only in `old` (after is null)",
    "changed": "one field differs; `field` names it, `before` and `after` hold the values",
    "unfetched": "the registry is in one side only, but the other side's fetch did not read its "
    "scope: it failed there (field `fetch_errors`) or was not asked for it (field `scopes`); "
    "`before`/`after` hold that scope; not a real removal or addition",
}
"""The values of the ``change`` column and what they mean."""

NATURAL_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "regions": (("location",),),
    "storage": (("resource_id",), ("location", "storage_account_name")),
    "acr": (("resource_id",), ("location", "acr_name")),
    "identities": (("kind", "resource_id"), ("kind", "principal_id")),
    "pe_connections": (("connection_id",),),
    "tags": (("source", "key"),),
}
"""Per child table, the natural keys tried in order; the declared key is the last resort."""

_INDEX_COLUMNS = frozenset(
    {"region_index", "storage_index", "acr_index", "identity_index", "pe_index"}
)
_CASELESS = frozenset(
    {
        "arm_id",
        "resource_id",
        "connection_id",
        "private_endpoint_id",
        "subnet_id",
        "managed_resource_group_id",
        "principal_id",
        "client_id",
        "tenant_id",
    }
)
_MISSING = "\x00<NA>"


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _texts(frame: pd.DataFrame, table: schema.Table) -> dict[str, pd.Series]:
    """Each column as display text (object dtype, None for null).

    Strings stay as they are, booleans become ``true`` / ``false``, integers decimal,
    timestamps ISO 8601 and lists JSON.
    """
    out: dict[str, pd.Series] = {}
    for col in table.columns:
        series = frame[col.name]
        missing = series.isna().to_numpy(dtype=bool)
        if col.kind in ("timestamp", "string_list"):
            render = (lambda v: v.isoformat()) if col.kind == "timestamp" else _json_list
            values = np.array(
                [None if m else render(v) for v, m in zip(series, missing, strict=True)],
                dtype=object,
            )
        else:
            text = series.astype("string")
            text = text.str.lower() if col.kind == "bool" else text
            values = text.astype(object).to_numpy(copy=True)
        values[missing] = None
        out[col.name] = pd.Series(values, index=frame.index, dtype=object)
    return out


def _json_list(value: Any) -> str:
    return json.dumps(list(value))


def _norm(name: str, text: pd.Series) -> pd.Series:
    if name == "location":
        return text.map(lambda v: None if _null(v) else v.replace(" ", "").lower())
    if name in _CASELESS:
        return text.map(lambda v: None if _null(v) else v.lower())
    return text


def _comparable(name: str, text: pd.Series) -> pd.Series:
    return _norm(name, text).map(lambda v: _MISSING if _null(v) else v)


def _keys(name: str, texts: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """The natural key of each row as text, unique within its registry."""
    table = schema.ALL_TABLES[name]
    fallback = [k for k in table.key if k != "registry_id"]
    keys = pd.Series(
        [
            " ".join(f"{k}={v}" for k, v in zip(fallback, vals, strict=True))
            for vals in zip(*(texts[k] for k in fallback), strict=True)
        ]
        if fallback
        else [],
        index=index,
        dtype=object,
    )
    for candidate in reversed(NATURAL_KEYS.get(name, ())):
        parts = [_norm(c, texts[c]) for c in candidate]
        usable = pd.concat(parts, axis=1).notna().all(axis=1)
        joined = pd.Series(
            [" / ".join(v) if ok else None for ok, *v in zip(usable, *parts, strict=True)],
            index=index,
            dtype=object,
        )
        keys = joined.where(usable, keys)
    occurrence = keys.groupby([texts["registry_id"], keys]).cumcount() if len(keys) else keys
    return keys.where(occurrence == 0, keys + "#" + (occurrence + 1).astype(str))


def _prepared(name: str, frame: pd.DataFrame, registry_ids: set[str]) -> pd.DataFrame:
    table = schema.ALL_TABLES[name]
    frame = frame[frame["registry_id"].isin(registry_ids)].reset_index(drop=True)
    texts = _texts(frame, table)
    out = pd.DataFrame(texts, index=frame.index)
    if name != "registries":
        out["_key"] = _keys(name, texts, frame.index)
    return out


def _extra_delta(before: str | None, after: str | None) -> tuple[str | None, str | None] | None:
    """The differing entries of two ``extra`` JSON texts, or None when they agree."""
    try:
        a = json.loads(before) if before else {}
        b = json.loads(after) if after else {}
    except ValueError:
        return None if before == after else (before, after)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None if a == b else (before, after)
    keys = sorted(k for k in set(a) | set(b) if a.get(k, _MISSING) != b.get(k, _MISSING))
    if not keys:
        return None

    def pick(side: dict[str, Any]) -> str | None:
        part = {k: side[k] for k in keys if k in side}
        return json.dumps(part, sort_keys=True) if part else None

    return pick(a), pick(b)


def _row_json(row: pd.Series, fields: list[str], suffix: str, table: schema.Table) -> str:
    """An added or removed child row as JSON, each value of its own JSON type: booleans,
    integers and lists stay what they are (the texts of :func:`_texts` are for comparing)."""
    kinds = {c.name: c.kind for c in table.columns}
    values: dict[str, Any] = {}
    for f in fields:
        value = row[f + suffix]
        if _null(value):
            continue
        kind = kinds.get(f)
        if kind == "bool":
            value = value == "true"
        elif kind == "int":
            value = int(value)
        elif kind == "string_list":
            value = json.loads(value)
        values[f] = value
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def _table_changes(
    name: str, old: pd.DataFrame, new: pd.DataFrame, ignore: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    table = schema.ALL_TABLES[name]
    skip = {"registry_id", *_INDEX_COLUMNS, *ignore}
    fields = [c for c in table.column_names if c not in skip]
    on = ["registry_id"] if name == "registries" else ["registry_id", "_key"]
    merged = old.merge(new, how="outer", on=on, suffixes=("_old", "_new"), indicator=True)
    rows: list[dict[str, Any]] = []
    is_child = name != "registries"
    for _, row in merged[merged["_merge"] != "both"].iterrows():
        side, change = ("_old", "removed") if row["_merge"] == "left_only" else ("_new", "added")
        text = _row_json(row, fields, side, table) if is_child else None
        rows.append(
            {
                "registry_id": row["registry_id"],
                "table": name,
                "change": change,
                "key": row["_key"] if is_child else None,
                "field": None,
                "before": text if change == "removed" else None,
                "after": text if change == "added" else None,
            }
        )
    both = merged[merged["_merge"] == "both"]
    for field in fields:
        before, after = both[field + "_old"], both[field + "_new"]
        differs = _comparable(field, before) != _comparable(field, after)
        for idx in both.index[differs.to_numpy(dtype=bool)]:
            b, a = (None if _null(v) else v for v in (before[idx], after[idx]))
            if field == "extra":
                delta = _extra_delta(b, a)
                if delta is None:
                    continue
                b, a = delta
            rows.append(
                {
                    "registry_id": both.at[idx, "registry_id"],
                    "table": name,
                    "change": "changed",
                    "key": both.at[idx, "_key"] if is_child else None,
                    "field": field,
                    "before": b,
                    "after": a,
                }
            )
    return rows


def _failed_scope(registry_id: str, scopes: list[str]) -> str | None:
    for scope in scopes:
        if registry_id.startswith(scope.lower().rstrip("/") + "/"):
            return scope
    return None


def _fetched_scopes(tables: RegistryTables) -> list[str]:
    """The scopes a fetch asked for (``provenance["scopes"]``); empty when not known."""
    scopes = tables.provenance.get("scopes") if isinstance(tables.provenance, dict) else None
    if not isinstance(scopes, (list, tuple)):
        return []
    return [str(scope) for scope in scopes if scope]


def _unasked_scope(registry_id: str, scopes: list[str]) -> str | None:
    """The registry's scope when a fetch that listed ``scopes`` never asked for it."""
    if not scopes or _failed_scope(registry_id, scopes) is not None:
        return None
    by_group = all("/resourcegroups/" in scope.lower() for scope in scopes)
    # "/subscriptions/<id>", or ".../resourcegroups/<rg>" when the fetch listed resource groups
    return "/".join(registry_id.split("/")[: 5 if by_group else 3])


def _unfetched(registry_id: str, failed: list[str], asked: list[str]) -> tuple[str, str] | None:
    """(field, scope) when the side without ``registry_id`` did not read its scope."""
    scope = _failed_scope(registry_id, failed)
    if scope is not None:
        return "fetch_errors", scope
    scope = _unasked_scope(registry_id, asked)
    return None if scope is None else ("scopes", scope)


def _names(*sides: RegistryTables) -> dict[str, str]:
    """registry_id -> its name as ARM spelled it (``name``, else the end of ``arm_id``).

    The first side that knows a registry wins, so a renamed-case registry shows its new name.
    """
    names: dict[str, str] = {}
    for tables in sides:
        regs = tables.registries
        spelled = regs["name"].fillna(regs["arm_id"].str.split("/").str[-1])
        for rid, name in zip(regs["registry_id"], spelled, strict=True):
            if not _null(rid) and rid not in names and not _null(name) and name is not pd.NA:
                names[rid] = str(name)
    return names


_RUN_COLUMNS = ("outcome",)
"""Columns of ``subscriptions`` that describe one fetch, not the subscription."""


def _subscription_changes(old: pd.DataFrame, new: pd.DataFrame) -> list[dict[str, Any]]:
    """Changes of the ``subscriptions`` table, keyed by ``subscription_id`` (no registry)."""
    if old.empty or new.empty:
        return []
    table = schema.ALL_TABLES["subscriptions"]
    sides = []
    for frame in (old, new):
        frame = frame.reset_index(drop=True)
        out = pd.DataFrame(_texts(frame, table), index=frame.index)
        out["_key"] = out["subscription_id"].str.lower()
        out["registry_id"] = ""  # one group: the table is not per registry
        sides.append(out.dropna(subset=["_key"]).drop_duplicates("_key", keep="last"))
    rows = _table_changes("subscriptions", sides[0], sides[1], ignore=_RUN_COLUMNS)
    for row in rows:
        row["registry_id"] = None
    return rows


def _subscription_names(*sides: RegistryTables) -> dict[str, str]:
    """subscription_id -> display name, from the first side that names it."""
    names: dict[str, str] = {}
    for tables in sides:
        frame = tables.subscriptions
        for sub, name in zip(frame["subscription_id"], frame["display_name"], strict=True):
            if isinstance(sub, str) and isinstance(name, str):
                names.setdefault(sub.lower(), name)
    return names


def diff(old: RegistryTables, new: RegistryTables) -> pd.DataFrame:
    """The changes from ``old`` to ``new``: one row per registry, child row or field changed.

    Args:
        old, new: two sets of tables, e.g. two snapshots from :func:`mlreg_frames.lake.read`.

    Returns:
        A frame with :data:`DIFF_COLUMNS` (strings): ``registry_id``, ``name`` (the
        registry's name as ARM returned it, from ``new``, else ``old``; for a
        ``subscriptions`` row, null registry, the subscription's display name and its id
        as ``key``), ``table``, ``change``
        (see :data:`CHANGES`), ``key`` (the child row's natural key as text, null for
        ``registries``), ``field`` (for ``changed``), ``before`` and ``after`` (the values
        as text; for an added or removed child row, its fields as a JSON object). The
        children of an added or removed registry are not listed: its one row says it all.
        Sorted by registry, table, key, field.

    Example::

        >>> changes = diff(lake.read(root, -2), lake.read(root))       # doctest: +SKIP
        >>> changes.query("field == 'public_network_access'")          # doctest: +SKIP
    """
    old_ids = set(old.registries["registry_id"].dropna())
    new_ids = set(new.registries["registry_id"].dropna())
    rows: list[dict[str, Any]] = []
    failed = {
        "old": old.fetch_errors["scope"].dropna().tolist(),
        "new": new.fetch_errors["scope"].dropna().tolist(),
    }
    asked = {"old": _fetched_scopes(old), "new": _fetched_scopes(new)}
    unfetched = set()
    for rid in sorted(old_ids ^ new_ids):
        other = "new" if rid in old_ids else "old"  # the side the registry is missing from
        unread = _unfetched(rid, failed[other], asked[other])
        if unread is not None:
            unfetched.add(rid)
            field, scope = unread
            before, after = (None, scope) if other == "new" else (scope, None)
            rows.append(
                {
                    "registry_id": rid,
                    "table": "registries",
                    "change": "unfetched",
                    "key": None,
                    "field": field,
                    "before": before,
                    "after": after,
                }
            )
    common = old_ids & new_ids
    for name in schema.TABLES:
        keep = (old_ids | new_ids) - unfetched if name == "registries" else common
        found = _table_changes(
            name, _prepared(name, old[name], keep), _prepared(name, new[name], keep)
        )
        rows += found
    rows += _subscription_changes(old.subscriptions, new.subscriptions)
    frame = pd.DataFrame(rows, columns=[c for c in DIFF_COLUMNS if c != "name"])
    frame.insert(1, "name", frame["registry_id"].map(_names(new, old)))
    subs = frame["table"] == "subscriptions"
    frame.loc[subs, "name"] = frame.loc[subs, "key"].map(_subscription_names(new, old))
    order = {name: i for i, name in enumerate((*schema.TABLES, "subscriptions"))}
    frame = frame.assign(_t=frame["table"].map(order)).sort_values(
        ["registry_id", "_t", "key", "field", "change"], na_position="first", kind="stable"
    )
    return frame.drop(columns="_t").reset_index(drop=True).astype("string")
