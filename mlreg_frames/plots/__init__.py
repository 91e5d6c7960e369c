"""Matplotlib charts of registry tables, ready for a report or a slide.

Each chart takes :class:`~mlreg_frames.tables.RegistryTables` (or the frame it draws, from
:mod:`mlreg_frames.analysis` / :mod:`mlreg_frames.analysis.costs`) and an optional ``ax``, and
returns the Axes it drew on, so charts compose into your own figures. :func:`overview`
draws six of them on one 16:9 figure and returns that Figure (not an Axes). Nothing here
calls ``plt.show()`` or picks a backend, so it works headless (Agg) as well as in Jupyter.

Needs matplotlib: ``pip install 'mlreg-frames[plots]'``.

Example::

    >>> from mlreg_frames import plots
    >>> ax = plots.registries_by_region(tables)                  # doctest: +SKIP
    >>> plots.overview(tables).savefig("overview.png")           # doctest: +SKIP
"""

from ._style import FINDING_LABELS, PE_COLORS, SEVERITY_COLORS
from .backing import declared_vs_actual, declared_vs_actual_matrix
from .changes import CHANGE_COLORS, change_timeline
from .contents import AGE_BUCKETS, ASSET_COLORS, asset_age, assets_by_registry
from .cost import cost_by_region, cost_by_registry
from .dashboard import OVERVIEW_DPI, OVERVIEW_SIZE, overview, save_overview
from .inventory import (
    created_over_time,
    exposure_by_severity,
    pe_states,
    registries_by_region,
    replication_matrix,
    storage_and_acr,
)

__all__ = [
    "AGE_BUCKETS",
    "ASSET_COLORS",
    "CHANGE_COLORS",
    "FINDING_LABELS",
    "OVERVIEW_DPI",
    "OVERVIEW_SIZE",
    "PE_COLORS",
    "SEVERITY_COLORS",
    "asset_age",
    "assets_by_registry",
    "change_timeline",
    "cost_by_region",
    "cost_by_registry",
    "created_over_time",
    "declared_vs_actual",
    "declared_vs_actual_matrix",
    "exposure_by_severity",
    "overview",
    "pe_states",
    "registries_by_region",
    "replication_matrix",
    "save_overview",
    "storage_and_acr",
]
