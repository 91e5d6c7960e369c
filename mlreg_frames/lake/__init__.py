"""Snapshots over time in a data lake: append, read, list, diff and vacuum them.

:mod:`.write` lands a run as a snapshot (:func:`append`) and clears what crashed writers left
(:func:`vacuum`); :mod:`.read` brings snapshots back (:func:`read`, :func:`snapshots`,
:func:`diff_snapshots`); :mod:`.layout` declares the paths and :mod:`.store` the storage verbs;
:mod:`.diff` compares two sets of tables (:func:`diff`).

Example::

    >>> from mlreg_frames import flatten, lake, read_pages
    >>> sid = lake.append(flatten(read_pages("data/sample")), "out/lake")  # doctest: +SKIP
    >>> lake.read("out/lake").registries.shape                             # doctest: +SKIP
"""

from __future__ import annotations

from .diff import CHANGES, DIFF_COLUMNS, NATURAL_KEYS, diff
from .layout import (
    LAKE_FORMAT,
    LAYOUT,
    LOCK_PATH,
    MARKER_PATH,
    PART_PATH,
    SNAPSHOT_COLUMN,
    SNAPSHOT_FORMAT,
    STAGING_DIR,
    parse_snapshot_id,
    snapshot_id,
)
from .read import diff_snapshots, read, snapshots
from .write import append, vacuum

__all__ = [
    "CHANGES",
    "DIFF_COLUMNS",
    "LAKE_FORMAT",
    "LAYOUT",
    "LOCK_PATH",
    "MARKER_PATH",
    "NATURAL_KEYS",
    "PART_PATH",
    "SNAPSHOT_COLUMN",
    "SNAPSHOT_FORMAT",
    "STAGING_DIR",
    "append",
    "diff",
    "diff_snapshots",
    "parse_snapshot_id",
    "read",
    "snapshot_id",
    "snapshots",
    "vacuum",
]
