"""``mlreg-frames report``: the one-page overview figure of saved Parquet tables."""

from __future__ import annotations

from pathlib import Path

import click

from ..tables import read_parquet
from ._base import handle_errors, main

__all__ = ["report_command"]


@main.command("report")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of <table>.parquet files (from `mlreg-frames flatten` or `fetch`).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Image to write; the suffix picks the format (.png, .svg, .pdf).",
)
@click.option(
    "--costs",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A Cost Management export (cost-details or FOCUS CSV, or a folder of them): "
    "adds cost by registry and region.",
)
@click.option("--dpi", type=click.IntRange(20, 600), default=120, show_default=True,
              help="Resolution of raster images; the figure is 16 x 9 inches, so 120 dpi "
              "gives 1920 x 1080 px, the size `mlreg-frames demo` writes.")  # fmt: skip
@click.option("--title", default=None, help="Title prefix (default: 'Azure ML registries').")
@handle_errors
def report_command(
    source: Path, out: Path, costs: Path | None, dpi: int, title: str | None
) -> None:
    """Draw the overview dashboard of saved tables into an image.

    Example: mlreg-frames report --from out/ --out overview.png --costs data/sample/costs.csv
    """
    try:
        from ..plots import save_overview
    except ModuleNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    tables = read_parquet(source)
    written = save_overview(tables, out, costs=costs, dpi=dpi, title=title)
    click.echo(f"wrote {written} ({len(tables.registries):,} registries)")
