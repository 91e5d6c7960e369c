"""The :class:`Explorer` widget and :func:`explore`, which builds it."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from .. import analysis, plots
from ..analysis.costs import join_costs
from ..assettables import AssetTables
from ..flatten.backing import BackingTables
from ..flatten.changes import ChangeSet
from ..tables import RegistryTables
from ._html import EXPLORER_CSS, KEY_GUARD
from .assets_tab import assets_html
from .changes_tab import changes_html
from .detail import DETAIL_BUILDERS, Builder, accounts_html, costs_html
from .filters import ALL, _known_names, _matches, _options, _subscription_labels
from .format import header
from .picker import RegistryPicker
from .summary import summary_html
from .table import DEFAULT_COLUMNS, TABLE_COLUMNS, registry_frame, sort_registries, table_html

__all__ = [
    "ALL",
    "CHART_DPI",
    "CHART_SIZE",
    "DETAIL_TABS",
    "HOME_ONLY",
    "HOME_OR_REPLICA",
    "Explorer",
    "explore",
]

HOME_OR_REPLICA, HOME_ONLY = "home or replica", "home"
"""Values of :attr:`Explorer.region_scope`: match a registry's every region, or its home."""

DETAIL_TABS = ("summary", *(title for title, _ in DETAIL_BUILDERS))
"""Tabs of the detail view; ``accounts``, ``assets`` and ``costs`` follow with their data."""

CHART_SIZE = (720, 640)
"""Pixels (width, height) of the chart image, shown at exactly that size."""
CHART_DPI = 100
"""Dots per inch the chart is drawn at: 9 pt value labels are 12.5 px on screen."""

_SEVERITY_FILTER = [
    ("any", ALL),
    ("high", "high"),
    ("medium or worse", "medium"),
    ("low or worse", "low"),
    ("any finding", "info"),
    ("no findings", "none"),
]


class Explorer(widgets.VBox):
    """The registry explorer widget; build it with :func:`explore`.

    Attributes:
        search: text filter: registries whose name contains it (case-insensitive).
        subscription, region, sku_tier, public_access, severity: the filter dropdowns.
        region_scope: whether :attr:`region` matches a registry's home region or any of its
            regions (home or replica), :data:`HOME_OR_REPLICA` by default.
        sort_by, sort_order: the table's sort column and ``"ascending"`` / ``"descending"``.
        columns: the column picker (a tag per shown column, by its header).
        summary: an HTML line saying how many registries the filters keep.
        table: the HTML table of the registries the filters keep, sorted, with totals.
        plot: a PNG image of those registries by region and their findings by severity,
            drawn when its tab is shown (or :attr:`figure` is read).
        views: the Tab holding ``table`` and ``plot``.
        picker: the registry picker (its own search box over a list); ``registry`` is its list.
        detail: the Tab of the picked registry's details; ``detail_views`` maps each tab
            title to its HTML widget.
        registries: one row per registry with the columns the table can show and the ids.
        findings: :func:`mlreg_frames.analysis.exposure` of the whole set.
        costs: :func:`mlreg_frames.analysis.join_costs` output, or None.
        contents: :func:`mlreg_frames.analysis.contents` with asset tables, or None.
    """

    def __init__(
        self,
        tables: RegistryTables,
        costs: pd.DataFrame | None = None,
        *,
        max_rows: int = 200,
        subscription_names: Mapping[str, str] | None = None,
        backing: BackingTables | None = None,
        assets: AssetTables | None = None,
        changes: pd.DataFrame | None = None,
        tabs: Sequence[tuple[str, Builder]] = (),
    ):
        self.tables = tables
        self.backing = backing
        self.assets = assets
        self.changes = changes
        self.findings = analysis.exposure(tables, backing)
        self.accounts = None if backing is None else analysis.backing_exposure(tables, backing)
        self.contents = None if assets is None else analysis.contents(tables, assets)
        self.costs = costs
        self.max_rows = max_rows
        self._figure: Figure | None = None
        self._quiet = False
        self._regions = analysis.registry_regions(tables)
        names = {**_known_names(tables), **(subscription_names or {})}
        self._sub_labels = _subscription_labels(tables.registries["subscription_id"], names)
        self.registries = registry_frame(tables, self.findings, self._regions,
                                         self._sub_labels, costs)  # fmt: skip
        currencies = [] if costs is None else sorted(costs["currency"].dropna().unique())
        self.currency = ", ".join(map(str, currencies)) or None
        reg = self.registries
        self._build_controls(reg)
        self._tabs: list[tuple[str, Builder]] = [
            ("summary", _summary_tab), *DETAIL_BUILDERS,
            *([("accounts", accounts_html)] if backing is not None else []),
            *([("assets", assets_html)] if assets is not None else []),
            *([("costs", costs_html)] if costs is not None else []),
            *([("changes", _changes_tab)] if changes is not None else []),
            *tabs,
        ]  # fmt: skip
        self.detail_views = {title: widgets.HTML() for title, _ in self._tabs}
        self.detail = widgets.Tab(children=list(self.detail_views.values()),
                                  titles=tuple(self.detail_views))  # fmt: skip
        self.registry.observe(self._on_registry, names="value")
        self.views.observe(self._on_view, names="selected_index")
        self.picker.layout = widgets.Layout(flex="1 1 0", min_width="220px", max_width="340px")
        self.detail.layout = widgets.Layout(flex="3 1 0", min_width="0")
        super().__init__(
            children=[
                widgets.HTML(EXPLORER_CSS + KEY_GUARD, layout=widgets.Layout(height="0px")),
                widgets.HBox(self._filters, layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox(
                    [self.sort_by, self.sort_order, self.columns],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.summary,
                self.views,
                widgets.HBox(
                    [self.picker, self.detail], layout=widgets.Layout(grid_gap="12px", width="100%")
                ),
            ],
            layout=widgets.Layout(width="100%", overflow="hidden"),
        )
        self.add_class("mlreg-explorer")
        self.refresh()

    def _build_controls(self, reg: pd.DataFrame) -> None:
        def dropdown(description: str, options: list[tuple[str, Any]], value: Any = ALL,
                     width: str = "auto") -> widgets.Dropdown:  # fmt: skip
            return widgets.Dropdown(
                options=options, value=value, description=description,
                style={"description_width": "initial"}, layout=widgets.Layout(width=width),
            )  # fmt: skip

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
        available = [c for c in TABLE_COLUMNS if c in reg]
        self._headers = {c: header(c) for c in available}
        self.sort_by = dropdown("Sort by", [(self._headers[c], c) for c in available], "name")
        self.sort_order = dropdown("", [("ascending", "ascending"),
                                        ("descending", "descending")], "ascending")  # fmt: skip
        self.columns = widgets.TagsInput(
            value=[self._headers[c] for c in DEFAULT_COLUMNS if c in reg],
            allowed_tags=[self._headers[c] for c in available], allow_duplicates=False,
            layout=widgets.Layout(flex="1 1 300px"),
        )  # fmt: skip
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        width, height = CHART_SIZE
        self.plot = widgets.Image(format="png", width=width, height=height,
                                  layout=widgets.Layout(width=f"{width}px",
                                                        height=f"{height}px"))  # fmt: skip
        self.views = widgets.Tab(children=[self.table, widgets.Box([self.plot],
                                 layout=widgets.Layout(overflow="auto"))],
                                 titles=("table", "chart"))  # fmt: skip
        self.picker = RegistryPicker(len(reg))
        self.registry = self.picker.list
        self._filters = [self.search, self.subscription, self.region, self.region_scope,
                         self.sku_tier, self.public_access, self.severity]  # fmt: skip
        for control in self._filters:
            control.observe(self._on_filter, names="value")
        for control in (self.sort_by, self.sort_order, self.columns):
            control.observe(self._on_table, names="value")

    @property
    def selected(self) -> pd.DataFrame:
        """The registries the current filters keep, in the table's sort order."""
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
        kept = reg[keep.to_numpy()]
        return sort_registries(kept, self.sort_by.value, self.sort_order.value == "ascending")

    @property
    def shown_columns(self) -> list[str]:
        """The table's columns, in :data:`TABLE_COLUMNS` order, as the column picker says."""
        picked = set(self.columns.value)
        return [c for c, h in self._headers.items() if h in picked]

    @property
    def figure(self) -> Figure:
        """The matplotlib Figure behind :attr:`plot`, drawn for the current filters."""
        if self._figure is None:
            self._draw(self.selected)
        assert self._figure is not None
        return self._figure

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_table(self, _change: Any) -> None:
        self._render_table(self.selected)

    def _on_view(self, _change: Any) -> None:
        if self.views.selected_index == 1 and self._figure is None:
            self._draw(self.selected)

    def _on_registry(self, change: Any) -> None:
        if not self._quiet:
            self.show_registry(change["new"])

    def _render_table(self, sel: pd.DataFrame) -> None:
        self.table.value = table_html(sel, self.shown_columns, currency=self.currency,
                                      max_rows=self.max_rows)  # fmt: skip

    def refresh(self) -> None:
        """Re-apply the filters: summary line, table, chart and registry list."""
        sel = self.selected
        self.summary.value = (
            f"<b>{len(sel)}</b> of {len(self.registries)} registries match the filters"
        )
        self._render_table(sel)
        self._figure = None
        if self.views.selected_index == 1:
            self._draw(sel)
        by_name = sort_registries(sel, "name")
        labels = by_name["name"].fillna(by_name["registry_id"]).astype(str)
        dup = labels.str.lower().duplicated(keep=False)
        labels = labels.where(~dup, labels + " · " + by_name["subscription"].astype(str))
        self._quiet = True  # one detail refresh below, not one per traitlets event
        try:
            self.picker.set_options(list(zip(labels, by_name["registry_id"], strict=True)))
        finally:
            self._quiet = False
        self.show_registry(self.registry.value)

    def _draw(self, sel: pd.DataFrame) -> None:
        subset = self.tables.select(sel["registry_id"])
        width, height = CHART_SIZE
        fig = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI,
                     layout="constrained")  # fmt: skip
        top, bottom = fig.subplots(2, 1)
        plots.registries_by_region(subset, top, top=10)
        findings = self.findings[self.findings["registry_id"].isin(sel["registry_id"])]
        plots.exposure_by_severity(findings, bottom)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=CHART_DPI)
        self._figure = fig
        self.plot.value = buffer.getvalue()

    def show_registry(self, registry_id: str | None) -> None:
        """Fill the detail tabs with one registry's rows (a note when ``None``)."""
        for title, build in self._tabs:
            view = self.detail_views[title]
            view.value = "<i>no registry selected</i>" if registry_id is None else \
                build(self, registry_id)  # fmt: skip


def _changes_tab(ex: Explorer, registry_id: str) -> str:
    return changes_html(ex.changes if ex.changes is not None else pd.DataFrame(), registry_id)


def _summary_tab(ex: Explorer, registry_id: str) -> str:
    reg = ex.tables.registries
    rows = reg[reg["registry_id"] == registry_id]
    if rows.empty:
        return "<i>no registry</i>"
    mine = ex.registries[ex.registries["registry_id"] == registry_id].iloc[0]
    regions = ex._regions[ex._regions["registry_id"] == registry_id]
    derived = {
        "worst_severity": mine["worst_severity"] if pd.notna(mine["worst_severity"]) else "none",
        "findings": mine["findings"], "approved_pes": mine["approved_pes"],
        "regions": mine["regions"], "region_list": ", ".join(regions["location"].astype(str)),
        "subscription": mine["subscription"],
        **({"cost": f"{mine['cost']:,.2f} {ex.currency or ''}".strip()} if "cost" in mine else {}),
    }  # fmt: skip
    return summary_html(rows.iloc[0], derived, labels={"region_list": "all regions"})


def explore(
    tables: RegistryTables,
    costs: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    max_rows: int = 200,
    subscription_names: Mapping[str, str] | None = None,
    backing: BackingTables | None = None,
    assets: AssetTables | None = None,
    changes: pd.DataFrame | ChangeSet | None = None,
    tabs: Sequence[tuple[str, Builder]] = (),
) -> Explorer:
    """An interactive explorer of ``tables``: filters, a sortable table, a chart and details.

    Args:
        tables: the registry tables (``mf.flatten(...)``, ``mf.fetch_registries()``,
            ``mf.read_parquet(...)``).
        costs: optional cost export: a path, a frame from ``mf.read_cost_export`` or from
            :func:`mlreg_frames.analysis.join_costs`; adds a cost column and a costs tab.
        max_rows: most rows the table shows at once (the totals and the picker count all).
        subscription_names: display name of each subscription id, shown instead of the id;
            by default the names of ``tables.subscriptions``; ids without one show as a short
            id (their first 8 characters, more where two ids start alike).
        backing: :func:`mlreg_frames.fetch_backing` of the tables: the findings judge the
            accounts as Azure returns them, and an ``accounts`` tab shows each account as the
            registry declares it beside what Azure says (unknown when not returned).
        assets: the registries' asset tables (``mf.flatten_assets`` / ``mf.fetch_assets``):
            adds an ``assets`` tab (per type: containers, versions, archived, newest, oldest,
            last publisher; and a list of the registry's assets).
        changes: a change log (:func:`mlreg_frames.changes`, or the ``changes`` of
            :func:`mlreg_frames.fetch_changes`): adds a ``changes`` tab (the registry's
            changes newest first, and its timeline by day and kind).
        tabs: more detail tabs, ``(title, builder)`` pairs; ``builder(explorer, registry_id)``
            returns the tab's HTML.

    Example::

        >>> ex = explore(tables, "data/sample/costs.csv")   # doctest: +SKIP
        >>> ex.sort_by.value = "cost"                        # doctest: +SKIP
    """
    if isinstance(changes, ChangeSet):
        changes = changes.changes
    joined = None
    if costs is not None:
        is_joined = isinstance(costs, pd.DataFrame) and "matched" in costs.columns
        joined = costs if is_joined else join_costs(tables, costs)
    return Explorer(
        tables, joined, max_rows=max_rows, subscription_names=subscription_names,
        backing=backing, assets=assets, changes=changes, tabs=tabs,
    )  # fmt: skip
