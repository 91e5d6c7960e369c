"""Cost exports: both formats read the same way, and every cost row is accounted for."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import costs as mc
from mlreg_frames.analysis.costs import DATE_DTYPE

from .helpers import SAMPLE
from .registry_factory import SUB1, acr_id, make_registry, mrg_id, pe_id, storage_id

DETAILS_HEADER = (
    "Date,BillingCurrency,CostInBillingCurrency,ResourceId,ResourceLocation,MeterCategory"
)
FOCUS_HEADER = (
    "ResourceId,BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart,RegionId,ServiceName"
)


def write(path: Path, header: str, rows: list[str], *, bom: bool = False) -> Path:
    text = "\n".join([header, *rows]) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


@pytest.fixture
def fleet() -> mf.RegistryTables:
    return mf.flatten(
        [
            make_registry("a", location="eastus", replicas=["westus2"], pe_states=["Approved"]),
            make_registry("b", location="westeurope"),
        ]
    )


# --- reading ---------------------------------------------------------------------------


def test_read_cost_details(tmp_path):
    rid = storage_id("a", "eastus").upper()
    path = write(
        tmp_path / "details.csv",
        DETAILS_HEADER,
        [f"01/31/2025,usd,1.5,{rid},East US,Storage", "02/01/2025,USD,2.25,,,Marketplace"],
        bom=True,
    )
    c = mf.read_cost_export(path)
    assert c.attrs["format"] == "cost-details"
    assert list(c.columns) == list(mc.COST_COLUMNS)
    assert c["resource_id"].tolist() == [storage_id("a", "eastus").lower(), pd.NA]
    assert c["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-31", "2025-02-01"]
    assert c["month"].tolist() == ["2025-01", "2025-02"]
    assert c["cost"].tolist() == [1.5, 2.25]
    assert c["currency"].tolist() == ["USD", "USD"]
    assert c["resource_location"].tolist() == ["eastus", pd.NA]
    assert c["service"].tolist() == ["Storage Accounts", "Marketplace"]
    assert c["service_raw"].tolist() == ["Storage", "Marketplace"]


def test_read_focus_defaults_to_billed_cost(tmp_path):
    rid = acr_id("a", "eastus")
    path = write(
        tmp_path / "focus.csv",
        FOCUS_HEADER,
        [f"{rid},0,3.1,EUR,2025-03-01T00:00:00Z,eastus,Container Registry"],
    )
    c = mf.read_cost_export(path)
    assert c.attrs["format"] == "focus"
    assert c["cost"].tolist() == [0.0]
    assert c["month"].tolist() == ["2025-03"]
    assert c["currency"].tolist() == ["EUR"]
    assert mf.read_cost_export(path, cost_column="effectivecost")["cost"].tolist() == [3.1]


def test_header_matching_is_case_insensitive_and_ids_get_a_leading_slash(tmp_path):
    path = write(
        tmp_path / "lower.csv",
        "date,costinbillingcurrency,resourceid",
        ["2025-01-05,1,subscriptions/S/resourceGroups/RG"],
    )
    c = mf.read_cost_export(path)
    assert c["resource_id"].tolist() == ["/subscriptions/s/resourcegroups/rg"]
    assert c["currency"].isna().all()


def test_folder_and_gzip(tmp_path):
    write(tmp_path / "part1.csv", DETAILS_HEADER, ["01/01/2025,USD,1,/x,eastus,S"])
    with gzip.open(tmp_path / "part2.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(DETAILS_HEADER + "\n01/02/2025,USD,2,/y,eastus,S\n")
    c = mf.read_cost_export(tmp_path)
    assert c["cost"].sum() == 3
    assert c["resource_id"].tolist() == ["/x", "/y"]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("Name,Amount", ["a,1"], "neither a cost-details nor a FOCUS export"),
        (DETAILS_HEADER, ["01/01/2025,USD,lots,/x,eastus,S"], "not a number on data row 1"),
        (DETAILS_HEADER, ["yesterday,USD,1,/x,eastus,S"], "neither ISO 8601 nor MM/DD/YYYY"),
    ],
)
def test_bad_exports_raise_cost_export_error(tmp_path, header, rows, message):
    path = write(tmp_path / "bad.csv", header, rows)
    with pytest.raises(mf.CostExportError, match=message) as info:
        mf.read_cost_export(path)
    assert info.value.path == "bad.csv"


def test_missing_empty_and_unknown_cost_column(tmp_path):
    with pytest.raises(mf.CostExportError, match="does not exist"):
        mf.read_cost_export(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(mf.CostExportError, match="is empty"):
        mf.read_cost_export(tmp_path / "empty.csv")
    path = write(tmp_path / "d.csv", DETAILS_HEADER, ["01/01/2025,USD,1,/x,eastus,S"])
    with pytest.raises(mf.CostExportError, match="no column 'Spend'"):
        mf.read_cost_export(path, cost_column="Spend")
    empty_dir = tmp_path / "empty-dir"
    empty_dir.mkdir()
    with pytest.raises(mf.CostExportError, match=r"holds no \.csv, \.csv\.gz or \.parquet files"):
        mf.read_cost_export(empty_dir)


# --- matching and joining --------------------------------------------------------------


def cost_frame(rows: list[tuple[str | None, float, str, str | None]]) -> pd.DataFrame:
    """A raw cost-details frame: (ResourceId, cost, date, ResourceLocation) per row."""
    return pd.DataFrame(
        {
            "ResourceId": [r[0] for r in rows],
            "CostInBillingCurrency": [r[1] for r in rows],
            "BillingCurrency": "USD",
            "Date": [r[2] for r in rows],
            "ResourceLocation": [r[3] for r in rows],
        }
    )


def test_match_costs_through_storage_acr_endpoints_and_managed_group(fleet):
    costs = cost_frame(
        [
            (storage_id("a", "westus2").upper(), 10.0, "2025-01-03", "westus2"),
            (storage_id("a", "eastus") + "/blobServices/default", 1.0, "2025-01-04", "eastus"),
            (acr_id("a", "eastus"), 5.0, "2025-02-01", "eastus"),
            (pe_id("a", 0), 0.5, "2025-02-01", "eastus"),
            (mrg_id("b") + "/providers/Microsoft.KeyVault/vaults/kv", 2.0, "2025-01-01",
             "westeurope"),
            (mrg_id("a") + "/providers/Microsoft.Network/vnets/v", 3.0, "2025-01-01", "westus2"),
            (mrg_id("a") + "/providers/Microsoft.Network/vnets/w", 4.0, "2025-01-01", "uksouth"),
            (f"/subscriptions/{SUB1}/resourceGroups/rg-apps/providers/X/vm/vm1", 7.0,
             "2025-01-01", "eastus"),
            (None, 9.0, "2025-01-01", None),
        ]
    )  # fmt: skip
    m = mc.match_costs(fleet, costs)
    got = m[["name", "location", "matched_via", "cost"]].astype(object)
    got = got.where(got.notna(), None).values.tolist()
    assert got == [
        ["a", "westus2", "storage", 10.0],
        ["a", "eastus", "storage", 1.0],
        ["a", "eastus", "acr", 5.0],
        ["a", "eastus", "private_endpoint", 0.5],
        ["b", "westeurope", "managed_resource_group", 2.0],
        ["a", "westus2", "managed_resource_group", 3.0],  # a replicates to westus2
        ["a", "eastus", "managed_resource_group", 4.0],  # a is not in uksouth: its home
        [None, None, None, 7.0],
        [None, None, None, 9.0],
    ]
    assert m["cost"].sum() == costs["CostInBillingCurrency"].sum()
    assert (m["share"] == 1.0).all()


def test_shared_resource_is_split_evenly(tmp_path):
    shared = storage_id("shared", "eastus")
    regs = [make_registry("a"), make_registry("b")]
    for reg in regs:  # both point their (bring-your-own) storage at the same account
        entry = reg["properties"]["regionDetails"][0]["storageAccountDetails"][0]
        entry["systemCreatedStorageAccount"]["armResourceId"]["resourceId"] = shared
    t = mf.flatten(regs)
    m = mc.match_costs(t, cost_frame([(shared, 9.0, "2025-01-01", "eastus")]))
    assert sorted(m["name"]) == ["a", "b"]
    assert m["cost"].tolist() == [4.5, 4.5]
    assert m["share"].tolist() == [0.5, 0.5]


def test_join_costs_per_registry_region_month_and_unmatched_kept(fleet):
    costs = cost_frame(
        [
            (storage_id("a", "eastus"), 1.0, "2025-01-03", "eastus"),
            (acr_id("a", "eastus"), 2.0, "2025-01-20", "eastus"),
            (acr_id("a", "westus2"), 4.0, "2025-01-20", "westus2"),
            (acr_id("a", "eastus"), 8.0, "2025-02-01", "eastus"),
            ("/subscriptions/x/resourceGroups/y/providers/P/t/n", 16.0, "2025-02-01", "eastus"),
        ]
    )
    j = mc.join_costs(fleet, costs)
    assert list(j.columns) == [
        "registry_id", "name", "subscription_id", "location", "is_primary", "month",
        "currency", "cost", "matched",
    ]  # fmt: skip
    got = j[["name", "location", "is_primary", "month", "cost", "matched"]].astype(object)
    got = got.where(got.notna(), None).values.tolist()
    assert got == [
        ["a", "eastus", True, "2025-01", 3.0, True],
        ["a", "eastus", True, "2025-02", 8.0, True],
        ["a", "westus2", False, "2025-01", 4.0, True],
        [None, None, None, "2025-02", 16.0, False],
    ]
    assert j["cost"].sum() == 31.0
    assert j.loc[0, "subscription_id"] == SUB1


def test_join_costs_accepts_a_path(fleet, tmp_path):
    path = write(
        tmp_path / "c.csv", DETAILS_HEADER, [f"01/01/2025,USD,1,{acr_id('b', 'westeurope')},,S"]
    )
    j = mc.join_costs(fleet, path)
    assert j[["name", "location", "cost"]].values.tolist() == [["b", "westeurope", 1.0]]


# --- the bundled sample ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_tables() -> mf.RegistryTables:
    if not (SAMPLE / "costs.csv").exists():
        pytest.skip("data/sample not generated")
    return mf.flatten(mf.read_pages(str(SAMPLE / "registries-*.json")))


@pytest.mark.parametrize(
    ("file", "fmt"), [("costs.csv", "cost-details"), ("costs-focus.csv", "focus")]
)
def test_sample_exports_join_onto_the_sample_fleet(sample_tables, file, fmt):
    raw = pd.read_csv(SAMPLE / file)
    costs = mf.read_cost_export(SAMPLE / file)
    assert costs.attrs["format"] == fmt
    assert len(costs) == len(raw)
    m = mc.match_costs(sample_tables, costs)
    unmatched = m.loc[m["registry_id"].isna(), "resource_id"].unique()
    # the sample's unrelated resources (a VM, a key vault, a web storage account) and the
    # reservation order its reserved capacity is bought through
    assert sorted(r.split("/")[-2] for r in unmatched) == [
        "reservationorders", "storageaccounts", "vaults", "virtualmachines"
    ]  # fmt: skip
    j = mc.join_costs(sample_tables, costs)
    assert j["cost"].sum() == pytest.approx(costs["cost"].sum())
    assert j["matched"].sum() > 100
    assert set(j.loc[j["matched"], "registry_id"]) <= set(sample_tables.registries["registry_id"])


def test_cost_dates_are_utc_days_in_both_formats(tmp_path):
    details = write(
        tmp_path / "details.csv",
        DETAILS_HEADER,
        [f"01/31/2025,USD,1.5,{storage_id('a', 'eastus')},East US,Storage"],
    )
    for frame in (mf.read_cost_export(details), mf.read_cost_export(SAMPLE / "costs-focus.csv")):
        assert frame["date"].dtype == DATE_DTYPE == pd.DatetimeTZDtype("us", "UTC")
        assert (frame["date"] == frame["date"].dt.floor("D")).all()
    day = mf.read_cost_export(details)["date"].iloc[0]
    assert day == pd.Timestamp("2025-01-31", tz="UTC")
