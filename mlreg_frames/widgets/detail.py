"""The detail tabs after the summary: one compact table per child table of a registry.

Each tab is a ``(title, builder)`` pair in :data:`DETAIL_BUILDERS`; a builder takes the
explorer and a registry id and returns the tab's HTML. The explorer shows the tabs in list
order, so a new tab is one more pair (the explorer adds ``accounts``, ``assets``, ``costs``
and ``changes`` when it has their data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ._html import DETAIL_HEIGHT, frame_html
from .format import NOT_SET, header, money

__all__ = [
    "CHILD_COLUMNS",
    "DETAIL_BUILDERS",
    "Builder",
    "accounts_html",
    "child_html",
    "costs_html",
    "findings_html",
    "tags_html",
]

Builder = Callable[[Any, str], str]
"""A detail tab: ``builder(explorer, registry_id)`` returns the tab's HTML."""

CHILD_COLUMNS: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {
    "regions": ("regions", ("location", "is_primary"), frozenset()),
    "storage": ("storage", ("storage_account_name", "location", "storage_account_type",
                            "allow_blob_public_access", "hns_enabled", "origin", "resource_id"),
                frozenset({"resource_id"})),
    "acr": ("acr", ("acr_name", "location", "acr_sku", "origin", "resource_id"),
            frozenset({"resource_id"})),
    "identities": ("identities", ("kind", "principal_id", "client_id", "resource_id"),
                   frozenset({"principal_id", "client_id", "resource_id"})),
    "private endpoints": ("pe_connections", ("status", "location", "provisioning_state",
                                             "group_ids", "private_endpoint_id", "subnet_id",
                                             "description"),
                          frozenset({"private_endpoint_id", "subnet_id"})),
}  # fmt: skip
"""Per child tab: its table, the columns it shows (in order) and those shown as ids."""

_HEADERS = {"location": "region", "is_primary": "home", "storage_account_name": "account",
            "acr_name": "registry",
            "storage_account_type": "type", "allow_blob_public_access": "blob public access",
            "hns_enabled": "hierarchical namespace", "acr_sku": "SKU",
            "private_endpoint_id": "private endpoint", "subnet_id": "subnet",
            "resource_id": "resource id"}  # fmt: skip


def child_html(ex: Any, registry_id: str, tab: str) -> str:
    """The rows of one child table of the registry, as a compact table."""
    table, columns, ids = CHILD_COLUMNS[tab]
    frame = ex.tables[table]
    rows = frame[frame["registry_id"] == registry_id]
    cols = [c for c in columns if c in rows]
    return frame_html(
        rows[cols], empty=f"no {tab}", max_height=DETAIL_HEIGHT, ids=ids,
        headers={c: _HEADERS.get(c, header(c)) for c in cols},
    )  # fmt: skip


def tags_html(ex: Any, registry_id: str) -> str:
    tags = ex.tables.tags
    tags = tags[tags["registry_id"] == registry_id]
    return frame_html(tags[["key", "value", "source"]], empty="no tags", max_height=DETAIL_HEIGHT)


def findings_html(ex: Any, registry_id: str) -> str:
    findings = ex.findings[ex.findings["registry_id"] == registry_id]
    return frame_html(
        findings[["severity", "finding", "detail"]], empty="no findings",
        max_height=DETAIL_HEIGHT,
    )  # fmt: skip


ACCOUNT_COLUMNS = (
    "account_name", "account_kind", "origin", "state", "unknown_reason", "network_exposure",
    "private_path", "region", "location", "declared_sku", "sku",
    "declared_blob_public_access", "allow_blob_public_access_effective",
    "allow_shared_key_access_effective", "minimum_tls_version_effective",
    "admin_user_enabled_effective", "anonymous_pull_enabled_effective",
)  # fmt: skip
"""The accounts tab: each account as the registry declares it beside Azure's answer."""


def accounts_html(ex: Any, registry_id: str) -> str:
    accounts = ex.accounts[ex.accounts["registry_id"] == registry_id]
    return frame_html(
        accounts[[c for c in ACCOUNT_COLUMNS if c in accounts]],
        empty="the registry names no accounts", max_height=DETAIL_HEIGHT,
    )  # fmt: skip


def _months(costs: pd.DataFrame) -> pd.Series:
    """``YYYY-MM`` of each cost row, from ``month`` or else ``date`` (a datetime or a date)."""
    if "month" in costs:
        return costs["month"].astype("string")
    return pd.to_datetime(costs["date"]).dt.strftime("%Y-%m").astype("string")


def costs_html(ex: Any, registry_id: str) -> str:
    """A month per row, a region per column, a total column and a total row, as money."""
    costs = ex.costs[ex.costs["registry_id"] == registry_id]
    if costs.empty:
        return "<i>no cost rows matched this registry</i>"
    costs = costs.assign(month=_months(costs), location=costs["location"].fillna(NOT_SET))
    parts = []
    for currency, rows in costs.groupby(costs["currency"].fillna(NOT_SET), sort=True):
        by_month = rows.pivot_table(
            index="month", columns="location", values="cost", aggfunc="sum", fill_value=0.0
        )
        by_month.columns.name = None
        by_month["total"] = by_month.sum(axis=1)
        frame = by_month.reset_index()
        regions = [c for c in frame.columns if c != "month"]
        totals = ["total", *(frame[c].sum() for c in regions)]
        parts.append(frame_html(
            frame, caption=f"cost in {currency}", numeric=set(regions), totals=totals,
            formats=dict.fromkeys(regions, money), max_height=DETAIL_HEIGHT,
        ))  # fmt: skip
    return "".join(parts)


def _child(tab: str) -> Builder:
    def build(ex: Any, registry_id: str) -> str:
        return child_html(ex, registry_id, tab)

    return build


DETAIL_BUILDERS: list[tuple[str, Builder]] = [
    *((tab, _child(tab)) for tab in CHILD_COLUMNS),
    ("tags", tags_html),
    ("findings", findings_html),
]
"""The detail tabs after ``summary``, as ``(title, builder)`` pairs, in order."""
