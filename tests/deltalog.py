"""A small Delta-log reader of our own: an independent check of what delta-rs wrote.

It follows the Delta protocol without delta-rs: start from the newest checkpoint at or below
the wanted version (``NNN.checkpoint.parquet``, its ``add`` actions are the live files), replay
the JSON commits after it (``add`` / ``remove``), then read the live Parquet files with pyarrow,
adding partition values from the log. Enough for the lake's tables (single-part checkpoints,
no deletion vectors), which is what the tests need to check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint\.parquet$")
_COMMIT = re.compile(r"^(\d{20})\.json$")


def versions(table: Path) -> list[int]:
    """Every commit version in the log."""
    log = table / "_delta_log"
    return sorted(int(m.group(1)) for p in log.iterdir() if (m := _COMMIT.match(p.name)))


def checkpoints(table: Path) -> list[int]:
    """The versions that have a checkpoint."""
    log = table / "_delta_log"
    return sorted(int(m.group(1)) for p in log.iterdir() if (m := _CHECKPOINT.match(p.name)))


def commit_infos(table: Path) -> dict[int, dict[str, Any]]:
    """version -> the commit's ``commitInfo`` action, from the JSON commits."""
    out = {}
    for version in versions(table):
        for line in (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "commitInfo" in action:
                out[version] = action["commitInfo"]
    return out


def _partition_values(raw: Any) -> dict[str, str | None]:
    if isinstance(raw, dict):
        return dict(raw)
    return {key: value for key, value in raw or []}  # a Parquet map reads as (key, value) pairs


def live_files(table: Path, version: int | None = None) -> dict[str, dict[str, str | None]]:
    """path -> partition values of the files live at ``version`` (default: the latest)."""
    top = max(versions(table)) if version is None else version
    start = max((v for v in checkpoints(table) if v <= top), default=-1)
    files: dict[str, dict[str, str | None]] = {}
    if start >= 0:
        actions = pq.read_table(table / "_delta_log" / f"{start:020d}.checkpoint.parquet")
        for add in actions.column("add").to_pylist():
            if add is not None:
                files[add["path"]] = _partition_values(add["partitionValues"])
    for v in range(start + 1, top + 1):
        for line in (table / "_delta_log" / f"{v:020d}.json").read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                files[action["add"]["path"]] = _partition_values(action["add"]["partitionValues"])
            elif "remove" in action:
                files.pop(action["remove"]["path"], None)
    return files


def read(table: Path, version: int | None = None) -> pa.Table:
    """The table's rows at ``version`` (default: the latest), partition columns last."""
    parts = []
    for path, values in sorted(live_files(table, version).items()):
        data = pq.read_table(table / unquote(path))
        for key, value in values.items():
            data = data.append_column(key, pa.array([value] * data.num_rows, pa.string()))
        parts.append(data)
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="default")
