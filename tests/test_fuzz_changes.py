"""Hypothesis for the explode of Resource Graph change rows: arbitrary JSON in, the table out.

Whatever the rows hold (any JSON where a change record belongs, odd strings, lone surrogates),
:func:`explode_changes` returns the declared ``changes`` table and never raises; a record with
n entries in ``changes`` gives max(1, n) rows; old and new keep the string ``"null"`` apart from a
JSON null; and the table round-trips through Arrow exactly.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlreg_frames import schema
from mlreg_frames.flatten.changes import change_value, explode_changes

FUZZ = settings(
    max_examples=3000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
texts = st.one_of(st.text(max_size=12), st.sampled_from(["null", "", "\ud800", "true", "x" * 2000]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
entries = st.one_of(
    st.fixed_dictionaries(
        {"previousValue": json_values, "newValue": json_values},
        optional={"isTruncated": st.sampled_from(["true", "false", True, None, 3])},
    ),
    json_values,
)
records = st.fixed_dictionaries(
    {"id": texts.filter(bool)},
    optional={
        "properties": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "targetResourceId": json_values, "targetResourceType": json_values,
            "changeType": st.sampled_from(["Create", "Update", "Delete"]) | json_values,
            "changeAttributes": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                "timestamp": st.sampled_from(["2026-01-02T03:04:05.1234567Z", "soon", ""])
                | json_values, "changedBy": json_values})),
            "changes": st.one_of(json_values, st.dictionaries(texts, entries, max_size=4)),
        })),
    },
)  # fmt: skip


def _entries(row: Any) -> int:
    props = row.get("properties")
    changes = props.get("changes") if isinstance(props, dict) else None
    return len(changes) if isinstance(changes, dict) else 0


@FUZZ
@given(st.lists(st.one_of(records, json_values), max_size=6))
def test_any_rows_explode_into_the_declared_table(rows: list[Any]) -> None:
    frame = explode_changes(rows)
    assert list(frame.columns) == list(schema.CHANGES.column_names)
    assert {str(frame[c].dtype) for c in ("change_id", "old", "new")} == {"string"}
    good = [r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"]]
    assert frame.attrs["skipped"] == len(rows) - len(good)
    assert len(frame) == sum(max(1, _entries(r)) for r in good)
    assert frame["is_truncated"].notna().all() and frame["source"].eq("graph").all()
    arrow = pa.Table.from_pandas(frame, schema=schema.arrow_schema("changes"), preserve_index=False)
    assert arrow.num_rows == len(frame)
    back = schema.conform("changes", arrow.to_pandas(types_mapper=_types))
    assert back.astype(object).where(back.notna(), None).values.tolist() == frame.astype(
        object).where(frame.notna(), None).values.tolist()  # fmt: skip


def _types(arrow_type: pa.DataType) -> Any:
    return schema.pandas_dtype("string") if arrow_type == pa.string() else None


@FUZZ
@given(json_values)
def test_values_are_strings_or_null_and_null_strings_stay(value: Any) -> None:
    text = change_value(value)
    assert (text is None) == (value is None)
    if isinstance(value, str) and "\ud800" not in value:
        assert text == value  # "null" included: a string is kept as ARG gives it
