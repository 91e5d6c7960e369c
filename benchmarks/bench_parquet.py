"""Benchmark: what writing and reading the Parquet tables *as a checked set* costs.

Compares, in one run on the same tables (a generated fleet):

- ``write files``: each table written on its own, atomically (temp file, fsync, rename): the
  way ``to_parquet`` wrote before sets;
- ``write set``: ``RegistryTables.to_parquet`` (all temp files first, then the renames, under a
  folder lock, stale temp files removed);
- ``read files``: ``pyarrow.parquet.read_table`` of each file, then ``from_arrow``;
- ``read set``: ``read_parquet`` (the same, plus the folder lock, the per-file table and type
  checks and the set check).

Best of ``--repeat`` runs each; prints the times and the ratios set / files.

Usage::

    python benchmarks/bench_parquet.py                      # 20,000 registries
    python benchmarks/bench_parquet.py --registries 2000    # smoke check
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.synth.fleet import generate_fleet
from mlreg_frames.tables import from_arrow, to_arrow, write_table_atomic


def _best(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registries", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    fleet = generate_fleet(args.registries, args.subscriptions, seed=1)
    tables = mf.flatten(fleet)
    rows = sum(tables.counts().values())
    with tempfile.TemporaryDirectory() as tmp:
        files, sets = Path(tmp) / "files", Path(tmp) / "set"
        files.mkdir()

        def write_files() -> None:
            for name, frame in tables.items(include_errors=True):
                arrow = to_arrow(name, frame, tables.provenance)
                write_table_atomic(arrow, files / f"{name}.parquet")

        def read_files() -> None:
            for name in schema.ALL_TABLES:
                from_arrow(name, pq.read_table(files / f"{name}.parquet"))

        times = {
            "write files": _best(args.repeat, write_files),
            "write set": _best(args.repeat, lambda: tables.to_parquet(sets)),
            "read files": _best(args.repeat, read_files),
            "read set": _best(args.repeat, lambda: mf.read_parquet(sets)),
        }
    print(f"{args.registries:,} registries, {rows:,} rows in 8 tables; best of {args.repeat}")
    for label, seconds in times.items():
        print(f"  {label:<12} {seconds * 1000:8.1f} ms")
    print(f"  write set / write files: {times['write set'] / times['write files']:.2f}x")
    print(f"  read set / read files:   {times['read set'] / times['read files']:.2f}x")


if __name__ == "__main__":
    main()
