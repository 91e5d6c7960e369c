"""Benchmark: what reading a big cost export strictly costs, against a lenient pandas read.

Generates two exports in the shapes users have (``--rows``, default 1,000,000 each):

- an **EA cost-details** export: the 59 columns of an Enterprise Agreement actual-cost file,
  ``MM/DD/YYYY`` dates, a UTF-8 byte-order mark, quoted JSON in ``AdditionalInfo`` and
  ``Tags`` (about 1.1 KB a row, 1.1 GB at a million rows);
- a **FOCUS 1.0** export: 44 columns, ISO timestamps (about 750 MB).

Each variant runs in its own child process, which imports pandas and mlreg_frames first (the
way a notebook meets the code), on the same files, side by side in one run:

- ``lenient``: ``pandas.read_csv(usecols=..., dtype=str)`` of the needed columns, then
  ``to_numeric`` and ``to_datetime``: the reader before the strict checks (it reads shifted
  rows, ``inf`` and a cut last line without a word);
- ``strict``: ``mf.read_cost_export``: every field count checked, costs finite, dates
  unambiguous, ids, regions and services normalised.

Both are followed by ``analysis.join_costs`` onto a 2,000-registry fleet whose storage
accounts, ACRs and managed resource groups the rows are billed to. Prints the wall times,
the peak RSS of each child (its VmHWM minus its RSS once the imports and the fleet are done)
against the file size, and the
ratio strict / lenient; the target is at most **1.20x**.

Usage::

    python benchmarks/bench_costs.py                    # 1,000,000 rows per export
    python benchmarks/bench_costs.py --rows 100000      # a smoke check
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_EA_COLUMNS = [
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "AccountOwnerId",
    "AccountName",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "Product",
    "PartNumber",
    "MeterId",
    "ServiceFamily",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "MeterName",
    "Quantity",
    "EffectivePrice",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ResourceLocation",
    "AvailabilityZone",
    "ConsumedService",
    "ResourceId",
    "ResourceName",
    "ServiceInfo1",
    "ServiceInfo2",
    "AdditionalInfo",
    "Tags",
    "InvoiceSectionId",
    "InvoiceSection",
    "CostCenter",
    "UnitOfMeasure",
    "ResourceGroup",
    "ReservationId",
    "ReservationName",
    "ProductOrderId",
    "ProductOrderName",
    "OfferId",
    "IsAzureCreditEligible",
    "Term",
    "PublisherName",
    "PlanName",
    "ChargeType",
    "Frequency",
    "PublisherType",
    "PayGPrice",
    "PricingModel",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
    "CostInUsd",
    "PaygCostInBillingCurrency",
    "PaygCostInUsd",
    "ExchangeRatePricingToBilling",
]
_FOCUS_COLUMNS = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_SkuDescription",
]
_REGISTRIES = 2000
_TEMPLATE = 2000  # distinct rows, tiled to the row count (exports repeat resources)


def _fleet_ids() -> list[tuple[str, str, str]]:
    """(resource id, region, meter category) billed to the benchmark fleet, plus others."""
    from mlreg_frames.synth.fleet import generate_fleet

    out = []
    for reg in generate_fleet(_REGISTRIES, 20, seed=7):
        for region in reg["properties"]["regionDetails"]:
            for entry in region["storageAccountDetails"]:
                acc = entry.get("systemCreatedStorageAccount") or entry["userCreatedStorageAccount"]
                out.append((acc["armResourceId"]["resourceId"], region["location"], "Storage"))
            for entry in region["acrDetails"]:
                acc = entry.get("systemCreatedAcrAccount") or entry["userCreatedAcrAccount"]
                out.append(
                    (acc["armResourceId"]["resourceId"], region["location"], "Container Registry")
                )
    return out


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """Write the EA and FOCUS exports (tiled from a template of distinct rows)."""
    import random

    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = random.Random(3)
    ids = _fleet_ids()
    template = []
    for i in range(_TEMPLATE):
        rid, region, category = ids[i % len(ids)] if i % 10 else (
            f"/subscriptions/0000/resourceGroups/rg-apps/providers/Microsoft.Compute/virtualMachines/vm{i}",
            "eastus", "Virtual Machines")  # fmt: skip
        template.append((rid, region, category, round(rng.lognormvariate(0, 2), 6), 1 + i % 28))
    reps = -(-rows // _TEMPLATE)
    info = '{"UsageType":"ComputeHR","ImageType":"Canonical","VCPUs":4, "note": "a, b"}'
    tags = '"env": "prod","team": "ml, platform"'

    def column(values: list[object], n: int) -> pa.Array:
        return pa.array((values * reps)[:n])

    filler = [f"value-{i * 7919 % 10**8:08d}" for i in range(_TEMPLATE)]
    ea: dict[str, list[object]] = {c: filler for c in _EA_COLUMNS}
    ea["Date"] = [f"09/{t[4]:02d}/2025" for t in template]
    ea["ResourceId"] = [t[0] for t in template]
    ea["ResourceLocation"] = [t[1] for t in template]
    ea["MeterCategory"] = [t[2] for t in template]
    ea["Cost"] = [f"{t[3]:.6f}" for t in template]
    ea["CostInUsd"] = ea["Cost"]
    ea["BillingCurrency"] = ["USD"] * _TEMPLATE
    ea["AdditionalInfo"] = [info] * _TEMPLATE
    ea["Tags"] = [tags] * _TEMPLATE
    ea["Product"] = ["Virtual Machines BS Series - B2s - US East"] * _TEMPLATE
    ea["MeterId"] = ["2c57ed84-f939-4f5c-ba90-782349a367b8"] * _TEMPLATE
    focus: dict[str, list[object]] = {c: filler for c in _FOCUS_COLUMNS}
    focus["ChargePeriodStart"] = [f"2025-09-{t[4]:02d} 00:00:00" for t in template]
    focus["ResourceId"] = ea["ResourceId"]
    focus["RegionId"] = ea["ResourceLocation"]
    focus["ServiceName"] = ["Storage Accounts" if t[2] == "Storage" else t[2] for t in template]
    focus["BilledCost"] = ea["Cost"]
    focus["EffectiveCost"] = ea["Cost"]
    focus["BillingCurrency"] = ea["BillingCurrency"]
    focus["Tags"] = ["{" + tags + "}"] * _TEMPLATE
    focus["ChargeDescription"] = [
        "$0.008 per used Application load balancer capacity unit-hour"
    ] * _TEMPLATE
    paths = {}
    for name, data, bom in (("ea", ea, True), ("focus", focus, False)):
        table = pa.table({c: column(v, rows) for c, v in data.items()})
        path = folder / f"{name}.csv"
        with path.open("wb") as fh:
            if bom:
                fh.write(b"\xef\xbb\xbf")
            pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="needed"))
        paths[name] = path
    return paths


_CHILD = r"""
import json, resource, sys, time
import pandas as pd
import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames.synth.fleet import generate_fleet

variant, path, fmt = sys.argv[1:4]
tables = mf.flatten(generate_fleet(%(registries)d, 20, seed=7))
def status(field):
    # VmHWM / VmRSS of this process (ru_maxrss would carry the parent's peak over exec)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
def rss():
    return status("VmHWM")
base = status("VmRSS")
start = time.perf_counter()
if variant == "strict":
    costs = mf.read_cost_export(path)
else:
    cols = {
        "ea": ["ResourceId", "Cost", "BillingCurrency", "Date", "ResourceLocation",
               "MeterCategory"],
        "focus": ["ResourceId", "BilledCost", "BillingCurrency", "ChargePeriodStart", "RegionId",
                  "ServiceName"],
    }[fmt]
    raw = pd.read_csv(path, usecols=cols, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                      na_values=[""])
    date_format = "%%m/%%d/%%Y" if fmt == "ea" else "ISO8601"
    costs = pd.DataFrame({
        "resource_id": raw[cols[0]].astype("string").str.strip().str.lower(),
        "cost": pd.to_numeric(raw[cols[1]], errors="coerce").fillna(0.0),
        "currency": raw[cols[2]].astype("string"),
        "date": pd.to_datetime(raw[cols[3]], format=date_format, utc=True).dt.floor("D"),
        "resource_location": raw[cols[4]].astype("string").str.replace(" ", "").str.lower(),
        "service": raw[cols[5]].astype("string"),
    })
    costs["month"] = costs["date"].dt.strftime("%%Y-%%m").astype("string")
    costs["resource_location_raw"] = raw[cols[4]].astype("string")
    costs["service_raw"] = costs["service"]
read = time.perf_counter() - start
start = time.perf_counter()
joined = analysis.join_costs(tables, costs)
join = time.perf_counter() - start
print(json.dumps({"read": read, "join": join, "rows": len(costs),
                  "total": float(costs["cost"].sum()),
                  "joined_total": float(joined["cost"].sum()), "peak": rss() - base}))
"""


def _run(variant: str, path: Path, fmt: str) -> dict[str, float]:
    code = _CHILD % {"registries": _REGISTRIES}
    out = subprocess.run(
        [sys.executable, "-c", code, variant, str(path), fmt],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant; the best counts")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(Path(tmp), args.rows)
        print(f"generated {args.rows:,} rows per export in {time.perf_counter() - start:.1f} s")
        for fmt, path in paths.items():
            size = path.stat().st_size
            results = {}
            for variant in ("lenient", "strict"):
                runs = [_run(variant, path, fmt) for _ in range(args.repeat)]
                results[variant] = min(runs, key=lambda r: r["read"] + r["join"])
            lenient, strict = results["lenient"], results["strict"]
            print(f"[{fmt}] {args.rows:,} rows, {size / 1e6:,.0f} MB")
            for name, r in results.items():
                print(
                    f"  {name:8s} read {r['read']:6.2f} s  join {r['join']:5.2f} s  "
                    f"total {r['read'] + r['join']:6.2f} s  peak RSS +{r['peak'] / 1e6:,.0f} MB "
                    f"({r['peak'] / size:.2f}x the file)  cost total {r['total']:,.2f}"
                )
            ratio = (strict["read"] + strict["join"]) / (lenient["read"] + lenient["join"])
            memory = strict["peak"] / max(lenient["peak"], 1)
            same = abs(strict["total"] - lenient["total"]) < 1e-6 * max(1.0, lenient["total"])
            conserved = abs(strict["joined_total"] - strict["total"]) < 1e-6 * max(
                1.0, strict["total"]
            )
            verdict = ratio <= 1.20 and same and conserved
            ok &= verdict
            print(
                f"  strict / lenient: time {ratio:.2f}x, "
                f"read {strict['read'] / lenient['read']:.2f}x, "
                f"peak memory {memory:.2f}x; same total: {same}; join conserves it: {conserved}; "
                f"target time <= 1.20x: {'PASS' if verdict else 'FAIL'}"
            )
    print(
        f"max RSS of this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:,.0f} MB"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
