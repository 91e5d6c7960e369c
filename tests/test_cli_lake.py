"""``snapshots`` and ``diff`` as a user meets them: damaged tables named without stack frames,
snapshots picked by position or time (and said), rows within 100 columns, JSON values typed."""

from __future__ import annotations

import copy
import json
import shutil
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlreg_frames import flatten, lake
from mlreg_frames.cli import main
from mlreg_frames.synth import generate_fleet

FRAMES = ("<unknown>", "start_thread", "clone3", "pthread_create")


def columns(line: str) -> int:
    """Terminal columns of a line (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A lake of three snapshots: a registry made private, one retagged, a region dropped."""
    root = tmp_path_factory.mktemp("lake") / "lake"
    fleet = generate_fleet(15, 3, seed=4)
    later = copy.deepcopy(fleet[1:])
    later[0]["properties"]["publicNetworkAccess"] = "Disabled"
    later[1]["tags"] = {"owner": "ana", "cost-centre": "a-rather-long-cost-centre-name-" * 4}
    later[2]["properties"]["regionDetails"].pop()
    ids = [lake.append(flatten(copy.deepcopy(f)), root) for f in (fleet, later, later)]
    return root, ids


def damaged(source: Path, into: Path, table: str) -> Path:
    """A copy of the lake whose ``table`` has a broken last commit file in its Delta log."""
    shutil.copytree(source, into)
    last = sorted((into / table / "_delta_log").glob("*.json"))[-1]
    last.write_text("{garbage\n")
    return into


def run(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("command", ["snapshots", "diff", "vacuum"])
def test_a_damaged_ledger_is_one_line_without_stack_frames(three, tmp_path, command) -> None:
    root = damaged(three[0], tmp_path / "bad", "snapshots")
    shown = run(command, root)
    assert shown.exit_code == 1
    lines = shown.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), shown.output
    assert "table snapshots" in lines[0] and "Json error" in lines[0]
    assert "Delta log" in lines[0]  # says what is wrong, not "check the credentials"
    assert not any(frame in shown.output for frame in FRAMES), shown.output
    debug = run(command, root, "--debug")
    assert "Traceback" in debug.stderr and "DeltaError" in debug.stderr


def test_snapshots_names_an_unreadable_table(three, tmp_path) -> None:
    root = damaged(three[0], tmp_path / "bad", "registries")
    shown = run("snapshots", root)
    assert shown.exit_code == 0
    assert all(sid in shown.stdout for sid in three[1])
    warning = shown.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: table registries "), warning
    assert "unreadable" in warning[0] and "Json error" in warning[0]
    assert not any(frame in shown.stderr for frame in FRAMES)
    assert lake.unreadable_tables(three[0]) == {}
    assert list(lake.unreadable_tables(root)) == ["registries"]


def test_diff_takes_positions(three) -> None:
    root, ids = three
    default = run("diff", root)
    assert run("diff", root, "--from", "-2", "--to", "-1").stdout == default.stdout
    first = run("diff", root, "--from", "-3", "--to", "-2")
    assert first.exit_code == 0 and f"from {ids[0]} to {ids[1]}" in first.stdout
    beyond = run("diff", root, "--from", "-4")
    assert beyond.exit_code == 1 and "position -4" in beyond.output and "holds 3" in beyond.output


def test_diff_from_all_is_refused_without_offering_it(three) -> None:
    shown = run("diff", three[0], "--from", "all")
    assert shown.exit_code == 2
    assert "'--from'" in shown.output and "not 'all'" in shown.output
    assert "or 'all'" not in shown.output


def test_a_time_picks_the_snapshot_as_of_then_and_says_which(three) -> None:
    root, ids = three
    second, third = (lake.parse_snapshot_id(sid) for sid in ids[1:])
    between = (second + (third - second) / 2).isoformat()  # after the second, before the third
    shown = run("diff", root, "--from", between, "--to", "-1")
    assert shown.exit_code == 0, shown.output
    assert f"--from {between}: snapshot {ids[1]}, the last one as of then" in shown.stdout
    assert f"from {ids[1]} to {ids[2]}" in shown.stdout
    before = run("diff", root, "--from", "2001-01-01")
    assert before.exit_code == 1 and "no snapshot as of 2001-01-01" in before.output
    assert ids[0] in before.output
    assert lake.read(root, between).provenance["snapshot"] == ids[1]


def test_diff_rows_fit_100_columns_unless_wide(three) -> None:
    root, _ = three
    shown = run("diff", root, "--from", "-3", "--to", "-2")
    assert shown.exit_code == 0
    assert max(columns(line) for line in shown.stdout.splitlines()) <= 100, shown.stdout
    assert "public_network_access" in shown.stdout  # field names stay whole
    assert "--wide" in shown.stdout
    wide = run("diff", root, "--from", "-3", "--to", "-2", "--wide")
    assert max(columns(line) for line in wide.stdout.splitlines()) > 100
    assert "a-rather-long-cost-centre-name-" * 4 in wide.stdout


def test_added_and_removed_rows_keep_json_types(three) -> None:
    root, _ = three
    changes = lake.diff_snapshots(root, -3, -2)
    regions = changes[(changes["table"] == "regions") & (changes["change"] == "removed")]
    assert len(regions) == 1
    row = json.loads(regions["before"].iloc[0])
    assert row["is_primary"] is False
    shown = run("diff", root, "--from", "-3", "--to", "-2", "--wide")
    assert '"is_primary": false' in shown.stdout and '"is_primary": "false"' not in shown.stdout


def test_snapshots_json_times_keep_microseconds_and_counts_are_singular(three, tmp_path) -> None:
    root, ids = three
    records = json.loads(run("snapshots", root, "--json").stdout)
    assert [r["snapshot"] for r in records] == ids
    for record in records:
        stamp = lake.parse_snapshot_id(record["snapshot"])
        assert record["snapshot_at"] == stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    one = tmp_path / "one"
    lake.append(flatten(generate_fleet(2, 1, seed=1)), one)
    assert "\n1 snapshot; rows per table" in run("snapshots", one).stdout
