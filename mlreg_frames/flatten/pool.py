"""Walk runs of page files in worker processes beside the calling one.

Workers are fresh interpreters (``python -m mlreg_frames.flatten.worker``, see
:mod:`.worker`), started with :mod:`subprocess`: nothing forks the caller, which may run
threads (numpy's and Arrow's pools, delta-rs' runtime, a Jupyter kernel), and nothing
re-imports its ``__main__``, so a script without a main guard and a notebook both work.

The calling process walks runs too: a worker takes about a second to import pandas and
pyarrow, and meanwhile the caller has already walked the first runs. Runs are handed out in
input order, one at a time, to whoever is free; the results are put back in order, so the
merge sees exactly what one process would have produced.

A worker's error comes back whole (a :class:`~mlreg_frames.errors.FlattenError` names page,
registry and field); a worker that dies (killed, out of memory) is reported as a
:class:`~mlreg_frames.errors.FlattenError` naming the pages it held, never waited on.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .. import schema
from ..errors import FlattenError
from ..pages import Page

__all__ = ["PARENT_WALKS", "can_start_workers", "run", "table_file"]

log = logging.getLogger(__name__)

PARENT_WALKS = True
"""Whether the calling process walks runs itself while its workers start and work."""

_Result = tuple[dict[str, pa.Table], int, set[str], int]
_Walk = Callable[[list[Any], int, bool], _Result]

_STOP_SECONDS = 5.0


def can_start_workers() -> bool:
    """Whether this interpreter can start worker interpreters (not in an embedded one)."""
    return bool(sys.executable) and Path(sys.executable).name.lower().startswith("python")


def _package_root() -> str:
    """The folder holding this ``mlreg_frames``, so workers import the same copy."""
    return str(Path(__file__).resolve().parents[2])


def _start_worker(stderr: IO[bytes]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (_package_root(), env.get("PYTHONPATH", "")) if part
    )
    # One thread per worker for numpy/Arrow: the workers already fill the cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return subprocess.Popen(
        [sys.executable, "-m", "mlreg_frames.flatten.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        text=True,
        encoding="utf-8",
        close_fds=True,
    )


def table_file(prefix: str, name: str) -> str:
    """Where a worker writes a job's table ``name``: ``<prefix>.<name>.arrow``."""
    return f"{prefix}.{name}.arrow"


def _read_tables(prefix: str) -> dict[str, pa.Table]:
    out = {}
    for name in schema.TABLES:
        path = table_file(prefix, name)
        with pa.OSFile(path, "rb") as source:
            out[name] = pa.ipc.open_file(source).read_all()
        os.unlink(path)
    return out


def _died(proc: subprocess.Popen[str], chunk: Sequence[Page], stderr_path: str) -> FlattenError:
    try:
        code = proc.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    try:
        tail = Path(stderr_path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        tail = ""
    last = tail.splitlines()[-1] if tail else ""
    first = chunk[0].source if chunk else None
    pages = f"{first} .. {chunk[-1].source}" if len(chunk) > 1 else str(first)
    return FlattenError(
        f"a flatten worker process {how} while reading pages {pages}"
        + (f" ({last})" if last else "")
        + "; retry, or pass workers=1 to flatten in this process",
        page=first,
    )


class _Run:
    """The state the caller and the workers' feeder threads share."""

    def __init__(self, chunks: Sequence[tuple[list[Any], int]], strict: bool, tmp: str):
        self.chunks = chunks
        self.strict = strict
        self.tmp = tmp
        self.results: list[_Result | None] = [None] * len(chunks)
        self.failures: list[tuple[int, BaseException]] = []
        self.by_worker = 0
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self.failures or self._next >= len(self.chunks):
                return None
            self._next += 1
            return self._next - 1

    def fail(self, index: int, error: BaseException) -> None:
        with self._lock:
            self.failures.append((index, error))

    def feed(self, proc: subprocess.Popen[str], stderr_path: str) -> None:
        """Hand runs to one worker until none are left (runs in a thread of the caller)."""
        assert proc.stdin is not None and proc.stdout is not None
        while (index := self.take()) is not None:
            chunk = self.chunks[index][0]
            prefix = os.path.join(self.tmp, f"{index:06d}")
            job = {
                "job": index,
                "pages": [[str(page.path), page.source] for page in chunk],
                "strict": self.strict,
                "out": prefix,
            }
            try:
                proc.stdin.write(json.dumps(job) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                self.fail(index, _died(proc, chunk, stderr_path))
                return
            try:
                answer = json.loads(line)
                if "error" in answer:
                    self.fail(index, pickle.loads(base64.b64decode(answer["error"])))
                    return
                arrows = _read_tables(prefix)
            except Exception as exc:  # a garbled answer: the worker is not to be trusted
                self.fail(index, FlattenError(f"a flatten worker answered badly: {exc}"))
                return
            self.results[index] = (
                arrows,
                answer["inputs"],
                set(answer["api_versions"]),
                answer["skipped"],
            )
            with self._lock:
                self.by_worker += 1


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    """Close every worker's input (it then exits), killing one that does not exit in time."""
    for proc in procs:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def run(
    chunks: Sequence[tuple[list[Any], int]], walk: _Walk, strict: bool, processes: int
) -> list[_Result]:
    """Walk ``chunks`` (runs of unparsed page files) in ``processes`` processes, the caller
    included; the results in input order.

    Raises:
        MlregFramesError: the error of the first run (in input order) that failed.
    """
    tmp = tempfile.mkdtemp(prefix="mlreg-flatten-")
    state = _Run(chunks, strict, tmp)
    procs: list[subprocess.Popen[str]] = []
    threads: list[threading.Thread] = []
    try:
        for i in range(max(1, processes - 1) if PARENT_WALKS else processes):
            stderr_path = os.path.join(tmp, f"worker{i}.stderr")
            try:
                with open(stderr_path, "wb") as stderr:
                    procs.append(_start_worker(stderr))
            except OSError as exc:  # no interpreter to start: walk here instead
                log.debug("could not start a flatten worker (%s); walking here", exc)
                break
            thread = threading.Thread(target=state.feed, args=(procs[-1], stderr_path), daemon=True)
            thread.start()
            threads.append(thread)
        walks_here = PARENT_WALKS or not procs
        while walks_here and (index := state.take()) is not None:
            chunk, offset = chunks[index]
            try:
                state.results[index] = walk(chunk, offset, strict)
            except BaseException as exc:
                state.fail(index, exc)
                if not isinstance(exc, Exception):
                    raise
        for thread in threads:
            thread.join()
    finally:
        _stop(procs)
        for thread in threads:
            thread.join(timeout=_STOP_SECONDS)
        shutil.rmtree(tmp, ignore_errors=True)
    if state.failures:
        raise min(state.failures, key=lambda failure: failure[0])[1]
    log.debug(
        "flattened %d runs of page files in %d processes (%d runs by %d workers)",
        len(chunks), len(procs) + walks_here, state.by_worker, len(procs),
    )  # fmt: skip
    results = [result for result in state.results if result is not None]
    assert len(results) == len(chunks)
    return results
