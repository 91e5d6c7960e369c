"""AssetTables: what the registries hold, as three tidy tables (plus fetch errors), and Parquet.

``to_parquet`` writes ``assets.parquet``, ``asset_versions.parquet``, ``asset_tags.parquet``
and ``asset_fetch_errors.parquet`` as one *set*, with the same care as
:meth:`~mlreg_frames.tables.RegistryTables.to_parquet` (temporary files renamed into place
under the folder's lock, each file naming its table and set); the fetch errors get their own
file name so a registry set and an asset set can share one folder. :func:`read_assets`
checks the set and gives back exactly what was written.

Example::

    >>> t = AssetTables.empty()
    >>> list(t.counts())
    ['assets', 'asset_versions', 'asset_tags', 'fetch_errors']
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from . import schema
from ._files import atomic_file, fsync_dir
from .errors import SchemaError
from .tablefiles import check_set, folder_lock, read_table_file, remove_stale_temps
from .tables import from_arrow, to_arrow

__all__ = ["FILE_NAMES", "AssetTables", "read_assets"]

FILE_NAMES: dict[str, str] = {
    "assets": "assets.parquet",
    "asset_versions": "asset_versions.parquet",
    "asset_tags": "asset_tags.parquet",
    "fetch_errors": "asset_fetch_errors.parquet",
}
"""The file each table of an asset set is written to (``fetch_errors`` under its own name)."""


@dataclass
class AssetTables:
    """The asset tables of one flatten or fetch, joinable on ``registry_id``.

    Attributes:
        assets, asset_versions, asset_tags: the tables declared in
            :mod:`mlreg_frames.schema.assets`.
        fetch_errors: registries and asset types a fetch could not read (one row each,
            ``scope`` = ``{registry id}/{type}``); empty after a plain flatten.
        provenance: where the data came from.
    """

    assets: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "assets"))
    asset_versions: pd.DataFrame = field(
        default_factory=partial(schema.empty_frame, "asset_versions")
    )
    asset_tags: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "asset_tags"))
    fetch_errors: pd.DataFrame = field(default_factory=partial(schema.empty_frame, "fetch_errors"))
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> AssetTables:
        """All four tables with all columns and dtypes, no rows."""
        return cls()

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        provenance: Mapping[str, Any] | None = None,
        allow_missing: bool = False,
    ) -> AssetTables:
        """Build from a mapping of table name to frame, conforming each to the schema."""
        unknown = set(frames) - set(schema.ASSET_SET)
        if unknown:
            raise SchemaError(
                f"unknown asset tables {sorted(unknown)}; the tables are "
                f"{', '.join(schema.ASSET_SET)}"
            )
        built = {
            name: schema.conform(name, frames[name], allow_missing=allow_missing)
            if name in frames
            else schema.empty_frame(name)
            for name in schema.ASSET_SET
        }
        return cls(**built, provenance=dict(provenance or {}))

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in schema.ASSET_SET:
            raise KeyError(f"no table {name!r}; the tables are {', '.join(schema.ASSET_SET)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def items(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """(name, frame) for the four tables, ``fetch_errors`` last."""
        for name in schema.ASSET_SET:
            yield name, self[name]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetTables):
            return NotImplemented
        return all(
            self[n].reset_index(drop=True).equals(other[n].reset_index(drop=True))
            for n in schema.ASSET_SET
        )

    __hash__ = None  # type: ignore[assignment]

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: len(frame) for name, frame in self.items()}

    def validate(self) -> AssetTables:
        """Check columns, dtypes, unique keys and that every version and tag has its container.

        Returns ``self``; raises :class:`SchemaError` naming the table and column.
        """
        for name, frame in self.items():
            declared = schema.columns(name)
            if list(frame.columns) != [c.name for c in declared]:
                raise SchemaError(f"table {name!r} has columns {list(frame.columns)}", table=name)
            for col in declared:
                if frame[col.name].dtype != schema.pandas_dtype(col.kind):
                    raise SchemaError(
                        f"column {name}.{col.name} is {frame[col.name].dtype}",
                        table=name,
                        column=col.name,
                    )
            key = list(schema.key(name))
            if name != "fetch_errors" and frame.duplicated(key).any():
                raise SchemaError(f"table {name!r} repeats its key {key}", table=name)
        join = ["registry_id", "asset_type", "name"]
        known = set(self.assets[join].itertuples(index=False, name=None))
        for name in ("asset_versions", "asset_tags"):
            orphans = set(self[name][join].itertuples(index=False, name=None)) - known
            if orphans:
                raise SchemaError(
                    f"table {name!r} has rows for containers not in `assets`: "
                    f"{sorted(orphans)[:3]}",
                    table=name,
                    column="name",
                )
        return self

    def to_parquet(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the four tables to ``directory`` atomically as a set (see the module doc).

        Returns the written paths by table name.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        names = list(schema.ASSET_SET)
        member = {"id": uuid.uuid4().hex, "tables": names}
        arrows = {
            name: to_arrow(name, frame, self.provenance, set_info=member)
            for name, frame in self.items()
        }
        staged: list[tuple[Path, Path]] = []
        with folder_lock(out, exclusive=True):
            remove_stale_temps(out, FILE_NAMES.values())
            try:
                for name in names:
                    path = out / FILE_NAMES[name]
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

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}={c}" for n, c in self.counts().items())
        return f"AssetTables({counts})"


def read_assets(directory: str | os.PathLike[str]) -> AssetTables:
    """Read tables written by :meth:`AssetTables.to_parquet`; the round trip is exact.

    Raises:
        SchemaError: ``directory`` holds no asset tables.
        ParquetFileError: a file is unreadable or another table.
        ParquetSetError: the files are not one complete set (an interrupted write).

    Example::

        >>> assets = read_assets("out/")   # doctest: +SKIP
    """
    root = Path(directory)
    frames: dict[str, pd.DataFrame] = {}
    metas: dict[str, dict[str, Any]] = {}
    if root.is_dir():
        with folder_lock(root, exclusive=False):
            for name, file_name in FILE_NAMES.items():
                path = root / file_name
                if path.exists():
                    arrow, metas[name] = read_table_file(path, name)
                    frames[name] = from_arrow(name, arrow)
    if not frames:
        raise SchemaError(
            f"{root} holds no asset tables ({FILE_NAMES['assets']}, ...); write them with "
            "`mlreg-frames assets --out DIR` or AssetTables.to_parquet(DIR)"
        )
    check_set(root, metas, known=schema.ASSET_SET)
    provenance: Any = next((m["provenance"] for m in metas.values() if "provenance" in m), {})
    if not isinstance(provenance, dict):
        provenance = {}
    return AssetTables.from_frames(frames, provenance=provenance, allow_missing=True)
