"""Benchmark: fetch_registries (defaults) against a sequential loop and a naive 16-thread loop.

The ARM emulator runs in its own process with 50 ms of latency per request. Each contender
produces the same seven tables, measured side by side in one run:

* **sequential loop**: what a user writes by hand: list the subscriptions, follow each
  subscription's ``nextLink`` s one after another with ``requests`` (a keep-alive session,
  ``response.json()``), then ``mf.flatten`` the registries;
* **naive 16-thread loop**: the same per subscription on a 16-thread pool, then flatten;
* **fetch_registries** with its defaults (16 workers, orjson, pages walked as they arrive on
  one walker thread).

Four cases: ``light`` (48 subscriptions x 3 small pages) and ``full-page`` (48 subscriptions x
about 120 registries in pages of 50, issue 11), with the target: fetch_registries at least 8x
the sequential loop. Two more shapes are reported, judged by no target: ``small-pages`` (the
full-page fleet in pages of 25: twice the requests, the network dominates) and ``big-pages``
(48 subscriptions x about 400 registries in pages of 200, 19,200 registries: the CPU dominates,
so the sequential loop's parse weighs more and no client can approach the network floor).
Also printed: the ratio of the fetch to the larger of two floors,

* network floor: the makespan of every scope's pages x latency on the 16 workers (plus the
  subscription list), i.e. the wall time with free CPU;
* parse floor: orjson parsing of every page's bytes plus flattening them, on one thread (the
  GIL serialises this work however many threads run), measured here on the same bytes.

Run: ``python benchmarks/bench_fetch.py [--case full-page|light|...|all] [--repeat 3]
[--memory]`` (``--memory`` adds the peak Python heap of the naive loop and the fetch, untimed).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
import requests

import mlreg_frames as mf
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.fetch import fetch_registries

TOKEN = "bench-token"
LIST = "providers/Microsoft.MachineLearningServices/registries"
DEFAULT_WORKERS = int(inspect.signature(fetch_registries).parameters["max_workers"].default)
NAIVE_THREADS = 16


@dataclass(frozen=True)
class Case:
    name: str
    subscriptions: int
    per_subscription: int  # registries per subscription (mean)
    page_size: int
    pages_per_scope: int | None
    latency_ms: float


CASES = {
    "light": Case("light", 48, 15, 1000, 3, 50.0),
    "full-page": Case("full-page", 48, 120, 50, None, 50.0),
    "small-pages": Case("small-pages", 48, 120, 25, None, 50.0),
    "big-pages": Case("big-pages", 48, 400, 200, None, 50.0),
}
TARGETED = ("light", "full-page")  # the cases issue 11 sets the 8x target on


def start_emulator(case: Case) -> tuple[subprocess.Popen[str], str]:
    """The emulator as a subprocess; returns it and its endpoint (read from its first line)."""
    cmd = [
        sys.executable, "-m", "mlreg_frames", "emulator", "--port", "0",
        "--fleet", str(case.subscriptions * case.per_subscription),
        "--subscriptions", str(case.subscriptions),
        "--page-size", str(case.page_size),
        "--latency-ms", str(case.latency_ms), "--token", TOKEN,
    ]  # fmt: skip
    if case.pages_per_scope:
        cmd += ["--pages-per-scope", str(case.pages_per_scope)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ARM emulator on "):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return proc, line.split()[3]


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=NAIVE_THREADS))
    return session


def _pages(session: requests.Session, url: str | None, raw: list[bytes] | None = None) -> list:
    """Follow nextLink from ``url``; the registries (and each page's bytes into ``raw``)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    registries: list[dict[str, Any]] = []
    while url:
        answer = session.get(url, headers=headers, timeout=60)
        answer.raise_for_status()
        if raw is not None:
            raw.append(answer.content)
        body = answer.json()
        registries += body["value"]
        url = body.get("nextLink")
    return registries


def _subscriptions(session: requests.Session, endpoint: str) -> list[str]:
    url = f"{endpoint}/subscriptions?api-version=2022-12-01"
    return [s["subscriptionId"] for s in _pages(session, url)]


def _scope_url(endpoint: str, sub: str) -> str:
    return f"{endpoint}/subscriptions/{sub}/{LIST}?api-version=2025-09-01"


def sequential_loop(endpoint: str, raw: list[bytes] | None = None) -> mf.RegistryTables:
    """List subscriptions, then each subscription's pages in order; then flatten."""
    with _session() as session:
        registries: list[dict[str, Any]] = []
        for sub in _subscriptions(session, endpoint):
            registries += _pages(session, _scope_url(endpoint, sub), raw)
    return mf.flatten(registries)


def naive_threads(endpoint: str) -> mf.RegistryTables:
    """The same, one subscription per task on a 16-thread pool; then flatten."""
    with _session() as session, ThreadPoolExecutor(NAIVE_THREADS) as pool:
        subs = _subscriptions(session, endpoint)
        results = pool.map(lambda sub: _pages(session, _scope_url(endpoint, sub)), subs)
        registries = [reg for chunk in results for reg in chunk]
    return mf.flatten(registries)


def _transfer(session: requests.Session, url: str | None) -> int:
    """Follow nextLink from ``url`` reading only bytes (the link found without parsing)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    total = 0
    while url:
        body = session.get(url, headers=headers, timeout=60).content
        total += len(body)
        at = body.rfind(b'"nextLink":"')
        url = body[at + 12 : body.index(b'"', at + 12)].decode() if at >= 0 else None
    return total


def transfer_floor(endpoint: str, repeat: int) -> float:
    """Seconds for 16 threads to download every page, parsing nothing: what this machine's
    network stack and the emulator (which shares the machine's CPU, unlike ARM) can deliver."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        with _session() as session, ThreadPoolExecutor(NAIVE_THREADS) as pool:
            subs = _subscriptions(session, endpoint)
            sum(pool.map(lambda sub: _transfer(session, _scope_url(endpoint, sub)), subs))
        best = min(best, time.perf_counter() - t0)
    return best


def the_fetch(endpoint: str) -> mf.RegistryTables:
    return fetch_registries(endpoint=endpoint, credential=StaticTokenCredential(TOKEN))


def parse_floor(raw: list[bytes], repeat: int = 2) -> float:
    """Seconds to parse every page with orjson and flatten them, on one thread."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        mf.flatten([orjson.loads(body) for body in raw], workers=1)
        best = min(best, time.perf_counter() - t0)
    return best


def network_floor(pages_per_scope: list[int], latency: float, workers: int) -> float:
    """Makespan of the scopes (pages x latency each) on ``workers`` threads, in order, plus
    the one subscription list round trip."""
    free = [0.0] * workers
    for pages in pages_per_scope:
        slot = free.index(min(free))
        free[slot] += pages * latency
    return latency + max(free)


def timed(func: Callable[[str], mf.RegistryTables], endpoint: str, repeat: int) -> tuple:
    runs, tables = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        tables = func(endpoint)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), min(runs), tables


def peak_heap(func: Callable[[str], mf.RegistryTables], endpoint: str) -> float:
    """Peak Python heap (MB, tracemalloc) while ``func`` runs, above what was live before:
    the raw JSON held at once shows here. Untimed (tracing slows everything down)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        func(endpoint)
        return (tracemalloc.get_traced_memory()[1] - base) / 1e6
    finally:
        tracemalloc.stop()


def run_case(case: Case, repeat: int, memory: bool = False) -> bool:
    proc, endpoint = start_emulator(case)
    raw: list[bytes] = []
    try:
        t0 = time.perf_counter()
        by_hand = sequential_loop(endpoint, raw)
        hand_seconds = time.perf_counter() - t0
        naive_median, naive_best, naive = timed(naive_threads, endpoint, repeat)
        fetch_median, fetch_best, tables = timed(the_fetch, endpoint, repeat)
        transfer = transfer_floor(endpoint, repeat)
        heaps = [peak_heap(f, endpoint) for f in (naive_threads, the_fetch)] if memory else []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    latency = case.latency_ms / 1000
    counts = by_hand.registries.groupby("subscription_id").size()
    sizes = [max(1, -(-int(n) // case.page_size)) for n in counts]
    if case.pages_per_scope:
        sizes = [case.pages_per_scope] * len(counts)
    net = network_floor(sizes, latency, DEFAULT_WORKERS)
    cpu = parse_floor(raw)
    floor = max(net, cpu)
    expected = set(by_hand.registries["registry_id"])
    complete = (
        set(tables.registries["registry_id"]) == expected == set(naive.registries["registry_id"])
        and tables.fetch_errors.empty
        and tables.counts(include_errors=False) == by_hand.counts(include_errors=False)
    )
    speedup, naive_speedup = hand_seconds / fetch_median, hand_seconds / naive_median
    megabytes = sum(len(body) for body in raw) / 1e6
    print(
        f"[{case.name}] {case.subscriptions} subscriptions, {len(expected):,} registries in "
        f"{len(raw)} pages ({megabytes:.1f} MB), {case.latency_ms:.0f} ms latency per request"
    )
    print(f"  sequential loop + flatten   : {hand_seconds:6.2f} s")
    print(
        f"  naive {NAIVE_THREADS}-thread loop + flatten: {naive_median:6.2f} s median "
        f"({naive_best:.2f} best of {repeat})   {naive_speedup:5.1f}x sequential"
    )
    print(
        f"  fetch_registries (defaults) : {fetch_median:6.2f} s median ({fetch_best:.2f} best "
        f"of {repeat})   {speedup:5.1f}x sequential, {naive_median / fetch_median:.1f}x naive"
    )
    print(f"  network floor               : {net:6.2f} s  ({DEFAULT_WORKERS} workers)")
    print(f"  parse floor                 : {cpu:6.2f} s  (orjson + flatten, one thread)")
    print(
        f"  transfer floor              : {transfer:6.2f} s  (bytes only, {NAIVE_THREADS} threads, "
        f"best of {repeat}; fetch is {fetch_median / transfer:.2f}x it; sequential / it = "
        f"{hand_seconds / transfer:.1f}x is the most any client could reach here)"
    )
    print(
        f"  fetch / max(floors)         : {fetch_median / floor:6.2f}  (1.00 = no overhead over "
        f"the {'network' if net >= cpu else 'parse'} floor)"
    )
    if heaps:
        print(
            f"  peak Python heap            : naive {heaps[0]:.0f} MB, fetch_registries "
            f"{heaps[1]:.0f} MB  (tracemalloc; {megabytes:.0f} MB of JSON in all)"
        )
    targeted = case.name in TARGETED
    verdict = ("PASS" if speedup >= 8 else "FAIL") if targeted else f"{speedup:.1f}x, no target"
    print(
        f"  target >= 8x sequential     : {verdict}; "
        f"every registry fetched: {'PASS' if complete else 'FAIL'}"
    )
    return (speedup >= 8 or not targeted) and complete


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the threaded contenders")
    parser.add_argument(
        "--memory", action="store_true", help="also the peak Python heap of naive and fetch"
    )
    args = parser.parse_args()
    cases = list(CASES.values()) if args.case == "all" else [CASES[args.case]]
    results = [run_case(case, args.repeat, args.memory) for case in cases]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
