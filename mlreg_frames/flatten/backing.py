"""Storage account and container registry JSON -> the three backing tables (pure: no I/O).

The input is what the providers return for each account: an ARM ``GET`` body, or a Resource
Graph ``resources`` row (the same ``properties`` bag; ARG lower-cases ``type`` and adds
bookkeeping columns, which are ignored). Each account becomes one row of ``storage_accounts``
or ``container_registries`` with raw and effective values (:mod:`mlreg_frames.schema.backing`)
and its own private-endpoint connections in ``backing_pe_connections``.

An account whose payload is malformed (a flag that is not a boolean, rules that are not a
list, an id that is no ARM id) is not guessed at: it becomes a ``fetch_errors`` row naming the
account and the field, and stays out of the tables, so analyses see it as *unknown*. The
others are unaffected.

Example::

    >>> body = {"id": "/subscriptions/S/resourceGroups/g/providers/Microsoft.Storage/"
    ...         "storageAccounts/st1", "type": "Microsoft.Storage/storageAccounts",
    ...         "location": "East US", "sku": {"name": "Standard_LRS"},
    ...         "properties": {"networkAcls": {"defaultAction": "Deny"}}}
    >>> frames, errors = flatten_backing([body])
    >>> row = frames["storage_accounts"].iloc[0]
    >>> row["network_exposure"], bool(row["allow_shared_key_access_effective"]), errors
    ('selected_networks', True, [])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..schema import FETCH_ERRORS
from ..schema.backing import BACKING_TABLES
from ..schema.coltypes import Table
from .accounts import Malformed, acr_row, get, network_exposure, obj, pe_rows, storage_row
from .walk import parse_arm_id

__all__ = [
    "ACR_TYPE",
    "STORAGE_TYPE",
    "BackingTables",
    "backing_tables",
    "flatten_backing",
    "network_exposure",
]

STORAGE_TYPE = "microsoft.storage/storageaccounts"
ACR_TYPE = "microsoft.containerregistry/registries"


def _frame(table: Table, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(table.column_names))
    return frame.astype(table.dtypes)


def _error(resource: str, code: str, message: str) -> dict[str, Any]:
    sub, group = parse_arm_id(resource) if resource else (None, None)
    return {
        "scope": resource or "(no id)",
        "subscription_id": sub,
        "resource_group": group,
        "outcome": "failed",
        "http_status": None,
        "error_code": code,
        "message": message,
        "request_id": None,
    }


def _empty(table: Table) -> pd.DataFrame:
    return _frame(table, [])


@dataclass
class BackingTables:
    """The backing accounts as Azure returns them today, and what could not be read.

    Attributes:
        storage_accounts, container_registries, backing_pe_connections: the tables of
            :mod:`mlreg_frames.schema.backing`.
        fetch_errors: one row per account (or batch) not read: not found, forbidden,
            malformed. Those accounts are *unknown* to every analysis, never compliant.
    """

    storage_accounts: pd.DataFrame = field(
        default_factory=lambda: _empty(BACKING_TABLES["storage_accounts"])
    )
    container_registries: pd.DataFrame = field(
        default_factory=lambda: _empty(BACKING_TABLES["container_registries"])
    )
    backing_pe_connections: pd.DataFrame = field(
        default_factory=lambda: _empty(BACKING_TABLES["backing_pe_connections"])
    )
    fetch_errors: pd.DataFrame = field(default_factory=lambda: _empty(FETCH_ERRORS))

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in (*BACKING_TABLES, "fetch_errors"):
            raise KeyError(name)
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter((*BACKING_TABLES, "fetch_errors"))

    def counts(self) -> dict[str, int]:
        """Rows per table, ``fetch_errors`` included."""
        return {name: len(self[name]) for name in self}


def backing_tables(
    items: Iterable[Any],
    *,
    source: str = "arm",
    api_versions: dict[str, str] | None = None,
    errors: Iterable[dict[str, Any]] = (),
) -> BackingTables:
    """:func:`flatten_backing` as a :class:`BackingTables`, with fetch failures added."""
    frames, malformed = flatten_backing(items, source=source, api_versions=api_versions)
    rows = [*errors, *malformed]
    return BackingTables(
        **frames, fetch_errors=_frame(FETCH_ERRORS, rows).drop_duplicates(["scope"], keep="last")
    )


def flatten_backing(
    items: Iterable[Any], *, source: str = "arm", api_versions: dict[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Account payloads -> ``{table name: frame}`` and ``fetch_errors`` rows for malformed ones.

    Args:
        items: ARM GET bodies or Resource Graph rows of storage accounts and registries.
        source: ``"arm"`` or ``"graph"``, recorded in every row.
        api_versions: resource type (lower-case) -> the api-version of the read.

    The last payload of an account wins when one appears twice.
    """
    versions = api_versions or {}
    accounts: dict[str, dict[str, dict[str, Any]]] = {STORAGE_TYPE: {}, ACR_TYPE: {}}
    pes: dict[str, list[dict[str, Any]]] = {}
    errors: list[dict[str, Any]] = []
    for item in items:
        arm_id = get(item, "id") if isinstance(item, dict) else None
        if not isinstance(arm_id, str) or parse_arm_id(arm_id) == (None, None):
            errors.append(
                _error("", "MalformedResource", f"an item has no ARM id ({arm_id!r:.80})")
            )
            continue
        kind = get(item, "type")
        kind = kind.lower() if isinstance(kind, str) else None
        if kind not in accounts:
            message = f"{arm_id} is a {kind!r}, not a storage account or registry"
            errors.append(_error(arm_id, "UnexpectedResourceType", message))
            continue
        try:
            props = obj(get(item, "properties"), "properties") or {}
            row = storage_row(item, props) if kind == STORAGE_TYPE else acr_row(item, props)
            short = "storage" if kind == STORAGE_TYPE else "acr"
            connections = pe_rows(row["resource_id"], short, props)
        except Malformed as exc:
            message = f"{arm_id}: {exc} ({exc.field}); its settings are unknown"
            errors.append(_error(arm_id, "MalformedResource", message))
            continue
        approved = any((p["status"] or "").lower() == "approved" for p in connections)
        row.update(private_path=approved, source=source, api_version=versions.get(kind))
        accounts[kind][row["resource_id"]] = row
        pes[row["resource_id"]] = connections
    frames = {
        "storage_accounts": _frame(
            BACKING_TABLES["storage_accounts"], list(accounts[STORAGE_TYPE].values())
        ),
        "container_registries": _frame(
            BACKING_TABLES["container_registries"], list(accounts[ACR_TYPE].values())
        ),
        "backing_pe_connections": _frame(
            BACKING_TABLES["backing_pe_connections"], [r for rows in pes.values() for r in rows]
        ),
    }
    return frames, errors
