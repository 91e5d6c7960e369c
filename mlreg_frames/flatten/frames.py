"""Row tuples -> typed DataFrames with the declared dtypes (the flattener's second half).

The fast path hands whole columns to Arrow. A value that does not fit its column's type
(a capacity of ``"two"``, a flag of ``"yes"``, an unparseable timestamp) is not dropped: the
cell becomes null and the raw value goes to the row's ``extra`` under the column's name.
Timestamps parse to UTC instants whatever their offset (``+00:40``, ``+05:30``, ``Z``) and
fraction length (7-digit fractions are cut to microseconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

from .. import schema
from ..tables import RegistryTables, from_arrow

__all__ = ["build", "build_arrow", "parse_timestamps", "to_tables"]

_TRUE = {"true": True, "false": False}


class _HasRows(Protocol):
    registries: list[tuple[Any, ...]]
    regions: list[tuple[Any, ...]]
    storage: list[tuple[Any, ...]]
    acr: list[tuple[Any, ...]]
    identities: list[tuple[Any, ...]]
    pe_connections: list[tuple[Any, ...]]
    tags: list[tuple[Any, ...]]


def parse_timestamps(values: list[Any]) -> tuple[pd.Series, list[int]]:
    """Parse ISO-8601 strings to ``datetime64[us, UTC]``; also return the rows that failed.

    Example::

        >>> s, bad = parse_timestamps(["2020-01-01T12:34:56.999+00:40", None, "soon"])
        >>> str(s[0]), bad
        ('2020-01-01 11:54:56.999000+00:00', [2])
    """
    raw = pd.Series(values, dtype=object)
    texts = raw.where(raw.map(lambda v: isinstance(v, str)), None)
    parsed = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    if len(parsed) and parsed.isna().any():
        # A column mixing shapes can defeat the vectorised parser: retry the misses one by one.
        for i in parsed.index[parsed.isna() & texts.notna()]:
            parsed.iloc[i] = pd.to_datetime(texts.iloc[i], utc=True, errors="coerce")
    parsed = parsed.astype(schema.pandas_dtype("timestamp"))
    failed = [i for i, ok in enumerate((parsed.notna() | raw.isna()).tolist()) if not ok]
    return parsed, failed


def _coerce_scalar(kind: str, value: Any) -> tuple[bool, Any]:
    """(fits, value) for one cell: the value cast to ``kind``, or (False, None)."""
    if value is None:
        return True, None
    if kind in ("string", "json"):
        if isinstance(value, str):
            return True, value
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
        if isinstance(value, bool):
            return False, None
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return True, int(value.strip())
        return False, None
    if kind == "string_list":
        if isinstance(value, list):
            out = [
                v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                for v in value
            ]
            return True, out
        return False, None
    raise AssertionError(kind)


def _column(
    kind: str, name: str, values: list[Any], extras: list[dict[str, Any]] | None
) -> pa.Array | pd.Series:
    """One column as an Arrow array (or a pandas Series for timestamps)."""
    if kind == "timestamp":
        parsed, failed = parse_timestamps(values)
        for i in failed:
            if extras is not None:
                extras[i][name] = values[i]
        return parsed
    arrow_type = schema.arrow_type(kind)
    # Arrow would silently truncate 1.5 to 1 in an int column: floats take the checked path.
    if not (kind == "int" and any(type(v) is float for v in values)):
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    fixed: list[Any] = []
    for i, value in enumerate(values):
        fits, cast = _coerce_scalar(kind, value)
        if not fits and extras is not None:
            extras[i][name] = value
        fixed.append(cast)
    return pa.array(fixed, type=arrow_type)


def _extra_texts(extras: list[dict[str, Any]]) -> list[str | None]:
    return [
        json.dumps(e, ensure_ascii=False, sort_keys=True, default=str) if e else None
        for e in extras
    ]


def _arrow_table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    """One table's row tuples as an Arrow table with the declared schema."""
    table = schema.TABLES[name]
    arrow_schema = schema.arrow_schema(name)
    if not rows:
        return arrow_schema.empty_table()
    columns = [list(col) for col in zip(*rows, strict=True)]
    extras: list[dict[str, Any]] | None = columns[-1] if table.columns[-1].name == "extra" else None
    arrays: list[pa.Array] = []
    for col, values in zip(table.columns, columns, strict=True):
        if col.name == "extra":
            continue
        data = _column(col.kind, col.name, values, extras)
        if isinstance(data, pd.Series):
            data = pa.array(data, type=schema.arrow_type(col.kind))
        arrays.append(data)
    if extras is not None:
        arrays.append(pa.array(_extra_texts(extras), type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def build_arrow(registries: Iterable[_HasRows]) -> dict[str, pa.Table]:
    """The per-registry row tuples as one Arrow table per schema table."""
    gathered: dict[str, list[tuple[Any, ...]]] = {name: [] for name in schema.TABLES}
    for rows in registries:
        for name, bucket in gathered.items():
            bucket.extend(getattr(rows, name))
    return {name: _arrow_table(name, rows) for name, rows in gathered.items()}


def to_tables(arrows: dict[str, pa.Table], provenance: dict[str, Any]) -> RegistryTables:
    """Arrow tables (as from :func:`build_arrow`) to RegistryTables with the declared dtypes."""
    frames = {name: from_arrow(name, arrow, allow_missing=False) for name, arrow in arrows.items()}
    return RegistryTables(**frames, provenance=provenance)


def build(registries: Iterable[_HasRows], provenance: dict[str, Any]) -> RegistryTables:
    """Assemble the per-registry row tuples into the seven typed tables."""
    return to_tables(build_arrow(registries), provenance)
