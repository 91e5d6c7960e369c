"""The lake's layout, declared once: paths, snapshot ids and the commit markers.

Every path :mod:`mlreg_frames.lake` writes or reads is built from the templates here, and
:data:`LAYOUT` documents them (``docs/lake.md`` quotes it)::

    <root>/<table>/snapshot=2025-06-01T120000.000000Z/part-<writer>.parquet
    <root>/_snapshots/2025-06-01T120000.000000Z.json      <- the commit marker

Example::

    >>> snapshot_id("2025-06-01 12:00:00+02:00")
    '2025-06-01T100000.000000Z'
    >>> PART_PATH.format(table="tags", snapshot="2025-06-01T100000.000000Z", writer="w1")
    'tags/snapshot=2025-06-01T100000.000000Z/part-w1.parquet'
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .. import schema
from ..errors import LakeError
from .store import LakeStore

__all__ = [
    "LAKE_FORMAT",
    "LAYOUT",
    "LOCK_PATH",
    "MARKERS",
    "MARKER_PATH",
    "PART_PATH",
    "SNAPSHOT_COLUMN",
    "SNAPSHOT_FORMAT",
    "STAGING",
    "STAGING_DIR",
    "committed",
    "parse_snapshot_id",
    "read_marker",
    "snapshot_id",
]

SNAPSHOT_FORMAT = "%Y-%m-%dT%H%M%S.%fZ"
"""A snapshot id is its UTC time in this format: sorts in time order, no colons (safe in
URLs, Hive partition values and Windows paths), e.g. ``2025-06-01T120000.000000Z``."""

SNAPSHOT_COLUMN = schema.SNAPSHOT.name
"""The Hive partition key, and the column :func:`read` adds when it returns several snapshots."""

LAKE_FORMAT = 1
"""Version of the marker format; a reader refuses markers from a newer format."""

MARKERS = "_snapshots"
STAGING = "_staging"
PART_PATH = "{table}/" + SNAPSHOT_COLUMN + "={snapshot}/part-{writer}.parquet"
MARKER_PATH = MARKERS + "/{snapshot}.json"
LOCK_PATH = MARKERS + "/{snapshot}.lock"
STAGING_DIR = STAGING + "/{snapshot}-{writer}"

LAYOUT = f"""\
<root>/
  {PART_PATH}
      one Hive partition per snapshot for each table ({", ".join(schema.ALL_TABLES)}),
      written with the Arrow schema of mlreg_frames.schema; <writer> is a uuid per append
  {MARKER_PATH}
      the commit marker, published last and atomically: a snapshot exists exactly when its
      marker does; it lists the snapshot's files, row counts, schema version and provenance
  {LOCK_PATH}
      a writer's exclusive claim on a snapshot id, deleted after the commit
  {STAGING_DIR}/<table>/
      local folders only: parts are written here, then each table's folder is renamed into
      place; folders starting with "_" are ignored by Spark, Hive, Fabric and Synapse
"""
"""The lake layout; every path the lake writes is built from the templates above."""


def snapshot_id(when: datetime | pd.Timestamp | str) -> str:
    """The snapshot id of a moment (naive times are taken as UTC).

    Example::

        >>> snapshot_id("2025-06-01 12:00:00+02:00")
        '2025-06-01T100000.000000Z'
    """
    return _utc(when).strftime(SNAPSHOT_FORMAT)


def parse_snapshot_id(text: str) -> datetime:
    """The UTC time of a snapshot id (the inverse of :func:`snapshot_id`)."""
    try:
        return datetime.strptime(text, SNAPSHOT_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise LakeError(
            f"{text!r} is not a snapshot id (format {SNAPSHOT_FORMAT}); list them with "
            "`mlreg-frames snapshots ROOT`",
            snapshot=text,
        ) from exc


def _utc(when: datetime | pd.Timestamp | str) -> datetime:
    if isinstance(when, str):
        with contextlib.suppress(LakeError):
            return parse_snapshot_id(when)
        try:
            when = pd.Timestamp(when)
        except ValueError as exc:
            raise LakeError(
                f"{when!r} is neither a snapshot id nor a timestamp; use e.g. 2025-06-01T12:00:00Z",
                snapshot=when,
            ) from exc
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def read_marker(store: LakeStore, sid: str) -> dict[str, Any]:
    """The commit marker of snapshot ``sid``; refuses a marker from a newer format."""
    (raw,) = store.read_many([MARKER_PATH.format(snapshot=sid)]).values()
    marker: dict[str, Any] = json.loads(raw)
    if int(marker.get("format", 0)) > LAKE_FORMAT:
        raise LakeError(
            f"snapshot {sid} was written by a newer mlreg_frames (lake format "
            f"{marker.get('format')}); upgrade with `pip install -U mlreg-frames`",
            root=store.root,
            snapshot=sid,
        )
    return marker


def committed(store: LakeStore) -> list[str]:
    """The committed snapshot ids, oldest first (a snapshot exists iff its marker does)."""
    return [n[: -len(".json")] for n in store.list_dir(MARKERS) if n.endswith(".json")]
