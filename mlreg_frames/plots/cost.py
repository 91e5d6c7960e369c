"""Cost charts from :func:`mlreg_frames.analysis.join_costs`: by registry and by region."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ._style import (
    PRIMARY,
    REPLICA,
    SMALL_PT,
    Axes,
    axes_or_new,
    draw_empty,
    ellipsize,
    finish,
    keep_bar_size,
    legend_above,
)

__all__ = ["cost_by_region", "cost_by_registry"]


_HOME_REPLICA = ("home region", "replica regions")
# on the region chart the split is by what the region is to the registries billed there
_AS_HOME_REPLICA = ("as home region", "as replica region")


def _cost_rows(joined: pd.DataFrame) -> tuple[pd.DataFrame, str, float, str]:
    """(matched rows in the main currency, currency, unmatched total, period text)."""
    currency = joined["currency"].dropna().mode()
    cur = str(currency.iloc[0]) if len(currency) else ""
    rows = joined[(joined["currency"] == cur).fillna(False)] if cur else joined
    is_matched = rows["matched"].astype("boolean").fillna(False).astype(bool)
    months = rows["month"].dropna()
    period = ""
    if len(months):
        first, last = str(months.min()), str(months.max())
        period = first if first == last else f"{first} to {last}"
    # as the terminal summary derives it (each total rounded once, the part is their
    # difference), so the chart and the summary never print two numbers for one thing
    unmatched = round(rows["cost"].sum()) - round(rows.loc[is_matched, "cost"].sum())
    return rows[is_matched], cur, float(unmatched), period


def _nothing_matched(unmatched: float, currency: str) -> str:
    return f"no cost matched a registry ({unmatched:,.0f} {currency} unmatched)"


def _home_replica(frame: pd.DataFrame, index: str) -> pd.DataFrame:
    """Cost pivoted to columns ``home region`` / ``replica regions`` by ``index``."""
    kind = frame["is_primary"].map({True: "home region", False: "replica regions"})
    out = frame.assign(kind=kind.fillna("replica regions")).pivot_table(
        index=index, columns="kind", values="cost", aggfunc="sum", fill_value=0.0
    )
    out = out.reindex(columns=["home region", "replica regions"], fill_value=0.0)
    return out.loc[out.sum(axis=1).sort_values(ascending=False).index]


def _cost_bars(
    ax: Axes, table: pd.DataFrame, width: int, legend: tuple[str, str] = _HOME_REPLICA
) -> None:
    table = table.iloc[::-1]
    labels = [ellipsize(n, width) for n in table.index]
    ax.barh(labels, table["home region"], color=PRIMARY, label=legend[0])
    bars = ax.barh(labels, table["replica regions"], left=table["home region"], color=REPLICA,
                   label=legend[1])  # fmt: skip
    totals = table.sum(axis=1)
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in totals], padding=2, fontsize=SMALL_PT)
    ax.margins(x=0.18)
    keep_bar_size(ax, len(table), horizontal=True)
    legend_above(ax)


def _cost_chart(
    joined: pd.DataFrame,
    ax: Axes | None,
    title: str,
    table_of: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    top: int,
    width: int,
    noun: str = "",
    legend: tuple[str, str] = _HOME_REPLICA,
    show_unmatched: bool = False,
) -> Axes:
    """The one cost chart: ``table_of(matched rows)`` as bars, the ``top`` rows shown.

    The caption gives the period, the currency, what the rows beyond ``top`` cost (``noun``
    names them where the title does not) and, with ``show_unmatched``, the cost that matched
    no registry, so nothing is hidden.
    """
    ax = axes_or_new(ax, (8, 5))
    matched, cur, unmatched, period = _cost_rows(joined)
    if matched.empty:
        return draw_empty(ax, title, _nothing_matched(unmatched, cur))
    table = table_of(matched)
    caption = [f"cost ({cur}), {period}" if cur else f"cost, {period}"]
    if len(table) > top:
        rest = table.iloc[top:].to_numpy().sum()
        shown = f"top {top} of {len(table)} {noun}".rstrip()
        caption.append(f"{shown}; the other {len(table) - top}: {rest:,.0f}")
        table = table.head(top)
    if show_unmatched and unmatched:
        caption.append(f"{unmatched:,.0f} {cur} matched no registry")
    _cost_bars(ax, table, width, legend)
    finish(ax, title, xlabel="\n".join(caption))
    return ax


def _by_registry(matched: pd.DataFrame) -> pd.DataFrame:
    """Cost per registry name; a name used in two subscriptions gets the subscription added."""
    label = matched["name"].fillna(matched["registry_id"]).astype(str)
    dup = label.str.lower().duplicated(keep=False) & (
        matched.groupby(label)["registry_id"].transform("nunique") > 1
    )
    label = label.where(~dup, label + " · " + matched["subscription_id"].astype(str).str[:8])
    return _home_replica(matched.assign(label=label), "label")


def _by_region(matched: pd.DataFrame) -> pd.DataFrame:
    return _home_replica(matched.assign(location=matched["location"].fillna("?")), "location")


def cost_by_registry(joined: pd.DataFrame, ax: Axes | None = None, *, top: int = 15) -> Axes:
    """Horizontal bars: cost per registry, split into home region and replica regions.

    The caption gives the period, the currency, what the registries beyond ``top`` cost
    and the cost that matched no registry, so nothing is hidden.

    Args:
        joined: the frame from :func:`mlreg_frames.analysis.join_costs`.
        top: registries shown, most expensive first.
    """
    return _cost_chart(
        joined, ax, "Cost by registry", _by_registry, top=top, width=28, show_unmatched=True
    )


def cost_by_region(joined: pd.DataFrame, ax: Axes | None = None, *, top: int = 15) -> Axes:
    """Horizontal bars: cost per region, split by what the region is to the registries billed
    there: their home region, or a replica region.

    Args:
        joined: the frame from :func:`mlreg_frames.analysis.join_costs`.
        top: regions shown, most expensive first.
    """
    legend = _AS_HOME_REPLICA
    return _cost_chart(
        joined, ax, "Cost by region", _by_region, top=top, width=20, noun="regions", legend=legend
    )
