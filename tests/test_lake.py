"""The snapshot lake on local folders and memory://: layout, atomicity, crashes, readers."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from mlreg_frames import LakeError, flatten, lake, schema
from mlreg_frames.cli import main
from mlreg_frames.synth import generate_fleet
from mlreg_frames.tables import RegistryTables, from_arrow

REPO = Path(__file__).resolve().parent.parent


def fleet_tables(seed: int, n: int = 12) -> RegistryTables:
    return flatten(generate_fleet(n, 2, seed=seed), provenance={"source": f"seed {seed}"})


@pytest.fixture(scope="module")
def two_runs() -> tuple[RegistryTables, RegistryTables]:
    fleet = generate_fleet(15, 3, seed=4)
    later = copy.deepcopy(fleet[1:])
    later[0]["properties"]["publicNetworkAccess"] = "Disabled"
    later[1]["tags"] = {"owner": "ana"}
    return flatten(copy.deepcopy(fleet)), flatten(later)


def test_layout_and_round_trip(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    first = lake.append(old, root, "2025-06-01T12:00:00Z")
    second = lake.append(new, root, "2025-06-02T12:00:00+00:00")
    assert (first, second) == ("2025-06-01T120000.000000Z", "2025-06-02T120000.000000Z")

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    parts = [f for f in files if not f.startswith("_snapshots/")]
    assert [f for f in files if f.startswith("_snapshots/")] == [
        f"_snapshots/{first}.json",
        f"_snapshots/{second}.json",
    ]
    assert len(parts) == 2 * 8
    for part in parts:
        table, partition, name = part.split("/")
        assert table in old.counts() and partition in (f"snapshot={first}", f"snapshot={second}")
        assert name.startswith("part-") and name.endswith(".parquet")
    assert not list((root / "_staging").iterdir())

    assert lake.read(root, first) == old
    assert lake.read(root) == new
    assert lake.read(root, "latest").provenance["snapshot"] == second
    assert lake.read(root, "2025-06-01") == old  # a unique prefix
    assert lake.read(root, -2) == old
    assert lake.read(root, pd.Timestamp("2025-06-02 14:00", tz="Europe/Paris")) == new

    marker = json.loads((root / "_snapshots" / f"{first}.json").read_text())
    assert marker["snapshot"] == first
    assert marker["tables"]["registries"]["rows"] == len(old.registries)
    part = root / marker["tables"]["registries"]["files"][0]
    assert from_arrow("registries", pq.read_table(part)).equals(old.registries)


def test_read_all_snapshots_adds_a_snapshot_column(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    ids = [lake.append(old, root), lake.append(new, root)]
    history = lake.read(root, "all")
    assert isinstance(history, RegistryTables) and history.stacked
    history.validate()  # keys include the snapshot; child rows join within their snapshot
    assert history.snapshot_ids == tuple(ids)
    assert list(history.registries.columns) == ["snapshot", *old.registries.columns]
    assert history.registries["snapshot"].value_counts().to_dict() == {
        ids[0]: len(old.registries),
        ids[1]: len(new.registries),
    }
    assert history.at(ids[0]) == old and history.at(ids[1]) == new
    assert history.counts_by_snapshot().loc[ids[1], "tags"] == len(new.tags)
    assert lake.read(root, [ids[1]]).snapshot_ids == (ids[1],)


def test_snapshots_lists_rows_and_failed_scopes(tmp_path, two_runs):
    old, _ = two_runs
    errors = pd.DataFrame(
        {"scope": ["/subscriptions/a", "/subscriptions/b"], "outcome": ["failed", "skipped"]}
    )
    with_errors = RegistryTables.from_frames(
        {**dict(old.items()), "fetch_errors": errors}, allow_missing=True
    )
    root = tmp_path / "lake"
    assert lake.snapshots(root).empty
    sid = lake.append(with_errors, root)
    listed = lake.snapshots(root)
    row = listed.iloc[0]
    assert row["snapshot"] == sid and row["snapshot_at"] == lake.parse_snapshot_id(sid)
    assert (row["failed_scopes"], row["skipped_scopes"], row["fetch_errors"]) == (1, 1, 2)
    assert row["registries"] == len(old.registries)
    assert str(listed["snapshot_at"].dtype) == "datetime64[us, UTC]"
    assert lake.read(root).fetch_errors["scope"].tolist() == [
        "/subscriptions/a",
        "/subscriptions/b",
    ]


def test_snapshot_ids_never_collide(tmp_path, two_runs, monkeypatch):
    old, _ = two_runs
    root = tmp_path / "lake"
    taken = lake.append(old, root, "2025-06-01T00:00:00Z")
    with pytest.raises(LakeError, match="already exists") as err:
        lake.append(old, root, "2025-06-01T00:00:00Z")
    assert err.value.snapshot == taken
    # the clock says the same microsecond: the automatic id moves on by one
    monkeypatch.setattr(lake.write, "_now", lambda: lake.parse_snapshot_id(taken))
    assert lake.append(old, root) == "2025-06-01T000000.000001Z"
    assert lake.vacuum(root, older_than=timedelta(0), dry_run=True) == []


def test_an_older_schema_reads_with_nulls_and_a_newer_column_is_ignored(tmp_path, two_runs):
    old, _ = two_runs
    root = tmp_path / "lake"
    sid = lake.append(old, root)
    marker = json.loads((root / "_snapshots" / f"{sid}.json").read_text())
    registries = root / marker["tables"]["registries"]["files"][0]
    written = pq.read_table(registries)
    older = written.drop_columns(["region_count", "sku_capacity"])
    pq.write_table(older.append_column("from_the_future", older.column("name")), registries)

    back = lake.read(root)
    assert back.registries["region_count"].isna().all()
    assert back.registries["sku_capacity"].isna().all()
    assert "from_the_future" not in back.registries
    same = ["registry_id", "name", "public_network_access"]
    assert back.registries[same].equals(old.registries[same])
    back.validate()


def test_a_newer_lake_format_is_refused(tmp_path, two_runs):
    root = tmp_path / "lake"
    sid = lake.append(two_runs[0], root)
    marker_path = root / "_snapshots" / f"{sid}.json"
    marker = json.loads(marker_path.read_text())
    marker_path.write_text(json.dumps({**marker, "format": 99}))
    with pytest.raises(LakeError, match="newer mlreg_frames"):
        lake.read(root)


@pytest.mark.parametrize(
    ("selector", "message"),
    [("latest", "no committed snapshot"), ("1999-01-01", "no single snapshot")],
)
def test_read_errors_say_what_to_do(tmp_path, two_runs, selector, message):
    root = tmp_path / "lake"
    if selector != "latest":
        lake.append(two_runs[0], root)
    with pytest.raises(LakeError, match=message):
        lake.read(root, selector)


def test_a_failed_append_is_a_lake_error_and_leaves_no_files(tmp_path, two_runs):
    root = tmp_path / "lake"
    root.mkdir()
    (root / "tags").write_text("a file where the tags folder should be")
    with pytest.raises(LakeError, match="writing the snapshot failed") as err:
        lake.append(two_runs[0], root)
    assert err.value.snapshot and err.value.root == str(root)
    assert lake.snapshots(root).empty
    assert not [p for p in root.rglob("*") if p.is_file() and p.name != "tags"]


def test_a_missing_part_and_an_unknown_url_are_lake_errors(tmp_path, two_runs):
    root = tmp_path / "lake"
    sid = lake.append(two_runs[0], root)
    next((root / "acr" / f"snapshot={sid}").glob("*.parquet")).write_bytes(b"PAR1 torn")
    with pytest.raises(LakeError, match="not readable Parquet"):
        lake.read(root)
    next((root / "tags" / f"snapshot={sid}").glob("*.parquet")).unlink()
    with pytest.raises(LakeError, match=f"is gone.*_snapshots/{sid}.json"):
        lake.read(root)
    with pytest.raises(LakeError, match="cannot open lake"):
        lake.read("nosuchprotocol://bucket/lake")


def test_memory_filesystem_round_trip(two_runs):
    old, new = two_runs
    root = f"memory://mlreg-test-{uuid.uuid4().hex}/lake"
    first = lake.append(old, root)
    lake.append(new, root)
    assert lake.read(root, first) == old and lake.read(root) == new
    assert len(lake.snapshots(root)) == 2
    assert lake.diff_snapshots(root)["change"].isin(["changed", "removed", "added"]).all()
    assert lake.vacuum(root, older_than=timedelta(0)) == []


def _duckdb_frames(query: str, table: str) -> pd.DataFrame:
    duckdb = pytest.importorskip("duckdb")
    arrow = duckdb.sql(query).to_arrow_table()
    snapshot = arrow.column("snapshot").to_pylist()
    frame = from_arrow(table, arrow.drop_columns(["snapshot"]))
    # the declared dtype, not "string" (pandas 2 reads that as python-backed storage)
    frame.insert(0, "snapshot", pd.Series(snapshot, dtype=schema.pandas_dtype("string")))
    return frame


def test_duckdb_reads_the_same_rows(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    lake.append(old, root)
    lake.append(new, root)
    # an uncommitted partition (a writer killed between rename and commit)
    committed_part = next((root / "registries").glob("snapshot=*/*.parquet"))
    orphan = root / "registries" / "snapshot=2099-01-01T000000.000000Z"
    orphan.mkdir()
    orphan.joinpath(committed_part.name).write_bytes(committed_part.read_bytes())

    history = lake.read(root, "all")
    for table, ours in history.items(include_errors=True):
        glob = (root / table).as_posix() + "/*/*.parquet"
        committed = (root / "_snapshots").as_posix() + "/*.json"
        query = (
            f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            f" WHERE snapshot IN (SELECT snapshot FROM read_json_auto('{committed}'))"
        )
        theirs = _duckdb_frames(query, table)
        keys = ["snapshot", *schema.ALL_TABLES[table].key]
        pd.testing.assert_frame_equal(
            theirs.sort_values(keys).reset_index(drop=True),
            ours.sort_values(keys).reset_index(drop=True),
        )
    # the plain glob sees the orphan until vacuum clears it
    everything = (root / "registries").as_posix() + "/*/*.parquet"
    plain = f"SELECT * FROM read_parquet('{everything}', hive_partitioning = true)"
    assert len(_duckdb_frames(plain, "registries")) > len(history.registries)
    assert lake.vacuum(root) == ["registries/snapshot=2099-01-01T000000.000000Z"]
    assert len(_duckdb_frames(plain, "registries")) == len(history.registries)


# A writer process the tests can kill at a chosen point of an append.
WRITER = r"""
import json, sys, time
from pathlib import Path
from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.lake import store as lakestore
from mlreg_frames.synth import generate_fleet

job = json.loads(sys.argv[1])
signal_file = Path(job["signal"]) if job.get("signal") else None

def stop_here():
    signal_file.touch()
    time.sleep(600)

if job.get("pause") == "parts":          # one part file written, the others not yet
    write_many = lakestore.LakeStore.write_many
    def first_only(self, files):
        write_many(self, dict([next(iter(files.items()))]))
        stop_here()
    lakestore.LakeStore.write_many = first_only
elif job.get("pause") == "rename":       # one table's partition moved into place
    rename = lakestore.LakeStore.rename_dir
    def rename_one(self, src, dst):
        rename(self, src, dst)
        stop_here()
    lakestore.LakeStore.rename_dir = rename_one
elif job.get("pause") == "commit":       # every part in place, no commit marker yet
    lake.write._commit = lambda *args: stop_here()

if job.get("ready"):
    Path(job["ready"]).touch()
if job.get("go"):
    while not Path(job["go"]).exists():
        time.sleep(0.01)
results = []
for seed, when in job["appends"]:
    tables = flatten(generate_fleet(12, 2, seed=seed), provenance={"source": f"seed {seed}"})
    try:
        sid = lake.append(tables, job["root"], when, storage_options=job.get("storage_options"))
        results.append([seed, sid])
    except LakeError as exc:
        results.append([seed, "LakeError: " + str(exc)])
print(json.dumps(results))
"""


def start_writer(job: dict) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, json.dumps(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"writer exited early: {process.communicate()}")
        assert time.monotonic() < deadline, "writer never reached the pause point"
        time.sleep(0.02)


@pytest.mark.parametrize("pause", ["parts", "rename", "commit"])
def test_a_writer_killed_mid_append_leaves_the_lake_intact(tmp_path, pause):
    root = tmp_path / "lake"
    before = fleet_tables(1)
    kept = lake.append(before, root)
    signal_file = tmp_path / "paused"
    process = start_writer(
        {"root": str(root), "appends": [[2, None]], "pause": pause, "signal": str(signal_file)}
    )
    try:
        wait_for(signal_file, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    assert lake.snapshots(root)["snapshot"].tolist() == [kept]
    assert lake.read(root) == before
    assert lake.read(root, "all").snapshot_ids == (kept,)
    leftovers = lake.vacuum(root, older_than=timedelta(0))
    assert any(p.endswith(".lock") for p in leftovers)
    if pause != "parts":  # parts staged, or moved into place, before the kill
        assert len(leftovers) > 1
    assert sorted(p.name for p in (root / "registries").iterdir()) == [f"snapshot={kept}"]
    after = fleet_tables(3)
    assert lake.read(root, lake.append(after, root)) == after
    assert lake.read(root, kept) == before


def test_two_writer_processes_at_once(tmp_path):
    root = tmp_path / "lake"
    go = tmp_path / "go"
    same = "2030-01-01T00:00:00Z"
    jobs = [
        {
            "root": str(root),
            "go": str(go),
            "ready": str(tmp_path / f"ready{first}"),
            "appends": [[first, None], [first + 1, None], [first + 2, same]],
        }
        for first in (10, 20)
    ]
    processes = [start_writer(job) for job in jobs]
    for job, process in zip(jobs, processes, strict=True):
        wait_for(Path(job["ready"]), process)
    go.touch()  # both are past their imports: the appends overlap
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results += json.loads(out)
    written = {sid: seed for seed, sid in results if not sid.startswith("LakeError")}
    refused = [sid for _, sid in results if sid.startswith("LakeError")]
    assert len(written) == 5 and len(refused) == 1 and "already exists" in refused[0]
    assert lake.snapshot_id(same) in written
    assert lake.snapshots(root)["snapshot"].tolist() == sorted(written)
    for sid, seed in written.items():
        assert lake.read(root, sid) == fleet_tables(seed)
    assert lake.vacuum(root, older_than=timedelta(0), dry_run=True) == []


def test_cli_snapshots_diff_and_vacuum(tmp_path, two_runs):
    old, new = two_runs
    root = tmp_path / "lake"
    runner = CliRunner()
    empty = runner.invoke(main, ["diff", str(root)])
    assert empty.exit_code == 1 and "no committed snapshot" in empty.output
    assert "Traceback" not in empty.output

    first = lake.append(old, root)
    second = lake.append(new, root)
    listed = runner.invoke(main, ["snapshots", str(root)])
    assert listed.exit_code == 0 and first in listed.output and second in listed.output
    as_json = json.loads(runner.invoke(main, ["snapshots", str(root), "--json"]).output)
    assert [r["snapshot"] for r in as_json] == [first, second]

    out = tmp_path / "changes.csv"
    shown = runner.invoke(main, ["diff", str(root), "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert f"from {first} to {second}" in shown.output
    assert "public_network_access" in shown.output
    written = pd.read_csv(out)
    assert len(written) == len(lake.diff_snapshots(root))
    parquet = tmp_path / "changes.parquet"
    assert (
        runner.invoke(
            main, ["diff", str(root), "--from", first, "--to", first[:10], "--out", str(parquet)]
        ).exit_code
        == 1
    )  # ambiguous prefix
    same = runner.invoke(
        main, ["diff", str(root), "--from", first, "--to", first, "--out", str(parquet)]
    )
    assert "no changes" in same.output and pd.read_parquet(parquet).empty
    bad = runner.invoke(main, ["diff", str(root), "--out", str(tmp_path / "x.txt")])
    assert bad.exit_code == 2
    out.with_suffix(".blocker").touch()  # --out in a folder that cannot be made
    blocked = runner.invoke(
        main, ["diff", str(root), "--out", str(tmp_path / "changes.blocker/c.csv")]
    )
    assert blocked.exit_code == 1 and "cannot write" in blocked.output
    assert "Traceback" not in blocked.output

    vacuumed = runner.invoke(main, ["vacuum", str(root), "--dry-run"])
    assert vacuumed.exit_code == 0 and "would remove 0 paths" in vacuumed.output
    opts = runner.invoke(main, ["snapshots", str(root), "-o", "novalue"])
    assert opts.exit_code == 2 and "KEY=VALUE" in opts.output
