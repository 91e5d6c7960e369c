"""Move a lake of the old marker format (mlreg_frames 0.1) onto Delta tables.

The old format kept one Hive partition per snapshot and table plus a commit marker per
snapshot (``_snapshots/<id>.json`` listing its files and row counts). This module keeps the
minimal reader of that format that :func:`migrate` needs, and nothing else: it reads local
folders only (copy a remote old lake down first, e.g. with ``azcopy``).

Example::

    >>> from mlreg_frames import lake
    >>> lake.migrate("old-lake", "abfss://lake@acct.dfs.core.windows.net/mlreg")  # doctest: +SKIP
    ['2025-06-01T060000.000000Z', '2025-06-02T060000.000000Z']
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import LakeError
from ..tables import RegistryTables, from_arrow
from .layout import SNAPSHOT_COLUMN, parse_snapshot_id
from .read import committed
from .store import LakeStore
from .write import append

__all__ = ["migrate"]

_OLD_FORMAT = 1
_MARKERS = "_snapshots"


def _old_snapshots(old: Path) -> list[tuple[str, dict[str, Any]]]:
    """The committed snapshots of an old lake: (id, marker), oldest first."""
    markers = old / _MARKERS
    if not markers.is_dir():
        raise LakeError(
            f"{old} is not a lake in the old marker format (no {_MARKERS}/ folder)",
            root=str(old),
        )
    found = []
    for path in sorted(markers.glob("*.json")):
        sid = path.stem
        try:
            parse_snapshot_id(sid)
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (LakeError, ValueError, OSError) as exc:
            raise LakeError(
                f"{path}: not a commit marker ({exc}); move it out of {_MARKERS}/ and migrate "
                "again",
                root=str(old),
                snapshot=sid,
            ) from exc
        if not isinstance(marker, dict) or marker.get(SNAPSHOT_COLUMN) != sid:
            raise LakeError(f"{path}: not a commit marker of snapshot {sid}", root=str(old))
        if int(marker.get("format", 0)) > _OLD_FORMAT:
            raise LakeError(
                f"{path} has marker format {marker.get('format')}, newer than this migration knows",
                root=str(old),
                snapshot=sid,
            )
        found.append((sid, marker))
    return found


def _old_tables(old: Path, sid: str, marker: Mapping[str, Any]) -> RegistryTables:
    """One old snapshot, exactly the files its marker lists, row counts checked."""
    frames = {}
    for name, entry in marker.get("tables", {}).items():
        if name not in schema.ALL_TABLES:
            continue
        parts = []
        for rel in entry.get("files", []):
            pure = PurePosixPath(rel)
            if pure.is_absolute() or ".." in pure.parts or pure.parts[:1] != (name,):
                raise LakeError(
                    f"snapshot {sid} lists {rel!r}, outside its table folder; refusing to read it",
                    root=str(old),
                    snapshot=sid,
                )
            try:
                parts.append(pq.read_table(old / pure))
            except (OSError, pa.ArrowException) as exc:
                raise LakeError(
                    f"snapshot {sid}: cannot read {rel} ({exc}); restore it, or move "
                    f"{_MARKERS}/{sid}.json away to leave this snapshot out",
                    root=str(old),
                    snapshot=sid,
                ) from exc
        frame = (
            from_arrow(name, pa.concat_tables(parts, promote_options="permissive"))
            if parts
            else schema.empty_frame(name)
        )
        if len(frame) != int(entry.get("rows", len(frame))):
            raise LakeError(
                f"snapshot {sid}: {name} has {len(frame)} rows, its marker says {entry['rows']}",
                root=str(old),
                snapshot=sid,
            )
        frames[name] = frame
    provenance = dict(marker.get("provenance") or {})
    return RegistryTables.from_frames(frames, provenance=provenance, allow_missing=True)


def migrate(
    old_root: str | os.PathLike[str],
    new_root: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Copy every committed snapshot of an old-format lake into a Delta lake, ids kept.

    Uncommitted partitions of the old lake (crashed writers) are left behind. Snapshots the
    new lake already holds are skipped, so an interrupted migration can simply be run again.

    Args:
        old_root: the old lake, a local folder.
        new_root: the new lake (a folder or ``abfss://`` URL).
        storage_options: delta-rs options for ``new_root``.

    Returns:
        The ids copied, oldest first.
    """
    old = Path(os.fspath(old_root))
    found = _old_snapshots(old)
    target = LakeStore(new_root, storage_options)
    present: set[str] = set()
    if target.open("snapshots") is not None:
        present = set(committed(target)[SNAPSHOT_COLUMN])
    copied = []
    for sid, marker in found:
        if sid in present:
            continue
        append(_old_tables(old, sid, marker), new_root, sid, storage_options=storage_options)
        copied.append(sid)
    return copied
