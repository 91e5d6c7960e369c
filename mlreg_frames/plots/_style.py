"""Shared look of every chart: colours, labels that never collide, empty-data messages.

Imports matplotlib once, with a message saying how to install it when it is missing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

try:
    import matplotlib.pyplot as plot_module
    from matplotlib.axes import Axes
    from matplotlib.colors import ListedColormap
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without matplotlib
    raise ModuleNotFoundError(
        "mlreg_frames.plots needs matplotlib; install it with pip install 'mlreg-frames[plots]'",
        name=exc.name,
    ) from exc


__all__ = [
    "ACR",
    "FINDING_LABELS",
    "LABEL_PT",
    "PE_COLORS",
    "PRIMARY",
    "REPLICA",
    "SEVERITY_COLORS",
    "SMALL_PT",
    "STORAGE",
    "TEXT_PT",
    "TITLE_PT",
    "AutoDateLocator",
    "Axes",
    "ConciseDateFormatter",
    "ConstrainedLayoutEngine",
    "Figure",
    "ListedColormap",
    "MaxNLocator",
    "Patch",
    "axes_or_new",
    "draw_empty",
    "ellipsize",
    "finish",
    "keep_bar_size",
    "label_bars",
    "legend_above",
    "legend_outside",
    "plot_module",
    "plural",
    "set_title",
]

# Font sizes in points. The overview is 16 inches wide and saved 1,920 px wide, so these are
# the sizes it shows at on a 1,920 px slide; 9 pt is the smallest text anywhere, still about
# 11 px tall when the PNG is shown 1,400 px wide.
SMALL_PT = 9.0
"""Bar value labels, captions of secondary detail."""
TEXT_PT = 10.0
"""Tick labels, legends."""
LABEL_PT = 10.5
"""Axis labels."""
TITLE_PT = 12.5
"""Chart titles."""

SEVERITY_COLORS = {"high": "#c0392b", "medium": "#e67e22", "low": "#d4ac0d", "info": "#7f8c8d"}
"""Colour of each finding severity, shared by every chart and the explorer."""

PE_COLORS = {
    "Approved": "#2e8b57",
    "Pending": "#e67e22",
    "Rejected": "#c0392b",
    "Disconnected": "#7f8c8d",
    "Timeout": "#8e44ad",
}
PRIMARY, REPLICA = "#1f4e79", "#7fb3d5"
STORAGE, ACR = "#2874a6", "#b9770e"

FINDING_LABELS = {
    "public_network_access_without_approved_private_endpoint": "public access, no approved PE",
    "storage_blob_public_access": "blob public access allowed",
    "private_endpoint_pending": "private endpoint pending",
    "private_endpoint_rejected": "private endpoint rejected",
    "private_endpoint_disconnected": "private endpoint disconnected",
    "private_endpoint_timeout": "private endpoint timed out",
    "no_managed_identity": "no managed identity",
    "user_storage_without_hns": "BYO storage without HNS",
    "user_created_storage": "bring-your-own storage",
    "user_created_acr": "bring-your-own ACR",
}
"""Short, human labels of :data:`mlreg_frames.analysis.FINDINGS` for axes and legends."""


def ellipsize(text: Any, width: int = 26) -> str:
    """``text`` cut to ``width`` characters, ellipsis in the middle so both ends stay.

    Registry names often share a long prefix and differ at the end (``team-models-012``),
    so the tail is kept: ``a-registry-wi…name-012``.
    """
    text = "(none)" if text is None or text is pd.NA or text != text else str(text)
    if len(text) <= width:
        return text
    head = (width - 1) * 3 // 5
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one}" if n == 1 else f"{n:,} {many or one + 's'}"


def legend_outside(ax: Axes, **kwargs: Any) -> None:
    """A legend right of the axes: it never hides a bar, constrained layout makes room."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=TEXT_PT, frameon=False,
              title_fontsize=TEXT_PT, **kwargs)  # fmt: skip


def legend_above(ax: Axes, **kwargs: Any) -> None:
    """A one-row legend between the title and the plot: it never hides a bar, and panels
    side by side keep the same width (a legend at the side would widen only its own panel).

    :func:`finish` lifts the title over it.
    """
    handles = kwargs.pop("handles", None) or ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(handles),
              fontsize=TEXT_PT, frameon=False, borderaxespad=0.2, handlelength=1.2,
              columnspacing=1.0, borderpad=0.0, **kwargs)  # fmt: skip


def keep_bar_size(ax: Axes, n: int, *, horizontal: bool, minimum: int = 5) -> None:
    """Keep bars their usual thickness when there are only a few of them."""
    if n < minimum:
        pad = (minimum - n) / 2
        (ax.set_ylim if horizontal else ax.set_xlim)(-0.5 - pad, n - 0.5 + pad)


def axes_or_new(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plot_module.subplots(figsize=size, layout="constrained")
    return new


def draw_empty(ax: Axes, title: str, message: str) -> Axes:
    ax.set_title(title, loc="left", fontweight="bold", fontsize=TITLE_PT)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4",
            fontsize=TEXT_PT)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def set_title(ax: Axes, title: str, *, legend_row: bool = False) -> None:
    """The chart's bold title, left; ``legend_row`` lifts it over a one-row legend's height.

    Panels side by side all take ``legend_row`` so their titles line up.
    """
    # a one-row legend is about 1.6 lines of text tall
    pad = 6.0 + (TEXT_PT * 1.6 if legend_row else 0.0)
    ax.set_title(title, loc="left", fontweight="bold", fontsize=TITLE_PT, pad=pad)


def finish(ax: Axes, title: str, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Title, axis labels and the common look; the title goes over a :func:`legend_above`."""
    legend = ax.get_legend()
    above = legend is not None and legend.get_bbox_to_anchor().y0 >= ax.bbox.y1 - 1
    set_title(ax, title, legend_row=above)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=LABEL_PT)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=LABEL_PT)
    ax.tick_params(labelsize=TEXT_PT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def label_bars(ax: Axes, bars: Any, horizontal: bool) -> None:
    ax.bar_label(bars, padding=2, fontsize=SMALL_PT, color="0.25", fmt="%g")
    if horizontal:
        ax.margins(x=0.12)
    else:
        ax.margins(y=0.12)
