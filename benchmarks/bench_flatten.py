"""Benchmark: page files of a generated fleet -> the seven tables, against two baselines.

Compares, in one run and on the same files:

- ``parse-only``: read every page file and ``json.loads`` it (the floor: any approach pays it);
- ``recipe``: the ``pandas.json_normalize`` recipe a notebook user writes (one call per child
  table with ``record_path``/``meta``, plus the clean-up it needs: coalescing system/user
  accounts, nullable booleans, ISO 8601 timestamps with odd offsets, tags melted);
- ``mlreg_frames``: ``mlreg_frames.flatten(mlreg_frames.read_pages(folder))`` in a plain script
  that imports pandas first;
- ``mlreg_frames-jupyter``: the same call in a Jupyter kernel (ipykernel);
- ``mlreg_frames-lake``: the same call in a process that has just written a lake snapshot.

Each variant runs in its own child process (so one's memory cannot hide in another's), best of
``--repeat`` runs; peak memory is the peak summed RSS of the child and any worker processes
it starts (proportional set size, so pages shared after fork count once; sampled from outside
every 20 ms), above the PSS of the child (and its kernel) after imports. Targets (issues 2
and 21): recipe / each of the three mlreg_frames variants >= 10x, mlreg_frames / parse-only
<= 4x, and each mlreg_frames variant's peak memory below the recipe's.

Usage::

    python benchmarks/bench_flatten.py                     # 100,000 registries (a few minutes)
    python benchmarks/bench_flatten.py --registries 2000   # smoke check
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ("parse-only", "recipe", "mlreg_frames", "mlreg_frames-jupyter", "mlreg_frames-lake")
"""Judged by the targets: ``mlreg_frames`` is a plain script that imports pandas first,
``mlreg_frames-jupyter`` runs the same call in a Jupyter kernel, ``mlreg_frames-lake`` runs
it right after a ``lake.append`` in the same process (delta-rs' threads are up)."""
INFO_VARIANTS = ("parse-orjson", "mlreg_frames-1proc")
"""Shown for context, judged by no target: orjson is the parser mlreg_frames uses, and
``workers=1`` shows what one process does without the worker processes."""
OURS = ("mlreg_frames", "mlreg_frames-jupyter", "mlreg_frames-lake")


# --- the variants ---------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def parse_only(folder: Path) -> dict[str, int]:
    """Read and ``json.loads`` every page file; nothing else."""
    pages = [json.loads(path.read_bytes()) for path in _files(folder)]
    return {"registries": sum(len(page["value"]) for page in pages)}


def parse_orjson(folder: Path) -> dict[str, int]:
    """Like ``parse_only`` with orjson, the parser ``mlreg_frames.read_pages`` uses."""
    import orjson

    pages = [orjson.loads(path.read_bytes()) for path in _files(folder)]
    return {"registries": sum(len(page["value"]) for page in pages)}


def recipe(folder: Path) -> dict[str, int]:
    """The ``pandas.json_normalize`` recipe, cleaned up until its tables are usable."""
    import pandas as pd

    regs = [r for path in _files(folder) for r in json.loads(path.read_bytes())["value"]]

    reg = pd.json_normalize(regs, max_level=1)
    reg["managed_resource_group_id"] = reg["properties.managedResourceGroup"].str.get("resourceId")
    drop = [c for c in reg if c.startswith("tags.")] + [
        "properties.regionDetails",
        "properties.registryPrivateEndpointConnections",
        "properties.managedResourceGroup",
        "properties.managedResourceGroupSettings",
        "identity.userAssignedIdentities",
        "identity.principalId",
        "identity.tenantId",
    ]
    reg = reg.drop(columns=drop, errors="ignore")
    reg.columns = [c.split(".")[-1] for c in reg.columns]
    reg = reg.rename(columns={"id": "arm_id"}).convert_dtypes()
    reg["registry_id"] = reg["arm_id"].str.lower()
    parts = reg["arm_id"].str.split("/")
    reg["subscription_id"] = parts.str[2].str.lower()
    reg["resource_group"] = parts.str[4]
    reg["region_count"] = [len(r["properties"]["regionDetails"]) for r in regs]
    for col in ("createdAt", "lastModifiedAt"):
        reg[col] = pd.to_datetime(reg[col], utc=True, format="ISO8601")

    meta = ["id", "location"]
    regions = pd.json_normalize(
        regs, record_path=["properties", "regionDetails"], meta=meta, meta_prefix="registry."
    ).drop(columns=["storageAccountDetails", "acrDetails"])
    regions["registry_id"] = regions.pop("registry.id").str.lower()
    regions["is_primary"] = regions["location"] == regions.pop("registry.location")
    regions["region_index"] = regions.groupby("registry_id").cumcount()

    def accounts(field: str, system: str, user: str) -> pd.DataFrame:
        frame = pd.json_normalize(
            regs,
            record_path=["properties", "regionDetails", field],
            meta=["id", ["properties", "regionDetails", "location"]],
            meta_prefix="registry.",
        )
        out = pd.DataFrame({"registry_id": frame["registry.id"].str.lower()})
        out["location"] = frame["registry.properties.regionDetails.location"]
        sys_id = f"{system}.armResourceId.resourceId"
        user_id = f"{user}.armResourceId.resourceId"
        has_sys = frame[sys_id].notna() if sys_id in frame else pd.Series(False, index=frame.index)
        out["origin"] = has_sys.map({True: "system", False: "user"})
        out["resource_id"] = frame.get(sys_id).fillna(frame.get(user_id)).astype("string")
        for col in frame.columns:
            if col.startswith(system + ".") and col != sys_id:
                out[col.split(".")[-1]] = frame[col]
        return out.convert_dtypes()

    storage = accounts(
        "storageAccountDetails", "systemCreatedStorageAccount", "userCreatedStorageAccount"
    )
    for col in ("storageAccountHnsEnabled", "allowBlobPublicAccess"):
        storage[col] = storage[col].astype("boolean")
    acr = accounts("acrDetails", "systemCreatedAcrAccount", "userCreatedAcrAccount")

    system = (
        reg[["registry_id"]]
        .assign(
            principal_id=[(r.get("identity") or {}).get("principalId") for r in regs],
            tenant_id=[(r.get("identity") or {}).get("tenantId") for r in regs],
            kind="system",
        )
        .dropna(subset=["principal_id"])
    )
    user = pd.DataFrame(
        [
            {"registry_id": r["id"].lower(), "resource_id": key, **(value or {})}
            for r in regs
            for key, value in (
                (r.get("identity") or {}).get("userAssignedIdentities") or {}
            ).items()
        ]
    ).assign(kind="user")
    with_mrg = [
        r
        for r in regs
        if (r["properties"].get("managedResourceGroupSettings") or {}).get("assignedIdentities")
    ]
    mrg = pd.json_normalize(
        with_mrg,
        record_path=["properties", "managedResourceGroupSettings", "assignedIdentities"],
        meta=["id"],
    )
    mrg = mrg.assign(registry_id=mrg.pop("id").str.lower(), kind="managed_resource_group")
    identities = pd.concat([system, user, mrg], ignore_index=True).convert_dtypes()

    pes = pd.json_normalize(
        regs,
        record_path=["properties", "registryPrivateEndpointConnections"],
        meta=["id"],
        meta_prefix="registry.",
    )
    pes["registry_id"] = pes.pop("registry.id").str.lower()
    pes.columns = [c.split(".")[-1] for c in pes.columns]
    pes = pes.convert_dtypes()

    tags = pd.DataFrame([r.get("tags") or {} for r in regs])
    tags["registry_id"] = reg["registry_id"]
    tags = tags.melt(id_vars="registry_id", var_name="key").dropna(subset=["value"])
    tags = tags.astype("string")

    tables = {
        "registries": reg,
        "regions": regions,
        "storage": storage,
        "acr": acr,
        "identities": identities,
        "pe_connections": pes,
        "tags": tags,
    }
    return {name: len(frame) for name, frame in tables.items()}


def ours(folder: Path) -> dict[str, int]:
    """``mlreg_frames.flatten(mlreg_frames.read_pages(folder))``."""
    import mlreg_frames as mf

    tables = mf.flatten(mf.read_pages(folder))
    return {k: v for k, v in tables.counts().items() if k != "fetch_errors"}


def ours_one_process(folder: Path) -> dict[str, int]:
    """``mlreg_frames.flatten(..., workers=1)``: everything in this one process."""
    import mlreg_frames

    tables = mlreg_frames.flatten(mlreg_frames.read_pages(folder), workers=1)
    return tables.counts(include_errors=False)


def ours_after_lake(folder: Path) -> dict[str, int]:
    """``ours`` in a process that has just appended to a lake (set up by :func:`_setup`)."""
    return ours(folder)


_KERNEL: Any = None

KERNEL_CODE = """
import time
import pandas
import mlreg_frames as mf
_start = time.perf_counter()
_tables = mf.flatten(mf.read_pages({folder!r}))
_elapsed = time.perf_counter() - _start
print(repr((_elapsed, mf.tables.RegistryTables.counts(_tables, include_errors=False))))
del _tables
import gc; gc.collect()
"""


def _kernel_run(code: str) -> str:
    """Run ``code`` in the Jupyter kernel; its printed output."""
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = _KERNEL[1].execute_interactive(code, output_hook=hook, timeout=3600)
    if reply["content"]["status"] != "ok":
        raise RuntimeError("".join(out))
    return "".join(out)


def ours_in_jupyter(folder: Path) -> dict[str, int]:
    """``ours`` executed in a Jupyter kernel (ipykernel, started by :func:`_setup`)."""
    import ast

    _elapsed, counts = ast.literal_eval(_kernel_run(KERNEL_CODE.format(folder=str(folder))))
    return dict(counts)


def _setup(variant: str) -> None:
    """What the user's process has done before the call (not timed, not in the baseline)."""
    global _KERNEL
    if variant == "mlreg_frames-lake":
        import mlreg_frames as mf
        from mlreg_frames import lake

        root = tempfile.mkdtemp(prefix="mlreg-bench-lake-")
        lake.append(mf.flatten(mf.read_pages(Path(__file__).parents[1] / "data/sample")), root)
        assert len(lake.read(root).registries) > 0
    elif variant == "mlreg_frames-jupyter":
        from jupyter_client.manager import start_new_kernel

        _KERNEL = start_new_kernel(kernel_name="python3")
        _kernel_run("import pandas, pyarrow, mlreg_frames")


RUNNERS = {
    "parse-only": parse_only,
    "parse-orjson": parse_orjson,
    "recipe": recipe,
    "mlreg_frames": ours,
    "mlreg_frames-jupyter": ours_in_jupyter,
    "mlreg_frames-lake": ours_after_lake,
    "mlreg_frames-1proc": ours_one_process,
}


# --- measuring ------------------------------------------------------------------------------


def _memory_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MB.

    ``/proc`` is used, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the parent
    across fork and exec, which would hide a child's own peak under the parent's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: peak, KiB


def child(variant: str, folder: Path, repeat: int) -> None:
    """Run one variant ``repeat`` times in this process; print one JSON line of results."""
    # The same imports in every child, so every child starts from the same baseline.
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    import mlreg_frames  # noqa: F401

    _setup(variant)
    baseline = _tree_pss_mb(os.getpid())  # a Jupyter kernel's imports are no cost of the call
    run = RUNNERS[variant]
    times, counts = [], {}
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        counts = run(folder)
        times.append(time.perf_counter() - start)
    peak = _memory_mb("VmHWM")
    if _KERNEL is not None:
        _KERNEL[1].stop_channels()
        _KERNEL[0].shutdown_kernel(now=True)
    print(json.dumps({"times": times, "counts": counts, "baseline": baseline, "peak": peak}))


def _pss_mb(pid: int | str = "self") -> float:
    """Proportional set size of a process in MB: shared pages split between their users.

    Summing RSS over forked workers would count the libraries and pages they share with
    their parent once per process; PSS counts each page once in all.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            return next(
                (int(line.split()[1]) / 1024 for line in rollup if line.startswith("Pss:")), 0.0
            )
    except OSError:
        return 0.0


def _tree_pss_mb(pid: int) -> float:
    """Summed PSS of a process and all its descendants (worker processes too), in MB."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += _pss_mb(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def measure(variant: str, folder: Path, repeat: int) -> dict[str, Any]:
    """Run a variant in a child process, sampling the memory of its whole process tree.

    Sampling from outside keeps the measured process free of extra threads, and counts the
    worker processes a variant may start, not only the process that starts them.
    """
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--folder",
        str(folder),
        "--repeat",
        str(repeat),
    ]
    tree_peak = 0.0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        while proc.poll() is None:
            tree_peak = max(tree_peak, _tree_pss_mb(proc.pid))
            time.sleep(0.02)
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{stderr}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak"] = tree_peak
    return result


def generate(folder: Path, n: int, subscriptions: int, page_size: int) -> None:
    """Write the fleet's page files from a child process, so this one stays small."""
    options = {
        "--pages": folder,
        "-n": n,
        "--subscriptions": subscriptions,
        "--page-size": page_size,
    }
    cmd = [sys.executable, "-m", "mlreg_frames.synth", "--seed", "0"]
    cmd += [str(part) for pair in options.items() for part in pair]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def report(results: dict[str, dict[str, Any]], n: int) -> bool:
    best = {v: min(r["times"]) for v, r in results.items()}
    mem = {v: r["tree_peak"] - r["baseline"] for v, r in results.items()}
    print(
        f"\n{'variant':<22}{'best s':>10}{'runs (s)':>28}{'peak PSS MB':>14}{'above base MB':>15}"
    )
    for v, r in results.items():
        runs = ", ".join(f"{t:.2f}" for t in r["times"])
        print(f"{v:<22}{best[v]:>10.2f}{runs:>28}{r['tree_peak']:>14.0f}{mem[v]:>15.0f}")
    print(
        "(peak memory: proportional set size of the variant's process and its worker"
        " processes, summed, sampled every 20 ms)"
    )
    print(f"\nrows per table ({n:,} registries):")
    tables = list(results["mlreg_frames"]["counts"])
    print(f"{'':<22}" + "".join(f"{t:>16}" for t in tables))
    for v in ("recipe", *OURS):
        print(f"{v:<22}" + "".join(f"{results[v]['counts'].get(t, 0):>16,}" for t in tables))
    overhead = best["mlreg_frames"] / best["parse-only"]
    print("\nas users meet it (each against the recipe, side by side in this run):")
    print(f"{'':<22}{'best s':>10}{'recipe / it':>14}{'above base MB':>15}")
    for v in OURS:
        print(f"{v:<22}{best[v]:>10.2f}{best['recipe'] / best[v]:>13.1f}x{mem[v]:>15.0f}")
    print(f"{'recipe':<22}{best['recipe']:>10.2f}{1:>13.1f}x{mem['recipe']:>15.0f}")
    checks = [
        (f"recipe / {v} = {best['recipe'] / best[v]:.1f}x", "target >= 10x",
         best["recipe"] / best[v] >= 10)
        for v in OURS
    ]  # fmt: skip
    checks.append((f"mlreg_frames / parse-only = {overhead:.2f}x", "target <= 4x", overhead <= 4))
    checks += [
        (f"peak memory {v} {mem[v]:.0f} MB vs recipe {mem['recipe']:.0f} MB",
         "target: below the recipe", mem[v] < mem["recipe"])
        for v in OURS
    ]  # fmt: skip
    if "parse-orjson" in best:
        ratio = best["mlreg_frames"] / best["parse-orjson"]
        print(f"\n(context) mlreg_frames / parse-orjson = {ratio:.2f}x: the overhead over parsing")
        print("with orjson, the parser mlreg_frames.read_pages itself uses")
    if "mlreg_frames-1proc" in best:
        one = best["mlreg_frames-1proc"]
        print(
            f"(context) one process (workers=1): {one:.2f} s, recipe / it = "
            f"{best['recipe'] / one:.1f}x, it / parse-only = {one / best['parse-only']:.2f}x"
        )
    print()
    for text, target, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text:<66} ({target})")
    return all(ok for _, _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registries", type=int, default=100_000, help="fleet size (100000)")
    parser.add_argument("--subscriptions", type=int, default=20, help="subscriptions (20)")
    parser.add_argument("--page-size", type=int, default=100, help="registries per page file (100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant, best kept (3)")
    default = ",".join((VARIANTS[0], *INFO_VARIANTS, *VARIANTS[1:]))
    parser.add_argument("--variants", default=default, help=f"comma-separated ({default})")
    parser.add_argument("--folder", type=Path, help="use (or fill, if empty) this page folder")
    parser.add_argument("--child", choices=list(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.folder, args.repeat)
        return 0
    with tempfile.TemporaryDirectory(prefix="mlreg-bench-") as tmp:
        folder = args.folder or Path(tmp)
        if not any(folder.glob("*.json")):
            start = time.perf_counter()
            generate(folder, args.registries, args.subscriptions, args.page_size)
            pages = len(list(folder.glob("*.json")))
            size = sum(p.stat().st_size for p in folder.glob("*.json")) / 1e6
            print(f"generated {args.registries:,} registries in {pages:,} page files "
                  f"({size:,.0f} MB) in {time.perf_counter() - start:.1f} s")  # fmt: skip
        results = {}
        for variant in args.variants.split(","):
            print(f"running {variant} x{args.repeat} ...", flush=True)
            results[variant] = measure(variant, folder, args.repeat)
        if not set(VARIANTS) <= set(results):
            print(json.dumps(results, indent=2))
            return 0
        return 0 if report(results, args.registries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
