"""``mlreg-frames report``: the one-page overview figure of saved Parquet tables."""

from __future__ import annotations

from pathlib import Path

import click

from ..analysis.costs import read_cost_export
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
    help="A Cost Management export (cost details or FOCUS; CSV, .csv.gz or Parquet; a file, "
    "a folder of parts or an export root): adds cost by registry and region.",
)
@click.option("--cost-column", default=None, metavar="COLUMN",
              help="Read this export column as the cost (e.g. EffectiveCost for amortized FOCUS "
              "cost, CostInUsd).")  # fmt: skip
@click.option("--cost-format", type=click.Choice(["cost-details", "focus"]), default=None,
              help="Read only exports of this format (a folder holding both is refused "
              "otherwise).")  # fmt: skip
@click.option("--day-first/--month-first", "dayfirst", default=None,
              help="Read slashed dates as DD/MM/YYYY or MM/DD/YYYY (default: detected; "
              "ambiguous files are read month first, as Cost Management writes them).")  # fmt: skip
@click.option("--dpi", type=click.IntRange(20, 600), default=120, show_default=True,
              help="Resolution of raster images; the figure is 16 x 9 inches, so 120 dpi "
              "gives 1920 x 1080 px, the size `mlreg-frames demo` writes.")  # fmt: skip
@click.option("--title", default=None, help="Title prefix (default: 'Azure ML registries').")
@handle_errors
def report_command(
    source: Path,
    out: Path,
    costs: Path | None,
    cost_column: str | None,
    cost_format: str | None,
    dayfirst: bool | None,
    dpi: int,
    title: str | None,
) -> None:
    """Draw the overview dashboard of saved tables into an image.

    Example: mlreg-frames report --from out/ --out overview.png --costs data/sample/costs.csv
    """
    try:
        from ..plots import save_overview
    except ModuleNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if not any(source.glob("*.parquet")) and _holds_pages(source):
        raise click.ClickException(
            f"{source} holds saved ARM pages, not tables; flatten them first: "
            f"`mlreg-frames flatten {source} --out OUT`, then `mlreg-frames report --from OUT`"
        )
    tables = read_parquet(source)
    frame = None
    if costs is not None:
        frame = read_cost_export(
            costs, cost_column=cost_column, format=cost_format, dayfirst=dayfirst
        )
    written = save_overview(tables, out, costs=frame, dpi=dpi, title=title)
    click.echo(f"wrote {written} ({len(tables.registries):,} registries)")


def _holds_pages(folder: Path) -> bool:
    """Whether ``folder`` looks like saved pages (``*.json`` / ``*.ndjson`` files, at any depth:
    ``fetch --raw`` writes one subfolder per run)."""
    return any(folder.rglob("*.json")) or any(folder.rglob("*.ndjson"))
