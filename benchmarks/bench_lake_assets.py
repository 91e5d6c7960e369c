"""Benchmark: what the asset tables add to a lake snapshot (append, read, diff), side by side.

Builds the bundled sample's registries and assets, scaled ``--scale`` times (each version
repeated with a ``.N`` suffix: 899 versions at scale 1, 89,900 at 100), and a second run
in which 10% of the versions are gone and 5% archived. Then measures, best of ``--repeat``
in one run, on fresh local lakes:

- ``lake.append`` of the registry tables alone, and with ``assets=``;
- ``lake.read`` of the snapshot, and ``lake.read_assets``;
- ``lake.diff_snapshots`` with ``assets=False`` (the registry diff alone) and with the asset
  diff (its change counts printed), and ``lake.diff_assets`` on the tables in memory.

Nothing touches the network.

Usage::

    python benchmarks/bench_lake_assets.py                 # scale 10 and 100
    python benchmarks/bench_lake_assets.py --scale 1       # smoke check
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.assettables import AssetTables

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _scaled(assets: AssetTables, scale: int) -> tuple[AssetTables, AssetTables]:
    versions = assets.asset_versions
    many = pd.concat(
        [versions.assign(version=versions["version"] + f".{i}") for i in range(scale)]
    ).sort_values(list(schema.key("asset_versions")), ignore_index=True)
    later = many.sample(frac=0.9, random_state=1).sort_index()
    archived = later.sample(frac=0.05, random_state=2).index
    later.loc[archived, "is_archived"] = True
    parts = {"assets": assets.assets, "asset_tags": assets.asset_tags}
    return (
        AssetTables.from_frames({**parts, "asset_versions": many}),
        AssetTables.from_frames({**parts, "asset_versions": later.reset_index(drop=True)}),
    )


def _best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _measure(tables: mf.RegistryTables, old: AssetTables, new: AssetTables, repeat: int) -> str:
    """One line of the table: the timings of one scale, and the asset changes found."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        counter = iter(range(10**6))

        def fresh(**kw: Any) -> str:
            return lake.append(tables, root / f"l{next(counter)}", **kw)

        t_plain, _ = _best(repeat, fresh)
        t_assets, _ = _best(repeat, lambda: fresh(assets=old))
        both = root / "both"
        lake.append(tables, both, "2026-01-01", assets=old)
        lake.append(tables, both, "2026-01-02", assets=new)
        t_read, _ = _best(repeat, lambda: lake.read(both))
        t_read_assets, back = _best(repeat, lambda: lake.read_assets(both))
        assert back == new, "read_assets did not give back what was appended"
        t_diff, _ = _best(repeat, lambda: lake.diff_snapshots(both, assets=False))
        t_diff_assets, found = _best(repeat, lambda: lake.diff_snapshots(both))
        t_mem, _ = _best(repeat, lambda: lake.diff_assets(old, new))
    counts = found[found["table"] == "asset_versions"]["change"].value_counts().to_dict()
    return (
        f"{len(old.asset_versions):>8,} {t_plain:>7.2f} {t_assets:>8.2f} {t_read:>6.2f} "
        f"{t_read_assets:>7.2f} {t_diff:>6.2f} {t_diff_assets:>8.2f} {t_mem:>7.2f}  {counts}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tables = mf.flatten(mf.read_pages(SAMPLE))
    sample = mf.flatten_assets(SAMPLE / "_assets.ndjson")
    print(f"{len(tables.registries)} registries; best of {args.repeat}; seconds")
    header = (
        f"{'versions':>8} {'append':>7} {'+assets':>8} {'read':>6} {'assets':>7} "
        f"{'diff':>6} {'+assets':>8} {'in mem':>7}  changes"
    )
    print(header)
    for scale in args.scale:
        old, new = _scaled(sample, scale)
        print(_measure(tables, old, new, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
