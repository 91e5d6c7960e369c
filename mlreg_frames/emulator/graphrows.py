"""Rows of the emulated Resource Graph that are not registries: subscriptions, table format.

Helpers of :mod:`mlreg_frames.emulator.graphsim`: a ``Subscriptions - List`` entry as ARG's
``resourcecontainers`` row, and rows in ARG's ``table`` result format.

Example::

    >>> table_format([{"id": "a", "n": 1}])["columns"]
    [{'name': 'id', 'type': 'string'}, {'name': 'n', 'type': 'integer'}]
"""

from __future__ import annotations

from typing import Any

__all__ = ["SUBSCRIPTIONS_TYPE", "container_row", "table_format"]

SUBSCRIPTIONS_TYPE = "microsoft.resources/subscriptions"
"""The ``type`` of a subscription's ``resourcecontainers`` row."""


def container_row(entry: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """A Subscriptions - List entry as ARG's ``resourcecontainers`` row of it."""
    sub = str(entry.get("subscriptionId", ""))
    props = {k: entry[k] for k in ("state", "subscriptionPolicies", "authorizationSource")
             if k in entry}  # fmt: skip
    return {
        "id": f"/subscriptions/{sub}",
        "name": entry.get("displayName"),
        "type": SUBSCRIPTIONS_TYPE,
        "tenantId": entry.get("tenantId", tenant_id),
        "subscriptionId": sub,
        "properties": props,
    }


_COLUMN_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                 (dict, "object"), (list, "array"))  # fmt: skip


def table_format(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows in ARG's ``table`` result format: the columns once, then one list per row."""
    names = list(dict.fromkeys(key for row in rows for key in row))

    def kind(name: str) -> str:
        value = next((row[name] for row in rows if row.get(name) is not None), None)
        return next((label for cls, label in _COLUMN_TYPES if isinstance(value, cls)), "object")

    columns = [{"name": name, "type": kind(name)} for name in names]
    return {"columns": columns, "rows": [[row.get(name) for name in names] for row in rows]}
