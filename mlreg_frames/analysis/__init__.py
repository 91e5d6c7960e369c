"""Questions asked of the tables: exposure findings, regions and replicas, cost.

:mod:`.exposure` finds what makes a registry reachable or fragile (with a severity each),
:mod:`.regions` counts home and replica regions and the billed resources behind them, and
:mod:`.costs` reads Azure cost exports and joins them onto registries, and :mod:`.contents`
counts what each registry holds (models, environments, ... and their versions) and replicates,
and :mod:`.contentcost` what each stored version costs in each region, and
:mod:`.changekinds` sorts change rows into network, regions, identity and other.

Example::

    >>> import mlreg_frames as mf
    >>> from mlreg_frames import analysis
    >>> tables = mf.flatten(mf.read_pages("data/sample"))
    >>> analysis.exposure(tables)["severity"].max()
    'high'
"""

from __future__ import annotations

from .backing import BACKING_FINDINGS, backing_exposure, backing_findings
from .changekinds import CHANGE_KINDS, change_kind, change_kinds, changes_by_day
from .contentcost import CONTENTS_COST_COLUMNS, CONTENTS_COST_FLAGS, contents_cost
from .contents import CONTENTS_COLUMNS, contents
from .costs import COST_COLUMNS, join_costs, match_costs, normalise_costs, read_cost_export
from .exposure import FINDINGS, SEVERITY, exposure
from .regions import (
    cost_drivers,
    norm_region,
    region_summary,
    registry_info,
    registry_regions,
    replicas,
    replication_matrix,
)

__all__ = [
    "BACKING_FINDINGS",
    "CHANGE_KINDS",
    "CONTENTS_COLUMNS",
    "CONTENTS_COST_COLUMNS",
    "CONTENTS_COST_FLAGS",
    "COST_COLUMNS",
    "FINDINGS",
    "SEVERITY",
    "backing_exposure",
    "backing_findings",
    "change_kind",
    "change_kinds",
    "changes_by_day",
    "contents",
    "contents_cost",
    "cost_drivers",
    "exposure",
    "join_costs",
    "match_costs",
    "norm_region",
    "normalise_costs",
    "read_cost_export",
    "region_summary",
    "registry_info",
    "registry_regions",
    "replicas",
    "replication_matrix",
]
