"""A flatten worker process: ``python -m mlreg_frames.flatten.worker``.

:mod:`.pool` starts these with :mod:`subprocess` (a fresh interpreter, never a fork of the
caller, which may run threads: Arrow's pool, delta-rs' runtime, a Jupyter kernel's), so the
caller's ``__main__`` is never re-imported and a script needs no main guard.

The protocol is one JSON line per job on stdin and one JSON line per answer on stdout:

* job: ``{"job": 3, "pages": [[path, source], ...], "strict": false, "out": "<prefix>"}``;
* answer: ``{"job": 3, "inputs": 12, "api_versions": [...], "skipped": 0}`` after writing
  each table as the Arrow IPC file ``<prefix>.<table>.arrow``, or ``{"job": 3, "error":
  "<base64 pickle>"}`` with the :class:`~mlreg_frames.errors.MlregFramesError` the walk
  raised (page, registry and field intact).

End of input ends the worker. Anything else the walk prints goes to stderr, so stdout
carries answers only.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .._gc import paused_gc
from ..errors import FlattenError, MlregFramesError
from ..pages import Page
from .engine import _flatten_chunk
from .pool import table_file

__all__ = ["main", "run_job"]


def _write_tables(prefix: str, arrows: dict[str, pa.Table]) -> None:
    for name, table in arrows.items():
        with (
            pa.OSFile(table_file(prefix, name), "wb") as sink,
            pa.ipc.new_file(sink, table.schema) as writer,
        ):
            writer.write_table(table)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Walk one job's page files and write its tables; the answer to send back."""
    pages = [Page(None, source, path=Path(path)) for path, source in job["pages"]]
    answer: dict[str, Any] = {"job": job["job"]}
    try:
        with paused_gc():
            arrows, inputs, api_versions, skipped = _flatten_chunk(pages, 0, job["strict"])
        _write_tables(job["out"], arrows)
    except MlregFramesError as exc:
        answer["error"] = base64.b64encode(pickle.dumps(exc)).decode("ascii")
        return answer
    except Exception as exc:  # a bug or MemoryError: say where, in the project's error
        first = job["pages"][0][1] if job["pages"] else None
        error = FlattenError(
            f"the worker process failed: {type(exc).__name__}: {exc}; retry with workers=1 "
            "to see the full traceback",
            page=first,
        )
        answer["error"] = base64.b64encode(pickle.dumps(error)).decode("ascii")
        return answer
    answer.update(inputs=inputs, api_versions=sorted(api_versions), skipped=skipped)
    return answer


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Answer jobs until stdin ends."""
    stdin = stdin or sys.stdin
    if stdout is None:
        stdout = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        sys.stdout = sys.stderr  # stray prints must not corrupt the answers
    for line in stdin:
        if line.strip():
            stdout.write(json.dumps(run_job(json.loads(line))) + "\n")
            stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
