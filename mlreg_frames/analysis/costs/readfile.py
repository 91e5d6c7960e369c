"""One export file -> an Arrow table of the columns its roles need, every row checked.

CSV is parsed by Arrow's multi-threaded reader with every field count checked, also in the
columns that are not kept: reading only some columns must not switch that check off (pandas'
``usecols`` does), or a row with a stray delimiter or quote is read shifted. A row with more or
fewer fields than the header (a decimal comma, an unterminated quote, a last line cut off by an
interrupted download) refuses the file with its line number. Parquet is read by its schema.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ...errors import CostExportError
from .formats import Layout, detect
from .sniff import Sniffed, sniff

__all__ = ["FileTable", "read_file"]

_BLOCK = 16 << 20


@dataclass
class FileTable:
    """A file's columns, renamed to their roles, and what was learnt reading it.

    Attributes:
        table: one column per role found (``resource_id``, ``cost``, ...).
        layout: the header's :class:`~.formats.Layout`.
        sniffed: what the first bytes said (None for a frame handed in directly).
        decimal_comma: the file is semicolon-separated: its numbers may use a decimal comma.
    """

    table: pa.Table
    layout: Layout
    sniffed: Sniffed | None = None
    decimal_comma: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


class _BadRows:
    """Collects the rows whose field count is not the header's (Arrow's invalid-row hook)."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def __call__(self, row: Any) -> str:
        self.rows.append(row)
        return "skip"


def _describe_line(text: str) -> str:
    text = text.replace("\r", "").replace("\n", "\\n")
    return text if len(text) <= 120 else text[:117] + "..."


def _csv_table(path: Path, sniffed: Sniffed, names: list[str], *, accurate: bool) -> tuple:
    bad = _BadRows()
    columns = [f"c{i}" for i in range(len(sniffed.header))]
    stream = pa.input_stream(str(path), compression="gzip" if sniffed.compressed else None)
    try:
        if sniffed.bom:
            stream.read(sniffed.bom)
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=columns,
                skip_rows=1,
                encoding=sniffed.encoding,
                block_size=_BLOCK,
                use_threads=not accurate,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sniffed.delimiter,
                newlines_in_values=accurate,
                invalid_row_handler=bad,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    finally:
        stream.close()
    return table, bad.rows


def _refuse_bad_row(path: Path, sniffed: Sniffed, names: list[str]) -> None:
    """Read again, one thread and quote-aware, to name the first bad row's line; raise."""
    _table, rows = _csv_table(path, sniffed, names, accurate=True)
    if not rows:
        return  # a quoted newline across a block boundary: the careful read is the right one
    row = rows[0]
    where = f"line {row.number}" if row.number is not None else "a row"
    what = "more" if row.actual_columns > row.expected_columns else "fewer"
    hint = ""
    if sniffed.delimiter == "," and row.actual_columns > row.expected_columns:
        hint = " (an unquoted decimal comma or a stray delimiter?)"
    elif row.actual_columns < row.expected_columns:
        hint = " (an unterminated quote, or a last line cut off by an interrupted download?)"
    raise CostExportError(
        f"{path.name}: {where} has {row.actual_columns} fields where the header has "
        f"{row.expected_columns}: {what} than the header{hint}, so its values would be read "
        f"shifted ({_describe_line(row.text)!r}); {len(rows) - 1} more such rows; fix or "
        "re-export the file",
        path=path.name,
    )


def _tail_state(path: Path, sniffed: Sniffed) -> tuple[bool, int]:
    """(ends with a newline, quote characters in the whole file, as parity) of the text.

    Only for UTF-8 text: in UTF-16 the quote's byte can be half of another character.
    """
    quotes, last = 0, b"\n"
    opener = gzip.open if sniffed.compressed else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            quotes += chunk.count(b'"')
            last = chunk[-1:]
    return last in (b"\n", b"\r"), quotes % 2


def _refuse_cut_quote(path: Path, sniffed: Sniffed) -> None:
    """A file cut inside a quoted value: the parser would end the value at the end of file.

    A whole CSV holds an even number of quote characters (a quote inside a value is doubled).
    Checked only when the file does not end with a newline, as a cut file does not.
    """
    if sniffed.encoding != "utf-8":
        return
    if sniffed.compressed:
        ends_with_newline, odd = _tail_state(path, sniffed)
    else:
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            ends_with_newline = fh.read(1) in (b"\n", b"\r")
        odd = 0 if ends_with_newline else _tail_state(path, sniffed)[1]
    if not ends_with_newline and odd:
        raise CostExportError(
            f"{path.name} ends inside a quoted value (an odd number of quote characters and no "
            "final newline): its last line was cut off, by an interrupted download or a copy; "
            "download the export again",
            path=path.name,
        )


def _arrow_error(path: Path, exc: Exception) -> CostExportError:
    text = str(exc).split("\n", 1)[0]
    if "UTF8" in text or "utf-8" in text.lower() or "codec" in text.lower():
        return CostExportError(
            f"{path.name} is not UTF-8 or UTF-16 text ({text}); re-save it as UTF-8 CSV",
            path=path.name,
        )
    return CostExportError(
        f"cannot read {path.name} as CSV ({text}); check it is a complete, uncorrupted export",
        path=path.name,
    )


def _read_csv(path: Path, sniffed: Sniffed, **options: Any) -> FileTable:
    layout = detect(sniffed.header, path.name, **options)
    index = {name: i for i, name in enumerate(sniffed.header)}
    roles = {role: f"c{index[col]}" for role, col in layout.columns.items()}
    names = sorted(set(roles.values()))
    try:
        _refuse_cut_quote(path, sniffed)
        table, bad = _csv_table(path, sniffed, names, accurate=False)
        if bad:
            _refuse_bad_row(path, sniffed, names)
            table, bad = _csv_table(path, sniffed, names, accurate=True)
    except CostExportError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeError, EOFError, OSError) as exc:
        raise _arrow_error(path, exc) from exc
    out = pa.table({role: table.column(col) for role, col in roles.items()})
    return FileTable(out, layout, sniffed, decimal_comma=sniffed.delimiter == ";")


def _read_parquet(path: Path, **options: Any) -> FileTable:
    try:
        file = pq.ParquetFile(str(path))
        layout = detect(file.schema_arrow.names, path.name, **options)
        table = file.read(columns=sorted(set(layout.columns.values())))
    except CostExportError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CostExportError(
            f"cannot read {path.name} as Parquet ({str(exc).splitlines()[0]}); check it is a "
            "complete export",
            path=path.name,
        ) from exc
    out = pa.table({role: table.column(col) for role, col in layout.columns.items()})
    return FileTable(out, layout, Sniffed(kind="parquet"))


def read_file(path: Path, **options: Any) -> FileTable:
    """Read one export file (CSV, ``.csv.gz``, UTF-16, semicolon-separated or Parquet).

    ``options`` are :func:`~.formats.detect`'s (``cost_column``, ``format``).

    Raises:
        CostExportError: unreadable, not an export, or a row whose field count is wrong.
    """
    try:
        sniffed = sniff(path)
    except OSError as exc:
        raise CostExportError(
            f"cannot open {path.name} ({exc.strerror or exc}); check the path and permissions",
            path=str(path),
        ) from exc
    if sniffed.kind == "parquet":
        return _read_parquet(path, **options)
    return _read_csv(path, sniffed, **options)
