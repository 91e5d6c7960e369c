"""The declared schema: docs current, dtypes consistent, public API tidy, layering kept."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pyarrow as pa
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.dictionary import data_dictionary_markdown

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
    if name != "fetch_errors":
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


# Each module may import only the modules to its left in the pipeline (STYLE.md).
_LAYERS = {
    "_gc": set(),
    "errors": set(),
    "coltypes": {"errors"},
    "schema": {"errors", "coltypes"},
    "dictionary": {"coltypes", "schema"},
    "pages": {"errors", "_gc"},
    "walk": {"errors"},
    "frames": {"errors", "schema", "tables"},
    "flatten": {"errors", "schema", "pages", "frames", "tables", "walk", "_gc"},
    "tables": {"errors", "schema"},
    "auth": {"errors"},
    "armpolicy": {"errors"},
    "arm": {"errors", "auth", "armpolicy"},
    "regions": {"tables"},
    "analysis": {"regions", "tables"},
}


@pytest.mark.parametrize("module", sorted(_LAYERS))
def test_imports_flow_one_way(module: str) -> None:
    source = Path(mf.__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            imported |= {node.module} if node.module else {a.name for a in node.names}
    assert imported <= _LAYERS[module], f"{module} imports {imported - _LAYERS[module]}"


def _ruf022(name: str) -> tuple[bool, bool, str]:
    """ruff's __all__ order (RUF022): CONSTANTS, then Classes, then functions."""
    return (not name.isupper(), not name[:1].isupper(), name)


@pytest.mark.parametrize(
    ("face", "part"), [("arm", "armpolicy"), ("analysis", "regions")], ids=["arm", "analysis"]
)
def test_split_modules_keep_the_public_path(face: str, part: str) -> None:
    front = importlib.import_module(f"mlreg_frames.{face}")
    inner = importlib.import_module(f"mlreg_frames.{part}")
    for module in (front, inner):
        assert list(module.__all__) == sorted(module.__all__, key=_ruf022), module.__name__
        assert all(getattr(module, name) is not None for name in module.__all__)
    moved = set(front.__all__) & set(inner.__all__)
    assert moved and all(getattr(front, n) is getattr(inner, n) for n in moved)


def test_flatten_never_imports_http() -> None:
    for module in ("flatten", "walk", "frames", "tables", "schema"):
        source = Path(mf.__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
        assert (
            "requests" not in source and "from .arm" not in source and "from .fetch" not in source
        )
