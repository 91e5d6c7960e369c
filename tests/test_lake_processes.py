"""The lake with real processes: writers killed with SIGKILL, two writers at once, fork safety.

deltalake's Rust runtime does not survive ``fork`` (a forked child that calls it panics), so
every writer here is a fresh interpreter, and flatten's worker processes are checked in a
process that has already used the lake.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mlreg_frames import flatten, lake, schema
from mlreg_frames.synth import generate_fleet

deltalake = pytest.importorskip(
    "deltalake", reason="the lake needs `pip install 'mlreg-frames[lake]'`"
)

REPO = Path(__file__).resolve().parent.parent

# A writer process the tests can kill at a chosen point of an append.
WRITER = r"""
import json, sys, time
from pathlib import Path
from mlreg_frames import LakeError, flatten, lake
from mlreg_frames.lake import write
from mlreg_frames.synth import generate_fleet

job = json.loads(sys.argv[1])

def stop_here():
    Path(job["signal"]).touch()
    time.sleep(600)

pause = job.get("pause")
if pause == "claimed":                  # the id is claimed, no table written
    claim = write._claim
    def claim_then_stop(*args, **kwargs):
        claim(*args, **kwargs)
        stop_here()
    write._claim = claim_then_stop
elif pause == "tables":                 # three of the eight tables written
    write_table, done = write._write_table, []
    def three_then_stop(store, name, arrow, sid):
        if len(done) == 3:
            stop_here()
        write_table(store, name, arrow, sid)
        done.append(name)
    write._write_table = three_then_stop
elif pause == "commit":                 # every table written, no committed row yet
    write._commit = lambda *args: stop_here()

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


def fleet_tables(seed: int):
    return flatten(generate_fleet(12, 2, seed=seed), provenance={"source": f"seed {seed}"})


def start_writer(job: dict) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, json.dumps(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"writer exited early: {process.communicate()}")
        assert time.monotonic() < deadline, "writer never reached the pause point"
        time.sleep(0.02)


def kill_at(pause: str, root: str, tmp_path: Path, options: dict | None = None) -> None:
    """Run one append in a fresh interpreter and SIGKILL it at ``pause``."""
    signal_file = tmp_path / f"paused-{pause}"
    process = start_writer(
        {
            "root": root,
            "appends": [[2, None]],
            "pause": pause,
            "signal": str(signal_file),
            "storage_options": options,
        }
    )
    try:
        wait_for(signal_file, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("pause", ["claimed", "tables", "commit"])
def test_a_writer_killed_mid_append_leaves_the_lake_intact(tmp_path, pause):
    root = tmp_path / "lake"
    before = fleet_tables(1)
    kept = lake.append(before, root)
    kill_at(pause, str(root), tmp_path)

    for name in (*schema.ALL_TABLES, lake.LEDGER):  # every table still opens
        deltalake.DeltaTable(str(root / name)).to_pyarrow_table()
    assert lake.snapshots(root)["snapshot"].tolist() == [kept]
    assert lake.read(root) == before
    assert lake.read(root, "all").snapshot_ids == (kept,)
    raw = deltalake.DeltaTable(str(root / "registries")).to_pyarrow_table().num_rows
    assert raw == len(before.registries) + (0 if pause == "claimed" else 12)

    crashed = lake.repair(root, older_than=timedelta(0))
    assert len(crashed) == 1 and crashed[0] != kept
    for name in schema.ALL_TABLES:  # raw readers are clean again
        rows = deltalake.DeltaTable(str(root / name)).to_pyarrow_table()
        assert set(rows.column("snapshot").to_pylist()) <= {kept}
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
    go.touch()  # both are past their imports: the appends overlap, creating the tables too
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results += json.loads(out)
    written = {sid: seed for seed, sid in results if not sid.startswith("LakeError")}
    refused = [sid for _, sid in results if sid.startswith("LakeError")]
    assert len(written) == 5 and len(refused) == 1 and "already exists" in refused[0]
    assert lake.snapshot_id(same) in written
    assert lake.snapshots(root)["snapshot"].tolist() == sorted(written)
    for sid, seed in written.items():
        assert lake.read(root, sid) == fleet_tables(seed)
    assert lake.repair(root, older_than=timedelta(0), dry_run=True) == []


FORK_AFTER_LAKE = r"""
import json, sys
from pathlib import Path
import mlreg_frames as mf
from mlreg_frames import lake
from mlreg_frames.flatten import engine, pool
from mlreg_frames.synth import generate_fleet, paginate

root, pages = Path(sys.argv[1]), Path(sys.argv[2])
fleet = generate_fleet(60, 3, seed=9)
for i, page in enumerate(paginate(fleet, 7)):
    (pages / f"p{i:04d}.json").write_text(json.dumps(page))
one = mf.flatten(mf.read_pages(pages), workers=1)
sid = lake.append(one, root)            # the Rust runtime is up in this process now
assert lake.read(root, sid) == one
# the runtime's native threads make a fork unsafe: workers are fresh interpreters
engine.PARALLEL_MIN_BYTES = 0
engine.CHUNK_BYTES = 20_000
pool.PARENT_WALKS = False                 # every run in a worker process
many = mf.flatten(mf.read_pages(pages), workers=None)
two = mf.flatten(mf.read_pages(pages), workers=2)
print(json.dumps({"same": many == one and two == one, "n": len(many.registries)}))
"""


def test_flatten_workers_still_work_after_the_lake_was_used(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", FORK_AFTER_LAKE, str(tmp_path / "lake"), str(pages)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["same"] and result["n"] == 60, result
