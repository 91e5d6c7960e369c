"""``mlreg-frames changes``: who changed what, when, from Resource Graph and the lake.

Parses options, calls :func:`mlreg_frames.fetch_changes` (unless ``--no-graph``) and
:func:`mlreg_frames.changes` (with ``--lake``), and prints the change log newest first, in at
most 100 columns (``--wide``: every column, full values).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path

import click
import pandas as pd

from ..sources.auth import CLOUDS, resolve_endpoint
from ._base import handle_errors, main
from ._options import FiniteFloat, HttpUrl, NonEmpty
from .lake_cmd import parse_storage_options, storage_options_option

__all__ = ["changes_command", "changes_text"]

# (header, width) of the narrow table: 99 characters with the spaces between columns
_NARROW = (("time", 16), ("registry", 16), ("change", 6), ("property", 24), ("old -> new", 20),
           ("by", 12))  # fmt: skip
_KIND = {
    "microsoft.storage/storageaccounts": "st:",
    "microsoft.containerregistry/registries": "cr:",
}


def _cut(text: str, width: int, *, left: bool = False) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text.ljust(width)
    return ("…" + text[-(width - 1) :]) if left else (text[: width - 1] + "…")


def _cell(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
        else str(value)  # fmt: skip


def changes_text(
    frame: pd.DataFrame, *, wide: bool = False, names: Mapping[str, str] | None = None
) -> str:
    """The change log for a terminal: within 100 columns, or every column with ``wide``.

    ``names`` maps registry ids to their names as ARM spells them (else the id's last part).

    Example::

        >>> from mlreg_frames import schema
        >>> changes_text(schema.empty_frame("changes"))
        'no changes'
    """
    if frame.empty:
        return "no changes"
    if wide:
        return frame.to_string(index=False)
    lines = [" ".join(_cut(h, w) for h, w in _NARROW).rstrip()]
    for row in frame.astype(object).itertuples(index=False):
        when = "" if pd.isna(row.time) else pd.Timestamp(row.time).strftime("%Y-%m-%d %H:%M")
        owner = _cell(row.registry_id) or _cell(row.resource_id)
        prop = _cell(row.property).removeprefix("properties.")
        if _cell(row.resource_type) in _KIND:
            prop = _KIND[str(row.resource_type)] + (prop or owner.rsplit("/", 1)[-1])
        old, new = _cell(row.old) or "-", _cell(row.new) or "-"
        change = "" if row.change_type in ("Create", "Delete") and not _cell(row.property) \
            else f"{old} -> {new}"  # fmt: skip
        by = _cell(row.changed_by) or f"({row.source})"
        shown = (names or {}).get(owner) or owner.rsplit("/", 1)[-1]
        cells = (when, shown, _cell(row.change_type), prop, change, by)
        pairs = zip(cells, _NARROW, strict=True)
        lines.append(" ".join(_cut(c, w, left=h == "property") for c, (h, w) in pairs).rstrip())
    return "\n".join(lines)


def _write(frame: pd.DataFrame, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    except OSError as exc:
        raise click.ClickException(
            f"cannot write {out}: {exc.strerror or exc}; pick another --out file"
        ) from exc


@main.command("changes")
@click.option("--days", type=FiniteFloat(min=0, min_open=True), default=14.0, show_default=True,
              help="How far back to look (Resource Graph keeps about 14 days).")  # fmt: skip
@click.option("--lake", "lake_root", metavar="ROOT", default=None,
              help="Also the changes between this lake's snapshots (and stored ones).")  # fmt: skip
@click.option("--registry", type=NonEmpty(), default=None,
              help="Only this registry's changes (its name or ARM id).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every change row to FILE.parquet or FILE.csv.")  # fmt: skip
@click.option("--wide", is_flag=True, help="Show every column in full (wider than 100).")
@click.option("--from", "source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder of saved registry tables: only their registries and "
              "backing accounts (and their subscriptions).")  # fmt: skip
@click.option("--subscription", "subscriptions", multiple=True, type=NonEmpty(),
              help="Subscription id to ask (repeatable); default: the tenant.")  # fmt: skip
@click.option("--management-group", "groups", multiple=True, type=NonEmpty(),
              help="Management group to ask (repeatable).")  # fmt: skip
@click.option("--no-graph", is_flag=True, help="Do not ask Resource Graph (needs --lake).")
@click.option("--keep", is_flag=True,
              help="Keep the Resource Graph rows in the --lake (once per change id).")  # fmt: skip
@click.option("--endpoint", type=HttpUrl(), default=None, help="ARM endpoint URL.")
@click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default=None, help="Cloud preset.")
@click.option("--token-env", metavar="VAR", default=None,
              help="Read a bearer token from environment variable VAR, not a sign-in.")  # fmt: skip
@storage_options_option
@handle_errors
def changes_command(
    days: float,
    lake_root: str | None,
    registry: str | None,
    out: Path | None,
    wide: bool,
    source: Path | None,
    subscriptions: tuple[str, ...],
    groups: tuple[str, ...],
    no_graph: bool,
    keep: bool,
    endpoint: str | None,
    cloud: str | None,
    token_env: str | None,
    storage_option: tuple[str, ...],
) -> None:
    """Print who changed what, when: Resource Graph change records, and with --lake the
    changes between snapshots, merged (a change both saw is shown once), newest first.

    Exit status 2 when some scopes could not be read (their changes are missing).

    Example: mlreg-frames changes --days 7 --lake out/lake --registry my-registry
    """
    from ..lake.changelog import changes, store_changes
    from ..lake.layout import snapshot_id
    from ..lake.read import read as lake_read
    from ..sources.graphchanges import fetch_changes
    from ..tables import read_parquet
    from .fetch_cmd import command_credential

    if endpoint and cloud:
        raise click.UsageError("pass --endpoint or --cloud, not both")
    if no_graph and lake_root is None:
        raise click.UsageError("--no-graph leaves nothing to read: pass --lake ROOT too")
    if keep and (lake_root is None or no_graph):
        raise click.UsageError("--keep stores Resource Graph rows in a lake: pass --lake ROOT "
                               "and leave out --no-graph")  # fmt: skip
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter("use a .parquet or .csv file name", param_hint="'--out'")
    since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=days)
    options = parse_storage_options(storage_option)
    tables = read_parquet(source) if source is not None else None
    found = None
    if not no_graph:
        target = resolve_endpoint(endpoint, cloud)
        quiet = logging.getLogger(fetch_changes.__module__)
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # its warnings are printed below, once
        try:
            found = fetch_changes(
                tables, days=days, subscription_ids=list(subscriptions) or None,
                management_groups=list(groups) or None,
                credential=command_credential(target, token_env), endpoint=target,
            )  # fmt: skip
        finally:
            quiet.setLevel(level)
    if keep and found is not None and lake_root is not None:
        kept = store_changes(found, lake_root, snapshot_id(pd.Timestamp.now(tz="UTC")),
                             storage_options=options)  # fmt: skip
        click.echo(f"kept {kept:,} new Resource Graph change rows in {lake_root}", err=True)
    frame = changes(lake_root, since, graph=found, registry=registry, storage_options=options)
    if tables is None and lake_root is not None:
        tables = lake_read(lake_root, storage_options=options)
    regs = tables.registries.dropna(subset=["registry_id", "name"]) if tables is not None else None
    names = dict(zip(regs["registry_id"], regs["name"], strict=True)) if regs is not None else {}
    click.echo(changes_text(frame, wide=wide, names=names))
    counts = frame["source"].value_counts().to_dict()
    oldest = f"; oldest ARG change {found.oldest:%Y-%m-%d %H:%M} UTC" if (
        found is not None and found.oldest is not None) else ""  # fmt: skip
    click.echo(f"{len(frame):,} changes in {days:g} days: {counts.get('graph', 0):,} Resource "
               f"Graph, {counts.get('lake', 0):,} lake{oldest}")  # fmt: skip
    if out is not None:
        _write(frame, out)
        click.echo(f"wrote {len(frame):,} change rows to {out}")
    if found is None:
        return
    for note in found.warnings:
        click.echo(f"note: {note}", err=True)
    for row in found.fetch_errors.itertuples(index=False):
        status = "" if pd.isna(row.http_status) else f" {row.http_status}"
        click.echo(f"{row.outcome}{status} {row.error_code} {row.scope}: {row.message}", err=True)
    if len(found.fetch_errors):
        sys.exit(2)
