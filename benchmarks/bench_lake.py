"""Benchmark: a year of daily snapshots in the Delta lake, before and after ``optimize``.

Appends ``--days`` daily snapshots (default 365) of a ``--registries``-registry fleet (default
1,000) to a fresh local lake, then measures side by side in one run:

- append time per snapshot (first ten days, last ten days, median, 95th percentile): does it
  stay flat as the tables and the ``snapshots`` ledger grow? With ``--checkpoint-interval
  100,10`` the appends also run into lakes whose tables checkpoint every 100 commits (Delta's
  default) and every 10 (the lake's ``delta.checkpointInterval``), side by side: the append
  time by commit position since the last checkpoint shows the saw tooth the default gives;
- files per table (the Delta table's active files) before and after ``lake.optimize``;
- ``lake.read(root, "all")`` and ``lake.read(root)`` (the latest) before and after ``optimize``,
  best of ``--repeat``; and one snapshot read back by ``polars.read_delta`` for context.

The fleet changes a little every day (a few registries' public access flips), so the tables
are not identical copies. Nothing touches the network.

Usage::

    python benchmarks/bench_lake.py                        # 365 days x 1,000 registries (minutes)
    python benchmarks/bench_lake.py --days 20 --registries 200   # smoke check
    python benchmarks/bench_lake.py --days 120 --registries 40 --checkpoint-interval 100,10
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


def _appends(root: Path, tables: list, days: int, interval: int) -> list[float]:
    """Seconds per append of ``days`` daily snapshots into a new lake at ``interval``."""
    from mlreg_frames.lake import ledger as ledger_mod
    from mlreg_frames.lake import write as lake_write

    props = {"delta.checkpointInterval": str(interval)}
    saved = lake_write.TABLE_PROPERTIES, ledger_mod.TABLE_PROPERTIES
    lake_write.TABLE_PROPERTIES = ledger_mod.TABLE_PROPERTIES = props  # type: ignore[misc]
    try:
        start_day = datetime(2025, 1, 1, 6, tzinfo=timezone.utc)
        out = []
        for day in range(days):
            began = time.perf_counter()
            lake.append(tables[day % len(tables)], root, start_day + timedelta(days=day))
            out.append(time.perf_counter() - began)
        return out
    finally:
        lake_write.TABLE_PROPERTIES, ledger_mod.TABLE_PROPERTIES = saved  # type: ignore[misc]


def compare_intervals(intervals: list[int], days: int, registries: int) -> int:
    """Append ``days`` snapshots into a new lake per checkpoint interval (one lake after the
    other, in one run) and print their append times side by side."""
    fleet = generate_fleet(registries, 5, seed=0)
    tables = [mf.flatten(fleet)]
    results: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-lake-ckpt-") as tmp:
        for interval in intervals:
            results[interval] = _appends(Path(tmp) / f"lake-{interval}", tables, days, interval)
    print(f"\nappend s per snapshot, {days} snapshots of {registries} registries:")
    print(f"  {'checkpointInterval':<20}{'first 10':>10}{'last 10':>10}{'median':>10}"
          f"{'p95':>10}{'max':>10}{'total':>10}")  # fmt: skip
    for interval, times in results.items():
        q95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
        print(
            f"  {interval:<20}{statistics.mean(times[:10]):>10.3f}"
            f"{statistics.mean(times[-10:]):>10.3f}{statistics.median(times):>10.3f}"
            f"{q95:>10.3f}{max(times):>10.3f}{sum(times):>10.1f}"
        )
    print("\nmean append s by snapshot number (1-based) in blocks of 10:")
    print(f"  {'snapshots':<12}" + "".join(f"{i:>10}" for i in intervals))
    for block in range(0, days, 10):
        cells = "".join(
            f"{statistics.mean(results[i][block : block + 10]):>10.3f}" for i in intervals
        )
        print(f"  {block + 1:>4}-{min(block + 10, days):<7}" + cells)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--registries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="Write the lake here (default: a temp dir).")
    parser.add_argument(
        "--checkpoint-interval",
        help="compare appends at these delta.checkpointInterval values (e.g. 100,10), then stop",
    )
    args = parser.parse_args(argv)
    if args.checkpoint_interval:
        intervals = [int(v) for v in args.checkpoint_interval.split(",")]
        return compare_intervals(intervals, args.days, args.registries)

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
