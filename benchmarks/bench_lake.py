"""Benchmark: a year of daily snapshots in the Delta lake, before and after ``optimize``.

Appends ``--days`` daily snapshots (default 365) of a ``--registries``-registry fleet (default
1,000) to a fresh local lake, then measures side by side in one run:

- append time per snapshot (first ten days, last ten days, median, 95th percentile): does it
  stay flat as the tables and the ``snapshots`` ledger grow?
- files per table (the Delta table's active files) before and after ``lake.optimize``;
- ``lake.read(root, "all")`` and ``lake.read(root)`` (the latest) before and after ``optimize``,
  best of ``--repeat``; and one snapshot read back by ``polars.read_delta`` for context.

The fleet changes a little every day (a few registries' public access flips), so the tables
are not identical copies. Nothing touches the network.

Usage::

    python benchmarks/bench_lake.py                        # 365 days x 1,000 registries (minutes)
    python benchmarks/bench_lake.py --days 20 --registries 200   # smoke check
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.synth import generate_fleet


def _files(root: Path) -> dict[str, int]:
    from deltalake import DeltaTable

    return {
        name: len(DeltaTable(str(root / name)).file_uris())
        for name in (*schema.ALL_TABLES, lake.LEDGER)
    }


def _best(repeat: int, func) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--registries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="Write the lake here (default: a temp dir).")
    args = parser.parse_args(argv)

    fleet = generate_fleet(args.registries, 20, seed=0)
    base = mf.flatten(fleet)
    variants = []
    for flip in range(7):  # a week of slightly different fleets, reused round the year
        changed = [dict(r) for r in fleet]
        for i in range(flip, len(changed), 97):
            props = dict(changed[i].get("properties") or {})
            props["publicNetworkAccess"] = "Disabled" if flip % 2 else "Enabled"
            changed[i] = {**changed[i], "properties": props}
        variants.append(mf.flatten(changed))
    print(
        f"fleet: {args.registries:,} registries, rows per snapshot: "
        + ", ".join(f"{k} {v:,}" for k, v in base.counts().items())
    )

    with tempfile.TemporaryDirectory(prefix="bench-lake-") as tmp:
        root = (args.folder or Path(tmp)) / "lake"
        start_day = datetime(2025, 1, 1, 6, tzinfo=timezone.utc)
        appends = []
        for day in range(args.days):
            tables = variants[day % len(variants)]
            began = time.perf_counter()
            lake.append(tables, root, start_day + timedelta(days=day))
            appends.append(time.perf_counter() - began)
        print(f"\nappend, {args.days} daily snapshots (s per snapshot):")
        q95 = statistics.quantiles(appends, n=20)[-1] if len(appends) >= 20 else max(appends)
        print(
            f"  first 10 {statistics.mean(appends[:10]):.3f}   last 10 "
            f"{statistics.mean(appends[-10:]):.3f}   median {statistics.median(appends):.3f}"
            f"   p95 {q95:.3f}   total {sum(appends):.1f}"
        )

        before = _files(root)
        t_all_before, history = _best(args.repeat, lambda: lake.read(root, "all"))
        t_latest_before, _ = _best(args.repeat, lambda: lake.read(root))
        began = time.perf_counter()
        lake.optimize(root)
        t_optimize = time.perf_counter() - began
        after = _files(root)
        t_all_after, history_after = _best(args.repeat, lambda: lake.read(root, "all"))
        t_latest_after, _ = _best(args.repeat, lambda: lake.read(root))
        assert history_after == history, "optimize changed what lake.read returns"

        print(f"\nfiles per table (optimize took {t_optimize:.1f} s):")
        print(f"  {'table':<16}{'before':>8}{'after':>8}")
        for name in before:
            print(f"  {name:<16}{before[name]:>8,}{after[name]:>8,}")

        rows = sum(len(frame) for _, frame in history.items(include_errors=True))
        print(f"\nread (best of {args.repeat}, s)      before   after  optimize speed-up")
        print(
            f"  read(root, 'all') {rows:>10,} rows {t_all_before:7.2f} {t_all_after:7.2f}"
            f"  {t_all_before / t_all_after:5.1f}x"
        )
        print(
            f"  read(root) latest               {t_latest_before:7.2f} {t_latest_after:7.2f}"
            f"  {t_latest_before / t_latest_after:5.1f}x"
        )
        try:
            import polars as pl
        except ImportError:
            return 0
        t_polars, frame = _best(args.repeat, lambda: pl.read_delta(str(root / "registries")).height)
        print(f"  polars.read_delta(registries), {frame:,} rows, after optimize: {t_polars:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
