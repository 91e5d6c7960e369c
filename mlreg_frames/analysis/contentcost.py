"""What each stored version costs: storage and ACR cost per registry and region, per version.

A registry copies every version it holds to each of its regions, and pays for the storage
account and container registry there. :func:`contents_cost` joins a cost export onto the
registries (:func:`~.costs.join.match_costs`), keeps what storage accounts and container
registries cost in each registry region, and divides it by the versions the registry holds
(:func:`~.contents.contents`): the cost of keeping one version in that region. Rows are
flagged where a registry replicates to many regions for few or stale versions.

Unknown stays unknown: a part with no cost row is null (not 0); a registry whose versions
are not known (a failed list) has null ``versions`` and ``cost_per_version``; a registry
holding no version has a null ``cost_per_version`` (not infinity) and the flag
``no versions``.

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.flatten(mf.read_pages("data/sample"))
    >>> assets = mf.flatten_assets("data/sample/_assets.ndjson")
    >>> held = contents_cost(tables, assets, "data/sample/costs.csv")
    >>> int(held.groupby("registry_id")["versions"].first().sum())
    899
    >>> held.loc[held["versions"] == 0, ["name", "cost_per_version", "flag"]].to_numpy().tolist()
    [['risk-shared-016', <NA>, 'no versions']]
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .. import schema
from ..assettables import AssetTables
from ..errors import InvalidArgumentError
from ..tables import RegistryTables
from .contents import contents
from .costs.join import match_costs
from .regions import registry_regions

__all__ = [
    "CONTENTS_COST_COLUMNS",
    "CONTENTS_COST_FLAGS",
    "FEW_VERSIONS",
    "MANY_REGIONS",
    "STALE_DAYS",
    "contents_cost",
]

MANY_REGIONS = 3
"""A registry in this many regions or more replicates widely (``many_regions``)."""

FEW_VERSIONS = 10
"""Fewer versions than this are few to replicate widely (``few_versions``)."""

STALE_DAYS = 180
"""A registry whose newest version is older than this many days is stale (``stale_days``)."""

CONTENTS_COST_FLAGS = {
    "no versions": "the registry holds no version but costs: cost_per_version is null",
    "versions unknown": "a list of the registry's assets failed or was not read",
    "many regions, few versions": f"in many_regions ({MANY_REGIONS}) regions or more, holding "
    f"fewer than few_versions ({FEW_VERSIONS}) versions",
    "many regions, stale": f"in many_regions regions or more, newest version older than "
    f"stale_days ({STALE_DAYS}) before as_of",
}
"""The values the ``flag`` column joins (with ``; ``), and what they mean."""

CONTENTS_COST_COLUMNS = (
    "registry_id", "name", "location", "is_primary", "currency", "storage_cost", "acr_cost",
    "cost", "versions", "cost_per_version", "regions", "newest_version_at", "flag",
)  # fmt: skip
"""The columns :func:`contents_cost` returns, in order."""

_PARTS = {"storage": "storage_cost", "acr": "acr_cost"}


def _held(tables: RegistryTables, assets: AssetTables) -> pd.DataFrame:
    """Versions (null when any type is unknown) and newest version per registry."""
    per_type = contents(tables, assets)
    grouped = per_type.groupby("registry_id", sort=False)
    unknown = grouped["versions"].apply(lambda s: bool(s.isna().any()))
    versions = grouped["versions"].sum(min_count=1).astype("Int64")
    versions = versions.mask(unknown.reindex(versions.index).to_numpy(dtype=bool))
    return pd.DataFrame(
        {
            "versions": versions,
            "regions": grouped["regions"].first(),
            "newest_version_at": grouped["newest_version_at"].max(),
        }
    )


def _flags(frame: pd.DataFrame, *, many: int, few: int, stale: pd.Timestamp) -> pd.Series:
    wide = (frame["regions"] >= many).fillna(False).to_numpy(dtype=bool)
    versions = frame["versions"]
    known = versions.notna().to_numpy(dtype=bool)
    count = versions.fillna(0).to_numpy(dtype="int64")
    costs = frame["cost"].notna().to_numpy(dtype=bool)
    newest = frame["newest_version_at"]
    old = (newest.notna() & (newest < stale)).to_numpy(dtype=bool)
    reasons = [
        (known & (count == 0) & costs, "no versions"),
        (~known, "versions unknown"),
        (known & (count > 0) & (count < few) & wide, "many regions, few versions"),
        (known & (count > 0) & old & wide, "many regions, stale"),
    ]
    texts = [
        "; ".join(text for mask, text in reasons if mask[i]) or None for i in range(len(frame))
    ]
    return pd.Series(texts, index=frame.index, dtype=schema.pandas_dtype("string"))


def contents_cost(
    tables: RegistryTables,
    assets: AssetTables,
    costs: pd.DataFrame | str | os.PathLike[str],
    *,
    months: Iterable[str] | None = None,
    many_regions: int = MANY_REGIONS,
    few_versions: int = FEW_VERSIONS,
    stale_days: int = STALE_DAYS,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Storage and ACR cost per registry and region, divided by the versions it holds.

    Args:
        tables: the registry tables (regions, storage accounts and ACRs to match costs on).
        assets: what those registries hold (``fetch_assets``, ``flatten_assets``,
            ``lake.read_assets``).
        costs: a cost export (path or frame, as for :func:`~.costs.join.join_costs`).
        months: only these ``YYYY-MM`` months of the export (default: all of them; the
            costs are the sum over them).
        many_regions, few_versions, stale_days: the flag thresholds (see
            :data:`CONTENTS_COST_FLAGS`).
        as_of: the day staleness is measured from (default: the last day of the export).

    Returns:
        One row per registry, region and currency (:data:`CONTENTS_COST_COLUMNS`):
        ``storage_cost`` and ``acr_cost`` (null when the export has no row for them),
        ``cost`` (their sum; null when both are), ``versions`` the registry holds (every
        version is stored in each region; null when unknown), ``cost_per_version`` (null
        when cost or versions are unknown or versions is 0), ``regions``,
        ``newest_version_at`` and ``flag`` (null when nothing stands out). Regions the
        export does not bill are kept with null costs. Sorted by registry and region,
        primary first.
    """
    for label, value in (("many_regions", many_regions), ("few_versions", few_versions),
                         ("stale_days", stale_days)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgumentError(
                f"{label} must be a whole number 0 or more, got {value!r}", argument=label
            )
    matched = match_costs(tables, costs)
    if months is not None:
        wanted = {str(m) for m in months}
        matched = matched[matched["month"].isin(wanted).to_numpy(dtype=bool)]
    end = matched["date"].max() if len(matched) else pd.NaT
    stamp = pd.Timestamp(as_of) if as_of is not None else end
    if pd.isna(stamp):
        stamp = pd.Timestamp.now(tz="UTC")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    parts = matched[matched["matched_via"].isin(list(_PARTS)).to_numpy(dtype=bool)]
    keys = ["registry_id", "location", "currency"]
    summed = (
        parts.groupby([*keys, "matched_via"], dropna=False)["cost"].sum().unstack("matched_via")
    )
    summed = summed.reindex(columns=list(_PARTS)).rename(columns=_PARTS).reset_index()
    places = registry_regions(tables)
    out = places.merge(summed, on=["registry_id", "location"], how="outer")
    out = out.merge(tables.registries[["registry_id", "name"]], on="registry_id", how="left")
    out = out.join(_held(tables, assets), on="registry_id")
    for column in _PARTS.values():
        out[column] = out[column].astype("Float64")
    out["cost"] = out[list(_PARTS.values())].sum(axis=1, min_count=1).astype("Float64")
    versions = out["versions"].astype("Float64")
    per = out["cost"] / versions.where(versions > 0)
    out["cost_per_version"] = per.mask(np.isinf(per.fillna(0).to_numpy(dtype=float)))
    out["flag"] = _flags(
        out, many=many_regions, few=few_versions, stale=stamp - pd.Timedelta(days=stale_days)
    )
    text = schema.pandas_dtype("string")
    out = out.astype({"registry_id": text, "name": text, "location": text, "currency": text})
    out["is_primary"] = out["is_primary"].astype("boolean")
    out["regions"] = out["regions"].astype("Int64")
    out["versions"] = out["versions"].astype("Int64")
    out = out.sort_values(["registry_id", "is_primary", "location"],
                          ascending=[True, False, True], ignore_index=True)  # fmt: skip
    out.attrs = {"as_of": stamp.isoformat()}
    return out[list(CONTENTS_COST_COLUMNS)]
