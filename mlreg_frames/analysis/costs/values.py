"""Cost amounts and charge days, parsed strictly: a value is read right or the file refused.

- **Costs** must be finite numbers: an empty cell, ``NULL``, ``NaN``, ``inf`` or ``1e999``
  (which overflows to infinity) refuses the file with the row, because a total that includes
  them is not a number anyone should put on a slide. A semicolon-separated file may write a
  decimal comma (``0,75``); then a point in a number is refused as ambiguous (a thousands
  separator or a decimal point?).
- **Days** are ISO 8601 (``2024-09-30``, ``2024-09-30T20:00:00Z``, ``2024-09-30 22:00:00``) or
  ``MM/DD/YYYY`` (Cost Management's own format). A file where some day is impossible as
  ``MM/DD`` (``31/01/2025``) and none is impossible as ``DD/MM`` is read day-first; one that
  holds both impossible cases, a mix of ISO and slashed dates, an empty or ``NULL`` day, or a
  value that is no date is refused with the row and the value. ``dayfirst=`` and
  ``date_format=`` override the detection.
- A time of day with an offset is converted to UTC first, then cut to the UTC day:
  ``2024-09-30T20:00-05:00`` is ``2024-10-01 01:00`` UTC, so it bills on October 1. Azure's
  billing days are UTC days; FOCUS requires UTC timestamps. A time without an offset is UTC.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import CostExportError

__all__ = ["DATE_DTYPE", "parse_costs", "parse_days", "text_values"]

DATE_DTYPE = pd.DatetimeTZDtype("us", "UTC")
"""The dtype of a cost frame's ``date``: the charge day at 00:00 UTC."""

_NULLS = {"", "null", "none", "n/a", "#n/a"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})([ T].*)?$")


def _row(index: int) -> str:
    return f"data row {index + 1}"


def text_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A string column trimmed, with empty strings as nulls (``NULL`` stays: see callers)."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _is_null_text(column: pa.ChunkedArray) -> np.ndarray:
    lowered = pc.utf8_lower(column)
    nulls = pc.or_kleene(pc.is_null(lowered), pc.is_in(lowered, pa.array(sorted(_NULLS))))
    return np.asarray(pc.fill_null(nulls, True))


def _non_empty(column: pa.ChunkedArray, *, name: str, source: str, why: str) -> pa.ChunkedArray:
    """The column as trimmed text, or CostExportError at its first empty or ``NULL`` cell."""
    raw = text_values(column)
    empty = _is_null_text(raw)
    if empty.any():
        first = int(empty.argmax())
        raise CostExportError(
            f"{source}: {name} is empty on {_row(first)} ({column[first].as_py()!r}); {why}: "
            "fix the row or re-export",
            path=source,
        )
    return raw


def parse_costs(
    column: pa.ChunkedArray, *, name: str, source: str, decimal_comma: bool = False
) -> np.ndarray:
    """A cost column as float64, or :class:`CostExportError` naming the first bad row.

    Args:
        column: the raw column (strings from CSV, numbers from Parquet).
        name: the header, for messages.
        source: the file name, for messages.
        decimal_comma: the file may write ``0,75`` for 0.75 (semicolon-separated exports).
    """
    if (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or (pa.types.is_decimal(column.type))
    ):
        values = pc.cast(column, pa.float64())
        raw = None
    else:
        raw = _non_empty(column, name=name, source=source, why="an unknown cost is not zero")
        text = raw
        if decimal_comma:
            has_comma = np.asarray(pc.fill_null(pc.match_substring(raw, ","), False))
            if has_comma.any():
                has_point = np.asarray(pc.fill_null(pc.match_substring(raw, "."), False))
                if has_point.any():
                    first = int(has_point.argmax())
                    raise CostExportError(
                        f"{source}: {name} writes decimal commas, but {_row(first)} holds "
                        f"{raw[first].as_py()!r}: is the point a thousands separator or a "
                        "decimal point? Re-export without thousands separators",
                        path=source,
                    )
                text = pc.replace_substring(raw, ",", ".")
        try:
            values = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            values = None
        if values is None:
            parsed = pd.to_numeric(pd.Series(np.asarray(text, dtype=object)), errors="coerce")
            first = int(parsed.isna().to_numpy().argmax())
            hint = " (a decimal comma?)" if "," in str(raw[first].as_py()) else ""
            raise CostExportError(
                f"{source}: {name} is not a number on {_row(first)} "
                f"({raw[first].as_py()!r}){hint}; fix the row or re-export",
                path=source,
            )
    out = np.asarray(values.to_numpy(zero_copy_only=False), dtype="float64")
    nulls = np.asarray(pc.is_null(values))
    bad = nulls | ~np.isfinite(np.where(nulls, 0.0, out))
    if bad.any():
        first = int(bad.argmax())
        shown = None if raw is None else raw[first].as_py()
        shown = shown if shown is not None else ("empty" if nulls[first] else out[first])
        raise CostExportError(
            f"{source}: {name} on {_row(first)} is {shown!r}, not a finite amount (an empty, "
            "NaN or infinite cost would make every total meaningless); fix the row or re-export",
            path=source,
        )
    return out


def _slashed_order(parts: pd.DataFrame, uniques: pd.Series, *, column: str, source: str) -> bool:
    """True for day-first: the order the file's slashed dates can only have, else MM/DD."""
    first, second = parts[0].astype(int), parts[1].astype(int)
    no_month_first = first > 12
    no_day_first = second > 12
    if no_month_first.any() and no_day_first.any():
        a = uniques[no_month_first.to_numpy()].iloc[0]
        b = uniques[no_day_first.to_numpy()].iloc[0]
        raise CostExportError(
            f"{source}: {column} holds {a!r} (day first) and {b!r} (month first) in one "
            "column; re-export with one date format",
            path=source,
        )
    return bool(no_month_first.any())


_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def _iso_utc(values: pd.Series) -> pd.Series:
    """ISO 8601 texts as UTC instants; a text without an offset is UTC.

    Times with and without an offset are parsed apart: given both at once, some pandas
    versions apply the first value's offset to the naive ones.
    """
    aware = values.str.contains(_OFFSET).fillna(False).to_numpy()
    out = pd.Series(pd.NaT, index=values.index, dtype=DATE_DTYPE)
    for mask in (aware, ~aware):
        if mask.any():
            part = pd.to_datetime(values[mask], format="ISO8601", utc=True, errors="coerce")
            out[mask] = part.astype(DATE_DTYPE)
    return out


def _first_row(codes: np.ndarray, unique_mask: pd.Series) -> int:
    """The first row whose value is one of the uniques selected by ``unique_mask``."""
    return int(np.flatnonzero(np.isin(codes, np.flatnonzero(unique_mask.to_numpy())))[0])


def _mixed_dates(
    uniques: pd.Series,
    codes: np.ndarray,
    iso: pd.Series,
    slashed: pd.Series,
    *,
    name: str,
    source: str,
) -> CostExportError:
    bad = ~(iso | slashed)
    if bad.any():
        value, row = uniques[bad.to_numpy()].iloc[0], _first_row(codes, bad)
        what = f"neither ISO 8601 nor MM/DD/YYYY ({value!r} on {_row(row)})"
    else:
        a, b = _first_row(codes, iso), _first_row(codes, slashed)
        what = (
            f"a mix of ISO 8601 and slashed dates ({uniques[iso.to_numpy()].iloc[0]!r} on "
            f"{_row(a)}, {uniques[slashed.to_numpy()].iloc[0]!r} on {_row(b)})"
        )
    return CostExportError(
        f"{source}: column {name!r} holds dates that are {what}; re-export with a standard "
        "date format or pass date_format=",
        path=source,
    )


def parse_days(
    column: pa.ChunkedArray,
    *,
    name: str,
    source: str,
    dayfirst: bool | None = None,
    date_format: str | None = None,
) -> tuple[pd.Series, str]:
    """The charge day of every row (midnight UTC, :data:`DATE_DTYPE`) and the order read.

    Every distinct value is parsed once (an export repeats a few dozen days over millions of
    rows). Returns the days and how they were read: ``"ISO 8601"``, ``"MM/DD/YYYY"``,
    ``"DD/MM/YYYY"``, ``"timestamp"`` (Parquet) or the ``date_format`` given.
    """
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        series = pd.Series(column.to_pandas(), copy=False)
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC")
        else:
            series = pd.to_datetime(series).dt.tz_localize("UTC")
        if series.isna().any():
            first = int(series.isna().to_numpy().argmax())
            raise CostExportError(
                f"{source}: {name} is empty on {_row(first)}; every charge needs its day",
                path=source,
            )
        return series.dt.floor("D").astype(DATE_DTYPE), "timestamp"
    raw = _non_empty(column, name=name, source=source, why="every charge needs its day")
    codes, uniques_arr = pd.factorize(np.asarray(raw, dtype=object), use_na_sentinel=True)
    uniques = pd.Series(uniques_arr, dtype="object")
    how: str
    if date_format is not None:
        parsed = pd.to_datetime(uniques, format=date_format, utc=True, errors="coerce")
        how = date_format
    else:
        iso = uniques.str.match(_ISO)
        slashed = uniques.str.extract(_SLASHED)
        is_slashed = slashed[0].notna()
        if iso.all():
            parsed = _iso_utc(uniques)
            how = "ISO 8601"
        elif is_slashed.all():
            order = dayfirst
            if order is None:
                order = _slashed_order(slashed, uniques, column=name, source=source)
            fmt = "%d/%m/%Y" if order else "%m/%d/%Y"
            how = "DD/MM/YYYY" if order else "MM/DD/YYYY"
            parsed = pd.to_datetime(
                slashed[0] + "/" + slashed[1] + "/" + slashed[2], format=fmt, utc=True,
                errors="coerce",
            )  # fmt: skip
        else:
            raise _mixed_dates(uniques, codes, iso, is_slashed, name=name, source=source)
    failed = parsed.isna().to_numpy()
    if failed.any():
        unique_bad = int(failed.argmax())
        first = int(np.flatnonzero(codes == unique_bad)[0])
        raise CostExportError(
            f"{source}: {name} is not a valid {how} date on {_row(first)} "
            f"({uniques[unique_bad]!r}); fix the row, or pass dayfirst= / date_format=",
            path=source,
        )
    days = pd.Series(parsed).dt.floor("D").astype(DATE_DTYPE)
    return pd.Series(days.array.take(codes), dtype=DATE_DTYPE), how
