"""Joins that conserve the total and match the same way whatever the spelling on either side."""

from __future__ import annotations

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames.analysis.ids import norm_resource_id
from mlreg_frames.analysis.regionnames import REGIONS, is_known_region, region_id

from .helpers import SAMPLE
from .registry_factory import acr_id, make_registry, mrg_id, pe_id, storage_id


def raw(
    rows: list[tuple[str | None, float, str | None]], *, service: list[str] | None = None
) -> pd.DataFrame:
    """A raw cost-details frame: (ResourceId, cost, ResourceLocation) per row."""
    frame = pd.DataFrame(
        {
            "ResourceId": [r[0] for r in rows],
            "CostInBillingCurrency": [r[1] for r in rows],
            "BillingCurrency": "USD",
            "Date": "2025-01-01",
            "ResourceLocation": [r[2] for r in rows],
        }
    )
    if service is not None:
        frame["MeterCategory"] = service
    return frame


# --- 12: ids normalised one way on both sides --------------------------------------------------


def test_registry_side_ids_with_a_trailing_slash_or_spaces_still_match():
    reg = make_registry("a", pe_states=["Approved"])
    region = reg["properties"]["regionDetails"][0]
    account = region["storageAccountDetails"][0]["systemCreatedStorageAccount"]
    account["armResourceId"]["resourceId"] = "  " + storage_id("a", "eastus") + "/ "
    acr = region["acrDetails"][0]["systemCreatedAcrAccount"]
    acr["armResourceId"]["resourceId"] = acr_id("a", "eastus").upper() + "/"
    pe = reg["properties"]["registryPrivateEndpointConnections"][0]["properties"]["privateEndpoint"]
    pe["id"] = pe_id("a", 0) + "/"
    reg["properties"]["managedResourceGroup"]["resourceId"] = mrg_id("a") + "/"
    tables = mf.flatten([reg])
    costs = raw(
        [
            (storage_id("a", "eastus"), 1.0, "eastus"),
            (" " + acr_id("a", "eastus").lower() + " ", 2.0, "eastus"),
            (pe_id("a", 0).upper() + "/", 4.0, "eastus"),
            (mrg_id("a") + "/providers/Microsoft.KeyVault/vaults/kv/", 8.0, "eastus"),
        ]
    )
    m = analysis.match_costs(tables, costs)
    assert m["matched_via"].tolist() == [
        "storage",
        "acr",
        "private_endpoint",
        "managed_resource_group",
    ]
    assert m["cost"].sum() == 15.0


# --- 14: ids that are not ARM ids -----------------------------------------------------------------


def test_non_arm_ids_are_kept_as_written_and_never_match():
    tables = mf.flatten([make_registry("a")])
    arn = "arn:aws:s3:::Bucket-One"
    costs = raw([(arn, 1.0, "us-west-2"), ("NULL", 2.0, None), ("null", 4.0, None),
                 (storage_id("a", "eastus"), 8.0, "eastus")])  # fmt: skip
    normal = analysis.normalise_costs(costs)
    assert normal["resource_id"].tolist()[:3] == [arn, pd.NA, pd.NA]
    assert normal["resource_location"].tolist()[0] == "us-west-2"  # AWS Oregon is not westus2
    m = analysis.match_costs(tables, normal)
    assert m["registry_id"].isna().tolist() == [True, True, True, False]
    assert m["cost"].sum() == 15.0


def test_norm_resource_id_is_idempotent_and_case_insensitive():
    ids = pd.Series(
        ["/Subscriptions/S/X/", "subscriptions/s/x", " /subscriptions/s/x ", "arn:Q", None]
    )
    once = norm_resource_id(ids)
    assert once.tolist() == ["/subscriptions/s/x"] * 3 + ["arn:Q", pd.NA]
    assert norm_resource_id(once).tolist() == once.tolist()


# --- 13: region spellings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "region"),
    [
        ("US West 2", "westus2"), ("West US 2", "westus2"), ("wus2", "westus2"),
        ("EU North", "northeurope"), ("europenorth", "northeurope"), ("neu", "northeurope"),
        ("ae central", "uaecentral"), ("AU East", "australiaeast"), ("australia_east", "australiaeast"),
        ("ja west", "japanwest"), ("UK South", "uksouth"), ("uks", "uksouth"),
        ("US Gov Virginia", "usgovvirginia"), ("germanywc", "germanywestcentral"),
        ("Sydney", "australiaeast"), ("CA Central", "canadacentral"), ("IN Central", "centralindia"),
    ],
)  # fmt: skip
def test_region_spellings_map_to_arm_ids(spelling, region):
    assert region_id(spelling) == region
    assert is_known_region(spelling)


@pytest.mark.parametrize("spelling", ["eu", "se", "ch north", "chnorth", "Europe", "us-west-2"])
def test_ambiguous_spellings_and_geographies_are_not_guessed(spelling):
    assert not is_known_region(spelling)
    assert region_id(spelling) == spelling.lower().replace(" ", "")


def test_every_region_id_and_display_name_means_itself():
    for region, display, *_ in REGIONS:
        assert region_id(region) == region
        assert region_id(display) == region
        assert region_id(display.upper()) == region


def test_a_replica_cost_in_another_spelling_lands_in_the_replica_region():
    tables = mf.flatten([make_registry("a", location="eastus", replicas=["westus2"])])
    costs = raw([(mrg_id("a") + "/providers/Microsoft.Network/vnets/v", 3.0, "US West 2")])
    m = analysis.match_costs(tables, costs)
    assert m["location"].tolist() == ["westus2"]
    assert m["resource_location_raw"].tolist() == ["US West 2"]


# --- 15: one service vocabulary ------------------------------------------------------------------------


def test_both_formats_name_the_same_charge_the_same_service(tmp_path):
    rows = [(storage_id("a", "eastus"), 1.0, "eastus"), (pe_id("a", 0), 2.0, "eastus"),
            (acr_id("a", "eastus"), 4.0, "eastus"), (None, 8.0, None)]  # fmt: skip
    details = analysis.normalise_costs(
        raw(rows, service=["Storage", "Virtual Network", "Container Registry", "Storage"])
    )
    focus = analysis.normalise_costs(
        pd.DataFrame(
            {
                "ResourceId": [r[0] for r in rows],
                "BilledCost": [r[1] for r in rows],
                "BillingCurrency": "USD",
                "ChargePeriodStart": "2025-01-01T00:00:00Z",
                "ServiceName": [
                    "Storage Accounts",
                    "Private Link",
                    "Container Registry",
                    "Storage",
                ],
            }
        )
    )
    assert details["service"].tolist() == focus["service"].tolist() == [
        "Storage Accounts", "Private Link", "Container Registry", "Storage",
    ]  # fmt: skip
    assert details["service_raw"].tolist()[:2] == ["Storage", "Virtual Network"]


# --- 16: the bundled sample's two exports reconcile ------------------------------------------------------


def test_the_sample_exports_reconcile_billed_and_amortized():
    details = mf.read_cost_export(SAMPLE / "costs.csv")
    billed = mf.read_cost_export(SAMPLE / "costs-focus.csv")
    amortized = mf.read_cost_export(SAMPLE / "costs-focus.csv", cost_column="EffectiveCost")
    assert len(details) == len(billed) == len(amortized)
    # actual cost details = FOCUS BilledCost, row by row (same order, same charges)
    assert details["cost"].tolist() == billed["cost"].tolist()
    assert details["resource_id"].tolist() == billed["resource_id"].tolist()
    assert details["service"].tolist() == billed["service"].tolist()
    # amortized moves the reservation purchase onto the usage it covered: same total
    assert amortized["cost"].sum() == pytest.approx(details["cost"].sum(), abs=1e-6)
    purchase = details["resource_id"].str.contains("reservationorders").fillna(False)
    assert details.loc[purchase, "cost"].sum() == pytest.approx(
        amortized["cost"].sum() - details.loc[~purchase, "cost"].sum(), abs=1e-6
    )
    tables = mf.flatten(mf.read_pages(str(SAMPLE / "registries-*.json")))
    by_billed = analysis.join_costs(tables, billed)
    by_amortized = analysis.join_costs(tables, amortized)
    # amortized attributes more to registries (the reserved usage), billed leaves the purchase
    assert (
        by_amortized.loc[by_amortized.matched, "cost"].sum()
        > by_billed.loc[by_billed.matched, "cost"].sum()
    )
    assert by_amortized["cost"].sum() == pytest.approx(by_billed["cost"].sum(), abs=1e-6)
