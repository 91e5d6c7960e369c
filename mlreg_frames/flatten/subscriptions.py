"""Subscriptions - List entries (or Resource Graph ``resourcecontainers`` rows) -> the
``subscriptions`` table.

Pure: the fetch, the Resource Graph source and :func:`~mlreg_frames.flatten` hand in plain
JSON entries and, when a fetch ran, its outcome per subscription. Strings are kept as any
other cell is (lone surrogates escaped reversibly, see :mod:`.text`); an entry that is not a
subscription object, or a modelled field that is not a string, is refused with a
:class:`~mlreg_frames.errors.FlattenError` naming the entry and the field.

Example::

    >>> entry = {"subscriptionId": "AB-12", "displayName": "Prod", "state": "Enabled"}
    >>> frame = subscriptions_frame([entry], {"ab-12": "fetched"})
    >>> frame[["subscription_id", "display_name", "outcome", "listed"]].values.tolist()
    [['ab-12', 'Prod', 'fetched', True]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .. import schema
from ..errors import FlattenError
from .text import encode_json, escape_surrogates, find_bad_value, short_path

__all__ = [
    "from_graph_row",
    "is_subscription_id",
    "subscription_labels",
    "subscriptions_frame",
]

_TOP = {
    "subscriptionId": "subscription_id",
    "displayName": "display_name",
    "state": "state",
    "tenantId": "tenant_id",
    "authorizationSource": "authorization_source",
}
_POLICIES = {
    "spendingLimit": "spending_limit",
    "quotaId": "quota_id",
    "locationPlacementId": "location_placement_id",
}
_DERIVED = {"id"}  # /subscriptions/<subscriptionId>: nothing the key does not say


def is_subscription_id(text: object) -> bool:
    """Whether ``text`` can be a subscription id in an ARM path (no separators, not blank)."""
    return isinstance(text, str) and bool(text.strip()) and not any(c in text for c in "/?#\\%")


def from_graph_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Resource Graph ``resourcecontainers`` subscription row as a Subscriptions - List entry.

    Graph names the display name ``name`` and nests state and policies in ``properties``.

    Example::

        >>> from_graph_row({"subscriptionId": "s1", "name": "Prod",
        ...                 "properties": {"state": "Enabled"}})["displayName"]
        'Prod'
    """
    props = row.get("properties")
    props = props if isinstance(props, Mapping) else {}
    entry: dict[str, Any] = {
        "subscriptionId": row.get("subscriptionId"),
        "displayName": row.get("name"),
        "tenantId": row.get("tenantId"),
        "state": props.get("state"),
    }
    for key in ("authorizationSource", "subscriptionPolicies", "managedByTenants"):
        if key in props:
            entry[key] = props[key]
    if row.get("tags"):
        entry["tags"] = row["tags"]
    return entry


def _text(value: Any, where: str, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FlattenError(
            f"{where}: `{field}` is a {type(value).__name__}, not a string; fix the "
            "Subscriptions - List entry or remove it",
            field=field,
        )
    return escape_surrogates(value)


def _row(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise FlattenError(
            f"{where} is a {type(entry).__name__}, not a subscription object; pass the "
            "`value` entries of Subscriptions - List",
            field="(entry)",
        )
    sub = entry.get("subscriptionId")
    if not is_subscription_id(sub):
        raise FlattenError(
            f"{where}: `subscriptionId` is {short_path(repr(sub))}, not a subscription id; fix "
            "or remove the entry",
            field="subscriptionId",
        )
    row: dict[str, Any] = {"listed": True}
    for key, column in _TOP.items():
        row[column] = _text(entry.get(key), where, key)
    row["subscription_id"] = row["subscription_id"].strip().lower()
    extra: dict[str, Any] = {}
    policies = entry.get("subscriptionPolicies")
    if isinstance(policies, Mapping):
        for key, value in policies.items():
            if key in _POLICIES:
                row[_POLICIES[key]] = _text(value, where, f"subscriptionPolicies.{key}")
            else:
                extra[f"subscriptionPolicies.{key}"] = value
    elif policies is not None:
        extra["subscriptionPolicies"] = policies
    for key, value in entry.items():
        if key not in _TOP and key not in _DERIVED and key != "subscriptionPolicies":
            extra[str(key)] = value
    if extra:
        bad = find_bad_value(extra)
        if bad is not None:
            raise FlattenError(f"{where}: {bad.reason} at {bad.path}", field=bad.path)
        row["extra"] = encode_json(extra, sort_keys=True)
    return row


def subscriptions_frame(
    entries: Iterable[Any],
    outcomes: Mapping[str, str | None] | None = None,
    *,
    source: str = "Subscriptions - List",
) -> pd.DataFrame:
    """The ``subscriptions`` table of listed ``entries`` and the fetch's ``outcomes``.

    Args:
        entries: Subscriptions - List entries (the last one wins for a repeated id).
        outcomes: subscription id (any case) -> outcome; ids not among ``entries`` become
            rows with ``listed`` false and no name. None: no fetch ran (outcome null).
        source: names the input in error messages.

    Returns:
        The conformed table, sorted by ``subscription_id``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        row = _row(entry, f"{source} entry {index}")
        rows[row["subscription_id"]] = row
    for sub, outcome in (outcomes or {}).items():
        key = sub.strip().lower()
        row = rows.setdefault(key, {"subscription_id": key, "listed": False})
        row["outcome"] = outcome
    columns = list(schema.SUBSCRIPTIONS.column_names)
    frame = pd.DataFrame([rows[k] for k in sorted(rows)], columns=columns)
    frame["listed"] = frame["listed"].astype(bool) if len(frame) else frame["listed"]
    return schema.conform("subscriptions", frame)


_LABEL_WIDTH = 32


def _printable(text: str) -> str:
    shown = "".join(c if c.isprintable() else "?" for c in text).strip()
    return shown if len(shown) <= _LABEL_WIDTH else shown[: _LABEL_WIDTH - 3] + "..."


def subscription_labels(subscriptions: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """A short, printable label per subscription id: its display name when listed, else the
    first 8 characters of the id; a name two subscriptions share gets the id's start added.

    Example::

        >>> subs = subscriptions_frame([{"subscriptionId": "ab-12", "displayName": "Prod"}])
        >>> subscription_labels(subs, pd.Series(["AB-12", "cd-34567890", None])).tolist()
        ['Prod', 'cd-34567', '(none)']
    """
    known = subscriptions.dropna(subset=["display_name"])
    names = dict(zip(known["subscription_id"], known["display_name"], strict=True))
    shown = {sub: _printable(str(name)) for sub, name in names.items()}
    counts = pd.Series(list(shown.values()), dtype=object).value_counts()
    shared = set(counts[counts > 1].index)

    def label(value: object) -> str:
        if not isinstance(value, str):
            return "(none)"
        sub = value.lower()
        if sub not in shown or not shown[sub]:
            return sub[:8]
        text = shown[sub]
        return f"{text} ({sub[:8]})" if text in shared else text

    return pd.Series([label(v) for v in ids], index=ids.index, dtype=object)
