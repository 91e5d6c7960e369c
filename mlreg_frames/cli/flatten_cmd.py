"""``mlreg-frames flatten`` and ``mlreg-frames dictionary``: offline commands on saved pages."""

from __future__ import annotations

from pathlib import Path

import click

from ..flatten.engine import flatten
from ..pages import read_pages
from ..schema.dictionary import data_dictionary_markdown
from ._base import handle_errors, main
from ._options import NonEmpty

__all__ = ["dictionary_command", "flatten_command"]


@main.command("flatten")
@click.argument("paths", nargs=-1, required=True, type=NonEmpty())
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write <table>.parquet into (created if missing).",
)
@handle_errors
def flatten_command(paths: tuple[str, ...], out: Path) -> None:
    """Flatten saved ARM registry pages (files, folders, globs) into Parquet tables.

    PATHS may be page files (.json), NDJSON (.ndjson/.jsonl), folders or globs.

    Example: mlreg-frames flatten data/sample --out out/
    """
    tables = flatten(read_pages(list(paths)), provenance={"source": "flatten"})
    tables.validate()
    tables.to_parquet(out)
    counts = tables.counts()  # every file written, fetch_errors too (empty after a flatten)
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        click.echo(f"{name:<{width}}  {count:>8,}")
    click.echo(f"wrote {len(counts)} tables to {out}")


@main.command("dictionary")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the Markdown here instead of printing it (e.g. docs/data-dictionary.md).",
)
@handle_errors
def dictionary_command(out: Path | None) -> None:
    """Print the data dictionary (every table and column) as Markdown."""
    text = data_dictionary_markdown() + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
