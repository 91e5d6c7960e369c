"""The data dictionary (every table and column, one line of meaning each) as Markdown.

Generated from :mod:`mlreg_frames.schema`; ``python -m mlreg_frames dictionary --out
docs/data-dictionary.md`` writes the committed copy, and a test keeps it current.
"""

from __future__ import annotations

from collections.abc import Iterable

from .assets import ASSET_TABLES
from .backing import BACKING_TABLES
from .changes import CHANGES
from .coltypes import Table
from .declared import ALL_TABLES, SNAPSHOT

__all__ = ["data_dictionary_markdown"]


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def data_dictionary_markdown(tables: Iterable[Table] | None = None) -> str:
    """The data dictionary as Markdown, generated from the declared schema."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from `mlreg_frames/schema/` by `python -m mlreg_frames dictionary`;"
        " do not edit by hand (a test keeps it current).",
        "",
        "Every registry table carries `registry_id`, the registry's ARM id lower-cased, so they"
        " all join on it; the backing tables (`storage_accounts`, `container_registries`,"
        " `backing_pe_connections`) are keyed by the account's `resource_id`, which is the"
        " `resource_id` of `storage` and `acr`. Types: `string` is pandas `string[pyarrow]`,"
        " `bool` is `boolean`, `int` is"
        " `Int64`, `timestamp` is `datetime64[us, UTC]`, `string_list` is"
        " `list<string>[pyarrow]`, `json` is a JSON text in a `string` column.",
        "",
        f"When several lake snapshots are read together, every table starts with one more"
        f" column, `{SNAPSHOT.name}` ({SNAPSHOT.kind}): {SNAPSHOT.doc}",
        "",
    ]
    every = [*ALL_TABLES.values(), *BACKING_TABLES.values(), *ASSET_TABLES.values(), CHANGES]
    for table in tables if tables is not None else every:
        lines += [
            f"## `{table.name}`",
            "",
            table.doc,
            "",
            f"Key: {', '.join(f'`{k}`' for k in table.key)}",
            "",
            "| column | type | meaning |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{c.name}` | {c.kind} | {_escape(c.doc)} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)
