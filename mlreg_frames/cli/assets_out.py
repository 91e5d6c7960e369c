"""The asset tables of a command: fetched, written to Parquet, summarised on one screen.

Shared by ``mlreg-frames assets`` and ``mlreg-frames fetch --assets``.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from ..assettables import AssetTables
from ..schema import ASSET_TYPES
from ..sources.assets import fetch_assets
from ..sources.auth import TokenCredential
from ..tables import RegistryTables

__all__ = ["assets_summary", "fetch_and_write_assets"]

_SHOWN = 15


def assets_summary(assets: AssetTables) -> str:
    """Containers and versions per registry and type (the largest registries first), one screen.

    Example::

        >>> print(assets_summary(AssetTables.empty()))
        no assets: 0 containers, 0 versions
    """
    containers, versions = assets.assets, assets.asset_versions
    if containers.empty and versions.empty:
        return "no assets: 0 containers, 0 versions"
    name = containers["registry_id"].str.rsplit("/", n=1).str[-1]
    by_c = containers.assign(registry=name).pivot_table(
        index="registry", columns="asset_type", values="name", aggfunc="count", fill_value=0
    )
    vname = versions["registry_id"].str.rsplit("/", n=1).str[-1]
    by_v = versions.assign(registry=vname).groupby("registry").size()
    kinds = [k for k in ASSET_TYPES if k in by_c.columns]
    table = by_c.reindex(columns=kinds, fill_value=0)
    table["versions"] = by_v.reindex(table.index, fill_value=0)
    table["archived"] = (
        versions.assign(registry=vname)
        .groupby("registry")["is_archived"]
        .sum()
        .reindex(table.index, fill_value=0)
    )
    table = table.sort_values("versions", ascending=False)
    lines = [
        f"{len(containers):,} containers and {len(versions):,} versions in "
        f"{containers['registry_id'].nunique():,} registries "
        f"({int(versions['is_archived'].sum()):,} versions archived)",
        "",
        pd.DataFrame(table.head(_SHOWN)).to_string(),
    ]
    if len(table) > _SHOWN:
        lines.append(f"... and {len(table) - _SHOWN:,} more registries")
    return "\n".join(lines)


def fetch_and_write_assets(
    registries: RegistryTables,
    out: Path,
    *,
    credential: TokenCredential,
    endpoint: str,
    asset_types: tuple[str, ...] = (),
    versions: bool = True,
    workers: int = 16,
    raw: Path | None = None,
    progress: bool = False,
) -> AssetTables:
    """Fetch the registries' assets, write them to ``out`` and print the summary and errors."""
    assets = fetch_assets(
        registries,
        asset_types=list(asset_types) or None,
        versions=versions,
        credential=credential,
        endpoint=endpoint,
        max_workers=workers,
        progress=progress,
        raw_dir=raw,
    )
    try:
        assets.to_parquet(out)
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the asset tables to {out}: {exc.strerror or exc}; pick another --out"
        ) from exc
    prov = assets.provenance
    click.echo(
        f"read {prov.get('requests', 0):,} asset lists ({prov.get('throttled', 0):,} answered "
        f"429); wrote 4 asset tables to {out}"
    )
    if raw is not None:
        click.echo(f"saved the raw asset pages to {raw}")
    click.echo(assets_summary(assets))
    for row in assets.fetch_errors.itertuples(index=False):
        status = "" if pd.isna(row.http_status) else f" {row.http_status}"
        click.echo(f"failed{status} {row.error_code} {row.scope}: {row.message}", err=True)
    return assets
