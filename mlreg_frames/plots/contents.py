"""Registry contents charts: what each registry holds, stacked by asset type."""

from __future__ import annotations

import pandas as pd

from .. import schema
from ._style import Axes, axes_or_new, draw_empty, ellipsize, finish, keep_bar_size, legend_above

__all__ = ["ASSET_COLORS", "assets_by_registry"]

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
