"""The ``changes`` table: who changed what, when, one row per changed property.

Two sources fill it in the same shape: Azure Resource Graph's ``resourcechanges`` table
(``source = "graph"``: ARG's change records of the last days, with who made them) and the
lake's snapshot diffs (``source = "lake"``: what differs between two snapshots, for as long as
the lake keeps them, with no author). :func:`mlreg_frames.changes` merges both.
"""

from __future__ import annotations

from .coltypes import Column, Table

__all__ = ["CHANGES", "CHANGE_TYPES", "SOURCES"]

CHANGE_TYPES = ("Create", "Update", "Delete")
"""The values of ``changes.change_type`` (ARG's ``changeType``)."""

SOURCES = ("graph", "lake")
"""The values of ``changes.source``."""

CHANGES = Table(
    "changes",
    "One row per changed property of a change record (one row for a Create or Delete, which "
    "lists no properties), from Resource Graph `resourcechanges` or the lake's snapshot diffs.",
    ("change_id", "property"),
    (
        Column(
            "change_id",
            "string",
            "ARG's change record id (`id`, lower-cased); for lake rows `lake:` and a digest of "
            "the snapshot, resource and property.",
        ),
        Column(
            "time",
            "timestamp",
            "When the change was detected (`changeAttributes.timestamp`, UTC); for lake rows the "
            "time of the snapshot that first shows it.",
        ),
        Column("resource_id", "string", "The changed resource's ARM id, lower-cased."),
        Column(
            "registry_id",
            "string",
            "The registry the resource belongs to (itself, or the registry a backing account "
            "serves); null when not known.",
        ),
        Column("resource_type", "string", "The changed resource's type, lower-cased."),
        Column("change_type", "string", "Create, Update or Delete."),
        Column(
            "property",
            "string",
            "The changed property's dotted path (`properties.publicNetworkAccess`, "
            "`tags.team`); null on a Create or Delete row. Lake rows name the column "
            "(`registries.public_network_access`, `regions[westeurope]`).",
        ),
        Column(
            "old",
            "string",
            "The value before, as ARG gives it (`previousValue`; other JSON as JSON text). A "
            'JSON null is null; the string `"null"` (ARG\'s word for absent) is kept as the '
            "string `null`.",
        ),
        Column("new", "string", "The value after (`newValue`), by the same rule as `old`."),
        Column(
            "is_truncated",
            "bool",
            "ARG cut the value (`isTruncated`: values over 1,024 characters); false otherwise.",
        ),
        Column("changed_by", "string", "Who made it (`changedBy`: a UPN, app id, ...)."),
        Column("changed_by_type", "string", "`changedByType`: User, Application, ..."),
        Column("client_type", "string", "`clientType`: Portal, CLI, ARM template, ..."),
        Column("operation", "string", "`operation`: the ARM operation, e.g. `.../write`."),
        Column("correlation_id", "string", "`correlationId`: joins the Activity Log."),
        Column("source", "string", "`graph` (Resource Graph) or `lake` (a snapshot diff)."),
    ),
)
"""The declared ``changes`` table."""
