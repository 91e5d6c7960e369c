"""The declared schema: docs current, dtypes consistent, public API tidy, layering kept."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pyarrow as pa
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.schema.dictionary import data_dictionary_markdown

from .helpers import ROOT


def test_data_dictionary_is_current() -> None:
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == data_dictionary_markdown() + "\n", (
        "docs/data-dictionary.md is stale: run `python -m mlreg_frames dictionary "
        "--out docs/data-dictionary.md`"
    )


@pytest.mark.parametrize("name", list(schema.ALL_TABLES))
def test_every_table_is_well_formed(name: str) -> None:
    table = schema.ALL_TABLES[name]
    names = table.column_names
    assert len(set(names)) == len(names)
    assert set(table.key) <= set(names)
    assert all(c.doc.strip() for c in table.columns)
    if name == "subscriptions":
        assert names[0] == "subscription_id"
    elif name != "fetch_errors":
        assert names[0] == "registry_id"
    frame = schema.empty_frame(name)
    assert pa.Schema.from_pandas(frame, preserve_index=False).names == list(names)
    assert schema.arrow_schema(name).names == list(names)


def test_conform_errors_name_table_and_column() -> None:
    with pytest.raises(mf.SchemaError) as info:
        schema.conform("tags", schema.empty_frame("tags").drop(columns=["value"]))
    assert (info.value.table, info.value.column) == ("tags", "value")
    with pytest.raises(mf.SchemaError, match="unknown table"):
        schema.empty_frame("nope")
    with pytest.raises(mf.SchemaError, match="unknown column kind"):
        schema.pandas_dtype("decimal")


def test_all_is_sorted_and_complete() -> None:
    assert list(mf.__all__) == sorted(mf.__all__)
    for name in mf.__all__:
        assert getattr(mf, name) is not None


def test_every_error_derives_from_the_root() -> None:
    errors = [getattr(mf, n) for n in mf.__all__ if n.endswith("Error")]
    assert errors and all(issubclass(e, mf.MlregFramesError) for e in errors)


def _ruf022(name: str) -> tuple[bool, bool, str]:
    """ruff's __all__ order (RUF022): CONSTANTS, then Classes, then functions."""
    return (not name.isupper(), not name[:1].isupper(), name)


_SUBPACKAGES = ["schema", "flatten", "sources", "lake", "analysis", "synth", "emulator", "plots"]


@pytest.mark.parametrize("name", _SUBPACKAGES)
def test_subpackages_re_export_their_public_names(name: str) -> None:
    """``mlreg_frames.<stage>`` re-exports the public names of its modules, the same objects."""
    package = importlib.import_module(f"mlreg_frames.{name}")
    assert list(package.__all__) == sorted(package.__all__, key=_ruf022), name
    for attr in package.__all__:
        value = getattr(package, attr)
        home = getattr(value, "__module__", None) if callable(value) else None
        if home and home.startswith(f"mlreg_frames.{name}."):
            assert getattr(importlib.import_module(home), attr) is value, (name, attr)


def test_public_import_paths_of_earlier_versions_still_work() -> None:
    from mlreg_frames.analysis import exposure, join_costs, region_summary
    from mlreg_frames.costs import join_costs as old_join_costs
    from mlreg_frames.emulator import ArmEmulator, Fault
    from mlreg_frames.lake import append, diff, diff_snapshots, read, snapshots, vacuum
    from mlreg_frames.synth import generate_fleet, paginate

    assert old_join_costs is join_costs
    assert all(callable(f) for f in (exposure, region_summary, append, diff, diff_snapshots))
    assert all(callable(f) for f in (read, snapshots, vacuum, generate_fleet, paginate))
    assert ArmEmulator and Fault


def test_flatten_never_imports_http() -> None:
    """The pure stages (schema, tables, pages, flatten) import no HTTP library nor any source."""
    package = Path(mf.__file__).parent
    pure = [*(package / "flatten").glob("*.py"), *(package / "schema").glob("*.py")]
    for path in [*pure, package / "tables.py", package / "pages.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("requests", "urllib3", "sources") for n in names)
