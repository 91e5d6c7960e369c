"""The summary tab: one registry, what matters first (exposure, regions, SKU), then the rest.

Every field of the registry row is shown, blanks as "(not set)" (never dropped): first the
lead fields in :data:`LEAD` (grouped under captions), then every other field, ARM ids
shortened to their tail with the full id on hover and in the text (select or copy it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._html import DETAIL_HEIGHT, pairs_html, scroll_box
from .format import header

__all__ = ["IDS", "LEAD", "summary_html"]

LEAD: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("exposure", ("public_network_access", "worst_severity", "findings", "approved_pes",
                  "private_link_count", "identity_type")),
    ("regions", ("location", "regions", "region_list")),
    ("SKU", ("sku_name", "sku_tier", "sku_size", "sku_family", "sku_capacity")),
    ("where", ("name", "subscription", "resource_group", "created_at", "created_by",
               "last_modified_at", "last_modified_by")),
)  # fmt: skip
"""Captioned groups of fields the summary starts with, in order."""

IDS = frozenset(
    {"registry_id", "arm_id", "subscription_id", "managed_resource_group_id", "tenant_id",
     "discovery_url", "mlflow_registry_uri"}
)  # fmt: skip
"""Fields shown as ids: shortened to their tail, whole on hover and copy."""

_SKIP = frozenset({"extra", "registry_id"})  # the id is arm_id lower-cased: shown once


def summary_html(
    row: pd.Series, derived: Mapping[str, Any], *, labels: Mapping[str, str] | None = None
) -> str:
    """The summary of one registry.

    Args:
        row: the registry's row of ``tables.registries``.
        derived: values the explorer computes (``worst_severity``, ``findings``,
            ``approved_pes``, ``regions``, ``region_list``, ``subscription``).
        labels: a header per field (else :func:`~mlreg_frames.widgets.format.header`).
    """
    names = labels or {}
    values = {**row.to_dict(), **derived}
    done: set[str] = set(_SKIP)
    blocks = []
    groups = [*LEAD, ("everything else", tuple(f for f in values if f not in done))]
    for caption, fields in groups:
        present = [f for f in fields if f in values and f not in done]
        done.update(present)
        pairs = [(names.get(f, header(f)), values[f]) for f in present]
        ids = {names.get(f, header(f)) for f in present if f in IDS}
        blocks.append(pairs_html(pairs, caption=caption, ids=ids))
    return scroll_box("".join(blocks), DETAIL_HEIGHT)
