"""Packaging: the public namespace, the shipped wheel, and locks that match pyproject.toml."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import mlreg_frames as mf

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LAZY = {
    "fetch_registries": "mlreg_frames.sources.fetch",
    "read_cost_export": "mlreg_frames.analysis.costs.read",
    "explore": "mlreg_frames.widgets",
}
# Every supported Python the universal test lock must install on.
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


# --- the top-level namespace ---------------------------------------------------------------


def test_dir_shows_the_public_names_only():
    assert dir(mf) == sorted(mf.__all__)
    leaked = {"Any", "TYPE_CHECKING", "annotations", "import_module", "importlib", "typing"}
    assert not leaked & set(dir(mf))


def test_all_is_sorted_and_every_name_resolves():
    assert mf.__all__ == sorted(mf.__all__)
    assert len(set(mf.__all__)) == len(mf.__all__)
    for name in mf.__all__:
        assert getattr(mf, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mf.nope  # type: ignore[attr-defined]


def test_optional_parts_load_on_first_use():
    """``import mlreg_frames`` stays light: fetching, costs and widgets import when first named."""
    script = f"""
import json, sys
import mlreg_frames as mf
lazy = {json.dumps(LAZY)}
heavy = ("matplotlib", "ipywidgets", "azure.identity", "requests")
before = [m for m in (*lazy.values(), *heavy) if m in sys.modules]
first = mf.read_cost_export
print(json.dumps({{
    "before": before,
    "module": first.__module__,
    "cached": vars(mf)["read_cost_export"] is first,
    "others": [m for m in lazy.values() if m in sys.modules and m != first.__module__],
}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout) == {
        "before": [],
        "module": LAZY["read_cost_export"],
        "cached": True,
        "others": [],
    }


# --- the wheel -----------------------------------------------------------------------------


def test_wheel_ships_py_typed_and_every_subpackage(tmp_path):
    """Build the wheel from a copy of the sources with the locked setuptools (no download)."""
    pytest.importorskip("setuptools", reason="the build backend comes with the locked test env")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "mlreg_frames",
        src / "mlreg_frames",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    build = "from setuptools import build_meta; print(build_meta.build_wheel('dist'))"
    out = subprocess.run(
        [sys.executable, "-c", build], capture_output=True, text=True, check=True, cwd=src
    )
    wheel = src / "dist" / out.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "mlreg_frames/py.typed" in names
    packages = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "mlreg_frames").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert packages <= names, sorted(packages - names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "data/"))]


def test_installed_package_is_marked_typed():
    assert (Path(mf.__file__).parent / "py.typed").is_file()
    assert "mlreg_frames" in PYPROJECT["tool"]["setuptools"]["package-data"]


# --- the locks -------------------------------------------------------------------------------


def _wanted(extra: str) -> list[Requirement]:
    """pyproject's dependencies, those of ``extra`` (self-references expanded) and the build's."""
    project = PYPROJECT["project"]
    own = canonicalize_name(project["name"])
    wanted = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    todo, seen = [*project["dependencies"], f"{own}[{extra}]"], set()
    while todo:
        req = Requirement(todo.pop())
        if canonicalize_name(req.name) != own:
            wanted.append(req)
            continue
        for name in sorted(req.extras - seen):
            seen.add(name)
            todo += project["optional-dependencies"][name]
    return wanted


def _pins(lock: str) -> list[Requirement]:
    lines = (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line and not line[0].isspace() and "==" in line]


def _env(python: str) -> dict[str, str]:
    env = default_environment()
    env.update(python_version=python, python_full_version=f"{python}.0", sys_platform="linux")
    env.update(platform_system="Linux", os_name="posix")
    return env


def _pinned(pins: list[Requirement], name: str, env: dict[str, str]) -> list[Version]:
    return [
        Version(next(iter(p.specifier)).version)
        for p in pins
        if canonicalize_name(p.name) == canonicalize_name(name)
        and (p.marker is None or p.marker.evaluate(env))
    ]


def _check(lock: str, python: str) -> list[Version]:
    pins, env, found = _pins(lock), _env(python), []
    for req in _wanted("test"):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        versions = _pinned(pins, req.name, env)
        assert len(versions) == 1 and req.specifier.contains(versions[0], prereleases=True), (
            f"requirements/{lock} does not satisfy pyproject.toml's {str(req)!r} on Python "
            f"{python} (pinned: {[str(v) for v in versions]}): run `make lock` and commit "
            "requirements/"
        )
        found.append(versions[0])
    return found


@pytest.mark.parametrize("python", PYTHONS)
def test_test_lock_satisfies_pyproject(python):
    assert _check("test.txt", python)


def test_lowest_lock_pins_the_lower_bounds():
    """``make test-lowest`` really tests the declared minimums (pandas 2.2, ...)."""
    _check("lowest.txt", "3.10")
    bounds: dict[str, Version] = {}  # the highest lower bound a name gets, over all requirements
    for req in _wanted("test"):
        for spec in req.specifier:
            if spec.operator == ">=":
                name = canonicalize_name(req.name)
                bounds[name] = max(bounds.get(name, Version(spec.version)), Version(spec.version))
    assert bounds["pandas"] and bounds["pyarrow"]
    pins, env = _pins("lowest.txt"), _env("3.10")
    for name, bound in sorted(bounds.items()):
        (pinned,) = _pinned(pins, name, env)
        assert pinned.release[: len(bound.release)] == bound.release, (
            f"requirements/lowest.txt pins {name}=={pinned}, above its lower bound {bound} in "
            "pyproject.toml: raise the bound to what resolves, then `make lock`"
        )
