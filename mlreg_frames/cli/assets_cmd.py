"""``mlreg-frames assets``: what registries hold, fetched into Parquet with a one-screen summary.

The registries come from an earlier ``fetch --out OUT`` (``--from OUT``) or are fetched first
(``--subscription``; every subscription you can see by default). Exit codes as ``fetch``: 0
when every list was read, 2 when some failed (the rest is written, the failures printed), 1
when nothing could be read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..schema import ASSET_TYPES
from ..sources.auth import StaticTokenCredential, TokenCredential, resolve_endpoint
from ..sources.fetch import fetch_registries
from ..tables import read_parquet
from ._base import handle_errors, main
from ._options import HttpUrl, NonEmpty
from .assets_out import fetch_and_write_assets
from .fetch_cmd import _writable_folder, new_run_folder, signed_in_credential
from .lake_cmd import parse_storage_options, storage_options_option

__all__ = ["assets_command"]

_OUT = click.Path(file_okay=False, path_type=Path)


@main.command("assets")
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A folder of registry tables from `mlreg-frames fetch --out` (instead of fetching).",
)
@click.option(
    "--subscription",
    "-s",
    "subscriptions",
    multiple=True,
    type=NonEmpty(),
    help="Fetch the registries of this subscription first (repeat; default: all you see).",
)
@click.option("--out", required=True, type=_OUT, help="Folder for the asset tables.")
@click.option(
    "--type",
    "asset_types",
    multiple=True,
    type=click.Choice(ASSET_TYPES),
    help="Only this asset type (repeat); default: all five.",
)
@click.option("--versions/--no-versions", default=True, show_default=True,
              help="Also list every container's versions (one request per container).")  # fmt: skip
@click.option("--endpoint", type=HttpUrl(), default=None, help="ARM endpoint URL.")
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Requests in flight at most, shared among the subscriptions.")  # fmt: skip
@click.option("--raw", type=_OUT, default=None, help="Also save every page, in DIR/<UTC time>.")
@click.option("--token-env", metavar="VAR", default=None,
              help="Read a bearer token from environment variable VAR.")  # fmt: skip
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar counting requests on stderr.")  # fmt: skip
@click.option("--lake", type=NonEmpty(), default=None,
              help="Also append the registries fetched in this run and their assets as one "
              "snapshot to this lake (not with --from: use `fetch --assets --lake`).")  # fmt: skip
@storage_options_option
@handle_errors
def assets_command(
    from_dir: Path | None,
    subscriptions: tuple[str, ...],
    out: Path,
    asset_types: tuple[str, ...],
    versions: bool,
    endpoint: str | None,
    workers: int,
    raw: Path | None,
    token_env: str | None,
    progress: bool,
    lake: str | None,
    storage_option: tuple[str, ...],
) -> None:
    """Fetch what registries hold (models, environments, components, data, code) into Parquet.

    Example: mlreg-frames assets --from out/ --out out/
    """
    if from_dir is not None and subscriptions:
        raise click.UsageError("pass --from or --subscription, not both")
    if from_dir is not None and lake:
        # a snapshot holds the registry tables of its own run: tables read from --from were
        # fetched at another time, so their assets would land under the wrong snapshot
        raise click.UsageError(
            "--lake needs the registries fetched in this run, not read with --from; drop "
            "--from (the registries are fetched first), or use `mlreg-frames fetch --assets "
            "--lake ROOT`"
        )
    options = parse_storage_options(storage_option) or None
    if lake:
        from ..lake.store import LakeStore

        LakeStore(lake, options)  # a root the lake refuses fails before the fetch
    target = resolve_endpoint(endpoint, None)
    if token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise click.UsageError(f"environment variable {token_env} is empty or not set")
        credential: TokenCredential = StaticTokenCredential(token)
    else:
        credential = signed_in_credential(target)
    _writable_folder(out)
    if from_dir is not None:
        registries = read_parquet(from_dir)
    else:
        registries = fetch_registries(
            list(subscriptions) or None, credential=credential, endpoint=target
        )
    run_dir = new_run_folder(raw) if raw is not None else None
    assets = fetch_and_write_assets(
        registries, out, credential=credential, endpoint=target, asset_types=asset_types,
        versions=versions, workers=workers, raw=run_dir, progress=progress,
    )  # fmt: skip
    if lake:
        from ..lake.write import append

        snapshot = append(registries, lake, assets=assets, storage_options=options)
        click.echo(f"appended snapshot {snapshot} with the registries and their assets to {lake}")
    if not assets.fetch_errors.empty:
        sys.exit(2)
