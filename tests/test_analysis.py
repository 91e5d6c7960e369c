"""Analysis on hand-built fleets whose answers are known in advance."""

from __future__ import annotations

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis

from .registry_factory import SUB2, make_registry, mrg_id, pe_id, registry_id, storage_id


def tables_of(*registries: dict) -> mf.RegistryTables:
    return mf.flatten(list(registries)).validate()


def findings_of(tables: mf.RegistryTables, name: str) -> dict[str, str]:
    f = analysis.exposure(tables)
    rows = f[f["name"] == name]
    return dict(zip(rows["finding"], rows["severity"].astype(str), strict=True))


# --- regions --------------------------------------------------------------------------


def test_region_summary_counts_primary_and_replica():
    t = tables_of(
        make_registry("a", location="eastus", replicas=["westeurope", "japaneast"]),
        make_registry("b", location="westeurope", sub=SUB2),
        make_registry("c", location="West Europe"),  # display name: same region
    )
    s = analysis.region_summary(t).set_index("location")
    assert list(s.columns) == [
        "registries", "primary", "replica", "subscriptions", "storage_accounts", "acrs"
    ]  # fmt: skip
    assert s.loc["westeurope"].to_dict() == {
        "registries": 3, "primary": 2, "replica": 1, "subscriptions": 2,
        "storage_accounts": 3, "acrs": 3,
    }  # fmt: skip
    assert s.loc["eastus", ["registries", "primary", "replica"]].tolist() == [1, 1, 0]
    assert s.loc["japaneast", ["registries", "primary", "replica"]].tolist() == [1, 0, 1]
    assert s.index[0] == "westeurope"  # most registries first


def test_registry_without_region_details_counts_its_location():
    t = tables_of(make_registry("old", location="northeurope", region_details=False))
    s = analysis.region_summary(t)
    assert s[["location", "registries", "primary", "replica"]].values.tolist() == [
        ["northeurope", 1, 1, 0]
    ]
    r = analysis.replicas(t)
    assert r[["region_count", "replica_count"]].values.tolist() == [[1, 0]]


def test_replicas_per_registry():
    t = tables_of(
        make_registry("a", replicas=["westus2", "uksouth"]),
        make_registry("b"),
    )
    r = analysis.replicas(t).set_index("name")
    assert r.loc["a", "replica_count"] == 2
    assert r.loc["a", "region_count"] == 3
    assert list(r.loc["a", "replica_locations"]) == ["uksouth", "westus2"]
    assert r.loc["b", "replica_count"] == 0
    assert list(r.loc["b", "replica_locations"]) == []
    assert r.loc["a", "location"] == "eastus"


def test_replicas_join_like_the_tables():
    """Counts are Int64, the home region is `location`, replica regions a list like group_ids."""
    t = tables_of(make_registry("a", replicas=["westus2"]), make_registry("b"))
    r = analysis.replicas(t)
    assert r["region_count"].dtype == "Int64"
    assert r["replica_count"].dtype == "Int64"
    assert r["replica_locations"].dtype == t.pe_connections["group_ids"].dtype
    assert "primary_location" not in r.columns
    joined = r.merge(t.registries[["registry_id", "location"]], on="registry_id")
    assert len(joined) == 2
    assert analysis.replicas(mf.RegistryTables.empty())["replica_locations"].dtype == (
        t.pe_connections["group_ids"].dtype
    )


def test_replication_matrix_marks_primary_and_replicas():
    t = tables_of(
        make_registry("a", location="eastus", replicas=["westus2"]),
        make_registry("b", location="westus2"),
    )
    m = analysis.replication_matrix(t)
    assert list(m.columns) == ["westus2", "eastus"]  # most used region first
    assert m.loc[registry_id("a").lower()].tolist() == [1, 2]
    assert m.loc[registry_id("b").lower()].tolist() == [2, 0]
    assert m.index[0] == registry_id("a").lower()  # most regions first


def test_empty_tables_give_empty_frames_with_columns():
    t = mf.RegistryTables.empty()
    assert analysis.region_summary(t).empty
    assert "replica" in analysis.region_summary(t).columns
    assert analysis.exposure(t).empty
    assert list(analysis.exposure(t).columns)[-4:] == [
        "finding",
        "severity",
        "detail",
        "resource_id",
    ]
    assert analysis.cost_drivers(t).empty
    assert analysis.replication_matrix(t).empty
    assert analysis.replicas(t).empty


# --- exposure --------------------------------------------------------------------------


def test_public_access_with_approved_endpoint_is_not_flagged():
    t = tables_of(make_registry("safe", public="Enabled", pe_states=["Approved"]))
    assert findings_of(t, "safe") == {}


def test_public_access_without_endpoint_is_high():
    t = tables_of(make_registry("open", public="Enabled"))
    f = analysis.exposure(t)
    assert f[["name", "finding", "severity"]].astype(str).values.tolist() == [
        ["open", "public_network_access_without_approved_private_endpoint", "high"]
    ]
    assert "0 private endpoint connection(s), none Approved" in f.loc[0, "detail"]


def test_public_access_with_only_pending_endpoint_is_high_and_pending_is_medium():
    t = tables_of(make_registry("half", public="Enabled", pe_states=["Pending", "Rejected"]))
    assert findings_of(t, "half") == {
        "public_network_access_without_approved_private_endpoint": "high",
        "private_endpoint_pending": "medium",
        "private_endpoint_rejected": "medium",
    }
    f = analysis.exposure(t)
    pending = f.loc[f["finding"] == "private_endpoint_pending", "detail"].item()
    assert pending == "pe-half-0: Pending"


@pytest.mark.parametrize("public", ["Disabled", None])
def test_disabled_or_unknown_public_access_is_not_flagged(public):
    t = tables_of(make_registry("closed", public=public))
    assert "public_network_access_without_approved_private_endpoint" not in findings_of(t, "closed")


def test_case_insensitive_values():
    t = tables_of(make_registry("lower", public="enabled", pe_states=["approved"]))
    assert findings_of(t, "lower") == {}


def test_disconnected_and_timeout_endpoints_are_medium():
    t = tables_of(make_registry("x", public="Disabled", pe_states=["Disconnected", "Timeout"]))
    assert findings_of(t, "x") == {
        "private_endpoint_disconnected": "medium",
        "private_endpoint_timeout": "medium",
    }


def test_blob_public_access_is_high_once_per_registry():
    t = tables_of(
        make_registry("blobby", public="Disabled", blob_public=True, replicas=["westus2"])
    )
    f = analysis.exposure(t)
    assert f["finding"].tolist() == ["storage_blob_public_access"]  # one row, two accounts
    assert f.loc[0, "detail"] == (
        "stblobbyeastus (eastus) allowBlobPublicAccess=true, "
        "stblobbywestus2 (westus2) allowBlobPublicAccess=true"
    )


@pytest.mark.parametrize("identity", ["None", None])
def test_no_managed_identity_is_medium(identity):
    t = tables_of(make_registry("anon", public="Disabled", identity=identity))
    assert findings_of(t, "anon") == {"no_managed_identity": "medium"}


def test_user_assigned_identity_counts_as_identity():
    reg = make_registry("uai", public="Disabled", identity="UserAssigned")
    reg["identity"]["userAssignedIdentities"] = {"/subscriptions/x/uai": {"principalId": "p"}}
    assert findings_of(tables_of(reg), "uai") == {}


def test_bring_your_own_accounts_are_info_and_missing_hns_is_low():
    t = tables_of(
        make_registry("byo", public="Disabled", user_storage=True, user_acr=True, hns=False),
        make_registry("byo-hns", public="Disabled", user_storage=True, hns=True),
        make_registry("sys", public="Disabled", hns=False),  # system storage: not flagged
    )
    assert findings_of(t, "byo") == {
        "user_storage_without_hns": "low",
        "user_created_storage": "info",
        "user_created_acr": "info",
    }
    assert findings_of(t, "byo-hns") == {"user_created_storage": "info"}
    assert findings_of(t, "sys") == {}


def test_exposure_shape_order_and_severity_dtype():
    t = tables_of(
        make_registry("a", public="Enabled", identity="None", user_acr=True),
        make_registry("b", public="Disabled", pe_states=["Pending"], sub=SUB2),
    )
    f = analysis.exposure(t)
    assert list(f.columns) == [
        "registry_id", "name", "subscription_id", "resource_group", "location", "finding",
        "severity", "detail", "resource_id",
    ]  # fmt: skip
    assert f["resource_id"].isna().all()  # no account-level findings without backing tables
    assert f["severity"].dtype == analysis.SEVERITY
    assert f["severity"].cat.ordered
    assert f["severity"].tolist() == ["high", "medium", "medium", "info"]  # worst first
    assert not f.duplicated(["registry_id", "finding"]).any()
    assert set(f["finding"]) <= set(analysis.FINDINGS)
    assert (f["severity"] >= "medium").sum() == 3
    assert f.loc[f["name"] == "b", "subscription_id"].unique().tolist() == [SUB2]


# --- cost drivers ----------------------------------------------------------------------


def test_cost_drivers_lists_billed_resources_per_region():
    t = tables_of(
        make_registry(
            "a", location="eastus", replicas=["westus2"], storage_type="Standard_GRS",
            acr_sku="Premium", pe_states=["Approved"],
        )
    )  # fmt: skip
    d = analysis.cost_drivers(t)
    got = (
        d[["location", "is_primary", "resource_kind", "sku"]]
        .astype(object)
        .where(d[["location", "is_primary", "resource_kind", "sku"]].notna(), None)
    )
    assert got.values.tolist() == [
        ["eastus", True, "managed_resource_group", None],
        ["eastus", True, "storage", "Standard_GRS"],
        ["eastus", True, "acr", "Premium"],
        ["eastus", True, "private_endpoint", "Approved"],
        ["westus2", False, "storage", "Standard_GRS"],
        ["westus2", False, "acr", "Premium"],
    ]
    assert (d["replica_count"] == 1).all()
    assert d["resource_id"].tolist()[0] == mrg_id("a").lower()
    assert storage_id("a", "westus2").lower() in set(d["resource_id"])
    assert pe_id("a", 0).lower() in set(d["resource_id"])
    assert (d["resource_id"] == d["resource_id"].str.lower()).all()


def test_cost_drivers_origin_follows_bring_your_own():
    t = tables_of(make_registry("a", user_storage=True))
    d = analysis.cost_drivers(t).set_index("resource_kind")
    assert d.loc["storage", "origin"] == "user"
    assert d.loc["acr", "origin"] == "system"


def test_norm_region():
    s = pd.Series(["East US", "eastus", None, "West Europe"], dtype="string")
    assert analysis.norm_region(s).tolist() == ["eastus", "eastus", pd.NA, "westeurope"]
