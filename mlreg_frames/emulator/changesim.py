"""What Resource Graph's ``resourcechanges`` table holds for an emulated fleet: no sockets.

:class:`ChangeModel` makes change records for the registries of an
:class:`~mlreg_frames.emulator.armsim.ArmModel` (the sample or a generated fleet) and the
storage accounts and container registries it serves, in ARG's row shape (``id``, ``name``,
``type`` ``microsoft.resources/changes``, ``subscriptionId``, ``resourceGroup``, ``properties``
with ``targetResourceId``, ``targetResourceType``, ``changeType``, ``changeAttributes`` and
``changes``), deterministically from the ids and ``now``:

* a Create (no ``changes``) for every third registry, 13 days back;
* an Update of several properties for every registry (``publicNetworkAccess`` to its current
  value, a tag added over the *string* ``"null"``, on every fourth a description cut at 1,024
  characters with ``isTruncated: "true"``), 1 to 10 days back;
* a second Update on every other registry: a region added (``previousValue`` a JSON null) and
  the identity type changed;
* an Update of each storage account's ``networkAcls.defaultAction`` by an application;
* a Delete (no ``changes``) of the container registry of every fifth registry.

:meth:`ChangeModel.rows` answers a query: the records of the subscriptions in scope, of the
types in ``targetType in~ (...)``, detected after ``ago(<n>d)`` and within ``retention_days``
(ARG's 14). :class:`~mlreg_frames.emulator.graphsim.GraphModel` pages them like any rows.

Example::

    >>> from datetime import datetime, timezone
    >>> from mlreg_frames.emulator.armsim import ArmModel
    >>> model = ArmModel(resources=[])
    >>> changes = ChangeModel(model, now=datetime(2026, 1, 15, tzinfo=timezone.utc))
    >>> kinds = {r["properties"]["changeType"] for r in changes.records}
    >>> sorted(kinds), len(changes.rows("resourcechanges | where x > ago(1d)", None)) < 5
    (['Create', 'Update'], True)
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .armsim import ArmModel

__all__ = ["CHANGES_TYPE", "ChangeModel", "change_record"]

CHANGES_TYPE = "microsoft.resources/changes"
"""The ``type`` of a ``resourcechanges`` row."""

_REGISTRY = "microsoft.machinelearningservices/registries"
_STORAGE = "microsoft.storage/storageaccounts"
_ACR = "microsoft.containerregistry/registries"
_AGO = re.compile(r"ago\(\s*(\d+(?:\.\d+)?)d\s*\)", re.I)
_TYPES = re.compile(r"targetType\s+in~\s*\((.*?)\)", re.I | re.S)
_ID = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/", re.I)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _stamp(when: datetime) -> str:
    """ARG's timestamp spelling: seven fractional digits and ``Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def change_record(
    target: str,
    target_type: str,
    change_type: str,
    when: datetime,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    by: str = "ml-admin@contoso.example",
    by_type: str = "User",
    client: str = "Azure Portal",
    operation: str | None = None,
) -> dict[str, Any]:
    """One ``resourcechanges`` row for ``target`` (ids and values as ARG writes them).

    Example::

        >>> row = change_record("/subscriptions/s/resourceGroups/g/providers/a/b/c", "a/b",
        ...                     "Delete", datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> row["properties"]["changeAttributes"]["timestamp"], row["properties"]["changes"]
        ('2026-01-01T00:00:00.0000000Z', {})
    """
    key = _digest(target.lower(), change_type, when.isoformat())
    change_id = str(uuid.UUID(key[:32]))
    match = _ID.match(target)
    sub, group = (match.group(1), match.group(2).lower()) if match else ("", "")
    verb = "delete" if change_type == "Delete" else "write"
    return {
        "id": f"{target}/providers/Microsoft.Resources/changes/{change_id}",
        "name": change_id,
        "type": CHANGES_TYPE,
        "tenantId": None,
        "subscriptionId": sub,
        "resourceGroup": group,
        "properties": {
            "targetResourceId": target,
            "targetResourceType": target_type,
            "changeType": change_type,
            "changeAttributes": {
                "correlationId": str(uuid.UUID(_digest(key, "correlation")[:32])),
                "timestamp": _stamp(when),
                "changesCount": len(changes or {}),
                "previousResourceSnapshotId": key[32:64],
                "newResourceSnapshotId": _digest(key, "new")[:32],
                "changedBy": by,
                "changedByType": by_type,
                "clientType": client,
                "operation": operation or f"{target_type}/{verb}",
            },
            "changes": {k: dict(v) for k, v in (changes or {}).items()},
        },
    }


def _backing(model: ArmModel) -> tuple[list[str], list[str]]:
    """(storage account ids, container registry ids) the model serves, as written."""
    storage: list[str] = []
    acrs: list[str] = []
    for body in model.resources.values():
        kind = str(body.get("type", "")).lower()
        rid = str(body.get("id", ""))
        (storage if kind == _STORAGE else acrs if kind == _ACR else []).append(rid)
    return sorted(storage, key=str.lower), sorted(acrs, key=str.lower)


def _registry_records(index: int, reg: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    rid, day = str(reg["id"]), timedelta(days=1)
    props = reg.get("properties") if isinstance(reg.get("properties"), Mapping) else {}
    access = str((props or {}).get("publicNetworkAccess") or "Enabled")
    other = "Disabled" if access.lower() == "enabled" else "Enabled"
    out = []
    if index % 3 == 0:
        out.append(change_record(rid, _REGISTRY, "Create", now - 13 * day - index * timedelta(
            minutes=7)))  # fmt: skip
    changes: dict[str, dict[str, Any]] = {
        "properties.publicNetworkAccess": {"previousValue": other, "newValue": access},
        "tags.owner": {"previousValue": "null", "newValue": f"team-{index % 4}"},
    }
    if index % 4 == 1:
        text = "Shared models for the forecasting teams. " * 40
        changes["properties.description"] = {
            "previousValue": "null", "newValue": text[:1024], "isTruncated": "true"}  # fmt: skip
    when = now - (1 + index % 10) * day - timedelta(hours=index % 24)
    out.append(change_record(rid, _REGISTRY, "Update", when, changes,
                             client="Azure CLI" if index % 2 else "Azure Portal"))  # fmt: skip
    if index % 2 == 0:
        second: dict[str, dict[str, Any]] = {
            "properties.regionDetails[1].location": {"previousValue": None, "newValue": "westus"},
            "identity.type": {"previousValue": "None", "newValue": "SystemAssigned"},
        }
        out.append(change_record(rid, _REGISTRY, "Update", when + timedelta(hours=2), second,
                                 by="deploy-pipeline", by_type="Application",
                                 client="ARM template"))  # fmt: skip
    return out


class ChangeModel:
    """The ``resourcechanges`` rows of an ARM model's registries and backing accounts.

    Args:
        model: the ARM model (its registries and ``resources``).
        now: the time the records count back from (default: when the model is made).
        records: the rows to serve instead of the generated ones (constructed histories).
        retention_days: records older than this are never served (ARG keeps 14 days).
    """

    def __init__(
        self,
        model: ArmModel,
        *,
        now: datetime | None = None,
        records: Iterable[Mapping[str, Any]] | None = None,
        retention_days: float = 14.0,
    ):
        self.now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        self.retention_days = retention_days
        if records is not None:
            self.records = [dict(r) for r in records]
            return
        regs = sorted(model.registries, key=lambda r: str(r["id"]).lower())
        out = [rec for i, reg in enumerate(regs) for rec in _registry_records(i, reg, self.now)]
        storage, acrs = _backing(model)
        for i, sid in enumerate(storage):
            when = self.now - timedelta(days=2 + i % 9, minutes=13 * i)
            acl = {"properties.networkAcls.defaultAction": {"previousValue": "Deny",
                                                            "newValue": "Allow"}}  # fmt: skip
            out.append(change_record(sid, _STORAGE, "Update", when, acl, by="3f1c-automation",
                                     by_type="Application", client="ARM template"))  # fmt: skip
        for i, aid in enumerate(acrs):
            if i % 5 == 4:
                when = self.now - timedelta(days=3 + i % 7, minutes=11 * i)
                out.append(change_record(aid, _ACR, "Delete", when))
        self.records = out

    def rows(self, text: str, subscriptions: set[str] | None) -> list[dict[str, Any]]:
        """The records a ``resourcechanges`` query selects (subscriptions lower-cased)."""
        days = _AGO.search(text)
        span = float(days.group(1)) if days else self.retention_days
        since = self.now - timedelta(days=min(span, self.retention_days))
        listed = _TYPES.search(text)
        types = {t.lower() for t in re.findall(r"'([^']*)'", listed.group(1))} if listed else None
        out = []
        for row in self.records:
            props = row.get("properties") or {}
            stamp = str(props["changeAttributes"]["timestamp"])[:19]
            when = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)
            kind = str(props.get("targetResourceType", "")).lower()
            sub = str(row.get("subscriptionId", "")).lower()
            if when <= since or (types is not None and kind not in types):
                continue
            if subscriptions is not None and sub not in subscriptions:
                continue
            out.append(row)
        return out
