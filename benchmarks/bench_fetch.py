"""Benchmark: fetch_registries (defaults) against the sequential loop a user writes by hand.

The ARM emulator runs in its own process and serves 48 subscriptions x 3 pages with 50 ms of
latency per request. The hand-written loop lists the subscriptions, then follows ``nextLink``
one subscription after another with ``requests`` (a keep-alive session, the same static
token). ``fetch_registries`` does the same work, plus flattening into the seven tables.

Target: at least 8x faster, with every registry fetched. Also reported: the concurrency floor,
pages per scope x latency x scopes / workers, and how close the fetch gets to it.

Run: ``python benchmarks/bench_fetch.py [--subscriptions 48] [--latency-ms 50] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import subprocess
import sys
import time
from typing import Any

import requests

import mlreg_frames as mf
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.fetch import fetch_registries

TOKEN = "bench-token"
LIST = "providers/Microsoft.MachineLearningServices/registries"
DEFAULT_WORKERS = int(inspect.signature(fetch_registries).parameters["max_workers"].default)


def start_emulator(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    """The emulator as a subprocess; returns it and its endpoint (read from its first line)."""
    cmd = [
        sys.executable, "-m", "mlreg_frames", "emulator", "--port", "0",
        "--fleet", str(args.subscriptions * args.per_subscription),
        "--subscriptions", str(args.subscriptions),
        "--pages-per-scope", str(args.pages), "--page-size", "1000",
        "--latency-ms", str(args.latency_ms), "--token", TOKEN,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ARM emulator on "):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return proc, line.split()[3]


def hand_written_loop(endpoint: str) -> list[dict[str, Any]]:
    """What a user writes: list subscriptions, then each subscription's pages, in order."""
    registries: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with requests.Session() as session:
        session.trust_env = False
        subscriptions: list[dict[str, Any]] = []
        url: str | None = f"{endpoint}/subscriptions?api-version=2022-12-01"
        while url:
            body = session.get(url, headers=headers, timeout=60).json()
            subscriptions += body["value"]
            url = body.get("nextLink")
        for sub in subscriptions:
            url = f"{endpoint}/subscriptions/{sub['subscriptionId']}/{LIST}?api-version=2025-09-01"
            while url:
                answer = session.get(url, headers=headers, timeout=60)
                answer.raise_for_status()
                body = answer.json()
                registries += body["value"]
                url = body.get("nextLink")
    return registries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=48)
    parser.add_argument("--pages", type=int, default=3, help="pages per subscription")
    parser.add_argument("--per-subscription", type=int, default=15, help="registries (mean)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3, help="fetch_registries runs")
    args = parser.parse_args()
    proc, endpoint = start_emulator(args)
    try:
        t0 = time.perf_counter()
        by_hand = hand_written_loop(endpoint)
        hand_seconds = time.perf_counter() - t0
        runs, tables = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            tables = fetch_registries(endpoint=endpoint, credential=StaticTokenCredential(TOKEN))
            runs.append(time.perf_counter() - t0)
        assert tables is not None
        t0 = time.perf_counter()
        mf.flatten(by_hand)
        flatten_seconds = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    expected = {r["id"].lower() for r in by_hand}
    got = set(tables.registries["registry_id"])
    latency = args.latency_ms / 1000
    floor = args.pages * latency * args.subscriptions / DEFAULT_WORKERS
    best, median = min(runs), statistics.median(runs)
    speedup = hand_seconds / median
    complete = got == expected and tables.fetch_errors.empty
    print(
        f"emulator: {args.subscriptions} subscriptions x {args.pages} pages, "
        f"{args.latency_ms:.0f} ms latency per request, {len(expected)} registries"
    )
    print(f"hand-written sequential loop : {hand_seconds:6.2f} s  ({len(by_hand)} registries)")
    print(
        f"fetch_registries (defaults)  : {median:6.2f} s median, {best:.2f} s best of "
        f"{len(runs)}  ({len(got)} registries, {DEFAULT_WORKERS} workers)"
    )
    print(f"  of which flattening        : {flatten_seconds:6.2f} s (measured on the same data)")
    print(
        f"speed-up (median)            : {speedup:6.1f}x   target >= 8x: "
        f"{'PASS' if speedup >= 8 else 'FAIL'}"
    )
    print(f"every registry fetched       : {'PASS' if complete else 'FAIL'}")
    print(
        f"concurrency floor            : {floor:6.2f} s  (= {args.pages} pages x "
        f"{args.latency_ms:.0f} ms x {args.subscriptions} scopes / {DEFAULT_WORKERS} workers)"
    )
    print(
        f"fetch / floor                : {median / floor:6.2f}  (1.00 = no overhead; the "
        f"subscription list adds one round trip of {args.latency_ms:.0f} ms)"
    )
    return 0 if speedup >= 8 and complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
