"""Text for a terminal: widths in columns (East Asian wide characters take two), cut and pad.

``len`` counts characters, a terminal counts columns: ``"プロジェクト"`` is 6 characters and 12
columns. Lines the CLI promises to keep within 100 columns are measured with :func:`cells`.

Example::

    >>> cells("abc"), cells("プロ")
    (3, 4)
    >>> fit("registries-of-the-west", 10)
    'registrie…'
    >>> fit("resource / team", 10, left=True)
    '…ce / team'
"""

from __future__ import annotations

import textwrap
import unicodedata

__all__ = ["COLUMNS", "cells", "fit", "pad", "plural", "wrap"]

COLUMNS = 100
"""The width the CLI's own lines keep to (``--wide`` options show more)."""


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """The columns ``text`` takes in a terminal."""
    return sum(_width(ch) for ch in text) if not text.isascii() else len(text)


def fit(text: str, size: int, *, left: bool = False) -> str:
    """``text`` within ``size`` columns: cut with "…" at its end (or its start with ``left``)."""
    if cells(text) <= size:
        return text
    kept: list[str] = []
    used = 1  # the "…"
    for ch in reversed(text) if left else text:
        if used + _width(ch) > size:
            break
        kept.append(ch)
        used += _width(ch)
    body = "".join(reversed(kept)) if left else "".join(kept)
    return "…" + body if left else body + "…"


def pad(text: str, size: int) -> str:
    """``text`` padded with spaces to ``size`` columns."""
    return text + " " * max(0, size - cells(text))


def plural(n: int, word: str) -> str:
    """``1 snapshot``, ``2 snapshots``: a count with its noun.

    >>> plural(1, "request"), plural(3, "request")
    ('1 request', '3 requests')
    """
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{n:,} {word[:-1]}ies"
    return f"{n:,} {word}s"


def wrap(text: str, width: int = COLUMNS) -> str:
    """``text`` broken at spaces into lines of at most ``width`` columns, the next ones
    indented by two (ids and paths are never split).

        >>> print(wrap("skipped /subscriptions/s: subscription x is Disabled", 30))
        skipped /subscriptions/s:
          subscription x is Disabled
    """
    if cells(text) <= width:
        return text
    return textwrap.fill(
        text, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
    )
