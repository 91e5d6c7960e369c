"""Snapshots over time on Delta Lake: append, read, list, diff, repair, optimize and vacuum.

Every table is a Delta table at ``<root>/<table>`` (Fabric, Databricks, Synapse, Spark, Polars
and DuckDB open them natively); the ``snapshots`` Delta table, committed last, makes the eight
tables of one run a single snapshot. :mod:`.write` lands snapshots, :mod:`.maintain` repairs,
compacts and vacuums the tables, :mod:`.read` brings snapshots back, :mod:`.ledger` is the
cross-table commit, :mod:`.layout` declares the names, :mod:`.store` the storage,
:mod:`.migrate` converts a lake of the old marker format, :mod:`.diff` compares two sets of
tables (:func:`diff`), :mod:`.assetdiff` two sets of asset tables (:func:`diff_assets`) and
:mod:`.snapdiff` two snapshots (:func:`diff_snapshots`), :mod:`.changelog` one change log
of snapshot diffs and Resource Graph change records (:func:`changes`). With ``append(..., backing=,
assets=)`` a snapshot also holds the accounts behind the registries and what they hold.

Example::

    >>> from mlreg_frames import flatten, lake, read_pages
    >>> sid = lake.append(flatten(read_pages("data/sample")), "out/lake")  # doctest: +SKIP
    >>> lake.read("out/lake").registries.shape                             # doctest: +SKIP
"""

from __future__ import annotations

from .assetdiff import ASSET_CHANGES, diff_assets
from .changelog import GRAPH_CHANGES, changes, read_stored_changes, snapshot_changes
from .diff import CHANGES, DIFF_COLUMNS, NATURAL_KEYS, diff
from .health import unreadable_tables
from .layout import (
    LAYOUT,
    LEDGER,
    PARTITION_COLUMN,
    SNAPSHOT_COLUMN,
    SNAPSHOT_FORMAT,
    parse_snapshot_id,
    snapshot_id,
)
from .maintain import DEFAULT_REPAIR_AGE, DEFAULT_RETENTION, optimize, repair, vacuum
from .migrate import migrate
from .read import read, read_assets, read_backing, snapshots
from .snapdiff import diff_snapshots
from .write import append

__all__ = [
    "ASSET_CHANGES",
    "CHANGES",
    "DEFAULT_REPAIR_AGE",
    "DEFAULT_RETENTION",
    "DIFF_COLUMNS",
    "GRAPH_CHANGES",
    "LAYOUT",
    "LEDGER",
    "NATURAL_KEYS",
    "PARTITION_COLUMN",
    "SNAPSHOT_COLUMN",
    "SNAPSHOT_FORMAT",
    "append",
    "changes",
    "diff",
    "diff_assets",
    "diff_snapshots",
    "migrate",
    "optimize",
    "parse_snapshot_id",
    "read",
    "read_assets",
    "read_backing",
    "read_stored_changes",
    "repair",
    "snapshot_changes",
    "snapshot_id",
    "snapshots",
    "unreadable_tables",
    "vacuum",
]
