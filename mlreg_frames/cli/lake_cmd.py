"""``mlreg-frames snapshots | diff | vacuum | lake ...``: look after a Delta lake from the shell.

Each command parses its options, calls one function of :mod:`mlreg_frames.lake` and prints.
Remote lakes take delta-rs storage options as ``-o KEY=VALUE`` (repeatable), e.g.
``-o account_name=acct -o sas_token=...`` for ``abfss://`` URLs.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._base import handle_errors, main
from ._text import cells, fit, pad, plural

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["parse_storage_options", "storage_options_option"]

F = TypeVar("F", bound=Callable[..., Any])

_COLUMNS = 100
"""What a terminal shows without wrapping: the default width of ``snapshots`` and ``diff``."""

_MIN_CELL = 5
# The narrowest a diff column gets before every column shrinks alike: the values (JSON of whole
# rows) give way first, the field names last (`public_network_access` stays readable).
_FLOORS = {
    "registry": 18, "key": 12, "before": 11, "after": 11, "field": 21, "table": 10, "change": 10
}  # fmt: skip

# The snapshots table in 100 columns: the id, rows per table (short headers), failed scopes.
_NARROW = {
    "snapshot": "snapshot",
    "registries": "registries",
    "regions": "regions",
    "storage": "storage",
    "acr": "acr",
    "identities": "identities",
    "pe_connections": "pe",
    "tags": "tags",
    "fetch_errors": "errors",
    "failed_scopes": "failed",
}


def parse_storage_options(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("account_name=acct", "anon=false")`` -> ``{"account_name": "acct", "anon": False}``.

    Values that read as JSON (``false``, ``3``) become those values; others stay text.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="'-o'")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    if options.get("credential") == "azure":
        from azure.identity import DefaultAzureCredential

        options["credential"] = DefaultAzureCredential()
    return options


def storage_options_option(func: F) -> F:
    """The ``-o/--storage-option KEY=VALUE`` option (also for ``fetch --lake``)."""
    return click.option(
        "-o",
        "--storage-option",
        "storage_option",
        multiple=True,
        metavar="KEY=VALUE",
        help="delta-rs storage option for a remote lake, e.g. -o account_name=acct "
        "-o sas_token=... or -o connection_string=...; -o credential=azure signs in with "
        "azure-identity's DefaultAzureCredential (delta-rs also reads AZURE_STORAGE_* "
        "variables).",
    )(func)


def _short(frame: pd.DataFrame, width: int | None = _COLUMNS) -> str:
    """The changes for a terminal: registry names as ARM spells them, every row within
    ``width`` columns (the widest columns cut with "…"; keys from the left, since their end
    tells rows apart), or every value in full with ``width=None``."""
    shown = frame.copy()
    tail = shown.pop("registry_id").str.rpartition("/")[2]
    named = shown.pop("name").fillna(tail) if "name" in shown else tail
    shown.insert(0, "registry", named)
    texts = {col: shown[col].astype("string").fillna("").tolist() for col in shown.columns}
    sizes = {col: max(cells(v) for v in [col, *values]) for col, values in texts.items()}
    if width is not None:
        room = width - (len(sizes) - 1)  # one space between columns
        for floors in (_FLOORS, {}):  # values give way first; field names stay whole if they can
            while sum(sizes.values()) > room:
                slack = {c: sizes[c] - floors.get(c, _MIN_CELL) for c in sizes}
                widest = max(slack, key=lambda c: slack[c])
                if slack[widest] <= 0:
                    break
                sizes[widest] -= 1
    rows = [[fit(v, sizes[c], left=c == "key") for v in texts[c]] for c in shown.columns]
    lines = [list(shown.columns), *zip(*rows, strict=True)]
    return "\n".join(
        " ".join(pad(v, sizes[c]) for c, v in zip(shown.columns, line, strict=True)).rstrip()
        for line in lines
    )


def _snapshot(value: str | None) -> str | int | None:
    """A ``--from`` / ``--to`` value as :func:`mlreg_frames.lake.read` takes it: ``-1``, ``-2``
    are positions from the latest; anything else an id, a unique prefix, a time or 'latest'."""
    if value is None:
        return None
    text = value.strip()
    if text == "all":
        raise click.BadParameter(
            "a diff compares two single snapshots, not 'all'; pass an id or a unique prefix "
            "(from `mlreg-frames snapshots ROOT`), a time, a position (-2) or 'latest'"
        )
    if text.startswith("-") and text[1:].isdigit():
        return int(text)
    return text


def _picked(option: str, given: str | int | None, sid: str) -> str | None:
    """A line saying which snapshot a time picked (None when the value named it plainly)."""
    if given is None or isinstance(given, int) or given == "latest" or sid.startswith(given):
        return None
    return f"{option} {given}: snapshot {sid}, the last one as of then"


@main.command("snapshots")
@click.argument("root")
@storage_options_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON records instead of a table.")
@click.option("--wide", is_flag=True, help="Show every column (wider than 100 characters).")
@handle_errors
def snapshots_cmd(root: str, storage_option: tuple[str, ...], as_json: bool, wide: bool) -> None:
    """List the committed snapshots of the lake at ROOT (a folder or abfss:// URL).

    A table of the lake that cannot be opened (a damaged Delta log) is named on stderr.
    """
    from .. import lake

    options = parse_storage_options(storage_option)
    frame = lake.snapshots(root, storage_options=options)
    if as_json:
        # ISO times to the microsecond, as the ids are
        click.echo(frame.to_json(orient="records", date_format="iso", date_unit="us", indent=1))
    elif frame.empty:
        click.echo(f"no snapshots in {root}")
    elif wide:
        click.echo(frame.to_string(index=False))
    else:
        click.echo(frame[list(_NARROW)].rename(columns=_NARROW).to_string(index=False))
        click.echo(f"{plural(len(frame), 'snapshot')}; rows per table; --wide for every column")
    for table, error in lake.unreadable_tables(root, storage_options=options).items():
        click.echo(
            f"warning: table {table} of the lake is unreadable, so no snapshot can be read "
            f"until it is restored from a copy: {error}",
            err=True,
        )


@main.command("diff")
@click.argument("root")
@click.option(
    "--from",
    "from_",
    metavar="SNAPSHOT",
    help="Old snapshot: an id, a unique prefix, a time (the snapshot as of then), a position "
    "(-2: the one before the latest) or latest; default: the one before --to.",
)
@click.option(
    "--to",
    "to",
    metavar="SNAPSHOT",
    default="latest",
    show_default=True,
    help="New snapshot (as --from; -1 is the latest).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every change with full values to FILE.parquet or FILE.csv.",
)
@click.option("--wide", is_flag=True, help="Show every value in full (rows wider than 100).")
@storage_options_option
@handle_errors
def diff_cmd(
    root: str,
    from_: str | None,
    to: str,
    out: Path | None,
    wide: bool,
    storage_option: tuple[str, ...],
) -> None:
    """Print what changed between two snapshots of the lake at ROOT.

    A time in --from / --to picks the snapshot as of then (the last one taken at or before
    it) and says which. With assets in both snapshots (`fetch --assets --lake`), asset
    versions added, removed, archived, unarchived or unknown (a list that failed) are listed
    too.
    """
    from .. import lake

    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter("use a .parquet or .csv file name", param_hint="'--out'")
    try:
        old, new = _snapshot(from_), _snapshot(to)
    except click.BadParameter as exc:
        exc.param_hint = "'--from'" if (from_ or "").strip() == "all" else "'--to'"
        raise
    changes = lake.diff_snapshots(
        root, old, new, storage_options=parse_storage_options(storage_option)
    )
    for option, given, sid in (
        ("--from", old, changes.attrs["from"]),
        ("--to", new, changes.attrs["to"]),
    ):
        if (line := _picked(option, given, sid)) is not None:
            click.echo(line)
    span = f"from {changes.attrs['from']} to {changes.attrs['to']}"
    if changes.empty:
        click.echo(f"no changes {span}")
    else:
        counts = changes.groupby("change").size().to_dict()
        summary = ", ".join(f"{n} {c}" for c, n in counts.items())
        head = f"{plural(len(changes), 'change')} {span} ({summary})"
        click.echo(
            head
            if wide or cells(head) <= _COLUMNS
            else f"{head[: -len(summary) - 3]}:\n  {summary}"
        )
        click.echo(_short(changes, None if wide else _COLUMNS))
        if not wide:
            click.echo("long values cut to fit 100 columns; --wide or --out FILE for all of them")
    note = str(changes.attrs.get("assets", ""))
    if note.startswith("not compared"):
        text = f"asset versions {note}"
        click.echo(text if wide else textwrap.fill(text, _COLUMNS, break_on_hyphens=False))
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".csv":
                changes.to_csv(out, index=False)
            else:
                changes.to_parquet(out, index=False)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write {out}: {exc.strerror or exc}; pick another --out file"
            ) from exc
        click.echo(f"wrote {plural(len(changes), 'change')} to {out}")


def _minutes(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a number of minutes (0 or more)")
    return value


def _older_than_option(func: F) -> F:
    return click.option(
        "--older-than",
        type=float,
        default=60.0,
        show_default=True,
        metavar="MINUTES",
        callback=_minutes,
        help="Only clean up claims older than this: longer than any append takes.",
    )(func)


@main.command("vacuum")
@click.argument("root")
@_older_than_option
@click.option(
    "--retention-days",
    type=click.IntRange(min=7),
    default=7,
    show_default=True,
    help="Keep files that left the tables less than this long ago (readers, time travel).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@storage_options_option
@handle_errors
def vacuum_cmd(
    root: str,
    older_than: float,
    retention_days: int,
    dry_run: bool,
    storage_option: tuple[str, ...],
) -> None:
    """Repair crashed writers' snapshots, then Delta-vacuum unused files in the lake at ROOT.

    Never touches a committed snapshot.
    """
    from .. import lake

    removed = lake.vacuum(
        root,
        older_than=timedelta(minutes=older_than),
        retention=timedelta(days=retention_days),
        dry_run=dry_run,
        storage_options=parse_storage_options(storage_option),
    )
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {plural(len(removed), 'item')}" + "".join(f"\n  {p}" for p in removed))


@main.group("lake")
def lake_group() -> None:
    """Maintain a lake: migrate an old one, optimize, repair."""


@lake_group.command("migrate", short_help="Copy a lake of the 0.1 marker format into a Delta lake.")
@click.argument("old", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new")
@storage_options_option
@handle_errors
def migrate_cmd(old: Path, new: str, storage_option: tuple[str, ...]) -> None:
    """Copy every snapshot of OLD (the marker format of mlreg-frames 0.1) to the Delta lake NEW."""
    from .. import lake

    copied = lake.migrate(old, new, storage_options=parse_storage_options(storage_option))
    click.echo(f"copied {plural(len(copied), 'snapshot')} from {old} to {new}")
    for sid in copied:
        click.echo(f"  {sid}")


@lake_group.command(
    "optimize", short_help="Compact the small files of every table, month by month."
)
@click.argument("root")
@storage_options_option
@handle_errors
def optimize_cmd(root: str, storage_option: tuple[str, ...]) -> None:
    """Compact the small files of every table of the lake at ROOT (one per month)."""
    from .. import lake

    done = lake.optimize(root, storage_options=parse_storage_options(storage_option))
    click.echo(done[["table", "files_before", "files_after"]].to_string(index=False))


@lake_group.command("repair", short_help="Delete the rows of snapshots a crashed writer left.")
@click.argument("root")
@_older_than_option
@click.option("--dry-run", is_flag=True, help="List the snapshots, delete nothing.")
@storage_options_option
@handle_errors
def repair_cmd(
    root: str, older_than: float, dry_run: bool, storage_option: tuple[str, ...]
) -> None:
    """Delete the rows of snapshots a crashed writer never committed (Delta DELETE)."""
    from .. import lake

    repaired = lake.repair(
        root,
        older_than=timedelta(minutes=older_than),
        dry_run=dry_run,
        storage_options=parse_storage_options(storage_option),
    )
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} the rows of {plural(len(repaired), 'uncommitted snapshot')}")
    for sid in repaired:
        click.echo(f"  {sid}")
