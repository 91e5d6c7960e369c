"""Flatten's worker processes (mlreg_frames.flatten.pool): same output as one process, taken
in threaded processes, errors and dead workers reported."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlreg_frames as mf
from mlreg_frames.flatten import engine, pool

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def _fleet_pages(folder: Path, n: int = 90, page_size: int = 7) -> None:
    from mlreg_frames import synth

    fleet = synth.generate_fleet(n, 4, seed=5)
    pages = synth.paginate(fleet, page_size)
    pages.append({"value": [dict(reg, location="moved") for reg in fleet[:3]]})  # last wins
    for i, page in enumerate(pages):
        (folder / f"p{i:04d}.json").write_text(json.dumps(page), encoding="utf-8")


@pytest.fixture
def every_run_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small runs, none walked by the caller: every run goes through a worker process."""
    monkeypatch.setattr(engine, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(pool, "PARENT_WALKS", False)


@pytest.mark.parametrize("source", ["sample", "generated"])
def test_workers_give_what_one_process_gives(
    tmp_path: Path,
    every_run_in_a_worker: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    source: str,
) -> None:
    if source == "sample":
        folder = SAMPLE
        monkeypatch.setattr(engine, "CHUNK_BYTES", 1)  # one run per page file
    else:
        folder = tmp_path
        _fleet_pages(folder)
    one = mf.flatten(mf.read_pages(folder), workers=1)
    with caplog.at_level(logging.DEBUG, logger=pool.__name__):
        many = mf.flatten(mf.read_pages(folder), workers=2).validate()
    assert many == one
    assert many.provenance == one.provenance
    (message,) = [r.getMessage() for r in caplog.records if r.name == pool.__name__]
    runs = int(message.split()[1])
    assert runs > 1 and f"({runs} runs by 2 workers)" in message, message
    if source == "generated":
        assert many.registries["location"].tail(3).tolist() == ["moved"] * 3


def test_worker_errors_name_page_registry_and_field(
    tmp_path: Path, every_run_in_a_worker: None
) -> None:
    _fleet_pages(tmp_path, 30, 5)
    rid = (
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/registries/x"
    )
    bad = {"value": [{"id": rid, "properties": {"regionDetails": {"not": "a list"}}}]}
    (tmp_path / "p0003.json").write_text(json.dumps(bad))
    with pytest.raises(mf.FlattenError) as one:
        mf.flatten(mf.read_pages(tmp_path), workers=1)
    with pytest.raises(mf.FlattenError) as many:
        mf.flatten(mf.read_pages(tmp_path), workers=2)
    assert (many.value.page, many.value.registry, many.value.field) == (
        "p0003.json",
        rid,
        one.value.field,
    )
    assert "regionDetails" in many.value.field
    assert str(many.value) == str(one.value)


def test_a_killed_worker_is_an_error_not_a_hang(
    tmp_path: Path, every_run_in_a_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fleet_pages(tmp_path, 30, 5)
    started: list[subprocess.Popen[str]] = []
    real_start = pool._start_worker

    def start(stderr):
        proc = real_start(stderr)
        started.append(proc)
        return proc

    def kill_when_asked(self, proc, stderr_path):  # a real worker, killed before its first job
        proc.kill()
        return real_feed(self, proc, stderr_path)

    real_feed = pool._Run.feed
    monkeypatch.setattr(pool, "_start_worker", start)
    monkeypatch.setattr(pool._Run, "feed", kill_when_asked)
    begin = time.monotonic()
    with pytest.raises(mf.FlattenError, match="killed by signal 9") as info:
        mf.flatten(mf.read_pages(tmp_path), workers=2)
    assert time.monotonic() - begin < 30
    assert info.value.page is not None and info.value.page.startswith("p")
    assert "workers=1" in str(info.value)
    assert started and all(proc.poll() is not None for proc in started)


THREADED_SCRIPT = r"""
import json, logging, os, sys, threading, time
import pandas  # first, as a user's script does: numpy's and Arrow's threads are up
print("main ran")  # printed once: the workers never re-import this script (no main guard)
import mlreg_frames as mf
from mlreg_frames.flatten import engine, pool

threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
engine.PARALLEL_MIN_BYTES = 0
engine.CHUNK_BYTES = 20_000
threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0
one = mf.flatten(mf.read_pages(sys.argv[1]), workers=1)
default = mf.flatten(mf.read_pages(sys.argv[1]))  # workers=None: the cores
pool.PARENT_WALKS = False
only_workers = mf.flatten(mf.read_pages(sys.argv[1]))
print(json.dumps({"same": default == one and only_workers == one, "threads": threads}))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the default uses one process per core")
def test_the_worker_path_is_taken_in_a_threaded_process(tmp_path: Path) -> None:
    _fleet_pages(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", THREADED_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count("main ran") == 1, done.stdout
    result = json.loads(lines[-1])
    assert result["same"], result
    if sys.platform == "linux":
        assert result["threads"] > 1, result  # the old fork path would have stayed serial
    logged = [line for line in done.stderr.splitlines() if "runs of page files" in line]
    assert len(logged) == 2, done.stderr
    processes = min(os.cpu_count() or 1, 8)
    assert f"in {processes} processes" in logged[0], logged
    runs = int(logged[1].split("flattened ")[1].split()[0])
    assert f"({runs} runs by {processes} workers)" in logged[1], logged


def test_no_worker_can_start_so_the_caller_walks_everything(
    tmp_path: Path, every_run_in_a_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fleet_pages(tmp_path, 30, 5)

    def cannot_start(stderr):
        raise FileNotFoundError("no interpreter")

    monkeypatch.setattr(pool, "_start_worker", cannot_start)
    assert mf.flatten(mf.read_pages(tmp_path), workers=2) == mf.flatten(
        mf.read_pages(tmp_path), workers=1
    )
