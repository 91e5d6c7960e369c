"""Fuzzing ``flatten`` with mutated registries: tables that keep their invariants, or a project error.

Each example starts from a well-formed registry (the strategy of ``test_properties``) and
applies a few mutations: any JSON value at any path, a key duplicated in another case, deep
nesting, numbers outside int64, lone surrogates and other odd strings. Whatever comes in,
``flatten`` returns tables or raises an :class:`~mlreg_frames.MlregFramesError`, never
another exception; and the tables it returns keep the invariants: every child row's
``registry_id`` is in ``registries``, the dtypes are those of the empty tables, and the
Parquet round trip is exact. The same page written as a JSON file and read back gives the
same result.

The suite runs a few examples (profile ``ci``); ``make fuzz`` runs the long profile
(``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.errors import NotRegistriesWarning
from mlreg_frames.flatten.text import MAX_DEPTH

from .test_properties import registries

_PROFILES = {
    "ci": settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck)),
    "long": settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck)),
}
FUZZ = _PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
EMPTY = mf.flatten([])

odd_strings = st.sampled_from(
    [
        "", " ", "\ud800", "a\udfffb", "\\ud800", "\\u005c", "now", "today", "null", "NaN",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "2021-05-06T07:08:09.1234567+00:40",
        "2021-02-29T00:00:00Z", "1e300", "9223372036854775808", "-0", "true", "yes", "\u2028",
        "\u0085", "\x00", "\ufeff", "💥", "x" * 5000, "Microsoft.Web/sites", "/subscriptions/s",
    ]
)  # fmt: skip
huge_numbers = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 1e300, -1e300, 2**63 - 1])
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), odd_strings, huge_numbers,
)  # fmt: skip
json_keys = st.one_of(st.text(max_size=6), odd_strings, st.sampled_from(["Value", "ID", "Tags"]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(json_keys, inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(root: Any, max_depth: int = 12) -> list[tuple[Any, ...]]:
    """Every path into a JSON value down to ``max_depth`` (the root excluded)."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= max_depth:
            continue
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, child in children:
            found.append((*path, key))
            stack.append((child, (*path, key)))
    return sorted(found, key=repr)


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed registry with one to four mutations."""
    reg = copy.deepcopy(draw(registries()))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(reg)
        path = draw(st.sampled_from(paths)) if paths else ("zz",)
        parent, key = _parent(reg, path), path[-1]
        kind = draw(st.sampled_from(["value", "case", "deep", "number", "string", "drop", "add"]))
        if kind == "value":
            parent[key] = draw(json_values)
        elif kind == "number":
            parent[key] = draw(huge_numbers)
        elif kind == "string":
            parent[key] = draw(odd_strings)
        elif kind == "deep":
            parent[key] = _deep(draw(st.sampled_from([MAX_DEPTH - 2, MAX_DEPTH + 1, 3000])))
        elif kind == "drop" and isinstance(parent, dict):
            del parent[key]
        elif kind == "case" and isinstance(parent, dict) and isinstance(key, str):
            twin = draw(st.sampled_from([key.upper(), key.lower(), key.swapcase(), key.title()]))
            parent[twin] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(json_keys)] = draw(json_values)
    return reg


def _flatten(items: Any) -> mf.RegistryTables | type[Exception]:
    """The tables, or the class of the project error raised (never another exception)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotRegistriesWarning)
        try:
            return mf.flatten(items)
        except mf.MlregFramesError as exc:
            return type(exc)


def _check_invariants(tables: mf.RegistryTables) -> None:
    tables.validate()
    ids = set(tables.registries["registry_id"])
    assert len(ids) == len(tables.registries)
    for name, frame in tables.items():
        assert set(frame["registry_id"]) <= ids, name
        pd.testing.assert_series_equal(frame.dtypes, EMPTY[name].dtypes, check_names=False)
        assert list(frame.columns) == list(schema.TABLES[name].column_names)
    with tempfile.TemporaryDirectory() as folder:
        tables.to_parquet(folder)
        assert mf.read_parquet(folder) == tables


@FUZZ
@given(st.lists(mutated(), min_size=1, max_size=3))
def test_mutated_registries_give_tables_with_invariants_or_a_project_error(
    regs: list[dict[str, Any]],
) -> None:
    result = _flatten([{"value": regs}])
    if isinstance(result, mf.RegistryTables):
        _check_invariants(result)
    # The same page as a JSON file (lone surrogates escaped as JSON does) reads back alike.
    try:
        text = json.dumps({"value": regs})
    except RecursionError:  # the test's own writer gives up on the deepest values
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.json"
        path.write_text(text, encoding="utf-8")
        from_file = _flatten(mf.read_pages(path))
    if isinstance(result, mf.RegistryTables):
        assert isinstance(from_file, mf.RegistryTables)
        for name, frame in result.items():
            pd.testing.assert_frame_equal(frame, from_file[name])
    else:
        assert from_file in (result, mf.PagesError)


@FUZZ
@given(json_values)
def test_any_json_value_as_input_gives_tables_or_a_project_error(value: Any) -> None:
    for items in ([value], [{"value": [value]}], [{"value": value}], value):
        result = _flatten(items)
        if isinstance(result, mf.RegistryTables):
            _check_invariants(result)
