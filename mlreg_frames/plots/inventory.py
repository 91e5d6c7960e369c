"""Inventory charts: regions, replication, accounts, exposure, private endpoints, growth."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

import pandas as pd

from .. import analysis
from ..flatten.subscriptions import subscription_labels
from ..tables import RegistryTables
from ._style import (
    ACR,
    FINDING_LABELS,
    LABEL_PT,
    PE_COLORS,
    PRIMARY,
    REPLICA,
    SEVERITY_COLORS,
    SMALL_PT,
    STORAGE,
    TEXT_PT,
    AutoDateLocator,
    Axes,
    ConciseDateFormatter,
    ListedColormap,
    MaxNLocator,
    Patch,
    axes_or_new,
    draw_empty,
    ellipsize,
    finish,
    keep_bar_size,
    label_bars,
    legend_above,
    plural,
)

__all__ = [
    "created_over_time",
    "exposure_by_severity",
    "pe_states",
    "registries_by_region",
    "replication_matrix",
    "storage_and_acr",
]


def _drawn(
    tables: RegistryTables | pd.DataFrame, compute: Callable[[RegistryTables], pd.DataFrame]
) -> pd.DataFrame:
    """The frame a chart draws: ``compute(tables)``, or ``tables`` when it is that frame already."""
    return compute(tables) if isinstance(tables, RegistryTables) else tables


def _count_bars(
    ax: Axes, labels: Sequence[str], counts: Sequence[int], colors: Sequence[str]
) -> None:
    """Horizontal bars of counts, bottom to top, each labelled with its count."""
    y = list(range(len(labels)))
    bars = ax.barh(y, counts, color=colors)
    ax.set_yticks(y, labels)
    label_bars(ax, bars, horizontal=True)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    keep_bar_size(ax, len(labels), horizontal=True)


def registries_by_region(
    tables: RegistryTables | pd.DataFrame, ax: Axes | None = None, *, top: int | None = None
) -> Axes:
    """Horizontal bars: registries per region, counting the registries at home there (dark)
    and those replicating there (light), so one registry counts in each of its regions.

    Args:
        tables: tables, or a frame from :func:`mlreg_frames.analysis.region_summary`.
        top: show only the ``top`` regions with most registries (the axis label says so).
    """
    summary = _drawn(tables, analysis.region_summary)
    ax = axes_or_new(ax, (8, max(3.0, 0.3 * len(summary) + 1)))
    title = "Registries per region, home + replica"
    if summary.empty:
        return draw_empty(ax, title, "no regions")
    xlabel = "registries with the region as home or replica"
    if top is not None and len(summary) > top:
        xlabel += f"\n(top {top} of {len(summary)} regions)"
        summary = summary.head(top)
    summary = summary.iloc[::-1]
    labels = [ellipsize(x, 20) for x in summary["location"]]
    ax.barh(labels, summary["primary"], color=PRIMARY, label="home region")
    bars = ax.barh(
        labels, summary["replica"], left=summary["primary"], color=REPLICA, label="replica region"
    )
    ax.bar_label(bars, labels=[str(v) for v in summary["registries"]], padding=2,
                 fontsize=SMALL_PT)  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.margins(x=0.1)
    keep_bar_size(ax, len(summary), horizontal=True)
    legend_above(ax)
    finish(ax, title, xlabel=xlabel)
    return ax


def _registry_labels(ids: pd.Index, tables: RegistryTables | None) -> list[str]:
    if tables is not None:
        reg = tables.registries.set_index("registry_id")
        names = reg["name"].reindex(ids).astype("string")
        subs = subscription_labels(tables.subscriptions, reg["subscription_id"].reindex(ids))
        names = names.fillna(pd.Series(ids, index=ids).str.rsplit("/", n=1).str[-1])
        dup = names.str.lower().duplicated(keep=False)
        names = names.where(~dup, names + " · " + subs.astype("string"))
        return [ellipsize(n, 30) for n in names]
    return [ellipsize(str(i).rsplit("/", 1)[-1], 30) for i in ids]


def replication_matrix(
    tables: RegistryTables | pd.DataFrame,
    ax: Axes | None = None,
    *,
    max_registries: int | None = None,
) -> Axes:
    """Heat map of registries x regions: dark = home region, light = replica.

    Args:
        tables: tables, or a frame from :func:`mlreg_frames.analysis.replication_matrix`.
        max_registries: keep the registries with the most regions (the title says so).
    """
    source = tables if isinstance(tables, RegistryTables) else None
    matrix = _drawn(tables, analysis.replication_matrix)
    title = "Where registries replicate"
    if matrix.empty:
        return draw_empty(axes_or_new(ax, (6, 4)), title, "no regions")
    total = len(matrix)
    if max_registries is not None and total > max_registries:
        matrix = matrix.head(max_registries)
        matrix = matrix.loc[:, (matrix > 0).any()]
        title += f" (top {max_registries} of {total})"
    ax = axes_or_new(ax, (max(6.0, 0.35 * matrix.shape[1] + 3), max(3.0, 0.28 * len(matrix) + 1.5)))
    cmap = ListedColormap(["#f4f6f7", REPLICA, PRIMARY])
    ax.imshow(matrix.to_numpy(), cmap=cmap, vmin=0, vmax=2, aspect="auto", interpolation="none")
    ax.set_xticks(range(matrix.shape[1]), [ellipsize(c, 18) for c in matrix.columns])
    ax.set_yticks(range(len(matrix)), _registry_labels(matrix.index, source))
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_xticks([x - 0.5 for x in range(1, matrix.shape[1])], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(matrix))], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    handles = [Patch(color=PRIMARY, label="home"), Patch(color=REPLICA, label="replica")]
    legend_above(ax, handles=handles)
    finish(ax, title)
    return ax


def storage_and_acr(tables: RegistryTables | pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: storage accounts per type (redundancy) and container registries per SKU.

    Args:
        tables: tables, or a frame from :func:`mlreg_frames.analysis.cost_drivers`.
    """
    drivers = _drawn(tables, analysis.cost_drivers)
    ax = axes_or_new(ax, (7, 4))
    title = "Storage account types and ACR SKUs"
    rows = []
    for kind, missing in (("storage", "(type not reported)"), ("acr", "(SKU not reported)")):
        skus = drivers.loc[drivers["resource_kind"] == kind, "sku"]
        counts = skus.fillna(missing).value_counts(sort=False).sort_index()
        rows += [(kind, sku, int(n)) for sku, n in counts.items()]
    if not rows:
        return draw_empty(ax, title, "no storage accounts or container registries")
    rows = rows[::-1]
    labels = [ellipsize(f"{sku}  ", 22) for _, sku, _ in rows]
    colors = [STORAGE if kind == "storage" else ACR for kind, _, _ in rows]
    _count_bars(ax, labels, [n for _, _, n in rows], colors)
    handles = [
        Patch(color=STORAGE, label="storage account type"),
        Patch(color=ACR, label="ACR SKU"),
    ]
    legend_above(ax, handles=handles)
    finish(ax, title, xlabel="storage accounts or ACRs (one each per registry region)")
    return ax


def exposure_by_severity(tables: RegistryTables | pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: registries affected per finding, coloured by severity, worst on top.

    Args:
        tables: tables, or a frame from :func:`mlreg_frames.analysis.exposure`.
    """
    findings = _drawn(tables, analysis.exposure)
    ax = axes_or_new(ax, (7, 4))
    title = "Exposure findings by severity"
    if findings.empty:
        return draw_empty(ax, title, "no findings")
    counts = (
        findings.groupby(["severity", "finding"], observed=True)["registry_id"]
        .nunique()
        .reset_index()
        .sort_values(["severity", "registry_id"], ascending=[True, True])
    )
    labels = [ellipsize(FINDING_LABELS.get(f, f), 30) for f in counts["finding"]]
    colors = [SEVERITY_COLORS.get(str(s), "0.5") for s in counts["severity"]]
    _count_bars(ax, labels, counts["registry_id"].tolist(), colors)
    present = [s for s in reversed(analysis.SEVERITY.categories) if s in set(counts["severity"])]
    handles = [Patch(color=SEVERITY_COLORS[s], label=s) for s in present]
    legend_above(ax, handles=handles)
    finish(ax, title, xlabel="registries affected")
    return ax


def pe_states(tables: RegistryTables | pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: private-endpoint connections per connection state.

    Args:
        tables: tables, or the ``pe_connections`` frame.
    """
    pe = _drawn(tables, attrgetter("pe_connections"))
    ax = axes_or_new(ax, (6, 3))
    title = "Private endpoint connections by state"
    if pe.empty:
        return draw_empty(ax, title, "no private endpoint connections")
    counts = pe["status"].astype("string").fillna("(none)").value_counts()
    order = [s for s in PE_COLORS if s in counts.index] + sorted(
        s for s in counts.index if s not in PE_COLORS
    )
    counts = counts.reindex(order).iloc[::-1]  # Approved on top
    colors = [PE_COLORS.get(s, "0.6") for s in counts.index]
    _count_bars(ax, [ellipsize(s, 16) for s in counts.index], counts.tolist(), colors)
    who = plural(pe["registry_id"].nunique(), "registry has", "registries have")
    finish(ax, title, xlabel=f"connections ({who} connections)")
    return ax


def _period(span_days: float) -> tuple[str, str, float]:
    """(pandas period code, label, bar width in days) for a time span."""
    if span_days <= 3 * 365:
        return "M", "month", 25.0
    if span_days <= 10 * 365:
        return "Q", "quarter", 80.0
    return "Y", "year", 330.0


def created_over_time(tables: RegistryTables | pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of registries created per month (quarter, year for long spans) and the running total.

    Args:
        tables: tables, or the ``registries`` frame (uses ``created_at``).
    """
    reg = _drawn(tables, attrgetter("registries"))
    ax = axes_or_new(ax, (8, 4))
    title = "Registries created over time"
    created = pd.to_datetime(reg["created_at"], utc=True).dropna()
    if created.empty:
        return draw_empty(ax, title, "no creation dates (systemData.createdAt)")
    naive = created.dt.tz_localize(None)
    code, unit, width = _period((naive.max() - naive.min()).days)
    periods = naive.dt.to_period(code)
    counts = periods.value_counts().sort_index()
    full = pd.period_range(counts.index.min(), counts.index.max(), freq=code)
    counts = counts.reindex(full, fill_value=0)
    starts = counts.index.to_timestamp()
    ax.bar(starts, counts.to_numpy(), width=width, align="edge", color=PRIMARY,
           label=f"created per {unit}")  # fmt: skip
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    twin = ax.twinx()
    # the running total at the end of each period, from zero at the start of the first
    ends = [starts[0], *(counts.index + 1).to_timestamp()]
    total = [0, *counts.cumsum().to_numpy()]
    twin.plot(ends, total, color="#c0392b", marker="o", markersize=3, label="running total")
    ax.set_ylim(0, max(1, int(counts.max())) * 1.15)
    twin.set_ylim(0, max(1, len(created)) * 1.15)
    twin.set_ylabel("total registries", fontsize=LABEL_PT)
    twin.tick_params(labelsize=TEXT_PT)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    twin.spines["top"].set_visible(False)
    missing = len(reg) - len(created)
    handles = [*ax.get_legend_handles_labels()[0], *twin.get_legend_handles_labels()[0]]
    legend_above(ax, handles=handles)
    locator = AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    xlabel = "created (systemData.createdAt)" + (f"; {missing} without a date" if missing else "")
    finish(ax, title, xlabel=xlabel, ylabel=f"registries per {unit}")
    return ax
