"""Registry contents charts: what each registry holds, stacked by asset type; how old it is."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import schema
from ._style import (
    SMALL_PT,
    Axes,
    axes_or_new,
    draw_empty,
    ellipsize,
    finish,
    keep_bar_size,
    legend_above,
)

__all__ = ["AGE_BUCKETS", "ASSET_COLORS", "asset_age", "assets_by_registry"]

AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("< 1 month", 30),
    ("1-3 months", 90),
    ("3-6 months", 180),
    ("6-12 months", 365),
    ("1-2 years", 730),
    ("> 2 years", None),
)
"""The age buckets of :func:`asset_age` (label, upper bound in days, exclusive); versions
without a creation time go to a last bar, ``unknown``."""

ASSET_COLORS = {
    "models": "#2e86c1",
    "environments": "#28b463",
    "components": "#af7ac5",
    "data": "#f5b041",
    "codes": "#7f8c8d",
}
"""One colour per asset type, the same in every contents chart."""


def assets_by_registry(
    held: pd.DataFrame, ax: Axes | None = None, *, measure: str = "versions", top: int = 20
) -> Axes:
    """Horizontal stacked bars: each registry's ``versions`` (or ``containers``) by asset type.

    Args:
        held: a frame from :func:`mlreg_frames.analysis.contents`.
        measure: ``"versions"``, ``"containers"`` or ``"replicated_versions"``.
        top: the registries holding most (the title says so when some are left out).

    Unknown counts (a failed list) are left out of the bars, not drawn as zero.
    """
    title = f"Asset {measure.replace('_', ' ')} per registry, by type"
    wide = held.pivot_table(
        index="name", columns="asset_type", values=measure, aggfunc="sum", fill_value=0
    )
    kinds = [k for k in schema.ASSET_TYPES if k in wide.columns]
    wide = wide.reindex(columns=kinds).astype(float)
    wide = wide[wide.sum(axis=1) > 0]
    ax = axes_or_new(ax, (8, max(3.0, 0.3 * min(len(wide), top) + 1.5)))
    if wide.empty:
        return draw_empty(ax, title, "no assets")
    ranked = wide.loc[wide.sum(axis=1).sort_values().index]
    if len(ranked) > top:
        title += f" (top {top} of {len(ranked)})"
        ranked = ranked.iloc[-top:]
    left = pd.Series(0.0, index=ranked.index)
    y = list(range(len(ranked)))
    for kind in kinds:
        ax.barh(y, ranked[kind], left=left, color=ASSET_COLORS[kind], label=kind)
        left += ranked[kind]
    ax.set_yticks(y, [ellipsize(name) for name in ranked.index])
    keep_bar_size(ax, len(ranked), horizontal=True)
    legend_above(ax)
    finish(ax, title, xlabel=measure.replace("_", " "))
    return ax


def _as_of(assets: Any, versions: pd.DataFrame, as_of: Any) -> pd.Timestamp:
    """The moment ages are measured from: ``as_of``, the fetch time, else the newest version."""
    if as_of is None:
        as_of = (getattr(assets, "provenance", None) or {}).get("fetched_at")
    stamp = pd.Timestamp(as_of) if as_of is not None else versions["created_at"].max()
    if pd.isna(stamp):
        return pd.Timestamp.now(tz="UTC")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _age_table(versions: pd.DataFrame, stamp: pd.Timestamp, by: str) -> pd.DataFrame:
    created = versions["created_at"]
    if by == "month":
        label = created.dt.strftime("%Y-%m").astype("string").fillna("unknown")
        known = created.dropna()
        span = (
            pd.period_range(known.min().strftime("%Y-%m"), known.max().strftime("%Y-%m"), freq="M")
            if len(known)
            else []
        )
        order = [str(p) for p in span] + (["unknown"] if created.isna().any() else [])
    else:
        days = (stamp - created).dt.total_seconds() / 86400
        label = pd.Series("unknown", index=versions.index, dtype=object)
        lower = float("-inf")
        for name, upper in AGE_BUCKETS:
            inside = (days >= lower) & (days < (upper if upper is not None else float("inf")))
            label = label.mask(inside.fillna(False).to_numpy(dtype=bool), name)
            lower = upper if upper is not None else lower
        order = [name for name, _ in AGE_BUCKETS] + (["unknown"] if created.isna().any() else [])
    table = pd.crosstab(pd.Categorical(label, categories=order), versions["asset_type"],
                        dropna=False)  # fmt: skip
    kinds = [k for k in schema.ASSET_TYPES if k in table.columns]
    return table.reindex(index=order, columns=kinds, fill_value=0)


def asset_age(assets: Any, ax: Axes | None = None, *, by: str = "age", as_of: Any = None) -> Axes:
    """Vertical stacked bars: versions by age (or by creation month), stacked by asset type.

    Args:
        assets: an :class:`~mlreg_frames.assettables.AssetTables` (or its ``asset_versions``).
        by: ``"age"`` for the :data:`AGE_BUCKETS` (how long ago each version was created),
            ``"month"`` for the month it was created (``YYYY-MM``).
        as_of: the moment ages are measured from (default: the fetch time in
            ``provenance["fetched_at"]``, else the newest version; the title names it).

    Each bar is labelled with its number of versions. Versions without ``created_at`` are
    drawn as ``unknown``, never given an age.

    Example::

        >>> ax = plots.asset_age(mf.flatten_assets("data/sample/_assets.ndjson"))  # doctest: +SKIP
    """
    if by not in ("age", "month"):
        from ..errors import InvalidArgumentError

        raise InvalidArgumentError(f"by must be 'age' or 'month', got {by!r}", argument="by")
    versions = assets if isinstance(assets, pd.DataFrame) else assets.asset_versions
    stamp = _as_of(assets, versions, as_of)
    title = "Asset versions by age" if by == "age" else "Asset versions by creation month"
    table = _age_table(versions, stamp, by)
    ax = axes_or_new(ax, (8 if by == "age" else min(14.0, max(8.0, 0.2 * len(table) + 2)), 4))
    if versions.empty:
        return draw_empty(ax, title, "no asset versions")
    if by == "age":
        title += f" on {stamp:%Y-%m-%d}"
    x = list(range(len(table)))
    bottom = pd.Series(0.0, index=table.index)
    bars: Any = None
    for kind in table.columns:
        bars = ax.bar(x, table[kind], bottom=bottom, color=ASSET_COLORS[kind], label=kind)
        bottom += table[kind]
    totals = table.sum(axis=1)
    if bars is not None:
        ax.bar_label(bars, labels=[f"{int(v):,}" if v else "" for v in totals], padding=2,
                 fontsize=SMALL_PT if by == "age" else SMALL_PT - 2)  # fmt: skip
    ax.margins(y=0.12)
    ax.set_xticks(x, list(table.index), rotation=0 if by == "age" else 90)
    keep_bar_size(ax, len(table), horizontal=False)
    legend_above(ax)
    finish(ax, title, ylabel="versions")
    if by == "month":
        ax.tick_params(axis="x", labelsize=SMALL_PT - 1)
    return ax
