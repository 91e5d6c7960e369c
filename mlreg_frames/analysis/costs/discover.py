"""Which files of a path make up one cost export, and how many rows each must hold.

A path is a file, a flat folder of part files, or an export root the way Cost Management
writes it::

    <root>/<export name>/<YYYYMMDD-YYYYMMDD>/<run id>/part_0_0001.csv   (+ manifest.json)
    <root>/<export name>/<YYYYMMDD-YYYYMMDD>/<export name>_<guid>.csv    (older exports)

Every run of an export writes the whole period again, so stacking two runs of one period
counts the same charges twice. For each period the latest run is read: the one whose
``manifest.json`` has the latest ``runInfo.submittedTime``. Without manifests to tell which
is the latest, several runs of one period are refused, as are overlapping periods of one
export. A manifest also says which part files the run wrote and how many rows each holds: a
missing part or a short file (an interrupted download) is refused.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import CostExportError

__all__ = ["ExportFile", "export_files"]

_DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".gz")
_PERIOD = re.compile(r"^(\d{8})-(\d{8})$")
_MANIFEST = "manifest.json"
_MANIFEST_MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class ExportFile:
    """One data file of an export.

    Attributes:
        path: the file.
        name: its path relative to what the caller passed (for messages and ``attrs``).
        rows: the data rows its run's manifest says it holds, or None when not known.
        dataset: the manifest's ``exportConfig.type`` (``ActualCost``, ``AmortizedCost``,
            ``FocusCost``...), or None.
    """

    path: Path
    name: str
    rows: int | None = None
    dataset: str | None = None


@dataclass
class _Run:
    folder: Path
    files: list[Path]
    manifest: dict[str, Any] | None


def _is_data(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(_DATA_SUFFIXES) and not name.startswith((".", "_"))


def _get(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` matching keys case-insensitively; None where anything is missing."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = next((v for k, v in obj.items() if str(k).lower() == key.lower()), None)
    return obj


def _manifest(folder: Path) -> dict[str, Any] | None:
    path = next((p for p in folder.iterdir() if p.name.lower() == _MANIFEST), None)
    if path is None or not path.is_file():
        return None
    try:
        if path.stat().st_size > _MANIFEST_MAX_BYTES:
            raise ValueError(f"larger than {_MANIFEST_MAX_BYTES >> 20} MiB")
        body = json.loads(path.read_text(encoding="utf-8-sig"))
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CostExportError(
            f"{path} is not a readable export manifest ({exc}); download the run again or "
            "delete the manifest to read the part files without its checks",
            path=str(path),
        ) from exc
    return body


def _period(folder: Path, root: Path) -> tuple[Path, tuple[str, str]] | None:
    """The dated period folder at or above ``folder`` (below ``root``), with its range."""
    for candidate in (folder, *folder.parents):
        if candidate == root.parent or len(candidate.parts) < len(root.parts):
            return None
        match = _PERIOD.match(candidate.name)
        if match:
            return candidate, (match.group(1), match.group(2))
    return None


def _runs(root: Path) -> list[_Run]:
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in filenames:
            path = Path(dirpath) / name
            if _is_data(path) and path.is_file():
                by_folder[Path(dirpath)].append(path)
    return [
        _Run(folder, sorted(files), _manifest(folder))
        for folder, files in sorted(by_folder.items())
    ]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or path.name
    except ValueError:
        return path.name


def _latest(runs: list[_Run], period: Path, root: Path) -> _Run:
    if len(runs) == 1:
        run = runs[0]
        loose = [f for f in run.files if not f.name.lower().startswith("part_")]
        if run.manifest is None and run.folder == period and len(loose) > 1:
            names = ", ".join(_rel(f, root) for f in loose)
            raise CostExportError(
                f"{_rel(period, root)} holds {len(loose)} export files ({names}); each run of "
                "an export writes the whole period again, so reading all of them would count "
                "the same charges more than once: pass the one file to read",
                path=str(period),
            )
        return run
    times = [_submitted(r.manifest) for r in runs]
    if any(t is None for t in times):
        names = ", ".join(_rel(r.folder, root) for r in runs)
        raise CostExportError(
            f"{_rel(period, root)} holds {len(runs)} runs ({names}) and no manifest says which "
            "is the latest; each run holds the whole period, so reading all of them would "
            "count the same charges more than once: pass the run folder to read",
            path=str(period),
        )
    return runs[max(range(len(runs)), key=lambda i: times[i])]  # type: ignore[arg-type,return-value]


def _submitted(manifest: dict[str, Any] | None) -> pd.Timestamp | None:
    """When a run was submitted (its manifest's ``runInfo.submittedTime``), or None."""
    value = _get(manifest, "runInfo", "submittedTime")
    if not isinstance(value, str):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if stamp is pd.NaT else (stamp.tz_localize("UTC") if stamp.tz is None else stamp)


def _check_overlaps(periods: dict[Path, tuple[str, str]], root: Path) -> None:
    by_export: dict[Path, list[tuple[str, str, Path]]] = defaultdict(list)
    for folder, (start, end) in periods.items():
        by_export[folder.parent].append((start, end, folder))
    for spans in by_export.values():
        spans.sort()
        for (s1, e1, f1), (s2, e2, f2) in pairwise(spans):
            if s2 <= e1:
                raise CostExportError(
                    f"{_rel(f1, root)} and {_rel(f2, root)} cover overlapping days "
                    f"({s1}-{e1}, {s2}-{e2}); reading both would count those days twice: "
                    "pass one of them",
                    path=str(f2),
                )


def _files_of(run: _Run, root: Path) -> list[ExportFile]:
    dataset = _get(run.manifest, "exportConfig", "type")
    dataset = dataset if isinstance(dataset, str) else None
    blobs = _get(run.manifest, "blobs")
    if not isinstance(blobs, list) or not blobs:
        return [ExportFile(f, _rel(f, root), None, dataset) for f in run.files]
    local = {f.name.lower(): f for f in run.files}
    out = []
    for blob in blobs:
        blob_name = _get(blob, "blobName")
        if not isinstance(blob_name, str):
            continue
        base = blob_name.replace("\\", "/").rsplit("/", 1)[-1]
        file = local.get(base.lower())
        if file is None:
            raise CostExportError(
                f"the manifest of {_rel(run.folder, root)} lists {base}, which is not there "
                "(an incomplete download); download the whole run folder again",
                path=str(run.folder),
            )
        rows = _get(blob, "dataRowCount")
        rows = rows if isinstance(rows, int) and not isinstance(rows, bool) else None
        out.append(ExportFile(file, _rel(file, root), rows, dataset))
    return out


def export_files(path: str | os.PathLike[str]) -> list[ExportFile]:
    """The data files to read for ``path``, in order, with what each must hold.

    Raises:
        CostExportError: the path is missing or holds no export, or reading every file
            would count charges twice (several runs of a period, overlapping periods), or a
            manifest's part file is missing.
    """
    root = Path(path)
    if root.is_file():
        if root.name.lower() == _MANIFEST:
            root = root.parent
        else:
            return [ExportFile(root, root.name)]
    if not root.is_dir():
        raise CostExportError(
            f"{root} does not exist; check the path to the cost export", path=str(root)
        )
    runs = _runs(root)
    if not runs:
        raise CostExportError(
            f"{root} holds no .csv, .csv.gz or .parquet files; point at an export file or folder",
            path=str(root),
        )
    by_period: dict[Path, list[_Run]] = defaultdict(list)
    periods: dict[Path, tuple[str, str]] = {}
    chosen: list[_Run] = []
    for run in runs:
        found = _period(run.folder, root)
        if found is None:
            chosen.append(run)
        else:
            by_period[found[0]].append(run)
            periods[found[0]] = found[1]
    _check_overlaps(periods, root)
    chosen.extend(_latest(rs, period, root) for period, rs in sorted(by_period.items()))
    chosen.sort(key=lambda r: r.folder)
    return [f for run in chosen for f in _files_of(run, root)]
