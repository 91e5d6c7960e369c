"""Every file the package writes on local disk honours the umask, like any other tool's.

Analysts share output folders: tables, raw pages, lake files and charts must be readable by
the group or others exactly when the user's umask says so (``-rw-r--r--`` under 022,
``-rw-rw-r--`` under 002, ``-rw-------`` under 077), not always ``-rw-------``.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlreg_frames as mf
from mlreg_frames._files import current_umask, default_mode
from mlreg_frames.cli import main
from mlreg_frames.emulator import ArmEmulator

from .helpers import SAMPLE

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

HAS_PLOTS = bool(importlib.util.find_spec("matplotlib"))


@pytest.fixture(params=[0o022, 0o002, 0o077], ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file()
    }


def test_current_umask_reads_without_changing(umask: int) -> None:
    assert current_umask() == umask
    assert os.umask(umask) == umask  # unchanged by the read


def test_tables_pages_lake_and_charts_follow_the_umask(umask: int, tmp_path: Path) -> None:
    expected = 0o666 & ~umask
    assert default_mode() == expected
    tables = mf.flatten(mf.read_pages(SAMPLE))
    tables.to_parquet(tmp_path / "tables")
    from mlreg_frames.lake.write import append

    append(tables, str(tmp_path / "lake"))
    args = ["--token-env", "T", "--no-progress", "--out", str(tmp_path / "fetched")]
    with ArmEmulator.from_pages(SAMPLE) as arm:
        result = CliRunner().invoke(
            main,
            ["fetch", "--endpoint", arm.endpoint, *args, "--raw", str(tmp_path / "raw")],
            env={"T": "token"},
        )
    assert result.exit_code in (0, 2), result.output
    if HAS_PLOTS:
        from mlreg_frames.plots import save_overview

        save_overview(tables, tmp_path / "charts" / "overview.png", dpi=20)
    modes = _modes(tmp_path)
    assert any(name.startswith("raw/") for name in modes)
    assert any(name.startswith("lake/") for name in modes)
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != expected}
    assert not wrong, f"not {oct(expected)} under umask {umask:03o}: {wrong}"
