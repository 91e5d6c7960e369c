"""RegistryTables: the seven tidy tables (plus fetch errors and subscriptions), validated, and
their Parquet trip.

``to_parquet`` writes ``<dir>/<table>.parquet`` for all nine tables as one *set*: every
file is first written in full to a temporary file beside it (fsynced), and only then are
they renamed into place, under an exclusive lock on the folder; each file's metadata names
its table, the Arrow schema declared in :mod:`mlreg_frames.schema`, the provenance and the
set it belongs to (a random id and the list of its tables). ``read_parquet`` reads under a
shared lock and checks that every file is the table its name says, with the declared
schema, and that all files come from one complete set: a reader gets the complete old set,
the complete new one, or a :class:`~mlreg_frames.errors.ParquetSetError` saying the set is
incomplete (a writer was killed between its renames) -- never a silent mix. The next write
removes a crashed writer's temporary files. Files get the mode the umask asks for
(``-rw-r--r--`` under umask 022), like any other tool's. The round trip is exact.

Example::

    >>> import mlreg_frames as mf
    >>> tables = mf.flatten(mf.read_pages("data/sample"))
    >>> tables.to_parquet("out/")                       # doctest: +SKIP
    >>> mf.read_parquet("out/").registries.shape        # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from ._files import atomic_file, fsync_dir
from .errors import SchemaError
from .tablefiles import (
    METADATA_KEY,
    check_set,
    folder_lock,
    read_metadata,
    read_table_file,
    remove_stale_temps,
    write_table_atomic,
)

__all__ = [
    "METADATA_KEY",
    "RegistryTables",
    "read_metadata",
    "read_parquet",
    "write_table_atomic",
]

SCHEMA_VERSION = 1


@dataclass
class RegistryTables:
    """The registry tables of one flatten or fetch, joinable on ``registry_id``.

    Attributes:
        registries, regions, storage, acr, identities, pe_connections, tags: the tables
            declared in :mod:`mlreg_frames.schema`.
        fetch_errors: scopes a fetch could not read (empty after a plain flatten).
        subscriptions: the subscriptions covered, with display name, state, tenant and the
            fetch's outcome (from saved pages: their ``_subscriptions.json``, if any).
        provenance: where the data came from (source, api version, fetched at...).

    Example::

        >>> t = RegistryTables.empty()
        >>> [name for name, frame in t.items()][:3]
        ['registries', 'regions', 'storage']
    """

    registries: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "registries"))
    regions: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "regions"))
    storage: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "storage"))
    acr: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "acr"))
    identities: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "identities"))
    pe_connections: pd.DataFrame = field(
        default_factory=partial(schema.empty_frame, "pe_connections")
    )
    tags: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "tags"))
    fetch_errors: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "fetch_errors"))
    subscriptions: pd.DataFrame = field(
        default_factory=partial(schema.empty_frame, "subscriptions")
    )
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> RegistryTables:
        """All tables with all columns and dtypes, no rows."""
        return cls()

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        provenance: Mapping[str, Any] | None = None,
        allow_missing: bool = False,
    ) -> RegistryTables:
        """Build from a mapping of table name to frame, conforming each to the schema.

        Tables absent from ``frames`` are empty; ``allow_missing`` fills absent *columns*
        with nulls (data written by an older schema). Frames with a leading ``snapshot``
        column (several lake snapshots stacked) keep it; then every table gets one.
        """
        unknown = set(frames) - set(schema.ALL_TABLES)
        if unknown:
            raise SchemaError(
                f"unknown tables {sorted(unknown)}; the tables are {', '.join(schema.ALL_TABLES)}"
            )
        stacked = any(schema.is_stacked(frame) for frame in frames.values())
        built = {}
        for name in schema.ALL_TABLES:
            frame = frames.get(name)
            if frame is None:
                built[name] = schema.empty_frame(name, stacked=stacked)
                continue
            if stacked and not schema.is_stacked(frame):
                raise SchemaError(
                    f"table {name!r} lacks the `snapshot` column the other tables have",
                    table=name,
                    column=schema.SNAPSHOT.name,
                )
            built[name] = schema.conform(name, frame, allow_missing=allow_missing)
        return cls(**built, provenance=dict(provenance or {}))

    @property
    def stacked(self) -> bool:
        """Whether these tables hold several lake snapshots (a leading ``snapshot`` column)."""
        return schema.is_stacked(self.registries)

    @property
    def snapshot_ids(self) -> tuple[str, ...]:
        """The snapshots held, oldest first (empty unless :attr:`stacked`)."""
        if not self.stacked:
            return ()
        ids = self.provenance.get("snapshot_ids")
        if ids:
            return tuple(ids)
        seen = pd.concat(
            [frame[schema.SNAPSHOT.name] for _, frame in self.items(include_errors=True)]
        )
        return tuple(sorted(seen.dropna().unique()))

    def at(self, snapshot: str) -> RegistryTables:
        """One snapshot of stacked tables, as plain tables (without the ``snapshot`` column).

        Example::

            >>> history = lake.read("out/lake", "all")          # doctest: +SKIP
            >>> history.at(history.snapshot_ids[0]).registries  # doctest: +SKIP
        """
        if snapshot not in self.snapshot_ids:
            raise SchemaError(
                f"snapshot {snapshot!r} is not among {list(self.snapshot_ids)}",
                column=schema.SNAPSHOT.name,
            )
        column = schema.SNAPSHOT.name
        frames = {
            name: frame[frame[column] == snapshot].drop(columns=column).reset_index(drop=True)
            for name, frame in self.items(include_errors=True)
        }
        provenance = self.provenance.get("snapshots", {}).get(snapshot, {})
        return RegistryTables.from_frames(frames, provenance=provenance)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in schema.ALL_TABLES:
            raise KeyError(f"no table {name!r}; the tables are {', '.join(schema.ALL_TABLES)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def items(self, *, include_errors: bool = False) -> Iterator[tuple[str, pd.DataFrame]]:
        """(name, frame) for the seven tables, and ``fetch_errors`` and ``subscriptions``
        when asked."""
        names = schema.ALL_TABLES if include_errors else schema.TABLES
        for name in names:
            yield name, self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(schema.TABLES)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RegistryTables):
            return NotImplemented
        return all(
            self[n].reset_index(drop=True).equals(other[n].reset_index(drop=True))
            for n in schema.ALL_TABLES
        )

    __hash__ = None  # type: ignore[assignment]

    def counts(self, *, include_errors: bool = True) -> dict[str, int]:
        """Rows per table."""
        return {name: len(frame) for name, frame in self.items(include_errors=include_errors)}

    def counts_by_snapshot(self) -> pd.DataFrame:
        """Rows per table (columns) and snapshot (index), for stacked snapshots."""
        column = schema.SNAPSHOT.name
        if not self.stacked:
            raise SchemaError("these tables hold one snapshot; counts() gives their rows")
        ids = self.snapshot_ids
        return pd.DataFrame(
            {
                name: frame[column].value_counts().reindex(ids, fill_value=0)
                for name, frame in self.items(include_errors=True)
            },
            index=pd.Index(ids, name=column),
        )

    def validate(self) -> RegistryTables:
        """Check dtypes, unique keys and that every child row joins a registry.

        Returns ``self`` so it chains; raises :class:`SchemaError` naming the table and column.
        """
        stacked = self.stacked
        join = ["snapshot", "registry_id"] if stacked else ["registry_id"]
        for name, frame in self.items(include_errors=True):
            declared = schema.columns(name, stacked=stacked)
            expected = [c.name for c in declared]
            if list(frame.columns) != expected:
                raise SchemaError(
                    f"table {name!r} has columns {list(frame.columns)}, expected {expected}",
                    table=name,
                )
            for col in declared:
                dtype = schema.pandas_dtype(col.kind)
                if frame[col.name].dtype != dtype:
                    raise SchemaError(
                        f"column {name}.{col.name} is {frame[col.name].dtype}, expected {dtype}",
                        table=name,
                        column=col.name,
                    )
            key = schema.key(name, stacked=stacked)
            if name != "fetch_errors" and frame.duplicated(list(key)).any():
                raise SchemaError(
                    f"table {name!r} repeats its key {key}", table=name, column=key[-1]
                )
        known = set(self.registries[join].dropna().itertuples(index=False, name=None))
        for name, frame in self.items():
            if name == "registries":
                continue
            pairs = set(frame[join].dropna().itertuples(index=False, name=None))
            orphans = {pair[-1] for pair in pairs - known}
            if orphans:
                raise SchemaError(
                    f"table {name!r} has rows for registries not in `registries`: "
                    f"{sorted(orphans)[:3]}",
                    table=name,
                    column="registry_id",
                )
        return self

    def select(self, registry_ids: Iterable[str]) -> RegistryTables:
        """The same tables restricted to some registries (ids compared lower-cased)."""
        wanted = {str(i).lower() for i in registry_ids}
        frames = {
            name: frame[frame["registry_id"].isin(wanted)].reset_index(drop=True)
            for name, frame in self.items()
        }
        frames["fetch_errors"] = self.fetch_errors
        frames["subscriptions"] = self.subscriptions
        return RegistryTables(**frames, provenance=dict(self.provenance))

    def to_parquet(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``<directory>/<table>.parquet`` for every table, atomically as a set.

        All files are written to temporary files first and renamed into place only once
        every one is complete, so :func:`read_parquet` sees the whole old set or the whole new
        one (a writer killed between two renames leaves a set that ``read_parquet`` refuses
        as incomplete; write again to repair it). Temporary files a crashed writer left are
        removed. Returns the written paths by table name. ``fetch_errors`` and
        ``subscriptions`` are written too, so a fetch's partial failures and the names of its
        subscriptions travel with its data.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        names = list(schema.ALL_TABLES)
        member = {"id": uuid.uuid4().hex, "tables": names}
        arrows = {
            name: to_arrow(name, frame, self.provenance, set_info=member)
            for name, frame in self.items(include_errors=True)
        }
        staged: list[tuple[Path, Path]] = []
        with folder_lock(out, exclusive=True):
            remove_stale_temps(out)
            try:
                for name in names:
                    path = out / f"{name}.parquet"
                    with atomic_file(path) as (fh, tmp):
                        pq.write_table(arrows[name], fh, compression="zstd")
                    staged.append((tmp, path))
            except BaseException:
                for tmp, _ in staged:
                    tmp.unlink(missing_ok=True)
                raise
            for tmp, path in staged:
                os.replace(tmp, path)
            fsync_dir(out)
        return {name: path for (_, path), name in zip(staged, names, strict=True)}

    def _repr_html_(self) -> str:
        regs = self.registries
        subs = regs["subscription_id"].dropna().nunique()
        regions = self.regions["location"].dropna().str.lower().nunique()
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td style='text-align:right'>{c:,}</td></tr>"
            for n, c in self.counts().items()
        )
        return (
            "<div><b>RegistryTables</b>: "
            f"{len(regs):,} registries in {subs:,} subscriptions, {regions:,} regions"
            f"<table><tr><th>table</th><th>rows</th></tr>{rows}</table></div>"
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}={c}" for n, c in self.counts().items())
        return f"RegistryTables({counts})"


def to_arrow(
    name: str,
    frame: pd.DataFrame,
    provenance: Mapping[str, Any] | None = None,
    *,
    set_info: Mapping[str, Any] | None = None,
) -> pa.Table:
    """One table as an Arrow table with the declared schema and mlreg_frames metadata.

    ``set_info`` (``{"id", "tables"}``) marks the file as one of a set written together.
    """
    conformed = schema.conform(name, frame)
    arrow_schema = schema.arrow_schema(name, stacked=schema.is_stacked(conformed))
    arrow = pa.Table.from_pandas(conformed, schema=arrow_schema, preserve_index=False)
    meta = {
        "table": name,
        "schema_version": SCHEMA_VERSION,
        "provenance": dict(provenance or {}),
    }
    if set_info is not None:
        meta["set"] = dict(set_info)
    return arrow.replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, default=str, sort_keys=True).encode()}
    )


def from_arrow(name: str, arrow: pa.Table, *, allow_missing: bool = True) -> pd.DataFrame:
    """An Arrow table back to a pandas frame with the declared dtypes."""
    frame = arrow.to_pandas(types_mapper=types_mapper, ignore_metadata=True)
    names = {c.name for c in schema.columns(name, stacked=schema.is_stacked(frame))}
    known = [c for c in frame.columns if c in names]
    return schema.conform(name, frame[known], allow_missing=allow_missing)


def types_mapper(arrow_type: pa.DataType) -> Any:
    """The pandas dtype an Arrow type reads back as (``Table.to_pandas(types_mapper=...)``):
    nullable strings, booleans and Int64, Arrow lists; None leaves pandas' default."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pd.ArrowDtype(arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    return None


def read_parquet(directory: str | os.PathLike[str]) -> RegistryTables:
    """Read tables written by :meth:`RegistryTables.to_parquet`; the round trip is exact.

    Every file is checked: it must be readable Parquet, the table its name says (from its
    metadata) with the declared column types, and all files must come from one complete
    write. Files from before these checks (no set in their metadata) still read; missing
    table files there read as empty tables, missing columns (an older schema) as nulls.

    Raises:
        SchemaError: ``directory`` is not a folder of tables.
        ParquetFileError: a file is truncated, corrupt, or not the table its name says.
        ParquetSetError: the files are not one complete set (an interrupted write).

    Example::

        >>> tables = read_parquet("out/")   # doctest: +SKIP
    """
    root = Path(directory)
    if not root.is_dir():
        raise SchemaError(
            f"{root} is not a folder of Parquet tables; write one with "
            "`mlreg-frames flatten PATH --out DIR` or RegistryTables.to_parquet(DIR)"
        )
    frames: dict[str, pd.DataFrame] = {}
    metas: dict[str, dict[str, Any]] = {}
    with folder_lock(root, exclusive=False):
        for name in schema.ALL_TABLES:
            path = root / f"{name}.parquet"
            if not path.exists():
                continue
            arrow, metas[name] = read_table_file(path, name)
            frames[name] = from_arrow(name, arrow)
    if not frames:
        raise SchemaError(f"{root} holds no mlreg_frames Parquet tables (<table>.parquet)")
    check_set(root, metas)
    provenance: Any = next((m["provenance"] for m in metas.values() if "provenance" in m), {})
    if not isinstance(provenance, dict):
        provenance = {}
    return RegistryTables.from_frames(frames, provenance=provenance, allow_missing=True)


_FIELD_NAMES = tuple(f.name for f in fields(RegistryTables))
assert set(schema.ALL_TABLES) <= set(_FIELD_NAMES)


_types_mapper = types_mapper  # the name other modules knew it by
