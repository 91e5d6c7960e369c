"""The lake's layout, declared once: table paths, columns, snapshot ids.

Every path :mod:`mlreg_frames.lake` writes or reads is built from the names here, and
:data:`LAYOUT` documents them (``docs/lake.md`` quotes it). Each table is a Delta table::

    <root>/registries/_delta_log/...      one Delta table per data table, partitioned by month
    <root>/snapshots/_delta_log/...       the ledger: a snapshot exists once committed here

Example::

    >>> snapshot_id("2025-06-01 12:00:00+02:00")
    '2025-06-01T100000.000000Z'
    >>> month_of("2025-06-01T100000.000000Z")
    '2025-06'
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

from .. import schema
from ..errors import LakeError
from ..schema.backing import BACKING_TABLES

__all__ = [
    "ABORTED",
    "ASSET_LAKE_TABLES",
    "BACKING_LAKE_TABLES",
    "CLAIMED",
    "COMMITTED",
    "DATA_TABLES",
    "LAYOUT",
    "LEDGER",
    "LEDGER_SCHEMA",
    "PARTITION_COLUMN",
    "SNAPSHOT_COLUMN",
    "SNAPSHOT_FORMAT",
    "TABLE_PROPERTIES",
    "TWIN_SUFFIX",
    "USER_METADATA",
    "list_twins",
    "month_of",
    "parse_snapshot_id",
    "snapshot_id",
]

SNAPSHOT_FORMAT = "%Y-%m-%dT%H%M%S.%fZ"
"""A snapshot id is its UTC time in this format: sorts in time order, no colons (safe in
URLs, partition values and Windows paths), e.g. ``2025-06-01T120000.000000Z``."""

SNAPSHOT_COLUMN = schema.SNAPSHOT.name
"""A plain column of every data table: the snapshot a row belongs to."""

PARTITION_COLUMN = "month"
"""The Delta partition column of every data table (``YYYY-MM`` of the snapshot): a year of
daily snapshots makes 12 partitions, not 365, and :func:`~mlreg_frames.lake.optimize`
compacts each month's small files into one."""

TABLE_PROPERTIES = {"delta.checkpointInterval": "10"}
"""Delta table properties every table is created with. A checkpoint every 10 commits (Delta's
default is 100) keeps each append's log replay short: without it an append took 0.12 s after
a checkpoint and 0.8 s just before the next one on the 40-registry sample (each append
commits to nine tables and twice to the ledger). :func:`~mlreg_frames.lake.optimize` sets
them on tables created before."""

USER_METADATA = "userMetadata"
"""The ``commitInfo`` key every commit carries the snapshot id in: Spark's and Fabric's
``DESCRIBE HISTORY`` show it as ``userMetadata`` (the key ``mlreg_frames.snapshot`` too)."""

TWIN_SUFFIX = "_json"
"""Every list column ``c`` of a data table has a scalar twin ``c_json`` in the lake: the list
as JSON array text (``["registry"]``, null for null). Fabric's SQL analytics endpoint,
Direct Lake and Synapse serverless do not read Delta arrays; the twin they do read.
:func:`~mlreg_frames.lake.read` reads the list column and drops the twin."""

LEDGER = "snapshots"
"""The Delta table listing snapshots; committed last by every append."""

CLAIMED, COMMITTED, ABORTED = "claimed", "committed", "aborted"
"""The states a ledger row records: a writer claims an id, then commits or aborts it."""

BACKING_LAKE_TABLES: dict[str, schema.Table] = {
    **BACKING_TABLES,
    "backing_fetch_errors": schema.FETCH_ERRORS,
}
"""The optional tables of a snapshot: the accounts behind the registries (``fetch_backing``),
Delta table name -> declared table. A snapshot written without them has null counts."""

ASSET_LAKE_TABLES: dict[str, schema.Table] = {
    **schema.ASSET_TABLES,
    "asset_fetch_errors": schema.FETCH_ERRORS,
}
"""The optional tables of what the registries hold (``fetch_assets``), Delta table name ->
declared table. A snapshot written without them has null counts in the ledger."""

DATA_TABLES: tuple[str, ...] = (*schema.ALL_TABLES, *BACKING_LAKE_TABLES, *ASSET_LAKE_TABLES)
"""Every Delta data table of the lake (the ledger apart)."""

LEDGER_SCHEMA = pa.schema(
    [
        pa.field(SNAPSHOT_COLUMN, pa.string(), nullable=False),
        pa.field(PARTITION_COLUMN, pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
        pa.field("writer", pa.string(), nullable=False),
        pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("snapshot_at", pa.timestamp("us", tz="UTC")),
        *(pa.field(name, pa.int64()) for name in DATA_TABLES),
        pa.field("failed_scopes", pa.int64()),
        pa.field("skipped_scopes", pa.int64()),
        pa.field("schema_version", pa.int64()),
        pa.field("provenance", pa.string()),
        pa.field("asset_provenance", pa.string()),
    ]
)
"""The ledger's columns: per-table row counts are filled on ``committed`` rows only."""

LAYOUT = f"""\
<root>/
  <table>/     one Delta table per data table ({", ".join(list(schema.ALL_TABLES)[:4])},
               {", ".join(list(schema.ALL_TABLES)[4:])}); columns: {SNAPSHOT_COLUMN},
               {PARTITION_COLUMN} (the partition, YYYY-MM), then the declared columns
  {LEDGER}/   the ledger, a Delta table (by {PARTITION_COLUMN} too), one row per snapshot event:
               {CLAIMED}    a writer took the id (before writing any table)
               {COMMITTED}  every table is written; the row count of each table
               {ABORTED}    a failed or crashed writer's rows were (or are being) deleted
  {", ".join(BACKING_LAKE_TABLES)}/
               the accounts behind the registries, when the snapshot was written with them
  {", ".join(ASSET_LAKE_TABLES)}/
               what the registries hold (containers, versions, tags, failed lists), when
               the snapshot was written with them
A snapshot exists exactly when its '{COMMITTED}' row does; lake.read takes only those and checks
each table's row count against it. A raw reader of one table keeps the same rows with
  WHERE {SNAPSHOT_COLUMN} IN (SELECT {SNAPSHOT_COLUMN} FROM {LEDGER} WHERE state = '{COMMITTED}')
"""
"""The lake layout, for the docs and ``help(lake)``."""


def list_twins(columns: list[schema.Column] | tuple[schema.Column, ...]) -> dict[str, str]:
    """``{list column: its scalar twin}`` of a table's declared columns.

    Example::

        >>> list_twins(schema.table("pe_connections").columns)
        {'group_ids': 'group_ids_json'}
    """
    return {c.name: c.name + TWIN_SUFFIX for c in columns if c.kind == "string_list"}


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
    except (TypeError, ValueError) as exc:
        raise LakeError(
            f"{text!r} is not a snapshot id (format {SNAPSHOT_FORMAT}); list them with "
            "`mlreg-frames snapshots ROOT`",
            snapshot=str(text),
        ) from exc


def month_of(sid: str) -> str:
    """The partition value (``YYYY-MM``) of a snapshot id."""
    return sid[:7]


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
    if pd.isna(stamp):
        raise LakeError(f"{when!r} is not a time; use e.g. 2025-06-01T12:00:00Z")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()
