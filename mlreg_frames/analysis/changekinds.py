"""What kind of change a change row is (network, regions, identity, other), and counts by day.

:func:`change_kind` sorts the ``changes`` table's rows (:func:`mlreg_frames.fetch_changes`,
:func:`mlreg_frames.changes`) by what they touch, from the property path (ARG's dotted path or
the lake's ``<table>.<column>``) alone:

* ``network``: public network access, firewalls (``networkAcls``, ``networkRuleSet``,
  ``ipRules``), private endpoints and their connections;
* ``regions``: the registry's regions (``regionDetails``, ``regions``, and the per-region
  ``storage`` and ``acr`` rows of the lake), locations;
* ``identity``: the managed identity (``identity.*``, ``identities``);
* ``other``: everything else (tags, descriptions, a Create or Delete).

Example::

    >>> [change_kind(p) for p in ("properties.publicNetworkAccess", "regions[westus]",
    ...                           "identity.type", "tags.owner", None)]
    ['network', 'regions', 'identity', 'other', 'other']
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["CHANGE_KINDS", "change_kind", "change_kinds", "changes_by_day"]

CHANGE_KINDS = ("network", "regions", "identity", "other")
"""The kinds of :func:`change_kind`, in the order charts stack them."""

_RULES = (
    ("network", re.compile(r"publicnetwork|public_network|networkacl|networkruleset|iprule|"
                           r"privateendpoint|private_endpoint|pe_connections|firewall|"
                           r"virtualnetwork|defaultaction", re.I)),
    ("regions", re.compile(r"regiondetails|^regions|^storage\[|^acr\[|location", re.I)),
    ("identity", re.compile(r"^identit|\.identity|principal", re.I)),
)  # fmt: skip


def change_kind(prop: object) -> str:
    """The kind (:data:`CHANGE_KINDS`) of a change to property path ``prop``."""
    if not isinstance(prop, str) or not prop:
        return "other"
    return next((kind for kind, rule in _RULES if rule.search(prop)), "other")


def change_kinds(changes: pd.DataFrame) -> pd.Series:
    """:func:`change_kind` of every row of a ``changes`` frame (a ``string`` Series)."""
    return changes["property"].astype(object).map(change_kind).astype("string")


def changes_by_day(changes: pd.DataFrame, registry_id: str | None = None) -> pd.DataFrame:
    """Change rows per UTC day (index, every day from the first to the last) and kind (columns).

    Args:
        changes: a ``changes`` frame.
        registry_id: only the rows of this registry (id, case-insensitive).

    Example::

        >>> from mlreg_frames import schema
        >>> changes_by_day(schema.empty_frame("changes")).columns.tolist()
        ['network', 'regions', 'identity', 'other']
    """
    rows = changes
    if registry_id is not None:
        rows = rows[rows["registry_id"].fillna("").str.lower() == registry_id.lower()]
    rows = rows[rows["time"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=list(CHANGE_KINDS), dtype="int64")
    days = rows["time"].dt.tz_convert("UTC").dt.floor("D")
    counts = pd.crosstab(days, change_kinds(rows)).reindex(columns=list(CHANGE_KINDS),
                                                           fill_value=0)  # fmt: skip
    full = pd.date_range(days.min(), days.max(), freq="D")
    counts = counts.reindex(full, fill_value=0).astype("int64")
    counts.index.name = "day"
    counts.columns.name = None
    return counts
