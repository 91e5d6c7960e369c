"""The files of a Parquet table set: written atomically, read back checked, folders locked.

:mod:`mlreg_frames.tables` decides *what* goes into ``<dir>/<table>.parquet``; this module
holds the file-level care: temporary files renamed into place, an advisory folder lock
(writers exclusive, readers shared), cleaning a crashed writer's temporary files, and the
checks that a file is readable Parquet, the table its name says, with the declared types,
and one of a complete set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from ._files import TMP_SUFFIX, atomic_file
from .errors import ParquetFileError, ParquetSetError

__all__ = [
    "METADATA_KEY",
    "check_set",
    "folder_lock",
    "read_metadata",
    "read_table_file",
    "remove_stale_temps",
    "write_table_atomic",
]

METADATA_KEY = b"mlreg_frames"
"""Parquet key-value metadata key holding ``{"table", "schema_version", "provenance", "set"}``.

``set`` is ``{"id": <random hex>, "tables": [<names>]}``: the files of one write share it.
"""


def write_table_atomic(arrow: pa.Table, path: Path) -> None:
    """Write one Parquet file so that ``path`` is either the old file or the complete new one."""
    with atomic_file(path) as (fh, tmp):
        pq.write_table(arrow, fh, compression="zstd")
    os.replace(tmp, path)


def remove_stale_temps(directory: Path, file_names: Iterable[str] | None = None) -> list[Path]:
    """Remove the temporary table files a crashed :meth:`RegistryTables.to_parquet` left.

    ``file_names`` are the set's files (default: ``<table>.parquet`` of the registry set).
    Only call it holding the folder's exclusive lock: then no live writer owns such a file.
    """
    removed = []
    names = file_names if file_names is not None else (f"{n}.parquet" for n in schema.ALL_TABLES)
    for file_name in names:
        for tmp in directory.glob(f".{file_name}.*{TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an advisory ``flock`` on ``folder``: writers exclusive, readers shared.

    Readers then never see a live writer's half-renamed set. Where locks are unavailable
    (Windows, some network file systems) this does nothing; the set check still catches
    a mix.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with suppress(OSError):  # a file system without locks: the set check remains
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mlreg_frames metadata (table, schema version, provenance, set) of a Parquet file."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def _file_metadata(arrow_schema: pa.Schema, path: Path) -> dict[str, Any]:
    raw = (arrow_schema.metadata or {}).get(METADATA_KEY)
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise ParquetFileError(
            f"{path.name}: its mlreg_frames metadata is not a JSON object; write the tables again",
            path=str(path),
        )
    return meta


def read_table_file(path: Path, name: str) -> tuple[pa.Table, dict[str, Any]]:
    """Read ``path`` as table ``name``: (Arrow table, mlreg_frames metadata), checked.

    Raises:
        ParquetFileError: not a readable Parquet file (truncated, corrupt), another table
            (its metadata names another one), or a column with another type than declared.
    """
    try:
        arrow = pq.read_table(path)
    except OSError as exc:
        if exc.errno is not None:  # permission denied, ...: a file-system problem, not the data
            raise
        raise _unreadable(path, exc) from exc
    except (pa.ArrowException, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    meta = _file_metadata(arrow.schema, path)
    claimed = meta.get("table")
    if claimed is not None and claimed != name:
        raise ParquetFileError(
            f"{path.name} holds table {claimed!r}, not {name!r}; was a file copied over "
            "another? Write the tables again",
            path=str(path),
            table=name,
        )
    stacked = schema.SNAPSHOT.name in arrow.column_names
    declared = schema.arrow_schema(name, stacked=stacked)
    for column in declared:
        if column.name not in arrow.column_names:
            continue
        found = arrow.schema.field(column.name).type
        if found != column.type:
            raise ParquetFileError(
                f"{path.name}: column {column.name!r} is {found}, table {name!r} declares "
                f"{column.type}; this is not a {name} table written by mlreg_frames",
                path=str(path),
                table=name,
                column=column.name,
            )
    if claimed is None and not set(schema.key(name, stacked=stacked)) <= set(arrow.column_names):
        raise ParquetFileError(
            f"{path.name} is not a {name} table: it lacks the key columns "
            f"{list(schema.key(name, stacked=stacked))} and mlreg_frames metadata",
            path=str(path),
            table=name,
        )
    return arrow, meta


def _unreadable(path: Path, exc: BaseException) -> ParquetFileError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ParquetFileError(
        f"{path.name} is not a readable Parquet file ({reason}); it may be truncated or "
        "corrupt: write the tables again",
        path=str(path),
    )


def check_set(
    root: Path, metas: dict[str, dict[str, Any]], *, known: Collection[str] = schema.ALL_TABLES
) -> None:
    """Raise ParquetSetError unless the files are one complete set (or all pre-date sets).

    ``known`` are the tables a set of this kind may hold (default: the registry set's).
    """
    sets = {name: meta.get("set") for name, meta in metas.items()}
    ids = {str(s.get("id")) if isinstance(s, dict) else None for s in sets.values()}
    if ids == {None}:
        return  # written before sets existed (or by hand): nothing to compare
    if len(ids) > 1:
        groups: dict[str, list[str]] = {}
        for name, member in sets.items():
            key = str(member.get("id"))[:8] if isinstance(member, dict) else "no set"
            groups.setdefault(key, []).append(name)
        text = "; ".join(f"{', '.join(names)} from write {key}" for key, names in groups.items())
        raise ParquetSetError(
            f"the Parquet tables in {root} are an incomplete set: they come from different "
            f"writes ({text}), so a write was interrupted; write the tables again",
            path=str(root),
        )
    member = next(iter(sets.values()))
    wanted = member.get("tables") if isinstance(member, dict) else None
    missing = [n for n in wanted or () if n in known and n not in metas]
    if missing:
        raise ParquetSetError(
            f"the Parquet tables in {root} are an incomplete set: {', '.join(missing)} "
            "missing; write the tables again",
            path=str(root),
        )
