"""Azure Resource Graph rows -> the registry shape ARM lists. Pure: no I/O.

A row of ARG's ``resources`` table is the registry object without ``systemData``, with
``type`` lower-cased and seven more columns (``kind`` is ``""`` when there is none, as ARM
itself sometimes says: the walk reads an empty kind as null for both). The
flattener reads both shapes into the same tables; this module says what becomes of ARG's
additions:

========================  ===================================================================
``tenantId``              the ``registries.tenant_id`` column
``subscriptionId``,       dropped when they repeat what the id says (case-insensitive);
``resourceGroup``         kept in ``extra`` when they disagree, so nothing is lost
``managedBy``, ``plan``,  kept in ``extra`` under their own names when not empty
``zones``,
``extendedLocation``
``type``                  the registries type in ARM's spelling
                          (``Microsoft.MachineLearningServices/registries``)
========================  ===================================================================

An ARM registry (none of these keys) passes through unchanged and untouched.

Example::

    >>> row = {"id": "/subscriptions/S1/resourceGroups/rg/providers/x/registries/r",
    ...        "type": "microsoft.machinelearningservices/registries", "kind": "",
    ...        "tenantId": "t-1", "subscriptionId": "s1", "resourceGroup": "rg",
    ...        "managedBy": "", "plan": None, "zones": ["1"], "extendedLocation": None}
    >>> extra = {}
    >>> reg, tenant = from_graph_row(row, extra)
    >>> reg["type"], tenant, extra
    ('Microsoft.MachineLearningServices/registries', 't-1', {'zones': ['1']})
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["GRAPH_KEYS", "REGISTRY_TYPE", "from_graph_row"]

REGISTRY_TYPE = "Microsoft.MachineLearningServices/registries"
"""The registries resource type as ARM spells it."""

GRAPH_KEYS = frozenset(
    {
        "tenantId",
        "subscriptionId",
        "resourceGroup",
        "managedBy",
        "plan",
        "zones",
        "extendedLocation",
    }
)
"""Top-level keys an ARG ``resources`` row has and an ARM registry does not."""

_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.IGNORECASE)
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def from_graph_row(reg: dict[str, Any], extra: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(ARM-shaped registry, tenant id) of an ARG row; an ARM registry comes back as is.

    ARG's additions that carry information the tables do not model go to ``extra``.
    """
    if reg.keys().isdisjoint(GRAPH_KEYS):
        return reg, None
    out: dict[str, Any] = {}
    added: dict[str, Any] = {}
    for key, value in reg.items():
        (added if key in GRAPH_KEYS else out)[key] = value
    match = _ID.match(str(out.get("id") or ""))
    from_id = {"subscriptionId": match.group(1), "resourceGroup": match.group(2)} if match else {}
    for key, value in added.items():
        if key == "tenantId" and (value is None or isinstance(value, str)):
            continue
        if key in from_id and isinstance(value, str) and value.lower() == from_id[key].lower():
            continue
        if value in _EMPTY:
            continue
        extra[key] = value
    rtype = out.get("type")
    if isinstance(rtype, str) and rtype.lower() == REGISTRY_TYPE.lower():
        out["type"] = REGISTRY_TYPE
    tenant = added.get("tenantId")
    return out, tenant if isinstance(tenant, str) else None
