"""What Cost Management writes is read: Parquet, dated run folders, older header sets.

The header sets are the project's own rows in the shapes real exports have: the pay-as-you-go
"usage details" (``UsageDateTime``, ``PreTaxCost``, ``InstanceId``), the same with a byte-order
mark, German headers carrying the English name in parentheses, camel-case EA and lower-case
partner exports (``costInBillingCurrency``, ``InstanceName``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlreg_frames as mf

from .registry_factory import storage_id

RID = storage_id("a", "eastus")
DETAILS = "Date,BillingCurrency,CostInBillingCurrency,ResourceId,ResourceLocation,MeterCategory"


def write(path: Path, header: str, rows: list[str], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([header, *rows]) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


# --- 8: Parquet and export roots ----------------------------------------------------------------


def focus_table(costs: list[float], day: str = "2025-01-05") -> pa.Table:
    n = len(costs)
    return pa.table(
        {
            "ResourceId": [RID] * n,
            "BilledCost": pa.array(costs, pa.float64()),
            "EffectiveCost": pa.array([Decimal(str(c * 0.5)) for c in costs], pa.decimal128(18, 6)),
            "BillingCurrency": ["USD"] * n,
            "ChargePeriodStart": pa.array(
                [pd.Timestamp(day, tz="UTC")] * n, pa.timestamp("us", "UTC")
            ),
            "RegionName": ["East US"] * n,
        }
    )


def test_a_parquet_file_and_a_folder_of_parts(tmp_path):
    pq.write_table(focus_table([1.0, 2.0]), tmp_path / "part_0_0001.parquet")
    pq.write_table(focus_table([4.0], "2025-01-06"), tmp_path / "part_1_0001.parquet")
    one = mf.read_cost_export(tmp_path / "part_0_0001.parquet")
    assert one.attrs["format"] == "focus" and one["cost"].tolist() == [1.0, 2.0]
    assert one["resource_location"].tolist() == ["eastus", "eastus"]
    both = mf.read_cost_export(tmp_path)
    assert both["cost"].sum() == 7.0 and both.attrs["date_order"] == "timestamp"
    amortized = mf.read_cost_export(tmp_path, cost_column="EffectiveCost")
    assert amortized["cost"].sum() == 3.5
    assert amortized["date"].dt.strftime("%d").tolist() == ["05", "05", "06"]


def test_parquet_with_a_null_cost_or_naive_timestamps(tmp_path):
    table = focus_table([1.0, 2.0]).set_column(1, "BilledCost", pa.array([1.0, None]))
    pq.write_table(table, tmp_path / "n.parquet")
    with pytest.raises(mf.CostExportError, match="data row 2"):
        mf.read_cost_export(tmp_path / "n.parquet")
    naive = focus_table([1.0]).set_column(
        4, "ChargePeriodStart", pa.array([pd.Timestamp("2025-01-05 23:00")])
    )
    pq.write_table(naive, tmp_path / "naive.parquet")
    assert mf.read_cost_export(tmp_path / "naive.parquet")["date"].iloc[0] == pd.Timestamp(
        "2025-01-05", tz="UTC"
    )


def manifest(
    folder: Path, submitted: str, parts: dict[str, int], dataset: str = "ActualCost"
) -> None:
    body = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": "daily", "type": dataset},
        "runInfo": {"submittedTime": submitted, "runId": folder.name},
        "blobCount": len(parts),
        "blobs": [{"blobName": f"exports/daily/{folder.parent.name}/{folder.name}/{name}",
                   "dataRowCount": rows} for name, rows in parts.items()],
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(body), encoding="utf-8")


def test_an_export_root_reads_the_latest_run_of_each_period(tmp_path):
    root = tmp_path / "exports"
    sept = root / "daily" / "20250901-20250930"
    old, new = sept / "run-aaa", sept / "run-bbb"
    write(old / "part_0_0001.csv", DETAILS, ["09/01/2025,USD,1,/x,eastus,S"])
    write(
        new / "part_0_0001.csv",
        DETAILS,
        ["09/01/2025,USD,1,/x,eastus,S", "09/02/2025,USD,2,/x,eastus,S"],
    )
    write(new / "part_1_0001.csv", DETAILS, ["09/03/2025,USD,4,/x,eastus,S"])
    manifest(old, "2025-09-02T06:00:00.1234567Z", {"part_0_0001.csv": 1})
    manifest(new, "2025-09-04T06:00:00Z", {"part_0_0001.csv": 2, "part_1_0001.csv": 1})
    october = root / "daily" / "20251001-20251031" / "run-ccc"
    write(october / "part_0_0001.csv", DETAILS, ["10/01/2025,USD,8,/x,eastus,S"])
    manifest(october, "2025-10-02T06:00:00Z", {"part_0_0001.csv": 1})
    c = mf.read_cost_export(root)
    assert c["cost"].sum() == 15.0
    assert c.attrs["files"] == [
        "daily/20250901-20250930/run-bbb/part_0_0001.csv",
        "daily/20250901-20250930/run-bbb/part_1_0001.csv",
        "daily/20251001-20251031/run-ccc/part_0_0001.csv",
    ]


def test_runs_without_manifests_overlaps_and_short_parts_are_refused(tmp_path):
    period = tmp_path / "r" / "daily" / "20250901-20250930"
    write(period / "run-a" / "part_0_0001.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    write(period / "run-b" / "part_0_0001.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    with pytest.raises(
        mf.CostExportError, match=r"holds 2 runs .* no manifest says which is the latest"
    ):
        mf.read_cost_export(tmp_path / "r")
    assert mf.read_cost_export(period / "run-a")["cost"].sum() == 1.0

    old = tmp_path / "old" / "daily" / "20250901-20250930"
    write(old / "daily_0a1b.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    write(old / "daily_9f8e.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    with pytest.raises(mf.CostExportError, match=r"holds 2 export files .* pass the one file"):
        mf.read_cost_export(tmp_path / "old")

    lap = tmp_path / "lap" / "daily"
    write(lap / "20250901-20250930" / "part_0_0001.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    write(lap / "20250915-20251014" / "part_0_0001.csv", DETAILS, ["09/15/2025,USD,1,/x,e,S"])
    with pytest.raises(mf.CostExportError, match="cover overlapping days"):
        mf.read_cost_export(tmp_path / "lap")

    short = tmp_path / "short" / "20250901-20250930" / "run"
    write(short / "part_0_0001.csv", DETAILS, ["09/01/2025,USD,1,/x,e,S"])
    manifest(short, "2025-09-02T00:00:00Z", {"part_0_0001.csv": 5})
    with pytest.raises(
        mf.CostExportError, match="holds 1 data rows where its run's manifest says 5"
    ):
        mf.read_cost_export(tmp_path / "short")
    manifest(short, "2025-09-02T00:00:00Z", {"part_0_0001.csv": 1, "part_1_0001.csv": 3})
    with pytest.raises(mf.CostExportError, match=r"lists part_1_0001\.csv, which is not there"):
        mf.read_cost_export(tmp_path / "short")


def test_a_flat_folder_ignores_non_export_files(tmp_path):
    write(tmp_path / "a.csv", DETAILS, ["01/01/2025,USD,1,/x,e,S"])
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")
    (tmp_path / "_SUCCESS").write_text("", encoding="utf-8")
    assert mf.read_cost_export(tmp_path)["cost"].sum() == 1.0


# --- 9: older header sets -------------------------------------------------------------------------

LB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG/providers/Microsoft.Network/loadBalancers/kubernetes"
PAYG = (
    "SubscriptionGuid,ResourceGroup,ResourceLocation,UsageDateTime,MeterCategory,MeterSubcategory,"
    "MeterId,MeterName,MeterRegion,UsageQuantity,ResourceRate,PreTaxCost,ConsumedService,"
    "ResourceType,InstanceId,Tags,OfferId,AdditionalInfo,ServiceInfo1,ServiceInfo2,ServiceName,"
    "ServiceTier,Currency,UnitOfMeasure"
)
PAYG_ROW = (
    f"11111111-2222-3333-4444-555555555555,RG,US East,2021-02-02,Load Balancer,Standard,m-1,"
    f"Included LB Rules,,3,0.025,0.075,Microsoft.Network,Microsoft.Network/loadBalancers,{LB},,,,,,"
    "Load Balancer,Std Load Balancer,USD,100 Hours"
)
GERMAN = (
    "Abonnement-GUID (SubscriptionGuid),Ressourcengruppe (ResourceGroup),Ressourcenstandort "
    "(ResourceLocation),UsageDateTime (UsageDateTime),Kategorie der Verbrauchseinheit "
    "(MeterCategory),PreTaxCost (PreTaxCost),InstanceId (InstanceId),Currency"
)
GERMAN_ROW = (
    f"11111111-2222-3333-4444-555555555555,RG,US East,2021-02-02,Load Balancer,0.075,{LB},EUR"
)
CAMEL = "date,meterCategory,SubscriptionId,ResourceId,resourceLocation,location,billingCurrency,costInBillingCurrency,costInUsd,PayGPrice"
CAMEL_ROW = f"02/02/2021,Virtual Network,11111111-2222-3333-4444-555555555555,{LB},WESTUS,US West,CAD,0.016,0.012,0.004"
PARTNER = (
    "subscriptionId,date,meterCategory,costInBillingCurrency,consumedService,InstanceName,Currency"
)
PARTNER_ROW = f"11111111-2222-3333-4444-555555555555,02/02/2021,Load Balancer,0.075,Microsoft.Network,{LB},USD"


@pytest.mark.parametrize(
    ("header", "row", "bom", "cost", "currency", "location"),
    [
        (PAYG, PAYG_ROW, False, 0.075, "USD", "eastus"),
        (PAYG, PAYG_ROW, True, 0.075, "USD", "eastus"),
        (GERMAN, GERMAN_ROW, True, 0.075, "EUR", "eastus"),
        (CAMEL, CAMEL_ROW, False, 0.016, "CAD", "westus"),
        (PARTNER, PARTNER_ROW, False, 0.075, "USD", None),
    ],
    ids=["pay-as-you-go", "bom", "german", "ea-camel-case", "partner-lower-case"],
)
def test_older_usage_details_header_sets(tmp_path, header, row, bom, cost, currency, location):
    c = mf.read_cost_export(write(tmp_path / "u.csv", header, [row], bom=bom))
    assert c.attrs["format"] == "cost-details"
    assert c["resource_id"].tolist() == [LB.lower()]
    assert c["cost"].tolist() == [cost]
    assert c["currency"].tolist() == [currency]
    assert c["date"].tolist() == [pd.Timestamp("2021-02-02", tz="UTC")]
    assert c["resource_location"].tolist() == [location if location else pd.NA]


# --- 10: any numeric cost column ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "total", "currency"),
    [
        ("costInUsd", 0.012, "USD"),
        ("PayGPrice", 0.004, "CAD"),
        ("costinbillingcurrency", 0.016, "CAD"),
    ],
)
def test_cost_column_reads_any_numeric_column(tmp_path, column, total, currency):
    path = write(tmp_path / "c.csv", CAMEL, [CAMEL_ROW])
    c = mf.read_cost_export(path, cost_column=column)
    assert c["cost"].tolist() == [total] and c["currency"].tolist() == [currency]


@pytest.mark.parametrize("column", ["ListCost", "ContractedCost", "EffectiveCost", "BilledCost"])
def test_cost_column_on_focus(tmp_path, column):
    header = "ResourceId,BilledCost,EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargePeriodStart"
    path = write(tmp_path / "f.csv", header, [f"{RID},1,2,3,4,EUR,2025-01-01T00:00:00Z"])
    expected = {"BilledCost": 1, "EffectiveCost": 2, "ListCost": 3, "ContractedCost": 4}[column]
    c = mf.read_cost_export(path, cost_column=column)
    assert c["cost"].tolist() == [expected] and c["currency"].tolist() == ["EUR"]


def test_a_cost_column_that_is_not_numeric_is_refused(tmp_path):
    path = write(tmp_path / "c.csv", CAMEL, [CAMEL_ROW])
    with pytest.raises(mf.CostExportError, match="meterCategory is not a number on data row 1"):
        mf.read_cost_export(path, cost_column="meterCategory")
