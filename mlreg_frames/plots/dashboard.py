"""The one-page dashboard: every chart on one 16:9 figure, and saving it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .. import analysis
from ..analysis.costs import join_costs
from ..errors import MlregFramesError
from ..tables import RegistryTables
from . import cost, inventory
from ._style import ConstrainedLayoutEngine, Figure, plural, set_title

__all__ = ["OVERVIEW_DPI", "OVERVIEW_SIZE", "overview", "save_overview"]

OVERVIEW_SIZE = (16.0, 9.0)
"""Size of :func:`overview` in inches: 16:9, like a slide."""
OVERVIEW_DPI = 120
"""Default resolution of :func:`save_overview`: 16 x 9 inches become 1,920 x 1,080 px."""


def _joined_costs(tables: RegistryTables, costs: Any) -> pd.DataFrame:
    if isinstance(costs, pd.DataFrame) and {"matched", "registry_id", "cost"} <= set(costs):
        return costs
    return join_costs(tables, costs)


def overview(
    tables: RegistryTables,
    costs: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """A one-page 16:9 dashboard of the whole estate, for a slide or a report; returns the Figure.

    Six panels, large enough to read on a slide: registries per region (home + replica), the
    replication matrix of the registries with most regions, exposure findings, storage types
    and ACR SKUs, and then either private-endpoint states and registries created over time
    or, when ``costs`` is given (a cost export path, a frame from ``read_cost_export`` or from
    ``join_costs``), cost by registry and cost by region. The individual charts in this module
    draw each panel in full, with every row.

    The figure is always :data:`OVERVIEW_SIZE` (16 x 9 inches): saved at :data:`OVERVIEW_DPI`
    it is 1,920 x 1,080 px, and no text is smaller than 9 pt at that size. It is built without
    pyplot's global state, so scripts can make many of them.

    Example::

        >>> fig = overview(tables, "data/sample/costs.csv")   # doctest: +SKIP
        >>> fig.savefig("overview.png", dpi=OVERVIEW_DPI)      # doctest: +SKIP
    """
    joined = None if costs is None else _joined_costs(tables, costs)
    last = ["P", "C"] if joined is None else ["K", "G"]
    fig = Figure(figsize=OVERVIEW_SIZE, layout=ConstrainedLayoutEngine(w_pad=0.12, h_pad=0.12,
                 wspace=0.04, hspace=0.06))  # fmt: skip
    axes = fig.subplot_mosaic([["R", "M", "X"], ["S", *last]], width_ratios=[1.05, 1.2, 1.0])
    inventory.registries_by_region(tables, axes["R"], top=10)
    inventory.replication_matrix(tables, axes["M"], max_registries=10)
    inventory.exposure_by_severity(tables, axes["X"])
    inventory.storage_and_acr(tables, axes["S"])
    if joined is None:
        inventory.pe_states(tables, axes["P"])
        inventory.created_over_time(tables, axes["C"])
    else:
        cost.cost_by_registry(joined, axes["K"], top=10)
        cost.cost_by_region(joined, axes["G"], top=10)
    for ax in axes.values():  # every title over a legend row, so a row's titles line up
        set_title(ax, ax.get_title(loc="left"), legend_row=True)
    reg = tables.registries
    n_regions = len(analysis.region_summary(tables))
    headline = " · ".join(
        [
            plural(len(reg), "registry", "registries"),
            plural(reg["subscription_id"].nunique(), "subscription"),
            plural(n_regions, "region"),
        ]
    )
    fig.suptitle(
        f"{title}: {headline}" if title else f"Azure ML registries: {headline}",
        fontsize=16,
        fontweight="bold",
        x=0.01,
        ha="left",
    )
    return fig


def save_overview(
    tables: RegistryTables,
    path: str | os.PathLike[str],
    *,
    costs: pd.DataFrame | str | os.PathLike[str] | None = None,
    dpi: int = OVERVIEW_DPI,
    title: str | None = None,
) -> Path:
    """Draw :func:`overview` and write it to ``path`` (format from the suffix: png, svg, pdf).

    At the default ``dpi`` a PNG is 1,920 x 1,080 px (``mlreg-frames demo`` and ``report``
    both write that size). Creates missing parent folders and returns the path written.

    Example::

        >>> save_overview(tables, "overview.png", costs="costs.csv")  # doctest: +SKIP
    """
    target = Path(path)
    fig = overview(tables, costs, title=title)
    suffix = target.suffix.lstrip(".").lower()
    if suffix not in fig.canvas.get_supported_filetypes():
        raise MlregFramesError(
            f"cannot save {target.name}: unknown image format {suffix!r}; "
            "use a .png, .svg or .pdf file name"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=dpi)
    except OSError as exc:
        raise MlregFramesError(
            f"cannot write {target}: {exc.strerror or exc}; pick a path in a folder you can "
            "write to"
        ) from exc
    return target
