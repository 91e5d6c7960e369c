"""``mlreg-frames changes`` against the emulator: 100 columns, newest first, names, the lake."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.cli import main
from mlreg_frames.cli.changes_cmd import changes_text
from mlreg_frames.emulator import ArmEmulator, Fault

from .helpers import SAMPLE

ENV = {"MLREG_TEST_TOKEN": "cli-token"}


@pytest.fixture
def arm() -> Iterator[ArmEmulator]:
    with ArmEmulator(token="cli-token") as emulator:
        yield emulator


def _run(arm: ArmEmulator, *args: str) -> object:
    base = ["changes", "--endpoint", arm.endpoint, "--token-env", "MLREG_TEST_TOKEN"]
    return CliRunner().invoke(main, [*base, *args], env=ENV)


def test_the_default_table_fits_100_columns_newest_first(arm: ArmEmulator) -> None:
    shown = _run(arm)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split()[:4] == ["time", "registry", "change", "property"]
    times = [line[:16] for line in lines[1:-1]]
    assert times == sorted(times, reverse=True) and len(times) > 100
    assert lines[-1].startswith(f"{len(times)} changes in 14 days: {len(times)} Resource Graph")
    assert {"Create", "Update", "Delete"} <= {line.split()[3] for line in lines[1:-1]}
    wide = _run(arm, "--wide")
    assert wide.exit_code == 0 and max(len(x) for x in wide.stdout.splitlines()) > 100
    assert "correlation_id" in wide.stdout.splitlines()[0]


def test_registry_days_and_out(arm: ArmEmulator, tmp_path: Path) -> None:
    name = arm.registries[0]["id"].rsplit("/", 1)[-1]
    out = tmp_path / "changes.parquet"
    shown = _run(arm, "--registry", name, "--days", "20", "--out", str(out))
    assert shown.exit_code == 0, shown.output
    frame = pd.read_parquet(out)
    assert len(frame) and frame["registry_id"].str.endswith("/" + name.lower()).all()
    assert list(frame.columns) == list(schema.CHANGES.column_names)
    assert f"wrote {len(frame)} change rows" in shown.stdout
    recent = _run(arm, "--days", "0.5")
    assert recent.exit_code == 0 and "ago(0.5d)" in arm.graph.queries[-1]["query"]
    assert _run(arm, "--days", "0").exit_code == 2
    assert "--lake" in _run(arm, "--no-graph").output
    assert ".csv" in _run(arm, "--out", str(tmp_path / "x.txt")).output


def test_short_answers_exit_2_and_names_come_from_saved_tables(
    arm: ArmEmulator, tmp_path: Path
) -> None:
    mf.flatten(mf.read_pages(SAMPLE)).to_parquet(tmp_path / "tables")
    shown = _run(arm, "--from", str(tmp_path / "tables"))
    assert shown.exit_code == 0, shown.output
    spelled = set(mf.read_parquet(tmp_path / "tables").registries["name"])
    assert {line[17:33].strip() for line in shown.stdout.splitlines()[1:-1]} & spelled
    arm.add_fault(Fault("truncate", match="resourcegraph", times=1))
    cut = _run(arm)
    assert cut.exit_code == 2 and "truncated" in cut.stderr and "change records" in cut.stderr
    arm.add_fault(Fault("forbidden", match="resourcegraph", times=1))
    failed = _run(arm)  # the one request failed: nothing to show
    assert failed.exit_code == 1 and "403" in failed.output and "Traceback" not in failed.output


def test_the_lake_alone_and_merged(arm: ArmEmulator, tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    from mlreg_frames import lake

    regs = [r for page in mf.read_pages(SAMPLE) for r in page.registries]
    after = copy.deepcopy(regs)
    after[0]["tags"] = {"owner": "team-z"}
    now = datetime.now(timezone.utc)
    lake.append(mf.flatten(regs), tmp_path / "lake", now - timedelta(days=3))
    lake.append(mf.flatten(after), tmp_path / "lake", now - timedelta(days=1))
    alone = CliRunner().invoke(main, ["changes", "--no-graph", "--lake", str(tmp_path / "lake")])
    assert alone.exit_code == 0, alone.output
    lines = alone.stdout.splitlines()
    assert lines[-1].startswith("1 changes in 14 days: 0 Resource Graph, 1 lake")
    assert "(lake)" in lines[1] and after[0]["name"] in lines[1]
    merged = _run(arm, "--lake", str(tmp_path / "lake"))
    assert merged.exit_code == 0 and ", 1 lake" in merged.stdout.splitlines()[-1]
    total = int(merged.stdout.splitlines()[-1].split()[0].replace(",", ""))
    kept = _run(arm, "--lake", str(tmp_path / "lake"), "--keep")
    assert kept.exit_code == 0 and f"kept {total - 1:,} new" in kept.stderr
    again = _run(arm, "--lake", str(tmp_path / "lake"), "--keep")
    assert "kept 0 new" in again.stderr  # once per change id
    assert len(lake.read_stored_changes(tmp_path / "lake")) == total - 1
    assert "--lake" in _run(arm, "--keep").output


def test_changes_text_cuts_every_cell() -> None:
    frame = mf.changes(graph=schema.empty_frame("changes"))
    assert changes_text(frame) == "no changes"
