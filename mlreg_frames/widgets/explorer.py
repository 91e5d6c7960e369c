"""The :class:`Explorer` widget and :func:`explore`, which builds it."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from .. import analysis, plots
from ..analysis.costs import join_costs
from ..flatten.backing import BackingTables
from ..tables import RegistryTables
from ._html import DETAIL_HEIGHT, EXPLORER_CSS, frame_html, records_html

__all__ = [
    "ALL",
    "DETAIL_TABS",
    "HOME_ONLY",
    "HOME_OR_REPLICA",
    "NOT_SET",
    "NO_FINDINGS",
    "TABLE_COLUMNS",
    "Explorer",
    "explore",
]

ALL = "(all)"
"""The option of every filter that does not filter."""

NOT_SET = "(not set)"
"""The filter option matching registries where the field is null; cells show it too."""

NO_FINDINGS = "none"
"""What the ``worst_severity`` cell of a registry without findings shows."""

HOME_OR_REPLICA, HOME_ONLY = "home or replica", "home"
"""Values of :attr:`Explorer.region_scope`: match a registry's every region, or its home."""

DETAIL_TABS = (
    "summary", "regions", "storage", "acr", "identities", "private endpoints", "tags",
    "findings",
)  # fmt: skip
"""Tabs of the detail view; ``costs`` is added when the explorer has a cost export."""

TABLE_COLUMNS = (
    "name", "worst_severity", "findings", "cost", "subscription", "location", "regions",
    "approved_pes", "public_network_access", "sku_tier", "created_at",
)  # fmt: skip
"""Columns of the registries table, in order: what an analyst looks for first comes first
(``cost`` only with a cost export; ``location`` is the home region)."""

_TABLE_OF_TAB = {
    "regions": "regions",
    "storage": "storage",
    "acr": "acr",
    "identities": "identities",
    "private endpoints": "pe_connections",
}
# the field that names one entry of a detail tab, shown first in its key/value block
_ENTRY_TITLE = {
    "regions": "location",
    "storage": "storage_account_name",
    "acr": "acr_account_name",
    "identities": "kind",
    "private endpoints": "name",
}
_SEVERITY_FILTER = [
    ("any", ALL),
    ("high", "high"),
    ("medium or worse", "medium"),
    ("low or worse", "low"),
    ("any finding", "info"),
    ("no findings", "none"),
]


def _casefold_key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.casefold()


def _options(values: pd.Series, labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Dropdown options: (all), each value sorted case-insensitively, (not set) for nulls."""
    present = sorted({str(v) for v in values.dropna()}, key=lambda v: (v.casefold(), v))
    extra = [(NOT_SET, NOT_SET)] if values.isna().any() else []
    shown = labels or {}
    return [(ALL, ALL), *[(shown.get(v, v), v) for v in present], *extra]


def _matches(values: pd.Series, choice: str) -> pd.Series:
    if choice == ALL:
        return pd.Series(True, index=values.index)
    if choice == NOT_SET:
        return values.isna()
    return (values.astype("string") == choice).fillna(False)


def _subscription_labels(ids: pd.Series, names: Mapping[str, str] | None) -> dict[str, str]:
    """Each subscription id's label: its display name when known, else a short id (``1b2c3d4e…``,
    longer where two ids start alike); a display name used twice gets the short id added."""
    known = {k.lower(): v for k, v in (names or {}).items()}
    unique = sorted({str(i) for i in ids.dropna()})
    width = next((n for n in (8, 13, 18, 23) if len({i[:n] for i in unique}) == len(unique)), None)
    short = {i: i if width is None or len(i) <= width else f"{i[:width]}…" for i in unique}
    labels = {i: known.get(i.lower(), short[i]) for i in unique}
    counts = pd.Series(list(labels.values()), dtype=object).value_counts()
    return {i: (f"{v} ({short[i]})" if counts[v] > 1 else v) for i, v in labels.items()}


def _months(costs: pd.DataFrame) -> pd.Series:
    """``YYYY-MM`` of each cost row, from ``month`` or else ``date`` (a datetime or a date)."""
    if "month" in costs:
        return costs["month"].astype("string")
    return pd.to_datetime(costs["date"]).dt.strftime("%Y-%m").astype("string")


class Explorer(widgets.VBox):
    """The registry explorer widget; build it with :func:`explore`.

    Attributes:
        search: text filter: registries whose name contains it (case-insensitive).
        subscription, region, sku_tier, public_access, severity: the filter dropdowns.
        region_scope: whether :attr:`region` matches a registry's home region or any of its
            regions (home or replica), :data:`HOME_OR_REPLICA` by default.
        summary: an HTML line saying how many registries the filters keep.
        table: the HTML table of the registries the filters keep (:data:`TABLE_COLUMNS`).
        plot: a PNG image of those registries by region and their findings by severity,
            drawn when its tab is shown (or :attr:`figure` is read).
        views: the Tab holding ``table`` and ``plot``.
        registry: the list picking one of the registries the filters keep.
        detail: the Tab of the picked registry's details; ``detail_views`` maps each tab
            name (:data:`DETAIL_TABS`, plus ``costs``) to its HTML widget.
        registries: one row per registry with the columns the table shows and the ids.
        findings: :func:`mlreg_frames.analysis.exposure` of the whole set.
        costs: :func:`mlreg_frames.analysis.join_costs` output, or None.
    """

    def __init__(
        self,
        tables: RegistryTables,
        costs: pd.DataFrame | None = None,
        *,
        max_rows: int = 200,
        subscription_names: Mapping[str, str] | None = None,
        backing: BackingTables | None = None,
    ):
        self.tables = tables
        self.backing = backing
        self.findings = analysis.exposure(tables, backing)
        self._accounts = None if backing is None else analysis.backing_exposure(tables, backing)
        self.costs = costs
        self.max_rows = max_rows
        self._quiet = False
        self._figure: Figure | None = None
        self._regions = analysis.registry_regions(tables)
        self._sub_labels = _subscription_labels(
            tables.registries["subscription_id"], subscription_names
        )
        self.registries = self._registry_frame()
        reg = self.registries

        def dropdown(description: str, options: list[tuple[str, str]], value: str = ALL,
                     width: str = "auto") -> widgets.Dropdown:  # fmt: skip
            return widgets.Dropdown(
                options=options,
                value=value,
                description=description,
                style={"description_width": "initial"},
                layout=widgets.Layout(width=width),
            )

        self.search = widgets.Text(
            description="Name", placeholder="part of a registry name",
            style={"description_width": "initial"}, layout=widgets.Layout(width="230px"),
        )  # fmt: skip
        self.subscription = dropdown(
            "Subscription", _options(reg["subscription_id"], self._sub_labels)
        )
        self.region = dropdown("Region", _options(self._regions["location"]))
        self.region_scope = dropdown(
            "as", [("home or replica region", HOME_OR_REPLICA), ("home region", HOME_ONLY)],
            HOME_OR_REPLICA,
        )  # fmt: skip
        self.sku_tier = dropdown("SKU tier", _options(reg["sku_tier"]))
        self.public_access = dropdown("Public access", _options(reg["public_network_access"]))
        self.severity = dropdown("Findings", _SEVERITY_FILTER)
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.views = widgets.Tab(children=[self.table, self.plot], titles=("table", "chart"))
        self.registry = widgets.Select(
            description="Registry", rows=6, style={"description_width": "initial"},
            layout=widgets.Layout(width="100%"),
        )  # fmt: skip
        names = [*DETAIL_TABS, *(["accounts"] if backing is not None else []),
                 *(["costs"] if costs is not None else [])]  # fmt: skip
        self.detail_views = {name: widgets.HTML() for name in names}
        self.detail = widgets.Tab(children=list(self.detail_views.values()), titles=tuple(names))
        filters = [self.search, self.subscription, self.region, self.region_scope,
                   self.sku_tier, self.public_access, self.severity]  # fmt: skip
        for control in filters:
            control.observe(self._on_filter, names="value")
        self.registry.observe(self._on_registry, names="value")
        self.views.observe(self._on_view, names="selected_index")
        left = widgets.VBox([self.summary, self.views],
                            layout=widgets.Layout(flex="3 1 0", min_width="360px"))  # fmt: skip
        right = widgets.VBox([self.registry, self.detail],
                             layout=widgets.Layout(flex="2 1 0", min_width="300px"))  # fmt: skip
        super().__init__(
            children=[
                widgets.HTML(EXPLORER_CSS, layout=widgets.Layout(height="0px")),
                widgets.HBox(filters, layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap",
                                                                  grid_gap="12px")),
            ]
        )  # fmt: skip
        self.add_class("mlreg-explorer")
        self.refresh()

    def _registry_frame(self) -> pd.DataFrame:
        reg = self.tables.registries
        ids = reg["registry_id"]
        out = reg[["registry_id", "subscription_id", "name", "location", "sku_tier",
                   "public_network_access", "created_at"]].copy()  # fmt: skip
        out["subscription"] = reg["subscription_id"].map(self._sub_labels).astype("string")
        out["regions"] = self._regions.groupby("registry_id").size().reindex(ids, fill_value=0)\
            .to_numpy()  # fmt: skip
        pe = self.tables.pe_connections
        approved = pe[pe["status"].astype("string").str.lower() == "approved"]
        out["approved_pes"] = (
            approved.groupby("registry_id").size().reindex(ids, fill_value=0).to_numpy()
        )
        found = self.findings.groupby("registry_id")
        out["findings"] = found.size().reindex(ids, fill_value=0).to_numpy()
        worst = found["severity"].max().reindex(ids)
        out["worst_severity"] = pd.Categorical(worst.to_numpy(), dtype=analysis.SEVERITY)
        if self.costs is not None:
            matched = self.costs[self.costs["matched"].astype("boolean").fillna(False)]
            total = matched.groupby("registry_id")["cost"].sum()
            out["cost"] = total.reindex(ids).fillna(0.0).round(2).to_numpy()
        first = [c for c in TABLE_COLUMNS if c in out]
        out = out[[*first, "registry_id", "subscription_id"]]
        # case-insensitive, so CamelCase names do not all come before lower-case ones
        return out.sort_values(["name", "registry_id"], key=_casefold_key).reset_index(drop=True)

    @property
    def selected(self) -> pd.DataFrame:
        """The registries the current filters keep (the rows of :attr:`table`)."""
        reg = self.registries
        keep = _matches(reg["subscription_id"], self.subscription.value)
        keep &= _matches(reg["sku_tier"], self.sku_tier.value)
        keep &= _matches(reg["public_network_access"], self.public_access.value)
        text = self.search.value.strip().casefold()
        if text:
            keep &= reg["name"].astype("string").str.casefold().str.contains(text, regex=False)\
                .fillna(False)  # fmt: skip
        if self.region.value != ALL:
            regions = self._regions
            if self.region_scope.value == HOME_ONLY:
                regions = regions[regions["is_primary"].astype("boolean").fillna(False)]
            there = regions.loc[regions["location"] == self.region.value]
            keep &= reg["registry_id"].isin(there["registry_id"])
        severity = self.severity.value
        if severity == "none":
            keep &= reg["findings"] == 0
        elif severity != ALL:
            keep &= (reg["worst_severity"] >= severity).fillna(False).astype(bool)
        return reg[keep.to_numpy()].reset_index(drop=True)

    @property
    def figure(self) -> Figure:
        """The matplotlib Figure behind :attr:`plot`, drawn for the current filters."""
        if self._figure is None:
            self._draw(self.selected)
        assert self._figure is not None
        return self._figure

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_view(self, _change: Any) -> None:
        if self.views.selected_index == 1 and self._figure is None:
            self._draw(self.selected)

    def _on_registry(self, change: Any) -> None:
        if not self._quiet:
            self.show_registry(change["new"])

    def refresh(self) -> None:
        """Re-apply the filters: summary line, table, chart and registry list."""
        sel = self.selected
        self.summary.value = (
            f"<b>{len(sel)}</b> of {len(self.registries)} registries match the filters"
        )
        shown = sel[[c for c in TABLE_COLUMNS if c in sel]].head(self.max_rows)
        shown = shown.assign(
            created_at=shown["created_at"].dt.strftime("%Y-%m-%d"),
            worst_severity=shown["worst_severity"].astype("string").fillna(NO_FINDINGS),
            # the filters call a missing value "(not set)": say the same in the cells
            sku_tier=shown["sku_tier"].fillna(NOT_SET),
            public_network_access=shown["public_network_access"].fillna(NOT_SET),
        )
        note = (
            f"<br><i>first {self.max_rows} of {len(sel)} shown</i>"
            if len(sel) > self.max_rows
            else ""
        )
        self.table.value = frame_html(shown, empty="no registry matches", max_height=380) + note
        self._figure = None
        if self.views.selected_index == 1:
            self._draw(sel)
        current = self.registry.value
        labels = sel["name"].fillna(sel["registry_id"]).astype(str)
        dup = labels.str.lower().duplicated(keep=False)
        labels = labels.where(~dup, labels + " · " + sel["subscription"].astype(str))
        ids = list(sel["registry_id"])
        self._quiet = True  # one detail refresh below, not one per traitlets event
        try:
            self.registry.options = list(zip(labels, ids, strict=True))
            self.registry.value = current if current in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        self.show_registry(self.registry.value)

    def _draw(self, sel: pd.DataFrame) -> None:
        subset = self.tables.select(sel["registry_id"])
        fig = Figure(figsize=(7.5, 7.0), layout="constrained")
        top, bottom = fig.subplots(2, 1)
        plots.registries_by_region(subset, top, top=10)
        findings = self.findings[self.findings["registry_id"].isin(sel["registry_id"])]
        plots.exposure_by_severity(findings, bottom)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self._figure = fig
        self.plot.value = buffer.getvalue()

    def show_registry(self, registry_id: str | None) -> None:
        """Fill the detail tabs with one registry's rows (empty when ``None``)."""
        if registry_id is None:
            for view in self.detail_views.values():
                view.value = "<i>no registry selected</i>"
            return
        reg = self.tables.registries
        row = reg[reg["registry_id"] == registry_id].drop(columns=["extra"])
        self.detail_views["summary"].value = records_html(row, empty="no registry")
        for tab, table in _TABLE_OF_TAB.items():
            frame = self.tables[table]
            rows = frame[frame["registry_id"] == registry_id]
            rows = rows.drop(columns=[c for c in ("registry_id", "extra") if c in rows])
            self.detail_views[tab].value = records_html(
                rows, empty=f"no {tab}", title=_ENTRY_TITLE.get(tab)
            )
        tags = self.tables.tags
        tags = tags[tags["registry_id"] == registry_id]
        # one block, a line per tag: key on the left, value on the right
        as_row = pd.DataFrame([dict(zip(tags["key"], tags["value"], strict=True))])
        self.detail_views["tags"].value = records_html(
            as_row if len(tags) else tags, empty="no tags"
        )
        findings = self.findings[self.findings["registry_id"] == registry_id]
        self.detail_views["findings"].value = records_html(
            findings[["severity", "finding", "detail"]], empty="no findings", title="severity"
        )
        if self._accounts is not None:
            accounts = self._accounts[self._accounts["registry_id"] == registry_id]
            self.detail_views["accounts"].value = records_html(
                accounts[[c for c in _ACCOUNT_COLUMNS if c in accounts]],
                empty="the registry names no accounts", title="account_name",
            )  # fmt: skip
        if self.costs is not None:
            costs = self.costs[self.costs["registry_id"] == registry_id]
            by_month = (
                costs.assign(month=_months(costs))
                .pivot_table(
                    index=["location", "currency"], columns="month", values="cost", aggfunc="sum"
                )
                .round(2)
            )
            by_month.columns.name = None
            self.detail_views["costs"].value = frame_html(
                by_month.reset_index(),
                empty="no cost rows matched this registry",
                max_height=DETAIL_HEIGHT,
            )


_ACCOUNT_COLUMNS = [
    "account_name", "account_kind", "origin", "state", "unknown_reason", "network_exposure",
    "private_path", "region", "location", "declared_sku", "sku",
    "declared_blob_public_access", "allow_blob_public_access_effective",
    "allow_shared_key_access_effective", "minimum_tls_version_effective",
    "admin_user_enabled_effective", "anonymous_pull_enabled_effective",
]  # fmt: skip
"""The accounts tab: each account as the registry declares it beside Azure's answer."""


def explore(
    tables: RegistryTables,
    costs: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    max_rows: int = 200,
    subscription_names: Mapping[str, str] | None = None,
    backing: BackingTables | None = None,
) -> Explorer:
    """An interactive explorer of ``tables``: filters, a table, a chart and a detail view.

    Args:
        tables: the registry tables (``mf.flatten(...)``, ``mf.fetch_registries()``,
            ``mf.read_parquet(...)``).
        costs: optional cost export: a path, a frame from ``mf.read_cost_export`` or from
            :func:`mlreg_frames.analysis.join_costs`; adds a cost column and a costs tab.
        max_rows: most rows the table shows at once (the registry list shows every match).
        subscription_names: display name of each subscription id, shown instead of the id;
            ids without one show as a short id (their first 8 characters, more where two
            ids start alike).
        backing: :func:`mlreg_frames.fetch_backing` of the tables: the findings judge the
            accounts as Azure returns them, and an ``accounts`` tab shows each account as the
            registry declares it beside what Azure says (unknown when not returned).

    Example::

        >>> ex = explore(tables, "data/sample/costs.csv")   # doctest: +SKIP
        >>> ex                                               # doctest: +SKIP
    """
    joined = None
    if costs is not None:
        is_joined = isinstance(costs, pd.DataFrame) and "matched" in costs.columns
        joined = costs if is_joined else join_costs(tables, costs)
    return Explorer(
        tables, joined, max_rows=max_rows, subscription_names=subscription_names, backing=backing
    )
