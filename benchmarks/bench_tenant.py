"""Benchmark: a tenant of 1,000 subscriptions, read with ARM (defaults) and with Resource Graph.

100 subscriptions hold 1 to 3 registries each, the other 900 none; every request takes 100 ms
(the emulator runs in its own process). The ARM source lists the subscriptions, then asks each
one (16 workers); the Resource Graph source sends one tenant-wide query. Both return
the seven tables; they must hold the same registry ids and equal tables except the columns only
one source fills (``created_*``/``last_modified_*`` from ARM, ``tenant_id`` from ARG).

Target: Resource Graph at least 10x faster.

Run: ``python benchmarks/bench_tenant.py [--subscriptions 1000] [--latency-ms 100] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter

import pandas as pd

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.fetch import fetch_registries

TOKEN = "bench-token"
ONE_SOURCE_ONLY = [
    "created_at", "created_by", "created_by_type", "last_modified_at", "last_modified_by",
    "last_modified_by_type", "tenant_id",
]  # fmt: skip


def tenant(n_subscriptions: int, busy: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(registries, subscriptions): ``busy`` subscriptions with 1-3 registries, the rest empty."""
    from mlreg_frames.synth import generate_fleet, subscriptions

    fleet = generate_fleet(busy * 2, busy, seed=seed)
    per_sub: Counter[str] = Counter()
    kept = []
    for reg in fleet:
        sub = parse_arm_id(reg["id"])[0] or ""
        if per_sub[sub] < 3:
            per_sub[sub] += 1
            kept.append(reg)
    rng = random.Random(seed)
    empty = [
        {
            "id": f"/subscriptions/{sub}",
            "subscriptionId": sub,
            "displayName": f"Subscription {sub[:8]}",
            "state": "Enabled",
        }
        for sub in (
            str(uuid.UUID(int=rng.getrandbits(128), version=4))
            for _ in range(n_subscriptions - busy)
        )
    ]
    return kept, subscriptions(kept) + empty


def serve(args: argparse.Namespace) -> None:
    """The emulator process: print the endpoint, serve until killed."""
    from mlreg_frames.emulator import ArmEmulator

    registries, subs = tenant(args.subscriptions, args.busy, args.seed)
    arm = ArmEmulator(
        registries,
        subscriptions=subs,
        page_size=1000,
        latency=args.latency_ms / 1000,
        token=TOKEN,
    )
    print(f"serving {arm.endpoint} {len(registries)} {len(subs)}", flush=True)
    try:
        arm.serve_forever()
    finally:
        arm.close()


def _comparable(tables: mf.RegistryTables) -> dict[str, pd.DataFrame]:
    out = {}
    for name in schema.TABLE_NAMES:
        frame = getattr(tables, name)
        frame = frame.drop(columns=[c for c in ONE_SOURCE_ONLY if c in frame.columns])
        out[name] = frame.sort_values(list(schema.key(name)), ignore_index=True)
    return out


def timed(endpoint: str, source: str) -> tuple[float, mf.RegistryTables]:
    started = time.perf_counter()
    tables = fetch_registries(
        endpoint=endpoint, credential=StaticTokenCredential(TOKEN), source=source
    )
    return time.perf_counter() - started, tables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--busy", type=int, default=100, help="subscriptions with registries")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return 0
    cmd = [sys.executable, __file__, "--serve", "--subscriptions", str(args.subscriptions),
           "--busy", str(args.busy), "--latency-ms", str(args.latency_ms),
           "--seed", str(args.seed)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "serving":
            raise SystemExit(f"the emulator did not start: {line!r}")
        endpoint, n_registries, n_subs = line[1], int(line[2]), int(line[3])
        print(
            f"tenant: {n_subs} subscriptions ({args.busy} with 1-3 registries, "
            f"{n_registries} registries), {args.latency_ms:.0f} ms per request, "
            f"best and median of {args.repeat}"
        )
        arm_times, graph_times = [], []
        arm_tables = graph_tables = None
        for _ in range(args.repeat):
            seconds, arm_tables = timed(endpoint, "arm")
            arm_times.append(seconds)
            seconds, graph_tables = timed(endpoint, "graph")
            graph_times.append(seconds)
    finally:
        proc.kill()
        proc.wait()
    assert arm_tables is not None and graph_tables is not None
    same_ids = set(arm_tables.registries["registry_id"]) == set(
        graph_tables.registries["registry_id"]
    )
    a, g = _comparable(arm_tables), _comparable(graph_tables)
    unequal = [name for name in schema.TABLE_NAMES if not a[name].equals(g[name])]
    arm_med, graph_med = statistics.median(arm_times), statistics.median(graph_times)
    ratio = arm_med / graph_med
    rows = {
        "ARM (defaults: Subscriptions - List + 1 call per subscription)": arm_times,
        "Resource Graph (1 tenant-wide query)": graph_times,
    }
    for label, times in rows.items():
        print(f"  {label:<64} best {min(times):6.3f}s  median {statistics.median(times):6.3f}s")
    print(f"  registries: ARM {len(arm_tables.registries)}, Resource Graph "
          f"{len(graph_tables.registries)}; same ids: {same_ids}")  # fmt: skip
    print(
        "  seven tables equal except created_*/last_modified_* and tenant_id: "
        + ("yes" if not unequal else f"NO ({', '.join(unequal)})")
    )
    print(f"  Resource Graph is {ratio:.1f}x faster (median); target >= 10x: "
          + ("met" if ratio >= 10 else "MISSED"))  # fmt: skip
    ok = same_ids and not unequal and ratio >= 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
