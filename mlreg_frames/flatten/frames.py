"""Row tuples -> typed DataFrames with the declared dtypes (the flattener's second half).

The fast path hands whole columns to Arrow. A value that does not fit its column's type
(a capacity of ``"two"`` or ``2**63``, a flag of ``"yes"``, ``"now"`` as a timestamp) is not
dropped: the cell becomes null and the raw value goes to the row's ``extra`` under the
column's name. Timestamps parse to UTC instants over the whole .NET range (0001 to 9999)
whatever their offset (``+00:40``, ``+05:30``, ``Z``) and fraction length (7-digit fractions
are cut to microseconds). Lone surrogates are kept reversibly (see :mod:`.text`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..errors import FlattenError
from ..tables import RegistryTables, from_arrow
from .text import encode_json, escape_surrogates, find_bad_value, short_path

__all__ = ["arrow_table", "build", "build_arrow", "parse_timestamps", "to_tables"]

_TRUE = {"true": True, "false": False}


class _HasRows(Protocol):
    registries: list[tuple[Any, ...]]
    regions: list[tuple[Any, ...]]
    storage: list[tuple[Any, ...]]
    acr: list[tuple[Any, ...]]
    identities: list[tuple[Any, ...]]
    pe_connections: list[tuple[Any, ...]]
    tags: list[tuple[Any, ...]]
    page: str


_TS_PATTERN = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>[Zz]|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?)?$"
)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _digits(text: pa.Array, width: int) -> np.ndarray:
    """The first ``width`` digits of each string as int64, right-padded with zeros.

    A null or empty string is 0. The strings are captured ``\\d`` groups (ASCII digits), read
    straight from Arrow's offsets and character buffer: a few numpy operations per digit
    instead of several compute kernels per field, which dominated small batches.
    """
    count = len(text)
    total = np.zeros(count, dtype=np.int64)
    _, offsets_buf, data_buf = text.buffers()
    if count == 0 or data_buf is None or data_buf.size == 0:
        return total
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=count + 1, offset=text.offset * 4)
    start, length = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    if text.null_count:
        length[~np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = 0
    data = np.frombuffer(data_buf, dtype=np.uint8).astype(np.int64) - 48
    for k in range(width):
        present = length > k
        total = total * 10 + np.where(present, data[np.where(present, start + k, 0)], 0)
    return total


def _timestamp_array(values: Sequence[Any]) -> tuple[pa.Array, list[int]]:
    """ISO-8601 strings -> ``timestamp[us, UTC]`` (see :func:`parse_timestamps`)."""
    texts = pa.array([v if type(v) is str and v.isascii() else None for v in values], pa.string())
    parts = pc.extract_regex(texts, _TS_PATTERN)
    matched = np.asarray(pc.is_valid(parts).to_numpy(zero_copy_only=False), dtype=bool)
    group = dict(zip((f.name for f in parts.type), parts.flatten(), strict=True))
    year, month, day = _digits(group["y"], 4), _digits(group["mo"], 2), _digits(group["d"], 2)
    hour, minute, second = _digits(group["h"], 2), _digits(group["mi"], 2), _digits(group["s"], 2)
    micro, off_h, off_m = _digits(group["f"], 6), _digits(group["oh"], 2), _digits(group["om"], 2)
    minus = pc.equal(group["sign"].fill_null(""), "-")
    sign = np.where(np.asarray(minus.to_numpy(zero_copy_only=False), dtype=bool), -1, 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last_day = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok = (
        matched & (year >= 1) & month_ok & (day >= 1) & (day <= last_day) & (hour <= 23)
        & (minute <= 59) & (second <= 59) & (off_h <= 23) & (off_m <= 59)
    )  # fmt: skip
    # Days from the civil date (H. Hinnant's algorithm): exact for every proleptic year.
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - sign * (off_h * 3600 + off_m * 60)
    stamps = pa.array(seconds * 1_000_000 + micro, type=pa.int64(), mask=~ok)
    parsed = stamps.cast(schema.arrow_type("timestamp"))
    failed = [i for i, good in enumerate(ok.tolist()) if not good and values[i] is not None]
    return parsed, failed


def parse_timestamps(values: list[Any]) -> tuple[pd.Series, list[int]]:
    """Parse ISO-8601 strings to ``datetime64[us, UTC]``; also return the rows that failed.

    Every instant from 0001-01-01 to 9999-12-31 (the .NET range ARM uses) parses exactly,
    whatever the offset (``Z``, ``+05:30``, ``+00:40``, ``-0300``) and fraction length
    (7-digit fractions are cut to microseconds); a string without an offset is UTC. Words
    such as ``"now"`` or ``"today"``, impossible dates and non-strings fail: the caller keeps
    them in ``extra``. The parser is vectorised in Arrow and numpy, so it does not depend on
    the pandas version.

    Example::

        >>> s, bad = parse_timestamps(["2020-01-01T12:34:56.999+00:40", None, "soon"])
        >>> str(s[0]), bad
        ('2020-01-01 11:54:56.999000+00:00', [2])
        >>> str(parse_timestamps(["0001-01-01T00:00:00.1234567Z"])[0][0])
        '0001-01-01 00:00:00.123456+00:00'
    """
    parsed, failed = _timestamp_array(values)
    series = parsed.to_pandas(types_mapper=lambda t: schema.pandas_dtype("timestamp"))
    return series.astype(schema.pandas_dtype("timestamp")), failed


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _as_int64(value: Any) -> int | None:
    """``value`` as an int64, or None when it is not a whole number in range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text) is None or len(text) > 20:
            return None
        value = int(text)
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return value
    return None


def _coerce_scalar(kind: str, value: Any) -> tuple[bool, Any]:
    """(fits, value) for one cell: the value cast to ``kind``, or (False, None)."""
    if value is None:
        return True, None
    if kind in ("string", "json"):
        if isinstance(value, str):
            return True, escape_surrogates(value)
        if isinstance(value, (bool, int, float)):
            return True, json.dumps(value)
        return False, None
    if kind == "bool":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.strip().lower() in _TRUE:
            return True, _TRUE[value.strip().lower()]
        return False, None
    if kind == "int":
        number = _as_int64(value)
        return number is not None, number
    if kind == "string_list":
        if isinstance(value, list) and find_bad_value(value) is None:
            out = [
                v if v is None else escape_surrogates(v) if isinstance(v, str) else encode_json(v)
                for v in value
            ]
            return True, out
        return False, None
    raise AssertionError(kind)


_BACKSLASH = re.compile(rb"\\")


def _has_escapes(array: pa.Array) -> bool:
    """Whether a string (or list of strings) column may hold text that needs escaping.

    Arrow has already refused lone surrogates, so only a literal backslash matters: one
    ``memchr`` over the column's character buffer (a false hit only costs the checked path).
    """
    if isinstance(array, pa.ChunkedArray):  # pa.array splits columns past 2 GiB
        return any(_has_escapes(chunk) for chunk in array.chunks)
    if pa.types.is_list(array.type):
        array = array.flatten()
    data = array.buffers()[2]
    return data is not None and _BACKSLASH.search(memoryview(data)) is not None  # no copy


def _column(
    kind: str, name: str, values: Sequence[Any], extras: Sequence[dict[str, Any]] | None
) -> pa.Array:
    """One column as an Arrow array; values that do not fit go to ``extras``."""
    if kind == "timestamp":
        parsed, failed = _timestamp_array(values)
        for i in failed:
            if extras is not None:
                extras[i][name] = values[i]
        return parsed
    arrow_type = schema.arrow_type(kind)
    # Arrow would silently truncate 1.5 to 1 in an int column: floats take the checked path.
    if not (kind == "int" and any(type(v) is float for v in values)):
        try:
            array = pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, ValueError):
            pass  # UnicodeEncodeError (a lone surrogate) is a ValueError
        else:
            if kind == "int" or kind == "bool" or not _has_escapes(array):
                return array
    fixed: list[Any] = []
    for i, value in enumerate(values):
        fits, cast = _coerce_scalar(kind, value)
        if not fits and extras is not None:
            extras[i][name] = value
        fixed.append(cast)
    return pa.array(fixed, type=arrow_type)


def _row_path(table: str, row: tuple[Any, ...]) -> str:
    """The JSON path of the object a child row comes from (for error messages)."""
    if table == "regions":
        return f"properties.regionDetails[{row[3]}]."
    if table in ("storage", "acr"):
        name = "storageAccountDetails" if table == "storage" else "acrDetails"
        return f"properties.regionDetails[{row[2]}].{name}[{row[3]}]."
    if table == "identities":
        if row[1] == "user":
            return f"identity.userAssignedIdentities.{row[6]}."
        return f"properties.managedResourceGroupSettings.assignedIdentities[{row[2]}]."
    if table == "pe_connections":
        return f"properties.registryPrivateEndpointConnections[{row[1]}]."
    return ""


def _extra_texts(
    name: str, rows: list[tuple[Any, ...]], extras: Sequence[dict[str, Any]], pages: dict[str, str]
) -> list[str | None]:
    """The ``extra`` dicts as JSON texts; a value too deep or with a non-string key raises."""
    texts: list[str | None] = []
    for row, extra in zip(rows, extras, strict=True):
        if not extra:
            texts.append(None)
            continue
        bad = find_bad_value(extra)
        if bad is not None:
            rid = row[0]
            raise FlattenError(
                f"a value {bad.reason}", page=pages.get(rid), registry=rid,
                field=short_path(_row_path(name, row) + bad.path),
            )  # fmt: skip
        texts.append(encode_json(extra, sort_keys=True))
    return texts


@functools.cache
def _arrow_schema(name: str) -> pa.Schema:
    """:func:`schema.arrow_schema`, built once per table (it is asked for on every batch)."""
    return schema.arrow_schema(name)


def _timestamp_columns(
    declared: Iterable[schema.Column],
    columns: list[tuple[Any, ...]],
    extras: Sequence[dict[str, Any]] | None,
) -> list[pa.Array]:
    """A table's timestamp columns, in order, parsed in one call (the fixed cost is per call)."""
    pairs = [(c.name, v) for c, v in zip(declared, columns, strict=True) if c.kind == "timestamp"]
    names, texts = [name for name, _ in pairs], [values for _, values in pairs]
    if not texts:
        return []
    rows = len(texts[0])
    parsed, failed = _timestamp_array([value for values in texts for value in values])
    for i in failed:
        if extras is not None:
            extras[i % rows][names[i // rows]] = texts[i // rows][i % rows]
    return [parsed.slice(k * rows, rows) for k in range(len(texts))]


def _arrow_table(name: str, rows: list[tuple[Any, ...]], pages: dict[str, str]) -> pa.Table:
    """One table's row tuples as an Arrow table with the declared schema."""
    table = schema.table(name)
    arrow_schema = _arrow_schema(name)
    if not rows:
        return arrow_schema.empty_table()
    columns = list(zip(*rows, strict=True))  # tuples: Arrow reads any sequence
    extras: Sequence[dict[str, Any]] | None = (
        columns[-1] if table.columns[-1].name == "extra" else None
    )
    stamps = _timestamp_columns(table.columns, columns, extras)
    arrays: list[pa.Array] = []
    for col, values in zip(table.columns, columns, strict=True):
        if col.name == "extra":
            continue
        if col.kind == "timestamp":
            arrays.append(stamps.pop(0))
            continue
        arrays.append(_column(col.kind, col.name, values, extras))
    if extras is not None:
        arrays.append(pa.array(_extra_texts(name, rows, extras, pages), type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def arrow_table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Row tuples of any declared table (the asset tables too) as a typed Arrow table.

    Cells that do not fit their column go to the row's ``extra`` dict (the last tuple
    item), which the caller has checked with :func:`.text.find_bad_value`.
    """
    return _arrow_table(name, rows, {})


def build_arrow(registries: Iterable[_HasRows]) -> dict[str, pa.Table]:
    """The per-registry row tuples as one Arrow table per schema table."""
    gathered: dict[str, list[tuple[Any, ...]]] = {name: [] for name in schema.TABLES}
    pages: dict[str, str] = {}
    for rows in registries:
        if rows.registries:
            pages[rows.registries[0][0]] = rows.page
        for name, bucket in gathered.items():
            bucket.extend(getattr(rows, name))
    return {name: _arrow_table(name, rows, pages) for name, rows in gathered.items()}


def to_tables(arrows: dict[str, pa.Table], provenance: dict[str, Any]) -> RegistryTables:
    """Arrow tables (as from :func:`build_arrow`) to RegistryTables with the declared dtypes."""
    frames = {name: from_arrow(name, arrow, allow_missing=False) for name, arrow in arrows.items()}
    return RegistryTables(**frames, provenance=provenance)


def build(registries: Iterable[_HasRows], provenance: dict[str, Any]) -> RegistryTables:
    """Assemble the per-registry row tuples into the seven typed tables."""
    return to_tables(build_arrow(registries), provenance)
