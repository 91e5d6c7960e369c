"""The assets tab: what one registry holds, per asset type, and a compact list of its assets.

Built from :func:`mlreg_frames.analysis.contents` (containers, versions, archived, newest and
oldest version, last publisher per type) and the ``assets`` table of the
:class:`~mlreg_frames.assettables.AssetTables` handed to ``mf.explore(..., assets=...)``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._html import DETAIL_HEIGHT, frame_html

__all__ = ["ASSET_COLUMNS", "CONTENT_COLUMNS", "assets_html"]

CONTENT_COLUMNS = {
    "asset_type": "type", "containers": "containers", "versions": "versions",
    "archived_versions": "archived", "newest_version_at": "newest version",
    "oldest_version_at": "oldest version", "last_publisher": "last publisher",
}  # fmt: skip
"""The per-type table: column of ``contents`` -> header."""

ASSET_COLUMNS = {
    "asset_type": "type", "name": "name", "latest_version": "latest version",
    "is_archived": "archived", "last_modified_at": "last modified", "last_modified_by": "by",
}  # fmt: skip
"""The assets list: column of ``assets`` -> header."""

_NUMERIC = {"containers", "versions", "archived_versions"}


def _day(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").astype("string")


def assets_html(ex: Any, registry_id: str) -> str:
    """Per asset type the counts and dates, then the registry's assets (by type and name)."""
    held = ex.contents[ex.contents["registry_id"] == registry_id]
    held = held.assign(newest_version_at=_day(held["newest_version_at"]),
                       oldest_version_at=_day(held["oldest_version_at"]))  # fmt: skip
    cols = list(CONTENT_COLUMNS)
    totals = ["total", *(held[c].sum() if c in _NUMERIC else None for c in cols[1:])]
    summary = frame_html(
        held[cols], empty="no asset types read for this registry", headers=CONTENT_COLUMNS,
        numeric=_NUMERIC, totals=totals if len(held) else None, caption="per asset type",
    )  # fmt: skip
    assets = ex.assets.assets
    rows = assets[assets["registry_id"] == registry_id].sort_values(["asset_type", "name"])
    rows = rows.assign(last_modified_at=_day(rows["last_modified_at"]))
    count = f"{len(rows):,} asset{'' if len(rows) == 1 else 's'}"
    listing = frame_html(
        rows[list(ASSET_COLUMNS)], empty="no assets", headers=ASSET_COLUMNS,
        max_height=DETAIL_HEIGHT - 120, caption=count,
    )  # fmt: skip
    return summary + listing
