"""The building blocks of the data model: logical column kinds and their dtypes, Column, Table.

:mod:`mlreg_frames.schema` declares the tables with these; every pandas dtype and Arrow type
the package uses comes from :func:`pandas_dtype` and :func:`arrow_type`, so a kind means the
same everywhere (DataFrames, Parquet files, the lake).

Example::

    >>> pandas_dtype("int"), arrow_type("timestamp")
    (Int64Dtype(), TimestampType(timestamp[us, tz=UTC]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pyarrow as pa

from ..errors import SchemaError

__all__ = ["Column", "Kind", "Table", "arrow_type", "pandas_dtype"]

Kind = Literal["string", "bool", "int", "timestamp", "string_list", "json"]
"""Logical column types. ``json`` is a JSON text (kept strings: unknown payload parts)."""

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "json": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "string_list": pa.list_(pa.string()),
}


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type used for a logical column kind in Parquet files."""
    try:
        return _ARROW[kind]
    except KeyError:
        raise SchemaError(f"unknown column kind {kind!r}; use one of {sorted(_ARROW)}") from None


def pandas_dtype(kind: str) -> object:
    """The pandas dtype used for a logical column kind (nullable, stable across runs)."""
    if kind in ("string", "json"):
        return pd.StringDtype("pyarrow")
    if kind == "bool":
        return pd.BooleanDtype()
    if kind == "int":
        return pd.Int64Dtype()
    if kind == "timestamp":
        return pd.DatetimeTZDtype("us", "UTC")
    if kind == "string_list":
        return pd.ArrowDtype(pa.list_(pa.string()))
    raise SchemaError(f"unknown column kind {kind!r}; use one of {sorted(_ARROW)}")


@dataclass(frozen=True)
class Column:
    """One column: its name, logical kind and a one-line meaning."""

    name: str
    kind: Kind
    doc: str


@dataclass(frozen=True)
class Table:
    """One table: name, meaning, the columns that identify a row, and its columns."""

    name: str
    doc: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def dtypes(self) -> dict[str, object]:
        return {c.name: pandas_dtype(c.kind) for c in self.columns}

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(f"table {self.name!r} has no column {name!r}", table=self.name)
