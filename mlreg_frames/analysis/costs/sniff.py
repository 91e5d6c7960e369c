"""What a cost export file is before it is parsed: Parquet, gzip, its text encoding, delimiter.

Cost Management writes UTF-8 CSV (often with a byte-order mark), ``.csv.gz`` and Parquet.
Files that passed through a spreadsheet come back as UTF-16 or semicolon-separated with a
decimal comma. Each of these is recognised from the first bytes, so the reader can either read
it correctly or say what it is, instead of parsing it as something else.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from ...errors import CostExportError
from .formats import FORMATS, column_key

__all__ = ["Sniffed", "sniff"]

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_DELIMITERS = (",", ";", "\t", "|")
_KNOWN = {column_key(a) for roles in FORMATS.values() for al in roles.values() for a in al}
_HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say.

    Attributes:
        kind: ``"parquet"`` or ``"csv"``.
        compressed: gzip-compressed (``.csv.gz``).
        encoding: the text encoding, as Python and Arrow name it (``utf-8``, ``utf-16-le``...).
        bom: how many bytes of byte-order mark precede the text.
        delimiter: the field separator of the header line.
        header: the column names of the first line.
    """

    kind: str
    compressed: bool = False
    encoding: str = "utf-8"
    bom: int = 0
    delimiter: str = ","
    header: tuple[str, ...] = ()


def _head(path: Path) -> tuple[bytes, bool]:
    with path.open("rb") as fh:
        start = fh.read(_HEAD_BYTES)
    if not start.startswith(_GZIP_MAGIC):
        return start, False
    # a bounded read of the decompressed start: a gzip bomb costs at most _HEAD_BYTES here
    try:
        with gzip.open(path, "rb") as gz:
            return gz.read(_HEAD_BYTES), True
    except (OSError, EOFError, zlib.error) as exc:
        raise CostExportError(
            f"{path.name} is a damaged gzip file ({exc}); download the export again",
            path=str(path),
        ) from exc


def _encoding(start: bytes) -> tuple[str, int]:
    if start.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if start.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if start.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    sample = start[:200]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le", 0  # ASCII text as UTF-16 without a byte-order mark
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be", 0
    return "utf-8", 0


def _first_line(text: str) -> str:
    # the header line ends at the first newline outside quotes
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            return text[:i]
    return text


def _delimiter(line: str) -> tuple[str, tuple[str, ...]]:
    """The delimiter whose fields are most often known column names (then: most fields)."""
    best: tuple[int, int, str, tuple[str, ...]] | None = None
    for delim in _DELIMITERS:
        fields = tuple(next(csv.reader(io.StringIO(line), delimiter=delim), []))
        score = (sum(column_key(f) in _KNOWN for f in fields), len(fields))
        if best is None or score > best[:2]:
            best = (*score, delim, fields)
    assert best is not None
    return best[2], best[3]


def sniff(path: Path) -> Sniffed:
    """Look at the start of ``path``: what it is and how its text is written.

    Raises:
        CostExportError: the file is empty, a damaged gzip, or not text.
    """
    start, compressed = _head(path)
    if start.startswith(_PARQUET_MAGIC) and not compressed:
        return Sniffed(kind="parquet")
    if not start.strip():
        raise CostExportError(
            f"{path.name} is empty; export at least the header row", path=str(path)
        )
    encoding, bom = _encoding(start)
    body = start[bom:]
    if encoding.startswith("utf-16") and len(body) % 2:
        body = body[:-1]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        # the head may end inside a multi-byte character: decode what is whole
        text = body.decode(encoding, errors="ignore")
        if not text.strip() or "\x00" in text:
            raise CostExportError(
                f"{path.name} is neither UTF-8 nor UTF-16 text, Parquet or gzip; export the "
                "cost data again as CSV or Parquet",
                path=str(path),
            ) from None
    if "\x00" in text:
        raise CostExportError(
            f"{path.name} holds binary data (NUL bytes); it is not a CSV export",
            path=str(path),
        )
    delimiter, header = _delimiter(_first_line(text))
    return Sniffed(
        kind="csv",
        compressed=compressed,
        encoding=encoding,
        bom=bom,
        delimiter=delimiter,
        header=header,
    )
