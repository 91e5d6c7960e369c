"""The package's layout is its pipeline: imports run one way, and there is no import cycle.

Every module of ``mlreg_frames`` belongs to a *unit* (a subpackage such as ``lake`` or a
top-level module such as ``pages``), and the units are ranked in the order data flows through
the toolkit. A module may import from its own unit and from units of a lower rank, never from a
higher one nor from a peer of the same rank, so the tree reads bottom-up like the pipeline:
``sources -> pages -> flatten -> tables -> lake / analysis -> plots / widgets -> cli``.
Imports inside functions (lazy imports) count too: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlreg_frames

PACKAGE = Path(mlreg_frames.__file__).parent

# Lowest first. Units on one line share a rank and must not import each other.
LAYERS: list[set[str]] = [
    {"errors", "_gc", "_files"},
    {"schema"},
    {"tablefiles"},
    {"tables"},
    {"assettables"},
    {"pages"},
    {"flatten"},
    {"sources"},
    {"backingfiles"},
    {"analysis", "lake", "synth"},
    {"emulator", "costs"},
    {"plots"},
    {"widgets"},
    {"cli"},
    {"__init__", "__main__"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """Absolute names of the package's modules (or their attributes) that ``path`` imports."""
    name = _module_name(path)
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlreg_frames"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("mlreg_frames"):
                continue
            if target == "mlreg_frames" or (node.level and not node.module):
                # `from . import schema` / `from mlreg_frames import lake`: the names are modules
                found.update(f"{target}.{a.name}" for a in node.names)
            else:
                found.add(target)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_rank() -> None:
    units = {_unit(_module_name(p)) for p in MODULES}
    assert units <= set(RANK), f"declare the new units in LAYERS: {sorted(units - set(RANK))}"


def _wrong(unit: str, targets: set[str]) -> list[str]:
    """The imports in ``targets`` that a module of ``unit`` may not make."""
    wrong = []
    for target in sorted(targets):
        other = _unit(target)
        if other != unit and other in RANK and RANK[other] >= RANK[unit]:
            wrong.append(f"{target} ({other}, rank {RANK[other]} >= {unit}, rank {RANK[unit]})")
    return wrong


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    wrong = _wrong(_unit(_module_name(path)), _imports(path))
    assert not wrong, f"{_module_name(path)} imports a later or peer stage: {wrong}"


def test_schema_imports_nothing_but_errors() -> None:
    for path in (PACKAGE / "schema").glob("*.py"):
        outside = {t for t in _imports(path) if _unit(t) not in ("schema", "errors")}
        assert not outside, (path.name, outside)


def test_no_import_cycles() -> None:
    """Module-level cycles (not just between units): Tarjan over the module graph."""
    names = {_module_name(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps = set()
        for target in _imports(path):
            # an imported attribute (`from .walk import Ctx`) resolves to its module
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != name and names[target].name != "__init__.py":
                deps.add(target)
        graph[name] = deps
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_a_violation() -> None:
    """Guard against a checker that passes everything: reversed and peer imports are caught."""
    assert _wrong("flatten", {"mlreg_frames.sources.fetch"})  # a later stage
    assert _wrong("lake", {"mlreg_frames.analysis.costs"})  # a peer
    assert _wrong("emulator", {"mlreg_frames.cli._base"})  # nothing but cli imports cli
    assert not _wrong("lake", {"mlreg_frames.lake.store", "mlreg_frames.tables"})
    imports = _imports(PACKAGE / "flatten" / "engine.py")
    assert {"mlreg_frames.schema", "mlreg_frames.flatten.frames", "mlreg_frames.errors"} <= imports
