"""The ``mlreg-frames`` command line: a thin layer over the public functions.

Each command lives in its own module, imported only when that command runs (or its own
``--help`` is asked for): ``mlreg-frames --help`` and ``--version`` import neither pandas nor
pyarrow. :data:`COMMANDS` names each command's module and the one line ``--help`` lists for
it. Library errors become one clean line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from ._base import main

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "assets": ("assets_cmd", "Fetch what registries hold (models, data, code) into tables."),
    "backing": ("backing_cmd", "Read the storage accounts and ACRs behind saved tables."),
    "changes": ("changes_cmd", "Print who changed what: Resource Graph changes and lake diffs."),
    "demo": ("fetch_cmd", "Fetch the bundled sample from a local emulator (no Azure)."),
    "dictionary": ("flatten_cmd", "Print the data dictionary (tables, columns) as Markdown."),
    "diff": ("lake_cmd", "Print what changed between two snapshots of a lake."),
    "emulator": ("emulator_cmd", "Run the local ARM emulator (tests, demos, your own CI)."),
    "fetch": ("fetch_cmd", "Fetch registries from ARM or Resource Graph into Parquet."),
    "flatten": ("flatten_cmd", "Flatten saved ARM pages (files, folders, globs) to Parquet."),
    "lake": ("lake_cmd", "Maintain a lake: migrate an old one, optimize, repair."),
    "report": ("report_cmd", "Draw the overview dashboard of saved tables into an image."),
    "snapshots": ("lake_cmd", "List the committed snapshots of a lake."),
    "vacuum": ("lake_cmd", "Repair crashed writers' snapshots, then vacuum old files."),
}
"""Command name -> (module in this package that defines it, its line in ``--help``)."""

main.lazy_commands = {
    name: (f"{__name__}.{module}", line) for name, (module, line) in COMMANDS.items()
}
