"""``mlreg-frames fetch``, ``demo`` and ``emulator``: reading registries from ARM (or its stand-in).

Exit codes of ``fetch``: 0 when every scope was read, 2 when some failed (the rest is written
and the failures printed), 1 when nothing could be read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from ..analysis.costs import join_costs, read_cost_export
from ..emulator.server import ArmEmulator, sample_dir
from ..sources.auth import CLOUDS, StaticTokenCredential
from ..sources.fetch import API_VERSION, fetch_registries
from ..sources.limits import DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_PAGES, DEFAULT_REQUEST_TIMEOUT
from ..tables import RegistryTables
from ._base import handle_errors, main
from .lake_cmd import parse_storage_options, storage_options_option

__all__ = [
    "SAMPLE_COSTS",
    "cost_summary",
    "demo_command",
    "emulator_command",
    "fetch_command",
    "summary",
]

SAMPLE_COSTS = "costs.csv"
"""The bundled sample's cost export (in ``data/sample/``), joined in by ``mlreg-frames demo``."""

_OUT = click.Path(file_okay=False, path_type=Path)


def _print_errors(tables: RegistryTables, *, err: bool = True) -> None:
    for row in tables.fetch_errors.itertuples(index=False):
        status = "" if pd.isna(row.http_status) else f" {row.http_status}"
        code = "" if pd.isna(row.error_code) else f" {row.error_code}"
        click.echo(f"{row.outcome}{status}{code} {row.scope}: {row.message}", err=err)


def summary(tables: RegistryTables) -> str:
    """Registries per region and subscription, and exposure counts, as printable text.

    Example::

        >>> print(summary(RegistryTables.empty()))
        0 registries in 0 subscriptions
    """
    regs = tables.registries
    lines = [f"{len(regs):,} registries in {regs['subscription_id'].nunique():,} subscriptions"]
    if regs.empty:
        return lines[0]
    by_region = pd.crosstab(
        regs["location"].fillna("(none)").astype(str),
        regs["subscription_id"].fillna("(none)").astype(str).str[:8],
        margins=True,
        margins_name="total",
    )
    by_region.index.name, by_region.columns.name = "region", "subscription"
    lines += ["", "Registries per region and subscription:", by_region.to_string(), ""]
    public = int((regs["public_network_access"].str.lower() == "enabled").sum())
    with_pe = tables.pe_connections["registry_id"].nunique()
    lines.append("Exposure:")
    lines.append(f"  public network access enabled: {public:,} of {len(regs):,} registries")
    lines.append(f"  registries with no private endpoint: {len(regs) - with_pe:,}")
    states = tables.pe_connections["status"].fillna("(none)").value_counts()
    if len(states):
        text = ", ".join(f"{state} {count}" for state, count in states.items())
        lines.append(f"  private endpoint connections by state: {text}")
    return "\n".join(lines)


def cost_summary(joined: pd.DataFrame, *, source: str = "the cost export") -> str:
    """Totals of a :func:`~mlreg_frames.analysis.join_costs` frame as printable text.

    Per currency: the total, what matched no registry, what was attributed to registries
    (split into home and replica regions: what replication costs), and the registries that
    cost most.

    Example::

        >>> print(cost_summary(pd.DataFrame(columns=["currency", "cost"])))
        Cost: nothing in the cost export
    """
    if joined.empty:
        return f"Cost: nothing in {source}"
    months = joined["month"].dropna().astype(str)
    span = f", {months.min()} to {months.max()}" if len(months) else ""
    lines = []
    for currency, rows in joined.groupby(joined["currency"].fillna("?").astype(str)):
        matched = rows[rows["matched"].astype("boolean").fillna(False)]
        total, attributed = rows["cost"].sum(), matched["cost"].sum()
        home = matched.loc[matched["is_primary"].astype("boolean").fillna(False), "cost"].sum()
        top = matched.groupby(matched["name"].astype(str))["cost"].sum().nlargest(3)
        lines += [
            f"Cost ({source}{span}), {currency}:",
            f"  total {total:,.0f}; {total - attributed:,.0f} matched no registry",
            f"  attributed to {matched['registry_id'].nunique():,} registries: {attributed:,.0f} "
            f"(home regions {home:,.0f}, replica regions {attributed - home:,.0f})",
        ]
        if len(top):
            text = ", ".join(f"{name} {cost:,.0f}" for name, cost in top.items())
            lines.append(f"  most expensive registries: {text}")
    return "\n".join(lines)


@main.command("fetch")
@click.option(
    "--subscription",
    "-s",
    "subscriptions",
    multiple=True,
    help="A subscription id (repeat for several); default: every subscription you can see.",
)
@click.option("--resource-group", "-g", default=None, help="Only this resource group.")
@click.option("--endpoint", default=None, help="ARM endpoint URL (default: public Azure).")
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default=None, help="Cloud preset.")
@click.option(
    "--api-version",
    default=API_VERSION,
    show_default=True,
    help="Microsoft.MachineLearningServices api-version of the registries list calls.",
)
@click.option("--out", required=True, type=_OUT, help="Folder for <table>.parquet.")
@click.option("--raw", type=_OUT, default=None, help="Also save every page as received here.")
@click.option("--lake", default=None, help="Also append a snapshot to this lake (path or URL).")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Scopes read at once.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Tries per page.",
)
@click.option(
    "--max-retry-after",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Longest Retry-After honoured (s).",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PAGES,
    show_default=True,
    help="Pages per scope at most; a scope with more fails (MaxPagesExceeded).",
)
@click.option(
    "--max-page-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PAGE_BYTES,
    show_default=True,
    help="Decompressed bytes per page at most; a larger page fails its scope (PageTooLarge).",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_REQUEST_TIMEOUT,
    show_default=True,
    help="Seconds one request may take in all; a slower one fails its scope "
    "(RequestDeadlineExceeded).",
)
@click.option(
    "--token-env",
    metavar="VAR",
    default=None,
    help="Read a bearer token from environment variable VAR instead of signing in with "
    "DefaultAzureCredential (e.g. VAR=$(az account get-access-token --query accessToken -o tsv)).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show a progress bar on stderr (scopes done, pages, registries, retries).",
)
@storage_options_option
@handle_errors
def fetch_command(
    subscriptions: tuple[str, ...],
    resource_group: str | None,
    endpoint: str | None,
    cloud: str | None,
    api_version: str,
    out: Path,
    raw: Path | None,
    lake: str | None,
    workers: int,
    max_attempts: int,
    max_retry_after: float,
    max_pages: int,
    max_page_bytes: int,
    request_timeout: float,
    token_env: str | None,
    progress: bool,
    storage_option: tuple[str, ...],
) -> None:
    """Fetch registries from Azure Resource Manager into Parquet tables.

    Exit status: 0 all scopes read, 2 some failed (the rest written), 1 nothing read.

    Example: mlreg-frames fetch -s 00000000-0000-0000-0000-000000000000 --out out/
    """
    if endpoint and cloud:
        raise click.UsageError("pass --endpoint or --cloud, not both")
    credential = None
    if token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise click.UsageError(f"environment variable {token_env} is empty or not set")
        credential = StaticTokenCredential(token)
    tables = fetch_registries(
        list(subscriptions) or None,
        resource_group,
        credential=credential,
        endpoint=endpoint or CLOUDS["public"],
        cloud=cloud,
        api_version=api_version,
        max_workers=workers,
        max_attempts=max_attempts,
        max_retry_after=max_retry_after,
        max_pages=max_pages,
        max_page_bytes=max_page_bytes,
        request_timeout=request_timeout,
        progress=progress,
        raw_dir=raw,
    )
    _write_tables(tables, out)
    errors = tables.fetch_errors
    failed = int((errors["outcome"] == "failed").sum())
    scopes = len(tables.provenance.get("scopes", []))
    click.echo(
        f"fetched {len(tables.registries):,} registries from {scopes - failed} of {scopes} "
        f"scopes; wrote {len(tables.counts())} tables to {out}"
    )
    if raw is not None:
        click.echo(f"saved the raw pages to {raw}")
    if lake:
        from ..lake.write import append

        options = parse_storage_options(storage_option) or None
        snapshot = append(tables, lake, storage_options=options)
        click.echo(f"appended snapshot {snapshot} to {lake}")
    _print_errors(tables)
    if failed:
        sys.exit(2)


@main.command("demo")
@click.option(
    "--out", type=_OUT, default=Path("out/demo"), show_default=True, help="Output folder."
)
@handle_errors
def demo_command(out: Path) -> None:
    """Fetch the bundled sample through a local ARM emulator: no Azure account needed.

    Starts the emulator on 127.0.0.1, fetches over real HTTP with a test token, writes the
    Parquet tables, prints a summary (regions, exposure, and the bundled sample cost export
    joined onto the registries) and saves overview.png when matplotlib is installed.
    """
    with ArmEmulator() as arm:
        click.echo(f"ARM emulator serving the bundled sample on {arm.endpoint}")
        tables = fetch_registries(endpoint=arm.endpoint, credential=arm.credential())
        requests_served = arm.count()
    _write_tables(tables, out)
    click.echo(f"fetched over HTTP in {requests_served} requests; wrote the tables to {out}")
    _print_errors(tables, err=False)
    click.echo("\n" + summary(tables))
    joined = _sample_costs(tables)
    if joined is not None:
        click.echo("\n" + cost_summary(joined, source=f"data/sample/{SAMPLE_COSTS}"))
    try:
        from ..plots import save_overview
    except ImportError as exc:
        click.echo(f"\nno overview chart ({exc}); `pip install mlreg-frames[plots]` for one")
        return
    written = save_overview(tables, out / "overview.png", costs=joined)
    click.echo(f"\nsaved {written}")


def _sample_costs(tables: RegistryTables) -> pd.DataFrame | None:
    """The bundled sample's cost export joined onto ``tables``; None when it is not there."""
    path = sample_dir() / SAMPLE_COSTS
    return join_costs(tables, read_cost_export(path)) if path.is_file() else None


def _write_tables(tables: RegistryTables, out: Path) -> None:
    """``tables.to_parquet(out)``, with a file-system failure as a clean message."""
    try:
        tables.to_parquet(out)
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the tables to {out}: {exc.strerror or exc}; pick another --out folder"
        ) from exc


@main.command("emulator")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep it on loopback (clients send http only there).",
)
@click.option("--port", default=8080, show_default=True, help="0 picks a free port.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Added to every request.")
@click.option("--fleet", type=int, default=None, help="Serve N generated registries.")
@click.option("--subscriptions", type=int, default=3, show_default=True, help="For --fleet.")
@click.option("--seed", type=int, default=0, show_default=True, help="For --fleet.")
@click.option("--pages", type=click.Path(exists=True), default=None, help="Serve these pages.")
@click.option(
    "--page-size", type=int, default=10, show_default=True, help="Registries per list page."
)
@click.option("--pages-per-scope", type=int, default=None, help="Cut each scope into N pages.")
@click.option("--token", default=None, help="Accept only this bearer token (default: any).")
@handle_errors
def emulator_command(
    host: str,
    port: int,
    latency_ms: float,
    fleet: int | None,
    subscriptions: int,
    seed: int,
    pages: str | None,
    page_size: int,
    pages_per_scope: int | None,
    token: str | None,
) -> None:
    """Run the local ARM emulator until interrupted (tests, demos, your own CI).

    Example: mlreg-frames emulator --port 8080 --fleet 500 --subscriptions 20 --latency-ms 50
    """
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "latency": latency_ms / 1000,
        "page_size": page_size,
        "pages_per_scope": pages_per_scope,
        "token": token,
    }
    if fleet is not None:
        arm = ArmEmulator.from_fleet(fleet, subscriptions, seed=seed, **options)
    elif pages is not None:
        arm = ArmEmulator.from_pages(pages, **options)
    else:
        arm = ArmEmulator(**options)
    click.echo(
        f"ARM emulator on {arm.endpoint} ({len(arm.registries)} registries, "
        f"{len(arm.subscriptions)} subscriptions); Ctrl-C stops it"
    )
    sys.stdout.flush()
    try:
        arm.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        arm.close()
