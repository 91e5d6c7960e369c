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
    "PE_COLORS",
    "PRIMARY",
    "REPLICA",
    "SEVERITY_COLORS",
    "STORAGE",
    "AutoDateLocator",
    "Axes",
    "ConciseDateFormatter",
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
    "legend_outside",
    "plot_module",
    "plural",
]

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
    "public_network_access_without_private_endpoint": "public access, no approved PE",
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
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              **kwargs)  # fmt: skip


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
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def finish(ax: Axes, title: str, xlabel: str | None = None, ylabel: str | None = None) -> None:
    ax.set_title(title, loc="left", fontweight="bold")
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def label_bars(ax: Axes, bars: Any, horizontal: bool) -> None:
    ax.bar_label(bars, padding=2, fontsize=8, color="0.25", fmt="%g")
    if horizontal:
        ax.margins(x=0.12)
    else:
        ax.margins(y=0.12)
