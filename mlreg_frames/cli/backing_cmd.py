"""``mlreg-frames backing``: the storage accounts and ACRs behind saved registry tables, today."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from ..analysis import exposure
from ..backingfiles import write_backing
from ..sources.auth import CLOUDS, resolve_endpoint
from ..sources.backing import ACR_API_VERSION, STORAGE_API_VERSION, fetch_backing
from ..tables import read_parquet
from ._base import handle_errors, main
from ._options import COUNT, HttpUrl, NonEmpty
from .fetch_cmd import command_credential
from .summary import findings_summary

__all__ = ["backing_command"]


@main.command("backing")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of <table>.parquet from `mlreg-frames fetch` or `flatten`.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the backing tables (default: the --from folder).",
)
@click.option("--endpoint", type=HttpUrl(), default=None, help="ARM endpoint URL.")
@click.option("--source", "source_kind", type=click.Choice(["arm", "graph"]), default="arm",
              show_default=True,
              help="arm: one GET per account; graph: a Resource Graph query per 200.")  # fmt: skip
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default=None, help="Cloud preset.")
@click.option("--storage-api-version", type=NonEmpty(), default=STORAGE_API_VERSION,
              show_default=True, help="Microsoft.Storage api-version.")  # fmt: skip
@click.option("--acr-api-version", type=NonEmpty(), default=ACR_API_VERSION,
              show_default=True, help="Microsoft.ContainerRegistry api-version.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Accounts read at once.")  # fmt: skip
@click.option("--max-attempts", type=COUNT, default=6, show_default=True, help="Tries per account.")
@click.option("--token-env", metavar="VAR", default=None,
              help="Read a bearer token from environment variable VAR, not a sign-in.")  # fmt: skip
@handle_errors
def backing_command(
    source: Path,
    out: Path | None,
    endpoint: str | None,
    source_kind: str,
    cloud: str | None,
    storage_api_version: str,
    acr_api_version: str,
    workers: int,
    max_attempts: int,
    token_env: str | None,
) -> None:
    """Read how the storage accounts and ACRs behind saved registries are configured today.

    Writes storage_accounts, container_registries, backing_pe_connections and
    backing_fetch_errors (.parquet) and prints the declared-vs-actual findings. Exit status 2
    when some accounts could not be read (they are reported unknown, never compliant).

    Example: mlreg-frames backing --from out/
    """
    if endpoint and cloud:
        raise click.UsageError("pass --endpoint or --cloud, not both")
    target = resolve_endpoint(endpoint, cloud)
    credential = command_credential(target, token_env)
    tables = read_parquet(source)
    backing = fetch_backing(
        tables, source=source_kind, credential=credential, endpoint=target,
        storage_api_version=storage_api_version,
        acr_api_version=acr_api_version, max_workers=workers, max_attempts=max_attempts,
    )  # fmt: skip
    folder = out or source
    write_backing(backing, folder)
    counts = backing.counts()
    click.echo(
        f"read {counts['storage_accounts']:,} storage accounts and "
        f"{counts['container_registries']:,} container registries "
        f"({counts['fetch_errors']:,} not readable); wrote the backing tables to {folder}"
    )
    click.echo(findings_summary(exposure(tables, backing)))
    for row in backing.fetch_errors.itertuples(index=False):
        status = "" if pd.isna(row.http_status) else f" {row.http_status}"
        click.echo(f"failed{status} {row.error_code} {row.scope}: {row.message}", err=True)
    if counts["fetch_errors"]:
        sys.exit(2)
