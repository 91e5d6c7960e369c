"""A registry's change timeline: change rows per day, stacked by kind.

Takes the ``changes`` frame (:func:`mlreg_frames.fetch_changes`, :func:`mlreg_frames.changes`)
and draws one bar per UTC day, coloured by :func:`~mlreg_frames.analysis.changekinds.change_kind`
(network, regions, identity, other), for one registry or all of them.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from ..analysis.changekinds import CHANGE_KINDS, changes_by_day
from ._style import axes_or_new, draw_empty, ellipsize, finish, legend_above

__all__ = ["CHANGE_COLORS", "change_timeline"]

CHANGE_COLORS = {"network": "#c0392b", "regions": "#2e86c1", "identity": "#8e44ad",
                 "other": "#95a5a6"}  # fmt: skip
"""The colour of each change kind."""


def change_timeline(
    changes: pd.DataFrame, registry_id: str | None = None, ax: Axes | None = None
) -> Axes:
    """Draw change rows per day, stacked by kind, for ``registry_id`` (None: every registry).

    Example::

        >>> from mlreg_frames import plots
        >>> ax = plots.change_timeline(mf.changes("out/lake"), registry_id)   # doctest: +SKIP
    """
    counts = changes_by_day(changes, registry_id)
    name = registry_id.rsplit("/", 1)[-1] if registry_id else "all registries"
    title = f"Changes per day: {ellipsize(name, 40)}"
    ax = axes_or_new(ax, (8, 3.2))
    if counts.empty:
        return draw_empty(ax, title, "no changes in this span")
    bottom = pd.Series(0, index=counts.index, dtype="int64")
    for kind in CHANGE_KINDS:
        values = counts[kind]
        if values.sum():
            ax.bar(counts.index, values, bottom=bottom, width=0.8, color=CHANGE_COLORS[kind],
                   label=kind)  # fmt: skip
        bottom = bottom + values
    ax.xaxis_date()
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_ylim(0, max(1, int(bottom.max())) * 1.15)
    legend_above(ax)
    finish(ax, title, ylabel="changed properties")
    return ax
