"""Benchmark: a tenant of 1,000 subscriptions, read with ARM (defaults) and with Resource Graph.

100 subscriptions hold 1 to 3 registries each, the other 900 none; every request takes 100 ms
(the emulator runs in its own process). The ARM source lists the subscriptions, then asks each
one (16 workers); the Resource Graph source sends one tenant-wide query. Both return
the seven tables; they must hold the same registry ids and equal tables except the columns only
one source fills (``created_*``/``last_modified_*`` from ARM, ``tenant_id`` from ARG).

Target: Resource Graph at least 10x faster.

A second case, ``--case empty`` (issue 17), is the scale of a large tenant: 50,000
subscriptions that hold no registry (``Subscriptions - List`` in 50 pages of 1,000, then one
empty page per subscription, no added latency), read by ``fetch_registries`` (defaults) and by
a naive 16-thread loop (``requests``, ``response.json()``, then ``mf.flatten``), each in its own
child process so that its peak RSS is its own. Targets: the fetch's peak RSS under 300 MB, and
its time no slower than the naive loop's.

Run: ``python benchmarks/bench_tenant.py [--subscriptions 1000] [--latency-ms 100] [--repeat 3]``
or ``python benchmarks/bench_tenant.py --case empty [--subscriptions 50000] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import requests

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

    fleet = generate_fleet(busy * 2, busy, seed=seed) if busy else []
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

    busy = 0 if args.case == "empty" else args.busy
    registries, subs = tenant(args.subscriptions, busy, args.seed)
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


# --- the 50,000 empty subscriptions case --------------------------------------------------

NAIVE_THREADS = 16
LIST = "providers/Microsoft.MachineLearningServices/registries"
RSS_TARGET_MB = 300.0


def _naive_pages(session: requests.Session, url: str | None) -> list[Any]:
    registries: list[Any] = []
    while url:
        answer = session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        answer.raise_for_status()
        body = answer.json()
        registries += body["value"]
        url = body.get("nextLink")
    return registries


def naive_loop(endpoint: str) -> mf.RegistryTables:
    """What a user writes: list subscriptions, then each one on a 16-thread pool; flatten."""
    with requests.Session() as session, ThreadPoolExecutor(NAIVE_THREADS) as pool:
        session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=NAIVE_THREADS)
        session.mount("http://", adapter)
        subs = [
            s["subscriptionId"]
            for s in _naive_pages(session, f"{endpoint}/subscriptions?api-version=2022-12-01")
        ]
        urls = [f"{endpoint}/subscriptions/{sub}/{LIST}?api-version=2025-09-01" for sub in subs]
        registries = [reg for chunk in pool.map(lambda u: _naive_pages(session, u), urls)
                      for reg in chunk]  # fmt: skip
    return mf.flatten(registries)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(args: argparse.Namespace) -> None:
    """A child process: run one contender once, print its time and peak RSS as JSON."""
    base = _peak_mb()  # after importing pandas, pyarrow and mlreg_frames
    started, cpu = time.perf_counter(), time.process_time()
    if args.measure == "fetch":
        tables = fetch_registries(endpoint=args.endpoint, credential=StaticTokenCredential(TOKEN))
    else:
        tables = naive_loop(args.endpoint)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    scopes = len(tables.provenance.get("scopes", [])) if args.measure == "fetch" else None
    print(json.dumps({
        "seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb(), "base_mb": base, "scopes": scopes,
        "registries": len(tables.registries), "errors": len(tables.fetch_errors),
    }))  # fmt: skip


def _child(kind: str, endpoint: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", kind, "--endpoint", endpoint]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {kind} child failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def empty_case(endpoint: str, n_subs: int, repeat: int) -> int:
    """Fetch and naive loop side by side; the targets of issue 17."""
    print(f"empty tenant: {n_subs} subscriptions, no registries, Subscriptions - List in pages "
          f"of 1,000, best of {repeat}; each run in its own process")  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {"naive": [], "fetch": []}
    for _ in range(repeat):
        for kind in ("naive", "fetch"):
            runs[kind].append(_child(kind, endpoint))
    labels = {
        "naive": f"naive {NAIVE_THREADS}-thread loop (requests + response.json + flatten)",
        "fetch": "fetch_registries (defaults)",
    }
    best = {kind: min(results, key=lambda r: r["seconds"]) for kind, results in runs.items()}
    for kind, result in best.items():
        peak = max(r["peak_mb"] for r in runs[kind])
        grown = peak - result["base_mb"]
        print(f"  {labels[kind]:<62} {result['seconds']:7.2f}s (CPU {result['cpu']:6.2f}s)  "
              f"peak RSS {peak:7.1f} MB (+{grown:.1f} MB over imports)")  # fmt: skip
    fetch, naive = best["fetch"], best["naive"]
    fetch_peak = max(r["peak_mb"] for r in runs["fetch"])
    ok_scopes = fetch["scopes"] == n_subs and fetch["errors"] == 0
    print(f"  fetch: {fetch['scopes']} scopes read, {fetch['errors']} fetch_errors rows")
    ratio = naive["seconds"] / fetch["seconds"]
    print(
        f"  fetch peak RSS {fetch_peak:.1f} MB; target < {RSS_TARGET_MB:.0f} MB: "
        + ("met" if fetch_peak < RSS_TARGET_MB else "MISSED")
    )
    print(
        f"  fetch time / naive time = {1 / ratio:.2f}; target <= 1: "
        + ("met" if ratio >= 1 else "MISSED")
    )
    return 0 if ok_scopes and fetch_peak < RSS_TARGET_MB and ratio >= 1 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["tenant", "empty"], default="tenant")
    parser.add_argument("--subscriptions", type=int, default=None,
                        help="default: 1000 (tenant), 50000 (empty)")  # fmt: skip
    parser.add_argument("--busy", type=int, default=100, help="subscriptions with registries")
    parser.add_argument("--latency-ms", type=float, default=None,
                        help="default: 100 (tenant), 0 (empty)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=None, help="default: 3 (tenant), 1 (empty)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=["fetch", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    empty = args.case == "empty"
    if args.subscriptions is None:
        args.subscriptions = 50_000 if empty else 1000
    if args.latency_ms is None:
        args.latency_ms = 0.0 if empty else 100.0
    if args.repeat is None:
        args.repeat = 1 if empty else 3
    if args.measure:
        measure(args)
        return 0
    if args.serve:
        serve(args)
        return 0
    cmd = [sys.executable, __file__, "--serve", "--subscriptions", str(args.subscriptions),
           "--busy", str(args.busy), "--latency-ms", str(args.latency_ms),
           "--seed", str(args.seed), "--case", args.case]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "serving":
            raise SystemExit(f"the emulator did not start: {line!r}")
        endpoint, n_registries, n_subs = line[1], int(line[2]), int(line[3])
        if empty:
            return empty_case(endpoint, n_subs, args.repeat)
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
