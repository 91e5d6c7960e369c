"""``mlreg-frames fetch`` and ``demo``: reading registries from ARM (or its local stand-in).

Exit codes of ``fetch``: 0 when every scope was read, 2 when some failed (the rest is written
and the failures printed), 1 when nothing could be read.

``fetch`` signs in before anything else (and before its progress bar), so a missing Azure
sign-in is one line that says what to do; ``--debug`` shows each credential's failure.
``--raw DIR`` writes each run into its own new subfolder ``DIR/<UTC time>``, so pages of
earlier runs never mix into ``mlreg-frames flatten DIR/<run>``.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
import pandas as pd

from ..analysis import exposure
from ..analysis.costs import join_costs, read_cost_export
from ..backingfiles import write_backing
from ..emulator.server import ArmEmulator, sample_dir
from ..sources.auth import (
    CLOUDS,
    StaticTokenCredential,
    TokenCredential,
    default_credential,
    resolve_endpoint,
    token_scope,
)
from ..sources.backing import fetch_backing
from ..sources.fetch import API_VERSION, fetch_registries
from ..sources.limits import DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_PAGES, DEFAULT_REQUEST_TIMEOUT
from ..tables import RegistryTables
from ._base import debug_enabled, handle_errors, main, one_line
from ._options import COUNT, FiniteFloat, HttpUrl, NonEmpty
from ._text import plural, wrap
from .lake_cmd import parse_storage_options, storage_options_option
from .summary import cost_summary, findings_summary, summary

__all__ = [
    "SAMPLE_COSTS",
    "SIGN_IN_HINT",
    "command_credential",
    "cost_summary",
    "demo_command",
    "fetch_command",
    "new_run_folder",
    "signed_in_credential",
    "summary",
]

SAMPLE_COSTS = "costs.csv"
"""The bundled sample's cost export (in ``data/sample/``), joined in by ``mlreg-frames demo``."""

_OUT = click.Path(file_okay=False, path_type=Path)


def _print_errors(tables: RegistryTables, *, err: bool = True) -> None:
    """One entry per failed or skipped scope, wrapped within 100 columns; a subscription is
    named by its display name too, unless the message already does."""
    subs = tables.subscriptions.dropna(subset=["display_name"])
    names = dict(zip(subs["subscription_id"].str.lower(), subs["display_name"], strict=True))
    for row in tables.fetch_errors.itertuples(index=False):
        status = "" if pd.isna(row.http_status) else f" {row.http_status}"
        code = "" if pd.isna(row.error_code) else f" {row.error_code}"
        sub = "" if pd.isna(row.subscription_id) else str(row.subscription_id).lower()
        name = names.get(sub)
        named = f" ({name})" if name and name not in str(row.message) else ""
        line = f"{row.outcome}{status}{code} {row.scope}{named}: {row.message}"
        click.echo(wrap(line), err=err)


@main.command("fetch")
@click.option(
    "--subscription",
    "-s",
    "subscriptions",
    multiple=True,
    type=NonEmpty(),
    help="A subscription id (repeat for several); default: every subscription you can see.",
)
@click.option(
    "--resource-group", "-g", type=NonEmpty(), default=None, help="Only this resource group."
)
@click.option(
    "--endpoint", type=HttpUrl(), default=None, help="ARM endpoint URL (default: public Azure)."
)
@click.option(
    "--source",
    type=click.Choice(["arm", "graph"]),
    default="arm",
    show_default=True,
    help="arm: one list call per subscription; graph: one Azure Resource Graph query for the "
    "tenant, the management groups or each 1,000 subscriptions (see docs/fetch.md).",
)
@click.option(
    "--management-group",
    "-m",
    "management_groups",
    multiple=True,
    type=NonEmpty(),
    help="With --source graph: every subscription under this management group (repeat).",
)
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default=None, help="Cloud preset.")
@click.option(
    "--api-version",
    type=NonEmpty(),
    default=API_VERSION,
    show_default=True,
    help="Microsoft.MachineLearningServices api-version of the registries list calls.",
)
@click.option("--out", required=True, type=_OUT, help="Folder for <table>.parquet.")
@click.option(
    "--raw",
    type=_OUT,
    default=None,
    help="Also save every page as received, in a new subfolder DIR/<UTC time> per run "
    "(`mlreg-frames flatten` on it rebuilds every table but fetch_errors).",
)
@click.option(
    "--lake",
    type=NonEmpty(),
    default=None,
    help="Also append a snapshot to this lake (path or URL).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Scopes read at once.",
)
@click.option("--max-attempts", type=COUNT, default=6, show_default=True, help="Tries per page.")
@click.option(
    "--max-retry-after",
    type=FiniteFloat(min=0),
    default=60.0,
    show_default=True,
    help="Longest Retry-After honoured (s).",
)
@click.option(
    "--max-pages",
    type=COUNT,
    default=DEFAULT_MAX_PAGES,
    show_default=True,
    help="Pages per scope at most; a scope with more fails (MaxPagesExceeded).",
)
@click.option(
    "--max-page-bytes",
    type=COUNT,
    default=DEFAULT_MAX_PAGE_BYTES,
    show_default=True,
    help="Decompressed bytes per page at most; a larger page fails its scope (PageTooLarge).",
)
@click.option(
    "--request-timeout",
    type=FiniteFloat(min=0, min_open=True),
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
    "--backing",
    is_flag=True,
    default=False,
    help="Also read the storage accounts and ACRs behind the registries (as `mlreg-frames "
    "backing` does) into the --out folder, and print the declared-vs-actual findings.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show a progress bar on stderr (scopes done, pages, registries, retries).",
)
@click.option(
    "--assets/--no-assets",
    "with_assets",
    default=False,
    help="Also fetch what the registries hold (asset tables beside the registry tables; "
    "with --lake, in the same snapshot).",
)
@storage_options_option
@handle_errors
def fetch_command(
    subscriptions: tuple[str, ...],
    resource_group: str | None,
    source: str,
    management_groups: tuple[str, ...],
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
    backing: bool,
    progress: bool,
    with_assets: bool,
    storage_option: tuple[str, ...],
) -> None:
    """Fetch registries from Azure Resource Manager (or Resource Graph) into Parquet tables.

    Exit status: 0 all scopes read, 2 some failed or came back truncated (the rest written)
    or, with --backing, some accounts could not be read,
    1 nothing read.

    Example: mlreg-frames fetch -s 00000000-0000-0000-0000-000000000000 --out out/
    """
    if endpoint and cloud:
        raise click.UsageError("pass --endpoint or --cloud, not both")
    options = parse_storage_options(storage_option) or None
    target = resolve_endpoint(endpoint, cloud)
    if management_groups and source != "graph":
        raise click.UsageError("--management-group needs --source graph")
    credential = command_credential(target, token_env)
    _writable_folder(out)  # before a long fetch, not after it
    if lake:
        from ..lake.store import LakeStore

        LakeStore(lake, options)  # a root the lake refuses (or no deltalake) fails before it too
    run_dir = new_run_folder(raw) if raw is not None else None
    tables = fetch_registries(
        list(subscriptions) or None,
        resource_group,
        source=source,
        management_groups=list(management_groups) or None,
        credential=credential,
        endpoint=target,
        api_version=api_version,
        max_workers=workers,
        max_attempts=max_attempts,
        max_retry_after=max_retry_after,
        max_pages=max_pages,
        max_page_bytes=max_page_bytes,
        request_timeout=request_timeout,
        progress=progress,
        raw_dir=run_dir,
    )
    _write_tables(tables, out)
    errors = tables.fetch_errors
    failed = int((errors["outcome"] == "failed").sum())
    scopes = len(tables.provenance.get("scopes", []))
    click.echo(
        wrap(
            f"fetched {len(tables.registries):,} registries from {scopes - failed} of "
            f"{plural(scopes, 'scope')}{_subscriptions_read(tables)}"
        )
    )
    click.echo(wrap(f"wrote {len(tables.counts())} tables to {out} ({_tables_written(tables)})"))
    if run_dir is not None:
        click.echo(
            f"saved the raw pages to {run_dir} (`mlreg-frames flatten {run_dir}` rebuilds the "
            "tables, all but fetch_errors)"
        )
    _print_errors(tables)
    unread = 0
    accounts = None
    if backing:
        accounts = fetch_backing(tables, source=source, credential=credential, endpoint=target,
                                 max_workers=workers, max_attempts=max_attempts)  # fmt: skip
        write_backing(accounts, out)
        unread = len(accounts.fetch_errors)
        click.echo(f"read the accounts behind them ({unread} not readable): wrote the backing "
                   f"tables to {out}\n" + findings_summary(exposure(tables, accounts)))  # fmt: skip
    some_lost = False
    assets = None
    if with_assets:
        from .assets_out import fetch_and_write_assets

        assets = fetch_and_write_assets(
            tables, out, credential=credential, endpoint=target, workers=workers,
            raw=run_dir / "_assets" if run_dir is not None else None, progress=progress,
        )  # fmt: skip
        some_lost = not assets.fetch_errors.empty
    if lake:
        from ..lake.write import append

        snapshot = append(tables, lake, backing=accounts, assets=assets, storage_options=options)
        held = [w for w, on in (("the accounts behind them", accounts is not None),
                                ("their assets", assets is not None)) if on]  # fmt: skip
        with_extra = f" with {' and '.join(held)}" if held else ""
        click.echo(f"appended snapshot {snapshot}{with_extra} to {lake}")
    if failed or unread or some_lost or (errors["outcome"] == "truncated").any():
        sys.exit(2)


def _tables_written(tables: RegistryTables) -> str:
    """``7 + fetch_errors with 1 row + subscriptions with 3 rows``: the count of the files
    written, explained."""
    plain = len(tables.counts(include_errors=False))
    return (
        f"{plain} + fetch_errors with {plural(len(tables.fetch_errors), 'row')} + "
        f"subscriptions with {plural(len(tables.subscriptions), 'row')}"
    )


def _subscriptions_read(tables: RegistryTables) -> str:
    """`` (subscriptions: Contoso Prod, Contoso Dev; skipped: Legacy)``: the subscriptions
    by display name and the fetch's outcome, within one line (names cut beyond three)."""
    subs = tables.subscriptions
    if subs.empty:
        return ""
    names = subs["display_name"].fillna(subs["subscription_id"]).astype(str)
    parts = []
    for outcome, label in (("fetched", "subscriptions"), ("failed", "failed"),
                           ("skipped", "skipped")):  # fmt: skip
        chosen = names[(subs["outcome"] == outcome).fillna(False).to_numpy()].tolist()
        if chosen:
            more = f" and {len(chosen) - 3} more" if len(chosen) > 3 else ""
            parts.append(f"{label}: {', '.join(chosen[:3])}{more}")
    return f" ({'; '.join(parts)})" if parts else ""


SIGN_IN_HINT = (
    "sign in with `az login`, use a managed identity or set AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or pass a token with --token-env VAR"
)
"""What to do when no Azure credential works (``credential=`` is the Python API's way)."""


def command_credential(endpoint: str, token_env: str | None) -> TokenCredential:
    """The bearer token of environment variable ``token_env`` when given, else a sign-in."""
    if not token_env:
        return signed_in_credential(endpoint)
    token = os.environ.get(token_env, "").strip()
    if not token:
        raise click.UsageError(f"environment variable {token_env} is empty or not set")
    return StaticTokenCredential(token)


def signed_in_credential(endpoint: str) -> TokenCredential:
    """``DefaultAzureCredential`` for ``endpoint``, with a token already fetched.

    Signing in first makes a missing sign-in one clear error (azure-identity's per-credential
    report is logged at DEBUG, shown with ``--debug``) before any request or progress bar.
    """
    credential = default_credential(endpoint)
    quiet = logging.getLogger("azure.identity")
    level = quiet.level
    if not debug_enabled():
        quiet.setLevel(logging.CRITICAL)  # its WARNING is a 14-line dump of every credential
    try:
        credential.get_token(token_scope(endpoint))
    except Exception as exc:  # every credential type raises its own; all mean "not signed in"
        first = one_line(str(exc).split("\n", 1)[0]) or type(exc).__name__
        raise click.ClickException(
            f"could not sign in to Azure for {endpoint} ({first}); {SIGN_IN_HINT}; "
            "--debug shows why each credential failed"
        ) from exc
    finally:
        quiet.setLevel(level)
    return credential


def new_run_folder(root: Path) -> Path:
    """A new, empty ``root/<UTC time>`` folder for one run's raw pages (``-2``... if taken).

    Example::

        >>> new_run_folder(Path("raw"))   # doctest: +SKIP
        PosixPath('raw/20261129T004512Z')
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        folder = root / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise click.ClickException(f"cannot create a new run folder in {root}; clean it up")


@main.command("demo")
@click.option(
    "--out", type=_OUT, default=Path("out/demo"), show_default=True, help="Output folder."
)
@click.option(
    "--source",
    type=click.Choice(["arm", "graph"]),
    default="arm",
    show_default=True,
    help="Fetch with ARM list calls or with one Azure Resource Graph query.",
)
@handle_errors
def demo_command(out: Path, source: str) -> None:
    """Fetch the bundled sample through a local ARM emulator: no Azure account needed.

    Starts the emulator on 127.0.0.1 (it answers ARM and Resource Graph), fetches over real
    HTTP with a test token (--source arm or graph), writes the
    Parquet tables, prints a summary (regions, exposure, and the bundled sample cost export
    joined onto the registries) and saves overview.png when matplotlib is installed.
    """
    with ArmEmulator() as arm:
        click.echo(f"ARM emulator serving the bundled sample on {arm.endpoint}")
        tables = fetch_registries(endpoint=arm.endpoint, credential=arm.credential(), source=source)
        requests_served = arm.count()
        backing = fetch_backing(tables, endpoint=arm.endpoint, credential=arm.credential())
    _write_tables(tables, out)
    write_backing(backing, out)
    via = "Resource Graph" if source == "graph" else "ARM"
    click.echo(
        f"fetched from {via} over HTTP in {plural(requests_served, 'request')}; wrote the "
        f"tables to {out}"
    )
    _print_errors(tables, err=False)
    click.echo("\n" + summary(tables))
    unread = len(backing.fetch_errors)
    click.echo(
        f"\nThe accounts behind them, as the emulator's ARM has them today ({unread} not "
        "readable: deleted or in a group you cannot read; `mlreg-frames backing` does this "
        "against Azure):\n" + findings_summary(exposure(tables, backing), top=5)
    )
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
        raise _cannot_write(out, exc) from exc


def _writable_folder(out: Path) -> None:
    """Fail now, before a long fetch, if ``out`` cannot become a folder we can write in.

    Nothing is created: a fetch that reads nothing leaves no empty folder behind.
    """
    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        error = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
        raise _cannot_write(out, error)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _cannot_write(out, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))


def _cannot_write(out: Path, exc: OSError) -> click.ClickException:
    return click.ClickException(
        f"cannot write the tables to {out}: {exc.strerror or exc}; pick another --out folder"
    )
