"""The ``snapshots`` ledger: the small Delta table that makes eight table commits one snapshot.

Delta commits are atomic per table; a snapshot spans eight. Every append therefore records its
steps in the ledger, one row each, and **a snapshot exists exactly when its ``committed`` row
does**:

1. ``claimed``: the writer takes a free snapshot id, before it writes any table;
2. the writer appends its rows to each data table (eight ordinary Delta appends);
3. ``committed``: with the row count of every table, written last.

A writer that fails cleanly, and :func:`~mlreg_frames.lake.repair` for one that was killed,
record ``aborted`` and delete that snapshot's rows with a Delta ``DELETE``.

Ledger rows are appended *serially*: each append is a Delta commit that must land on exactly
the version the writer read (no automatic retry), so the check made on that version (the id is
free, the claim is still ours, nobody aborted it) still holds when the row lands. On a conflict
the writer reads the ledger again and decides again.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from ..errors import LakeError
from .layout import (
    LEDGER,
    LEDGER_SCHEMA,
    PARTITION_COLUMN,
    SNAPSHOT_COLUMN,
    TABLE_PROPERTIES,
    USER_METADATA,
    month_of,
)
from .store import LakeStore

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = ["append_row", "ledger", "new_row"]

_ATTEMPTS = 200


def now() -> datetime:
    """The current UTC time (a seam for tests)."""
    return datetime.now(timezone.utc)


def new_row(sid: str, state: str, writer: str, **values: Any) -> dict[str, Any]:
    """One ledger row; unset columns are null."""
    row: dict[str, Any] = dict.fromkeys(LEDGER_SCHEMA.names)
    row.update(
        {
            SNAPSHOT_COLUMN: sid,
            PARTITION_COLUMN: month_of(sid),
            "state": state,
            "writer": writer,
            "recorded_at": now(),
        }
    )
    row.update(values)
    if isinstance(row.get("provenance"), Mapping):
        row["provenance"] = json.dumps(row["provenance"], default=str, sort_keys=True)
    return row


def ledger(store: LakeStore, months: Iterable[str] | None = None) -> pd.DataFrame:
    """The ledger's rows, of some months only when given (empty when there is no ledger)."""
    return _frame(_read(store, store.open(LEDGER), months))


def _read(store: LakeStore, table: DeltaTable | None, months: Iterable[str] | None) -> pa.Table:
    if table is None:
        return LEDGER_SCHEMA.empty_table()
    with store.errors("reading the snapshots ledger"):
        return store.dataset(table, months).to_table()


def _frame(arrow: pa.Table) -> pd.DataFrame:
    frame = arrow.to_pandas(types_mapper=_types, ignore_metadata=True)
    for col in LEDGER_SCHEMA.names:
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="object")
    return frame[LEDGER_SCHEMA.names]


def _types(arrow_type: pa.DataType) -> Any:
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow")
    return None


def append_row(
    store: LakeStore,
    decide: Callable[[pd.DataFrame], dict[str, Any] | None],
    months: Iterable[str],
) -> dict[str, Any] | None:
    """Append the row ``decide(ledger)`` returns, on exactly the version it was decided on.

    ``decide`` sees the current ledger rows of ``months`` (the partitions the decision
    depends on) and returns the row to append, or ``None`` to append nothing (it may also
    raise). On a concurrent commit the ledger is read again and ``decide`` called again.
    Returns the row appended, or ``None``.
    """
    dl = store.dl
    for attempt in range(_ATTEMPTS):
        table = store.open(LEDGER)
        row = decide(_frame(_read(store, table, months)))
        if row is None:
            return None
        data = pa.Table.from_pylist([row], schema=LEDGER_SCHEMA)
        try:
            with store.errors("committing to the snapshots ledger", row[SNAPSHOT_COLUMN]):
                dl.write_deltalake(
                    store.uri(LEDGER) if table is None else table,
                    data,
                    mode="append",
                    partition_by=[PARTITION_COLUMN],
                    schema_mode="merge",
                    configuration=TABLE_PROPERTIES if table is None else None,
                    storage_options=store.options or None if table is None else None,
                    commit_properties=dl.CommitProperties(
                        max_commit_retries=0,
                        custom_metadata={
                            USER_METADATA: row[SNAPSHOT_COLUMN],
                            "mlreg_frames.snapshot": row[SNAPSHOT_COLUMN],
                        },
                    ),
                )
            return row
        except LakeError as exc:
            if not _lost_race(exc, created=table is None):
                raise
        # Another writer committed first: back off a little, then decide again.
        time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 10))
    raise LakeError(
        f"lake {store.root!r}: the snapshots ledger kept changing under {_ATTEMPTS} attempts "
        "to commit; try again",
        root=store.root,
    )


def _lost_race(exc: LakeError, *, created: bool) -> bool:
    from deltalake.exceptions import CommitFailedError, DeltaError

    cause = exc.__cause__
    if isinstance(cause, CommitFailedError):
        return True
    # Two writers creating the ledger at once: one of them finds version 0 taken.
    return created and isinstance(cause, DeltaError) and "exist" in str(cause).lower()
