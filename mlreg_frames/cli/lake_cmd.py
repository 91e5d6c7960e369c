"""``mlreg-frames snapshots | diff | vacuum``: look into a snapshot lake from the shell.

Each command parses its options, calls one function of :mod:`mlreg_frames.lake` and prints.
Remote lakes take fsspec options as ``-o KEY=VALUE`` (repeatable), e.g.
``-o account_name=acct -o anon=false`` for ``abfs://`` with an Azure AD login.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from ._base import handle_errors, main

__all__ = ["parse_storage_options", "storage_options_option"]

F = TypeVar("F", bound=Callable[..., Any])

_WIDTH = 60


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
    return options


def storage_options_option(func: F) -> F:
    """The ``-o/--storage-option KEY=VALUE`` option (also for ``fetch --lake``)."""
    return click.option(
        "-o",
        "--storage-option",
        "storage_option",
        multiple=True,
        metavar="KEY=VALUE",
        help="fsspec option for a remote lake, e.g. -o account_name=acct -o anon=false "
        "(adlfs also reads AZURE_STORAGE_CONNECTION_STRING / _ACCOUNT_NAME / _ACCOUNT_KEY / "
        "_SAS_TOKEN from the environment).",
    )(func)


def _short(frame: pd.DataFrame) -> str:
    """The changes for a terminal: registry names as ARM spells them, long texts cut."""
    shown = frame.copy()
    tail = shown.pop("registry_id").str.rpartition("/")[2]
    named = shown.pop("name").fillna(tail) if "name" in shown else tail
    shown.insert(0, "registry", named)
    for col in shown.columns:
        text = shown[col].astype("string")
        long = text.str.len() > _WIDTH
        cut = "…" + text.str[-(_WIDTH - 1) :] if col == "key" else text.str[: _WIDTH - 1] + "…"
        shown[col] = text.where(~long.fillna(False), cut).fillna("")
    return shown.to_string(index=False)


@main.command("snapshots")
@click.argument("root")
@storage_options_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON records instead of a table.")
@handle_errors
def snapshots_cmd(root: str, storage_option: tuple[str, ...], as_json: bool) -> None:
    """List the committed snapshots of the lake at ROOT (a folder or fsspec URL)."""
    from .. import lake

    frame = lake.snapshots(root, storage_options=parse_storage_options(storage_option))
    if as_json:
        click.echo(frame.to_json(orient="records", date_format="iso", indent=1))
    elif frame.empty:
        click.echo(f"no snapshots in {root}")
    else:
        click.echo(frame.to_string(index=False))


@main.command("diff")
@click.argument("root")
@click.option(
    "--from",
    "from_",
    metavar="SNAPSHOT",
    help="Old snapshot (id, unique prefix or time); default: the one before --to.",
)
@click.option(
    "--to", "to", metavar="SNAPSHOT", default="latest", show_default=True, help="New snapshot."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every change with full values to FILE.parquet or FILE.csv.",
)
@storage_options_option
@handle_errors
def diff_cmd(
    root: str, from_: str | None, to: str, out: Path | None, storage_option: tuple[str, ...]
) -> None:
    """Print what changed between two snapshots of the lake at ROOT."""
    from .. import lake

    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter("use a .parquet or .csv file name", param_hint="'--out'")
    changes = lake.diff_snapshots(
        root, from_, to, storage_options=parse_storage_options(storage_option)
    )
    span = f"from {changes.attrs['from']} to {changes.attrs['to']}"
    if changes.empty:
        click.echo(f"no changes {span}")
    else:
        counts = changes.groupby("change").size().to_dict()
        summary = ", ".join(f"{n} {c}" for c, n in counts.items())
        click.echo(f"{len(changes)} changes {span} ({summary})")
        click.echo(_short(changes))
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
        click.echo(f"wrote {len(changes)} changes to {out}")


@main.command("vacuum")
@click.argument("root")
@click.option(
    "--older-than",
    type=float,
    default=60.0,
    show_default=True,
    metavar="MINUTES",
    help="Only remove locks (and their files) older than this: longer than any append.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@storage_options_option
@handle_errors
def vacuum_cmd(
    root: str, older_than: float, dry_run: bool, storage_option: tuple[str, ...]
) -> None:
    """Remove what crashed writers left in the lake at ROOT (never a committed snapshot)."""
    from .. import lake

    removed = lake.vacuum(
        root,
        older_than=timedelta(minutes=older_than),
        dry_run=dry_run,
        storage_options=parse_storage_options(storage_option),
    )
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(removed)} paths" + "".join(f"\n  {p}" for p in removed))
