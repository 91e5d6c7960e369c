"""Backing tables on disk: ``<table>.parquet`` per table, each written atomically, read exactly.

:func:`write_backing` writes the four tables of a
:class:`~mlreg_frames.flatten.backing.BackingTables` (``storage_accounts``,
``container_registries``, ``backing_pe_connections``, ``fetch_errors``) beside the registry
tables of the same fetch; :func:`read_backing` reads them back with the declared dtypes (the
round trip is exact). Each file is either the old one or the complete new one.

Example::

    >>> write_backing(backing, "out/")                      # doctest: +SKIP
    >>> read_backing("out/").storage_accounts.shape          # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ParquetFileError
from .flatten.backing import BackingTables
from .schema import FETCH_ERRORS, arrow_type
from .schema.backing import BACKING_TABLES
from .schema.coltypes import Table
from .tablefiles import write_table_atomic
from .tables import types_mapper

__all__ = ["read_backing", "write_backing"]

_TABLES: dict[str, Table] = {**BACKING_TABLES, "fetch_errors": FETCH_ERRORS}
_PREFIX = "backing_"  # fetch_errors of the backing fetch, apart from the registries' own


def _file(root: Path, name: str) -> Path:
    stem = f"{_PREFIX}fetch_errors" if name == "fetch_errors" else name
    return root / f"{stem}.parquet"


def _arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in table.columns])


def write_backing(backing: BackingTables, directory: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the backing tables into ``directory`` (created); returns table -> file."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in _TABLES.items():
        frame = backing[name][list(table.column_names)]
        arrow = pa.Table.from_pandas(frame, schema=_arrow_schema(table), preserve_index=False)
        path = _file(root, name)
        write_table_atomic(arrow.replace_schema_metadata({b"mlreg_frames.table": name.encode()}),
                           path)  # fmt: skip
        written[name] = path
    return written


def read_backing(directory: str | os.PathLike[str]) -> BackingTables:
    """Read what :func:`write_backing` wrote.

    Raises:
        ParquetFileError: a file is missing, unreadable, or holds another table.
    """
    root = Path(directory)
    frames: dict[str, pd.DataFrame] = {}
    for name, table in _TABLES.items():
        path = _file(root, name)
        try:
            arrow = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise ParquetFileError(
                f"cannot read {path} ({str(exc).splitlines()[0]}); write the backing tables "
                "again (mlreg-frames backing)",
                path=str(path),
                table=name,
            ) from exc
        meta = arrow.schema.metadata or {}
        if meta.get(b"mlreg_frames.table", name.encode()) != name.encode():
            raise ParquetFileError(
                f"{path} holds another table; write the backing tables again",
                path=str(path), table=name,
            )  # fmt: skip
        frame = arrow.to_pandas(types_mapper=types_mapper, ignore_metadata=True)
        missing = [c for c in table.column_names if c not in frame.columns]
        if missing:
            raise ParquetFileError(
                f"{path} lacks the column(s) {', '.join(missing)}; write the backing tables "
                "again",
                path=str(path), table=name,
            )  # fmt: skip
        frames[name] = frame[list(table.column_names)].astype(table.dtypes)
    return BackingTables(**frames)
