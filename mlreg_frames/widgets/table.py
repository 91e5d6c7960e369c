"""The registries table: which columns, in which order, sorted how, with money and totals.

The explorer's table is built from :func:`registry_frame` (one row per registry, every column
it can show) by :func:`sort_registries` and :func:`table_html`; all three are plain pandas, so
tests check the order and the sums without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import analysis
from ._html import frame_html
from .format import header, money, natural_order

__all__ = [
    "DEFAULT_COLUMNS",
    "NO_FINDINGS",
    "NUMERIC",
    "TABLE_COLUMNS",
    "registry_frame",
    "sort_registries",
    "table_html",
]

NO_FINDINGS = "none"
"""What the ``worst_severity`` cell of a registry without findings shows."""

TABLE_COLUMNS = (
    "name", "worst_severity", "findings", "cost", "subscription", "location",
    "public_network_access", "sku_tier", "approved_pes", "regions", "sku_name",
    "resource_group", "identity_type", "created_at",
)  # fmt: skip
"""Every column the registries table can show, in the order it shows them (``cost`` only
with a cost export); the column picker offers these."""

DEFAULT_COLUMNS = (
    "name", "worst_severity", "findings", "cost", "subscription", "location",
    "public_network_access", "sku_tier", "approved_pes", "regions",
)  # fmt: skip
"""The columns shown first: what an analyst reads first, narrow enough for a notebook pane."""

NUMERIC = frozenset({"findings", "cost", "approved_pes", "regions"})
"""Columns summed in the totals row and right-aligned."""


def registry_frame(
    tables: object,
    findings: pd.DataFrame,
    regions: pd.DataFrame,
    sub_labels: Mapping[str, str],
    costs: pd.DataFrame | None,
) -> pd.DataFrame:
    """One row per registry: the :data:`TABLE_COLUMNS` it has, then the ids."""
    reg = tables.registries  # type: ignore[attr-defined]
    ids = reg["registry_id"]
    out = reg[["registry_id", "subscription_id", "name", "location", "sku_tier", "sku_name",
               "public_network_access", "resource_group", "identity_type",
               "created_at"]].copy()  # fmt: skip
    out["subscription"] = reg["subscription_id"].map(sub_labels).astype("string")
    out["regions"] = regions.groupby("registry_id").size().reindex(ids, fill_value=0).to_numpy()
    pe = tables.pe_connections  # type: ignore[attr-defined]
    approved = pe[(pe["status"].astype("string").str.lower() == "approved").fillna(False)]
    out["approved_pes"] = (
        approved.groupby("registry_id").size().reindex(ids, fill_value=0).to_numpy()
    )
    found = findings.groupby("registry_id")
    out["findings"] = found.size().reindex(ids, fill_value=0).to_numpy()
    worst = found["severity"].max().reindex(ids)
    out["worst_severity"] = pd.Categorical(worst.to_numpy(), dtype=analysis.SEVERITY)
    if costs is not None:
        matched = costs[costs["matched"].astype("boolean").fillna(False)]
        total = matched.groupby("registry_id")["cost"].sum()
        out["cost"] = total.reindex(ids).fillna(0.0).round(2).to_numpy()
    first = [c for c in TABLE_COLUMNS if c in out]
    out = out[[*first, "registry_id", "subscription_id"]]
    return sort_registries(out, "name")


def sort_registries(frame: pd.DataFrame, by: str, ascending: bool = True) -> pd.DataFrame:
    """``frame`` sorted by column ``by``, blanks last, ties by name then id.

    Names and other text sort naturally (``risk-assets-150`` before ``risk-assets-1481``,
    case-insensitive), severity by rank (``high`` above ``medium`` when descending), numbers
    and dates by value.
    """
    # ties keep name order: sort by name (and id) first, then stably by the column
    base = frame.iloc[natural_order(frame["name"].fillna(frame["registry_id"]))]
    if by == "name":
        order = natural_order(base["name"].fillna(base["registry_id"]), ascending)
        return base.iloc[order].reset_index(drop=True)
    values = base[by]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(values.cat.codes.to_numpy(), index=values.index).where(values.notna())
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        return base.iloc[natural_order(values, ascending)].reset_index(drop=True)
    blank = values.isna().to_numpy()
    filled = values[~blank]
    if pd.api.types.is_datetime64_any_dtype(filled):
        filled = filled.astype("int64")
    key = filled.astype("float64").to_numpy()
    ranks = np.argsort(key if ascending else -key, kind="stable")
    positions = np.concatenate([np.flatnonzero(~blank)[ranks], np.flatnonzero(blank)])
    return base.iloc[positions].reset_index(drop=True)


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    currency: str | None = None,
    max_rows: int = 200,
    max_height: int = 380,
) -> str:
    """The registries of ``frame`` (already filtered and sorted) as an HTML table.

    Shows ``columns`` (those ``frame`` has), the first ``max_rows`` rows, and a totals row
    summing :data:`NUMERIC` over every row of ``frame`` (not only the rows shown). Money has
    thousands separators and two decimals; the cost header names the ``currency``.
    """
    cols = [c for c in columns if c in frame]
    if not cols:
        cols = ["name"]
    shown = frame[cols].head(max_rows)
    if "created_at" in shown:
        shown = shown.assign(created_at=shown["created_at"].dt.strftime("%Y-%m-%d"))
    if "worst_severity" in shown:
        shown = shown.assign(
            worst_severity=shown["worst_severity"].astype("string").fillna(NO_FINDINGS)
        )
    headers = {c: header(c) for c in cols}
    if "cost" in cols and currency:
        headers["cost"] = f"cost ({currency})"
    totals: list[object] = [frame[c].sum() if c in NUMERIC else None for c in cols]
    if cols[0] not in NUMERIC:
        totals[0] = f"total of {len(frame):,}"
    note = (
        f"<br><i>first {max_rows} of {len(frame)} shown; the totals count all {len(frame)}</i>"
        if len(frame) > max_rows
        else ""
    )
    body = frame_html(
        shown, empty="no registry matches", max_height=max_height, headers=headers,
        numeric=NUMERIC, formats={"cost": money}, totals=totals if len(frame) else None,
    )  # fmt: skip
    return body + note
