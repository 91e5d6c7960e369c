"""What each registry holds, and what that costs in replicas: one row per registry and type.

:func:`contents` counts containers and versions per registry and asset type, the archived
share, the oldest and newest version and who published the newest, and the replication
footprint: every version is stored in each of the registry's regions, so ``versions x
regions`` is what the registry replicates. Unknown is never zero: a type whose list failed
(a ``fetch_errors`` row) or was never read has null counts; one read and empty counts 0.

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.flatten(mf.read_pages("data/sample"))
    >>> held = contents(tables, mf.flatten_assets("data/sample/_assets.ndjson"))
    >>> int(held["containers"].sum()), int(held["versions"].sum())
    (242, 899)
"""

from __future__ import annotations

import pandas as pd

from .. import schema
from ..assettables import AssetTables
from ..tables import RegistryTables

__all__ = ["CONTENTS_COLUMNS", "contents"]

CONTENTS_COLUMNS = (
    "registry_id", "name", "asset_type", "containers", "versions", "archived_versions",
    "archived_share", "oldest_version_at", "newest_version_at", "last_publisher", "regions",
    "replicated_versions",
)  # fmt: skip
"""The columns :func:`contents` returns, in order."""


def contents(tables: RegistryTables, assets: AssetTables) -> pd.DataFrame:
    """Per registry and asset type: what it holds and its replication footprint.

    Args:
        tables: the registry tables (names and region counts).
        assets: the asset tables of those registries (``fetch_assets`` or ``flatten_assets``).

    Returns:
        One row per registry of ``tables`` and asset type, sorted by registry id and type:
        ``containers``, ``versions``, ``archived_versions`` (Int64; null when unknown),
        ``archived_share`` (float), ``oldest_version_at`` / ``newest_version_at`` (UTC),
        ``last_publisher`` (``created_by`` of the newest version), ``regions`` and
        ``replicated_versions`` (versions x regions).
    """
    regs = tables.registries[["registry_id", "name", "region_count"]]
    kinds = list(assets.provenance.get("asset_types") or schema.ASSET_TYPES)
    grid = pd.MultiIndex.from_product(
        [regs["registry_id"], kinds], names=["registry_id", "asset_type"]
    )
    keys = ["registry_id", "asset_type"]
    out = pd.DataFrame(index=grid).reset_index()
    containers = assets.assets.groupby(keys).size()
    versions = assets.asset_versions
    by_version = versions.groupby(keys)
    archived = by_version["is_archived"].sum()
    newest = versions.sort_values("created_at", na_position="first").groupby(keys).tail(1)
    stats = pd.DataFrame(
        {
            "containers": containers,
            "versions": by_version.size(),
            "archived_versions": archived,
            "oldest_version_at": by_version["created_at"].min(),
            "newest_version_at": by_version["created_at"].max(),
            "last_publisher": newest.set_index(keys)["created_by"],
        }
    )
    out = out.join(stats, on=keys)
    listed = set(assets.provenance.get("listed") or [])
    listed |= {f"{r}/{t}" for r, t in containers.index}
    failed = assets.fetch_errors["scope"].dropna().astype(str)
    pair = out["registry_id"] + "/" + out["asset_type"]
    known = pair.isin(listed) & ~pair.isin(set(failed))
    versions_failed = {s.rsplit("/", 3)[0] for s in failed if s.endswith("/versions")}
    versions_known = known & ~pair.isin(versions_failed)
    for column, ok in (("containers", known), ("versions", versions_known),
                       ("archived_versions", versions_known)):  # fmt: skip
        counts = out[column].astype("Int64")
        out[column] = counts.where(~(ok & counts.isna()), 0).where(ok, pd.NA)
    share = out["archived_versions"].astype("Float64") / out["versions"].astype("Float64")
    out["archived_share"] = share.where(out["versions"] > 0, pd.NA)
    out = out.merge(regs, on="registry_id", how="left")
    out["regions"] = out.pop("region_count").astype("Int64")
    out["replicated_versions"] = out["versions"] * out["regions"]
    out["last_publisher"] = out["last_publisher"].astype(schema.pandas_dtype("string"))
    out["name"] = out["name"].astype(schema.pandas_dtype("string"))
    stamp = schema.pandas_dtype("timestamp")
    for column in ("oldest_version_at", "newest_version_at"):
        out[column] = out[column].astype(stamp)  # type: ignore[call-overload]
    return out[list(CONTENTS_COLUMNS)].sort_values(keys, ignore_index=True)
