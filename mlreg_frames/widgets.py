"""An ipywidgets explorer for registry tables: filter, look, pick a registry, read its details.

``mf.explore(tables)`` returns an :class:`Explorer`, a widget made of standard ipywidgets
controls only (dropdowns, HTML, an image, tabs), so it renders the same in JupyterLab,
Notebook 7 and VS Code. The filters (subscription, region, SKU tier, public network access,
finding severity) update a table of registries and a chart; picking a registry shows its
regions, storage, container registries, identities, private endpoints, tags, findings and,
with a cost export, its costs.

Every control is an attribute, so code (and tests) can drive it::

    >>> import mlreg_frames as mf
    >>> ex = mf.explore(tables)                 # doctest: +SKIP
    >>> ex.region.value = "westeurope"          # doctest: +SKIP
    >>> ex.selected[["name", "worst_severity"]]  # doctest: +SKIP

Needs ipywidgets and matplotlib: ``pip install 'mlreg-frames[widgets]'``.
"""

from __future__ import annotations

import html
import io
import os
from typing import Any

import pandas as pd

try:
    import ipywidgets as widgets
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without ipywidgets
    raise ModuleNotFoundError(
        "mlreg_frames.widgets needs ipywidgets; install it with "
        "pip install 'mlreg-frames[widgets]'",
        name=exc.name,
    ) from exc

from matplotlib.figure import Figure

from . import analysis, plots
from .analysis.costs import join_costs
from .tables import RegistryTables

__all__ = ["DETAIL_TABS", "Explorer", "explore"]

ALL = "(all)"
"""The option of every filter that does not filter."""

NOT_SET = "(not set)"
"""The filter option matching registries where the field is null."""

DETAIL_TABS = (
    "summary", "regions", "storage", "acr", "identities", "private endpoints", "tags",
    "findings",
)  # fmt: skip
"""Tabs of the detail view; ``costs`` is added when the explorer has a cost export."""

_TABLE_OF_TAB = {
    "regions": "regions",
    "storage": "storage",
    "acr": "acr",
    "identities": "identities",
    "private endpoints": "pe_connections",
    "tags": "tags",
}
_SEVERITY_FILTER = [
    ("any", ALL),
    ("high", "high"),
    ("medium or worse", "medium"),
    ("low or worse", "low"),
    ("any finding", "info"),
    ("no findings", "none"),
]
_SCROLL = "mlreg-scroll"
_SCROLL_STYLE = "width:0;min-width:100%;overflow:auto"
# Cells are scoped under the scroll box so they outrank the global ``.dataframe thead th
# {text-align:right}`` that every pandas DataFrame output in the same notebook page injects.
_STYLE = (
    "<style>.mlreg-t{border-collapse:collapse;font-size:12px}"
    ".mlreg-scroll .mlreg-t th,.mlreg-scroll .mlreg-t td{padding:2px 8px;"
    "border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}"
    ".mlreg-scroll .mlreg-t th{background:#f4f6f7}</style>"
)


def _frame_html(frame: pd.DataFrame, *, empty: str = "nothing here", max_height: int = 0) -> str:
    """A frame as a compact, escaped HTML table in its own scroll box.

    The box is as wide as the widget (``width:0;min-width:100%`` keeps the table's width out of
    the layout), so a wide table scrolls sideways inside its box instead of pushing the whole
    explorer (filters, chart, detail tabs) sideways with it; ``max_height`` caps its height.
    """
    if frame.empty:
        return f"<i>{html.escape(empty)}</i>"
    shown = frame.astype(object).where(frame.notna(), "")
    table = shown.to_html(index=False, escape=True, classes="mlreg-t", border=0)
    height = f"max-height:{max_height}px;" if max_height else ""
    return f"{_STYLE}<div class='{_SCROLL}' style='{height}{_SCROLL_STYLE}'>{table}</div>"


def _options(values: pd.Series) -> list[tuple[str, str]]:
    present = sorted(str(v) for v in values.dropna().unique())
    extra = [(NOT_SET, NOT_SET)] if values.isna().any() else []
    return [(ALL, ALL), *[(v, v) for v in present], *extra]


def _matches(values: pd.Series, choice: str) -> pd.Series:
    if choice == ALL:
        return pd.Series(True, index=values.index)
    if choice == NOT_SET:
        return values.isna()
    return (values.astype("string") == choice).fillna(False)


class Explorer(widgets.VBox):
    """The registry explorer widget; build it with :func:`explore`.

    Attributes:
        subscription, region, sku_tier, public_access, severity: the filter dropdowns.
        summary: an HTML line saying how many registries the filters keep.
        table: the HTML table of the registries the filters keep.
        plot: a PNG image of those registries by region and their findings by severity.
        figure: the matplotlib Figure behind ``plot``.
        registry: the dropdown picking one of the registries the filters keep.
        detail: the Tab of the picked registry's details; ``detail_views`` maps each tab
            name (:data:`DETAIL_TABS`, plus ``costs``) to its HTML widget.
        registries: one row per registry with the columns the table shows.
        findings: :func:`mlreg_frames.analysis.exposure` of the whole set.
        costs: :func:`mlreg_frames.analysis.join_costs` output, or None.
    """

    def __init__(self, tables: RegistryTables, costs: pd.DataFrame | None = None,
                 *, max_rows: int = 200):  # fmt: skip
        self.tables = tables
        self.findings = analysis.exposure(tables)
        self.costs = costs
        self.max_rows = max_rows
        self._quiet = False
        self._regions = analysis.registry_regions(tables)
        self.registries = self._registry_frame()
        reg = self.registries

        def dropdown(description: str, options: list[tuple[str, str]]) -> widgets.Dropdown:
            return widgets.Dropdown(
                options=options,
                value=ALL,
                description=description,
                style={"description_width": "initial"},
                layout=widgets.Layout(width="auto"),
            )

        self.subscription = dropdown("Subscription", _options(reg["subscription_id"]))
        self.region = dropdown("Region", _options(self._regions["location"]))
        self.sku_tier = dropdown("SKU tier", _options(reg["sku_tier"]))
        self.public_access = dropdown("Public access", _options(reg["public_network_access"]))
        self.severity = dropdown("Findings", _SEVERITY_FILTER)
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.figure: Figure | None = None
        self.registry = widgets.Dropdown(description="Registry", layout=widgets.Layout(width="50%"))
        names = [*DETAIL_TABS, *(["costs"] if costs is not None else [])]
        self.detail_views = {name: widgets.HTML() for name in names}
        self.detail = widgets.Tab(children=list(self.detail_views.values()), titles=tuple(names))
        filters = [self.subscription, self.region, self.sku_tier, self.public_access,
                   self.severity]  # fmt: skip
        for control in filters:
            control.observe(self._on_filter, names="value")
        self.registry.observe(self._on_registry, names="value")
        super().__init__(
            children=[
                widgets.HBox(filters, layout=widgets.Layout(flex_flow="row wrap")),
                self.summary,
                self.table,
                self.plot,
                self.registry,
                self.detail,
            ]
        )
        self.refresh()

    def _registry_frame(self) -> pd.DataFrame:
        reg = self.tables.registries
        out = reg[["registry_id", "name", "subscription_id", "location", "sku_tier",
                   "public_network_access", "created_at"]].copy()  # fmt: skip
        out["regions"] = (
            self._regions.groupby("registry_id").size().reindex(reg["registry_id"], fill_value=0)
            .to_numpy()
        )  # fmt: skip
        pe = self.tables.pe_connections
        approved = pe[pe["status"].astype("string").str.lower() == "approved"]
        out["approved_pes"] = (
            approved.groupby("registry_id").size().reindex(reg["registry_id"], fill_value=0)
            .to_numpy()
        )  # fmt: skip
        found = self.findings.groupby("registry_id")
        out["findings"] = found.size().reindex(reg["registry_id"], fill_value=0).to_numpy()
        worst = found["severity"].max().reindex(reg["registry_id"])
        out["worst_severity"] = pd.Categorical(worst.to_numpy(), dtype=analysis.SEVERITY)
        if self.costs is not None:
            matched = self.costs[self.costs["matched"].astype("boolean").fillna(False)]
            total = matched.groupby("registry_id")["cost"].sum()
            out["cost"] = total.reindex(reg["registry_id"]).fillna(0.0).round(2).to_numpy()
        return out.sort_values(["name", "registry_id"]).reset_index(drop=True)

    @property
    def selected(self) -> pd.DataFrame:
        """The registries the current filters keep (the rows of :attr:`table`)."""
        reg = self.registries
        keep = _matches(reg["subscription_id"], self.subscription.value)
        keep &= _matches(reg["sku_tier"], self.sku_tier.value)
        keep &= _matches(reg["public_network_access"], self.public_access.value)
        if self.region.value != ALL:
            there = self._regions.loc[self._regions["location"] == self.region.value]
            keep &= reg["registry_id"].isin(there["registry_id"])
        severity = self.severity.value
        if severity == "none":
            keep &= reg["findings"] == 0
        elif severity != ALL:
            keep &= (reg["worst_severity"] >= severity).fillna(False).astype(bool)
        return reg[keep.to_numpy()].reset_index(drop=True)

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_registry(self, change: Any) -> None:
        if not self._quiet:
            self.show_registry(change["new"])

    def refresh(self) -> None:
        """Re-apply the filters: summary line, table, chart and registry picker."""
        sel = self.selected
        self.summary.value = (
            f"<b>{len(sel)}</b> of {len(self.registries)} registries match the filters"
        )
        shown = sel.drop(columns=["registry_id"]).head(self.max_rows)
        shown = shown.assign(created_at=shown["created_at"].dt.strftime("%Y-%m-%d"))
        note = (
            f"<br><i>first {self.max_rows} of {len(sel)} shown</i>"
            if len(sel) > self.max_rows
            else ""
        )
        self.table.value = _frame_html(shown, empty="no registry matches", max_height=420) + note
        self._draw(sel)
        current = self.registry.value
        labels = sel["name"].fillna(sel["registry_id"]).astype(str)
        dup = labels.str.lower().duplicated(keep=False)
        labels = labels.where(~dup, labels + " · " + sel["subscription_id"].astype(str).str[:8])
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
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        left, right = fig.subplots(1, 2)
        plots.registries_by_region(subset, left, top=10)
        findings = self.findings[self.findings["registry_id"].isin(sel["registry_id"])]
        plots.exposure_by_severity(findings, right)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self.figure = fig
        self.plot.value = buffer.getvalue()

    def show_registry(self, registry_id: str | None) -> None:
        """Fill the detail tabs with one registry's rows (empty when ``None``)."""
        if registry_id is None:
            for view in self.detail_views.values():
                view.value = "<i>no registry selected</i>"
            return
        reg = self.tables.registries
        row = reg[reg["registry_id"] == registry_id].drop(columns=["extra"])
        summary = pd.DataFrame(
            {"field": row.columns, "value": row.iloc[0].astype(object).to_numpy()}
        )
        self.detail_views["summary"].value = _frame_html(summary.dropna())
        for tab, table in _TABLE_OF_TAB.items():
            frame = self.tables[table]
            rows = frame[frame["registry_id"] == registry_id]
            rows = rows.drop(columns=[c for c in ("registry_id", "extra") if c in rows])
            self.detail_views[tab].value = _frame_html(rows, empty=f"no {tab}")
        findings = self.findings[self.findings["registry_id"] == registry_id]
        self.detail_views["findings"].value = _frame_html(
            findings[["severity", "finding", "detail"]], empty="no findings"
        )
        if self.costs is not None:
            costs = self.costs[self.costs["registry_id"] == registry_id]
            by_month = costs.pivot_table(
                index=["location", "currency"], columns="month", values="cost", aggfunc="sum"
            ).round(2)
            by_month.columns.name = None
            self.detail_views["costs"].value = _frame_html(
                by_month.reset_index(), empty="no cost rows matched this registry"
            )


def explore(
    tables: RegistryTables,
    costs: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    max_rows: int = 200,
) -> Explorer:
    """An interactive explorer of ``tables``: filters, a table, a chart and a detail view.

    Args:
        tables: the registry tables (``mf.flatten(...)``, ``mf.fetch_registries()``,
            ``mf.read_parquet(...)``).
        costs: optional cost export: a path, a frame from ``mf.read_cost_export`` or from
            :func:`mlreg_frames.analysis.join_costs`; adds a cost column and a costs tab.
        max_rows: most rows the table shows at once.

    Example::

        >>> ex = explore(tables, "data/sample/costs.csv")   # doctest: +SKIP
        >>> ex                                               # doctest: +SKIP
    """
    joined = None
    if costs is not None:
        is_joined = isinstance(costs, pd.DataFrame) and "matched" in costs.columns
        joined = costs if is_joined else join_costs(tables, costs)
    return Explorer(tables, joined, max_rows=max_rows)
