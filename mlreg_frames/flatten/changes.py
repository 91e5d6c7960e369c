"""Resource Graph ``resourcechanges`` rows -> the ``changes`` table (pure: no I/O).

An ARG change row holds one change *record*: ``properties.targetResourceId``,
``targetResourceType``, ``changeType`` (Create, Update, Delete), ``changeAttributes``
(``timestamp``, ``changedBy``, ``changedByType``, ``clientType``, ``operation``,
``correlationId``, ...) and ``changes``: an object of dotted property path ->
``{previousValue, newValue, isTruncated}``. :func:`explode_changes` makes one row per entry of
``changes`` (in Python, not with KQL's ``mv-expand``: the row count stays ARG's), and one row with
a null ``property`` for a record that lists none (a Create or Delete).

Values are kept as ARG gives them: strings stay strings, a JSON null is null, and the *string*
``"null"`` (ARG's word for "absent on this side") stays the string ``"null"``, so the two can be
told apart; any other JSON value (ARG sends strings, but a client may not) becomes its JSON text.
A row that is not an object, or has no ``id``, is skipped and counted in ``attrs["skipped"]``.

Example::

    >>> row = {"id": "/subscriptions/s/providers/Microsoft.Resources/changes/c1",
    ...        "properties": {"targetResourceId": "/subscriptions/s/resourceGroups/G/providers/"
    ...                       "Microsoft.MachineLearningServices/registries/R",
    ...                       "targetResourceType": "Microsoft.MachineLearningServices/registries",
    ...                       "changeType": "Update",
    ...                       "changeAttributes": {"timestamp": "2026-01-02T03:04:05Z"},
    ...                       "changes": {"tags.team": {"previousValue": "null", "newValue": "ml"},
    ...                                   "properties.publicNetworkAccess": {
    ...                                       "previousValue": None, "newValue": "Enabled"}}}}
    >>> frame = explode_changes([row])
    >>> frame[["property", "old", "new"]].astype(object).where(frame.notna()[["property", "old",
    ...     "new"]], None).values.tolist()
    [['properties.publicNetworkAccess', None, 'Enabled'], ['tags.team', 'null', 'ml']]
    >>> frame["registry_id"].iloc[0].endswith("registries/r")
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import schema
from .text import escape_surrogates

__all__ = ["REGISTRY_TYPE", "ChangeSet", "change_value", "explode_changes", "sort_changes"]

REGISTRY_TYPE = "microsoft.machinelearningservices/registries"
"""The ARM type of a registry, lower-cased as ARG gives it."""

_ATTRIBUTES = {
    "changed_by": "changedBy",
    "changed_by_type": "changedByType",
    "client_type": "clientType",
    "operation": "operation",
    "correlation_id": "correlationId",
}


def change_value(value: Any) -> str | None:
    """A ``previousValue``/``newValue`` as a cell: strings as given, JSON null as None.

    Example::

        >>> change_value("null"), change_value(None), change_value(3), change_value([1, "a"])
        ('null', None, '3', '[1,"a"]')
    """
    if value is None:
        return None
    if isinstance(value, str):
        return escape_surrogates(value)
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return escape_surrogates(text)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return change_value(value) if value is not None else None
    return escape_surrogates(str(value))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _record(row: Mapping[str, Any], registry_of: Mapping[str, str]) -> tuple[dict[str, Any], Any]:
    """(the columns shared by a record's rows, its ``changes`` object)."""
    props = row.get("properties")
    props = props if isinstance(props, Mapping) else {}
    attrs = props.get("changeAttributes")
    attrs = attrs if isinstance(attrs, Mapping) else {}
    target = _text(props.get("targetResourceId"))
    resource = target.rstrip("/").lower() if target else None
    rtype = _text(props.get("targetResourceType"))
    rtype = rtype.lower() if rtype else None
    registry = registry_of.get(resource or "")
    if registry is None and rtype == REGISTRY_TYPE:
        registry = resource
    base = {
        "change_id": escape_surrogates(str(row["id"]).lower()),
        "time": _text(attrs.get("timestamp")),
        "resource_id": resource,
        "registry_id": registry,
        "resource_type": rtype,
        "change_type": _text(props.get("changeType")),
        **{col: _text(attrs.get(key)) for col, key in _ATTRIBUTES.items()},
        "source": "graph",
    }
    return base, props.get("changes")


def explode_changes(
    rows: Iterable[Any], registry_of: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The ``changes`` table of ARG ``resourcechanges`` rows (see the module docstring).

    Args:
        rows: ARG rows (``id`` and ``properties`` at least), as the query returns them.
        registry_of: lower-cased resource id -> registry id, for backing accounts; a
            registry's own changes are its own whatever this says.

    Returns:
        The conformed ``changes`` frame, newest first (then by change id and property);
        ``attrs["skipped"]`` counts the rows that were not change records.
    """
    registry_of = registry_of or {}
    out: list[dict[str, Any]] = []
    skipped = 0
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("id"), str) or not row["id"]:
            skipped += 1
            continue
        base, changes = _record(row, registry_of)
        entries = list(changes.items()) if isinstance(changes, Mapping) else []
        if not entries:
            out.append({**base, "property": None, "old": None, "new": None,
                        "is_truncated": False})  # fmt: skip
        for path, entry in entries:
            if isinstance(entry, Mapping):
                old, new = entry.get("previousValue"), entry.get("newValue")
                cut = _truthy(entry.get("isTruncated"))
            else:  # not ARG's shape: the value is kept as the new value
                old, new, cut = None, entry, False
            out.append({**base, "property": escape_surrogates(str(path)),
                        "old": change_value(old), "new": change_value(new),
                        "is_truncated": cut})  # fmt: skip
    frame = pd.DataFrame(out, columns=list(schema.CHANGES.column_names))
    frame["time"] = pd.to_datetime(frame["time"], utc=True, errors="coerce", format="ISO8601")
    frame = schema.conform("changes", frame)
    frame = sort_changes(frame)
    frame.attrs["skipped"] = skipped
    return frame


def sort_changes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` newest first, then by change id and property (nulls first), index reset."""
    return frame.sort_values(
        ["time", "change_id", "property"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


@dataclass
class ChangeSet:
    """What :func:`mlreg_frames.fetch_changes` returns: the change rows and how complete they are.

    ``changes`` is the ``changes`` table; ``fetch_errors`` the scopes that failed or came back
    short (as for a registry fetch); ``oldest`` the oldest change time Resource Graph returned
    (None: no change at all); ``since`` the start of the window asked for; ``warnings`` what the
    caller should know (the window reaching past ``oldest``); ``provenance`` the query and scopes.
    """

    changes: pd.DataFrame
    fetch_errors: pd.DataFrame
    oldest: pd.Timestamp | None = None
    since: pd.Timestamp | None = None
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"ChangeSet({len(self.changes):,} change rows, {len(self.fetch_errors)} fetch "
            f"errors, oldest={self.oldest})"
        )
