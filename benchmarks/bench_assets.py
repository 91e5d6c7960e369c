"""Benchmark: fetch_assets against a naive 16-thread loop and the read-bucket floor (issue 18).

The ARM emulator runs in its own process: 3 subscriptions, 30 registries holding about 3,000
asset lists in all (containers and one versions list per container), 50 ms of latency per
request, and ARM's per-subscription read bucket set to 100 tokens refilled at 50 per second.
Side by side in one run:

* **naive 16-thread loop**: what a user writes by hand: every (registry, type) on a 16-thread
  pool, each container's versions after it, ``nextLink`` followed, a 429 answered by waiting
  its ``Retry-After`` and trying again; the remaining-reads header ignored; then
  ``flatten_assets`` of the pages, so both produce the same tables;
* **fetch_assets** with its defaults (16 workers shared out among the subscriptions, paced per
  subscription by ``x-ms-ratelimit-remaining-subscription-reads``);
* **floor**: for each subscription the larger of its requests' network time at the worker
  count (``requests x latency / workers``) and ``(requests - bucket) / refill``; the fetch's
  floor is the largest of these.

Targets: fetch_assets within **1.2x the floor**, at most **1% of its requests answered 429**,
and faster than the naive loop. ``--memory`` adds the peak Python heap of the fetch (untimed,
a second run); ``--scale 10`` runs ten times the registries (30 subscriptions: the buckets are
per subscription, so the floor stays, and the emulator and the client share this machine).

Run: ``python benchmarks/bench_assets.py [--scale 10] [--memory]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import requests

import mlreg_frames as mf
from mlreg_frames.pages import Page
from mlreg_frames.sources.auth import StaticTokenCredential

TOKEN = "bench-token"
LATENCY = 0.05
BUCKET, REFILL = 100, 50
WORKERS = 16
TYPES = ("models", "environments", "components", "data", "codes")
_SERVER = textwrap.dedent(
    """
    import sys
    from mlreg_frames.emulator import ArmEmulator
    regs, subs = int(sys.argv[1]), int(sys.argv[2])
    arm = ArmEmulator.from_fleet(regs, subs, seed=1, token="bench-token", latency={latency},
        assets={{"containers": 95, "page_size": 20}}, read_bucket=({bucket}, {refill}))
    per_sub = {{}}
    for reg in arm.registries:
        sub = reg["id"].split("/")[2].lower()
        per_sub[sub] = per_sub.get(sub, 0) + arm.assets.requests_for(reg["id"], {types})
    print(arm.endpoint, ",".join(f"{{k}}={{v}}" for k, v in per_sub.items()), flush=True)
    arm.serve_forever()
    """
).format(latency=LATENCY, bucket=BUCKET, refill=REFILL, types=TYPES)


def start_emulator(registries: int, subscriptions: int) -> tuple[subprocess.Popen[str], str, dict]:
    cmd = [sys.executable, "-c", _SERVER, str(registries), str(subscriptions)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    endpoint, counts = proc.stdout.readline().split()
    per_sub = {k: int(v) for k, v in (item.split("=") for item in counts.split(","))}
    return proc, endpoint, per_sub


def registry_ids(endpoint: str) -> list[str]:
    tables = mf.fetch_registries(endpoint=endpoint, credential=StaticTokenCredential(TOKEN))
    return list(tables.registries["registry_id"])


def naive_loop(endpoint: str, ids: list[str]) -> tuple[mf.AssetTables, int, int]:
    """16 threads, Retry-After honoured, the remaining-reads header ignored."""
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=WORKERS))
    counts = {"requests": 0, "throttled": 0}
    lock = threading.Lock()
    pages: list[Page] = []

    def get(url: str) -> dict[str, Any]:
        while True:
            answer = session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
            with lock:
                counts["requests"] += 1
                counts["throttled"] += answer.status_code == 429
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            answer.raise_for_status()
            body: dict[str, Any] = answer.json()
            return body

    def listing(path: str) -> list[str]:
        view = (
            "&listViewType=All" if path.split("/")[9] in ("models", "environments", "data") else ""
        )
        url: str | None = f"{endpoint}{path}?api-version=2025-09-01{view}"
        names = []
        while url:
            body = get(url)
            with lock:
                pages.append(Page(body, url, url))
            names += [item["name"] for item in body["value"]]
            url = body.get("nextLink")
        return [] if path.endswith("/versions") else [f"{path}/{n}/versions" for n in names]

    with ThreadPoolExecutor(WORKERS) as pool:
        pending: set[Future[list[str]]] = {
            pool.submit(listing, f"{rid}/{kind}") for rid in ids for kind in TYPES
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending |= {pool.submit(listing, more) for more in future.result()}
    session.close()
    return mf.flatten_assets(pages), counts["requests"], counts["throttled"]


def floor(per_sub: dict[str, int], workers: dict[str, int]) -> float:
    return max(max(n * LATENCY / workers[sub], (n - BUCKET) / REFILL) for sub, n in per_sub.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="registries x this (default 1)")
    parser.add_argument("--memory", action="store_true", help="also the fetch's peak heap")
    parser.add_argument("--skip-naive", action="store_true", help="only the fetch and the floor")
    args = parser.parse_args()
    registries, subscriptions = 30 * args.scale, 3 * args.scale
    proc, endpoint, per_sub = start_emulator(registries, subscriptions)
    try:
        ids = registry_ids(endpoint)
        total = sum(per_sub.values())
        print(f"{registries} registries in {subscriptions} subscriptions, {total:,} asset lists"
              f" requests; latency {LATENCY * 1000:.0f} ms; bucket {BUCKET} refilled at "
              f"{REFILL}/s per subscription")  # fmt: skip
        share = max(1, WORKERS // min(subscriptions, WORKERS))
        # More subscriptions than workers: they share the workers (one each, in turns).
        each = min(share, WORKERS / subscriptions)
        fetch_floor = floor(per_sub, dict.fromkeys(per_sub, each))
        naive_floor = floor(per_sub, dict.fromkeys(per_sub, WORKERS / subscriptions))
        rows = []
        naive = None
        if not args.skip_naive:
            time.sleep(BUCKET / REFILL)  # full buckets for each contender
            start = time.perf_counter()
            naive, n_req, n_429 = naive_loop(endpoint, ids)
            rows.append(("naive 16-thread loop", time.perf_counter() - start, n_req, n_429))
        time.sleep(BUCKET / REFILL)
        start = time.perf_counter()
        tables = mf.fetch_assets(ids, endpoint=endpoint, credential=StaticTokenCredential(TOKEN))
        took = time.perf_counter() - start
        prov = tables.provenance
        rows.append(("fetch_assets", took, prov["requests"], prov["throttled"]))
        print(f"{'contender':<22}{'seconds':>9}{'requests':>10}{'429s':>7}{'429 %':>7}"
              f"{'x floor':>9}")  # fmt: skip
        for name, seconds, n_req, n_429 in rows:
            print(f"{name:<22}{seconds:>9.2f}{n_req:>10,}{n_429:>7,}{100 * n_429 / n_req:>6.1f}%"
                  f"{seconds / fetch_floor:>9.2f}")  # fmt: skip
        print(
            f"{'floor':<22}{fetch_floor:>9.2f}   (at {each:g} workers per subscription; "
            f"naive's own floor at {WORKERS / subscriptions:.1f}: {naive_floor:.2f})"
        )
        print(f"tables: {tables.counts()}")
        verdicts = [
            ("within 1.2x the floor", took <= 1.2 * fetch_floor),
            ("<= 1% 429s", prov["throttled"] <= 0.01 * prov["requests"]),
        ]
        if naive is not None:
            verdicts.append(("faster than the naive loop", took < rows[0][1]))
            verdicts.append(("same tables as the naive loop", naive == tables))
        if args.memory:
            time.sleep(BUCKET / REFILL)
            tracemalloc.start()
            mf.fetch_assets(ids, endpoint=endpoint, credential=StaticTokenCredential(TOKEN))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"fetch_assets peak Python heap: {peak / 2**20:.1f} MiB")
        for name, ok in verdicts:
            print(f"{'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(ok for _, ok in verdicts) else 1
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
