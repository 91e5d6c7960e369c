"""The Parquet tables of a folder are one set: real writers killed with SIGKILL never leave a mix
that reads as data, a crashed writer's temporary files go with the next write, and every file is
checked to be the table its name says.

The kill tests start real writer processes. Each stops at a chosen point of its write (before
writing table file *k*, or before renaming file *k* into place) and is killed there with
SIGKILL; further trials kill a writer looping over two sets at random moments. More random
trials: ``MLREG_FRAMES_KILL_TRIALS=200 pytest tests/test_parquet_set.py``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.errors import ParquetFileError, ParquetSetError

from .helpers import SAMPLE

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

N = len(schema.ALL_TABLES)

# A writer: copies the sets in argv[2:] (folders) into argv[1] in turn, forever, or once each.
# With MLREG_STOP_AT=k it announces "stopped" and waits to be killed at its k-th step, where
# steps 0..N-1 come before writing table file k and N..2N-1 before renaming file k-N.
WRITER = r"""
import os, sys, time
import pyarrow.parquet as pq
import mlreg_frames as mf

out, sources = sys.argv[1], [mf.read_parquet(p) for p in sys.argv[2:]]
stop_at = int(os.environ.get("MLREG_STOP_AT", "-1"))
loop = os.environ.get("MLREG_LOOP") == "1"
step = 0

def checkpoint():
    global step
    if step == stop_at:
        print("stopped", flush=True)
        time.sleep(120)
    step += 1

real_write, real_replace = pq.write_table, os.replace

def write_table(*args, **kwargs):
    checkpoint()
    return real_write(*args, **kwargs)

def replace(src, dst):
    checkpoint()
    return real_replace(src, dst)

pq.write_table, os.replace = write_table, replace
print("ready", flush=True)
i = 0
while True:
    sources[i % len(sources)].to_parquet(out)
    i += 1
    if not loop and i == len(sources):
        break
print("done", flush=True)
"""


@contextmanager
def _writer(
    out: Path, *sources: Path, stop_at: int = -1, loop: bool = False
) -> Iterator[subprocess.Popen[str]]:
    """A running writer process (``ready`` read); killed and reaped when the block ends."""
    env = {**os.environ, "MLREG_STOP_AT": str(stop_at), "MLREG_LOOP": "1" if loop else "0"}
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out), *map(str, sources)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            yield proc
        finally:
            proc.kill()
            proc.wait(timeout=60)


def _stopped(proc: subprocess.Popen[str]) -> bool:
    assert proc.stdout is not None
    return proc.stdout.readline() == "stopped\n"


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two different table sets, A and B, saved as Parquet folders."""
    root = tmp_path_factory.mktemp("sets")
    pages = sorted(SAMPLE.glob("registries-*.json"))
    folders = {"A": root / "A", "B": root / "B"}
    mf.flatten(mf.read_pages(pages[:2])).to_parquet(folders["A"])
    mf.flatten(mf.read_pages(pages[2:])).to_parquet(folders["B"])
    return folders


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _which(folder: Path, sets: dict[str, Path]) -> str:
    """``A`` or ``B`` when ``folder`` reads as exactly that set; ParquetSetError otherwise."""
    got = mf.read_parquet(folder)
    for name, path in sets.items():
        if got == mf.read_parquet(path):
            return name
    raise AssertionError("the folder reads as tables that are neither set A nor set B")


@pytest.mark.parametrize("stop_at", range(2 * N))
def test_writer_killed_at_each_step(sets: dict[str, Path], tmp_path: Path, stop_at: int) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    with _writer(out, sets["B"], stop_at=stop_at) as proc:
        assert _stopped(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    if stop_at <= N:  # nothing renamed yet: the old set, whole (temporary files beside it)
        assert _which(out, sets) == "A"
        assert len(_temps(out)) == min(stop_at + 1, N)  # each made before its write
    else:  # killed between two renames: refused as incomplete, never read as a mix
        with pytest.raises(ParquetSetError, match=r"incomplete set.*write the tables again"):
            mf.read_parquet(out)
    # the next write repairs the set and removes the crashed writer's temporary files
    mf.read_parquet(sets["B"]).to_parquet(out)
    assert _temps(out) == []
    assert _which(out, sets) == "B"


def test_writers_killed_at_random_moments(sets: dict[str, Path], tmp_path: Path) -> None:
    trials = int(os.environ.get("MLREG_FRAMES_KILL_TRIALS", "8"))
    rng = random.Random(9)
    seen: dict[str, int] = {"A": 0, "B": 0, "incomplete": 0}
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    for _ in range(trials):
        with _writer(out, sets["A"], sets["B"], loop=True) as proc:
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        try:
            seen[_which(out, sets)] += 1
        except ParquetSetError:
            seen["incomplete"] += 1
    print("outcomes of the random kills:", seen)
    assert sum(seen.values()) == trials
    mf.read_parquet(sets["B"]).to_parquet(out)
    assert _temps(out) == [] and _which(out, sets) == "B"


def test_a_reader_waits_for_a_live_writer(sets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    with _writer(out, sets["B"], stop_at=N + 3) as proc:  # paused after 3 of 8 renames
        assert _stopped(proc)
        # the writer holds the folder's lock: a reader blocks rather than read a mix; once the
        # writer is gone (killed), the lock is free and the reader says the set is incomplete
        started = time.monotonic()
        killer = subprocess.Popen(
            [sys.executable, "-c", f"import os,time; time.sleep(1); os.kill({proc.pid}, 9)"]
        )
        with pytest.raises(ParquetSetError):
            mf.read_parquet(out)
        assert time.monotonic() - started >= 0.9
        killer.wait(timeout=60)


def test_a_table_copied_over_another_is_refused(sets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    (out / "storage.parquet").write_bytes((out / "acr.parquet").read_bytes())
    with pytest.raises(ParquetFileError, match=r"storage\.parquet holds table 'acr'"):
        mf.read_parquet(out)


@pytest.mark.parametrize("keep", [0, 4, 100, -8, -1])
def test_a_truncated_file_is_a_project_error(
    sets: dict[str, Path], tmp_path: Path, keep: int
) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    data = (out / "registries.parquet").read_bytes()
    (out / "registries.parquet").write_bytes(data[:keep])
    with pytest.raises(ParquetFileError, match=r"registries\.parquet is not a readable Parquet"):
        mf.read_parquet(out)


def test_a_column_of_another_type_is_refused(sets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    arrow = pq.read_table(out / "registries.parquet")
    index = arrow.column_names.index("region_count")
    arrow = arrow.set_column(index, "region_count", arrow["region_count"].cast("string"))
    pq.write_table(arrow, out / "registries.parquet")
    with pytest.raises(ParquetFileError, match="column 'region_count' is string"):
        mf.read_parquet(out)


def test_a_foreign_parquet_file_is_refused(tmp_path: Path) -> None:
    mf.flatten([]).to_parquet(tmp_path)
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "tags.parquet")
    with pytest.raises(ParquetFileError, match=r"tags\.parquet is not a tags table"):
        mf.read_parquet(tmp_path)


def test_a_missing_member_of_a_set_is_refused(sets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    mf.read_parquet(sets["A"]).to_parquet(out)
    (out / "identities.parquet").unlink()
    with pytest.raises(ParquetSetError, match="identities missing"):
        mf.read_parquet(out)


def test_files_from_before_sets_still_read(sets: dict[str, Path], tmp_path: Path) -> None:
    """Folders written before set ids existed read as before (missing tables read empty)."""
    tables = mf.read_parquet(sets["A"])
    out = tmp_path / "out"
    out.mkdir()
    from mlreg_frames.tables import to_arrow, write_table_atomic

    for name, frame in tables.items():  # no fetch_errors file, no set in the metadata
        write_table_atomic(to_arrow(name, frame, tables.provenance), out / f"{name}.parquet")
    assert mf.read_parquet(out) == tables
