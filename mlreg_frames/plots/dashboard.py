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
from ._style import Figure, plural

__all__ = ["overview", "save_overview"]


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
    """A one-page 16:9 dashboard of the whole estate, for a slide or a report.

    Panels: registries by region, the replication matrix, exposure findings, storage types
    and ACR SKUs, private-endpoint states, registries created over time and, when ``costs``
    is given (a cost export path, a frame from ``read_cost_export`` or from ``join_costs``),
    cost by registry and cost by region (each split into home and replica regions). The
    figure is 16 x 9 inches, 20 x 11.25 with costs.

    The figure is built without pyplot's global state, so scripts can make many of them;
    save it with ``fig.savefig("overview.png", dpi=150)``.

    Example::

        >>> fig = overview(tables, "data/sample/costs.csv")   # doctest: +SKIP
    """
    joined = None if costs is None else _joined_costs(tables, costs)
    size: tuple[float, float]
    mosaic: list[Any]
    if joined is None:
        size, mosaic = (16, 9), [["R", "M", "X"], ["S", "P", "C"]]
    else:
        size, mosaic = (20, 11.25), [["R", "M", "X", "C"], ["S", "P", "K", "G"]]
    fig = Figure(figsize=size, layout="constrained")
    # the replication matrix needs width for its region columns
    ratios = [1.0, 1.4] + [1.0] * (len(mosaic[0]) - 2)
    axes = fig.subplot_mosaic(mosaic, width_ratios=ratios)
    inventory.registries_by_region(tables, axes["R"], top=15)
    inventory.replication_matrix(tables, axes["M"], max_registries=20)
    inventory.exposure_by_severity(tables, axes["X"])
    inventory.storage_and_acr(tables, axes["S"])
    inventory.pe_states(tables, axes["P"])
    inventory.created_over_time(tables, axes["C"])
    if joined is not None:
        cost.cost_by_registry(joined, axes["K"], top=12)
        cost.cost_by_region(joined, axes["G"], top=12)
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
    dpi: int = 150,
    title: str | None = None,
) -> Path:
    """Draw :func:`overview` and write it to ``path`` (format from the suffix: png, svg, pdf).

    Creates missing parent folders and returns the path written.

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
