"""Backing accounts: three states (explicit, default, unknown), the exposure order, the findings.

Account payloads are built here in the providers' shapes (ARM GET bodies and Resource Graph
rows); the official examples are read in ``test_backing_reference`` when ``../shared`` is there.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames.analysis.backing import BACKING_FINDINGS, backing_exposure, backing_findings
from mlreg_frames.flatten.backing import BackingTables, backing_tables, flatten_backing

from .registry_factory import acr_id, make_registry, storage_id


def storage(rid: str, location: str = "eastus", sku: str = "Standard_LRS", **props: Any) -> dict:
    return {
        "id": rid, "name": rid.rsplit("/", 1)[-1], "type": "Microsoft.Storage/storageAccounts",
        "location": location, "kind": "StorageV2", "sku": {"name": sku},
        "properties": {"provisioningState": "Succeeded", **props},
    }  # fmt: skip


def registry(rid: str, location: str = "eastus", sku: str = "Premium", **props: Any) -> dict:
    return {
        "id": rid, "name": rid.rsplit("/", 1)[-1], "type": "Microsoft.ContainerRegistry/registries",
        "location": location, "sku": {"name": sku, "tier": sku}, "properties": props,
    }  # fmt: skip


LOCKED_STORAGE = {
    "publicNetworkAccess": "Disabled", "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False, "minimumTlsVersion": "TLS1_2",
    "supportsHttpsTrafficOnly": True, "allowCrossTenantReplication": False,
    "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
    "privateEndpointConnections": [{
        "id": "pec1", "properties": {"privateEndpoint": {"id": "/pe/1"},
        "privateLinkServiceConnectionState": {"status": "Approved", "actionRequired": "None"}}}],
}  # fmt: skip
LOCKED_ACR = {
    "publicNetworkAccess": "Disabled", "adminUserEnabled": False, "anonymousPullEnabled": False,
    "networkRuleSet": {"defaultAction": "Deny", "ipRules": []},
    "policies": {"exportPolicy": {"status": "disabled"}},
    "privateEndpointConnections": [{
        "id": "pec2", "properties": {"privateEndpoint": {"id": "/pe/2"},
        "privateLinkServiceConnectionState": {"status": "Approved", "actionsRequired": "None"}}}],
}  # fmt: skip


def test_absent_fields_take_the_documented_defaults_and_say_so():
    frames, errors = flatten_backing(
        [storage(storage_id("a", "eastus")), registry(acr_id("a", "eastus"))]
    )
    assert errors == []
    s = frames["storage_accounts"].iloc[0]
    assert pd.isna(s["public_network_access"]) and s["public_network_access_effective"] == "Enabled"
    assert pd.isna(s["allow_shared_key_access"]) and s["allow_shared_key_access_effective"]
    assert (
        s["minimum_tls_version_effective"] == "TLS1_0"
        and not s["allow_blob_public_access_effective"]
    )
    assert s["network_exposure"] == "all_networks"
    assert "allowSharedKeyAccess" in list(s["defaults_applied"])
    a = frames["container_registries"].iloc[0]
    assert (
        a["public_network_access_effective"] == "Enabled"
        and a["network_exposure"] == "all_networks"
    )
    assert a["export_policy_effective"] == "enabled" and not a["admin_user_enabled_effective"]


def test_public_network_access_disabled_wins_over_allow_and_pe_spellings_are_one_column():
    frames, _ = flatten_backing([
        storage(storage_id("a", "eastus"), **{**LOCKED_STORAGE, "networkAcls": {"defaultAction": "Allow"}}),
        registry(acr_id("a", "eastus"), **LOCKED_ACR),
    ])  # fmt: skip
    assert frames["storage_accounts"]["network_exposure"].tolist() == ["private"]
    assert frames["storage_accounts"]["private_path"].tolist() == [True]
    pe = frames["backing_pe_connections"]
    assert pe["actions_required"].tolist() == ["None", "None"]
    assert pe["resource_type"].tolist() == ["storage", "acr"]


@pytest.mark.parametrize(
    ("pna", "action", "expected"),
    [("Disabled", "Allow", "private"), ("SecuredByPerimeter", "Allow", "perimeter"),
     ("Enabled", "Deny", "selected_networks"), (None, None, "all_networks"),
     ("Enabled", "Maybe", "unknown"), ("Later", "Deny", "unknown")],
)  # fmt: skip
def test_network_exposure_order(pna, action, expected):
    props: dict[str, Any] = {"networkAcls": {"defaultAction": action}} if action else {}
    if pna:
        props["publicNetworkAccess"] = pna
    frames, _ = flatten_backing([storage(storage_id("a", "eastus"), **props)])
    assert frames["storage_accounts"]["network_exposure"].tolist() == [expected]


@pytest.mark.parametrize(
    ("field", "value"),
    [("allowSharedKeyAccess", "yes"), ("networkAcls", []), ("minimumTlsVersion", 12),
     ("privateEndpointConnections", {"a": 1})],
)  # fmt: skip
def test_a_malformed_account_is_unknown_not_guessed(field, value):
    good = storage(storage_id("b", "eastus"))
    bad = storage(storage_id("a", "eastus"), **{field: value})
    tables = backing_tables([bad, good])
    assert tables.storage_accounts["name"].tolist() == ["stbeastus"]
    (row,) = tables.fetch_errors.to_dict("records")
    assert row["error_code"] == "MalformedResource" and field in row["message"]


# a hypothesis over explicit / absent combinations: the effective value is the explicit one
# when given, else the default, and defaults_applied lists exactly the absent fields
BOOLS = {"allowBlobPublicAccess": False, "allowSharedKeyAccess": True,
         "supportsHttpsTrafficOnly": True, "allowCrossTenantReplication": False}  # fmt: skip
COLUMN = {"allowBlobPublicAccess": "allow_blob_public_access",
          "allowSharedKeyAccess": "allow_shared_key_access",
          "supportsHttpsTrafficOnly": "https_only",
          "allowCrossTenantReplication": "allow_cross_tenant_replication"}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    values=st.fixed_dictionaries({k: st.one_of(st.none(), st.booleans()) for k in BOOLS}),
    pna=st.sampled_from([None, "Enabled", "Disabled", "SecuredByPerimeter"]),
    action=st.sampled_from([None, "Allow", "Deny"]),
)
def test_three_states_over_every_combination(values, pna, action):
    props: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    if pna:
        props["publicNetworkAccess"] = pna
    if action:
        props["networkAcls"] = {"defaultAction": action}
    row = flatten_backing([storage(storage_id("a", "eastus"), **props)])[0][
        "storage_accounts"
    ].iloc[0]
    applied = set(row["defaults_applied"])
    for field, default in BOOLS.items():
        raw = row[COLUMN[field]]
        assert (pd.isna(raw) and values[field] is None) or bool(raw) == values[field]
        assert bool(row[COLUMN[field] + "_effective"]) == (
            default if values[field] is None else values[field]
        )
        assert (field in applied) == (values[field] is None)
    effective = pna or "Enabled"
    expected = {"Disabled": "private", "SecuredByPerimeter": "perimeter"}.get(
        effective, "selected_networks" if action == "Deny" else "all_networks"
    )
    assert row["network_exposure"] == expected


# --- declared vs actual ----------------------------------------------------------------------


@pytest.fixture
def fleet() -> mf.RegistryTables:
    return mf.flatten([
        make_registry("locked", public="Disabled", pe_states=["Approved"], blob_public=False),
        make_registry("open", replicas=["westus2"], acr_sku="Basic"),
    ])  # fmt: skip


def test_declared_vs_actual_findings_name_the_account_and_evidence(fleet):
    accounts = [
        # the private registry's storage is public again, its ACR is locked
        storage(storage_id("locked", "eastus"), allowBlobPublicAccess=True),
        registry(acr_id("locked", "eastus"), **LOCKED_ACR),
        # the open registry: locked storage in the wrong region with another SKU, a Basic ACR
        # with the admin user on; its replica's accounts are not returned
        storage(storage_id("open", "eastus"), location="westeurope", sku="Standard_GRS", **LOCKED_STORAGE),
        registry(acr_id("open", "eastus"), sku="Basic", adminUserEnabled=True),
    ]  # fmt: skip
    errors = [{"scope": storage_id("open", "westus2"), "outcome": "failed", "http_status": 403,
               "error_code": "AuthorizationFailed", "message": "no read access"}]  # fmt: skip
    backing = backing_tables(accounts, errors=errors)
    found = backing_findings(fleet, backing)
    by = {(r["name"], r["finding"]): r["detail"] for r in found.to_dict("records")}
    assert by[("locked", "registry_private_storage_public")].startswith(
        "stlockedeastus: network_exposure=all_networks (publicNetworkAccess=Enabled (default)"
    )
    assert by[("locked", "storage_blob_public_access")] == (
        "stlockedeastus: allowBlobPublicAccess=true (explicit)"
    )
    assert (
        "registry says allowBlobPublicAccess=false"
        in by[("locked", "declared_blob_public_access_differs")]
    )
    assert ("locked", "registry_private_acr_public") not in by
    assert by[("locked", "registry_pe_backing_no_pe")].startswith("stlockedeastus")
    assert (
        by[("open", "account_not_in_region")]
        == "stopeneastus: listed for eastus, lives in westeurope"
    )
    assert (
        by[("open", "storage_sku_differs")]
        == "stopeneastus: registry says Standard_LRS, the account is Standard_GRS"
    )
    assert by[("open", "acr_admin_user")] == "cropeneastus: adminUserEnabled=true (explicit)"
    assert by[("open", "acr_not_premium")] == "cropeneastus: sku=Basic"
    # not returned: unknown, with the reason, and nothing else concluded about them
    assert by[("open", "backing_not_visible")] in (
        "stopenwestus2: AuthorizationFailed: no read access",
        "cropenwestus2: not returned by the source",
    )
    unknown = found[found["finding"] == "backing_not_visible"]
    assert sorted(unknown["resource_id"]) == sorted(
        [storage_id("open", "westus2").lower(), acr_id("open", "westus2").lower()]
    )
    for rid in unknown["resource_id"]:
        assert set(found.loc[found["resource_id"] == rid, "finding"]) == {"backing_not_visible"}
    assert set(found["finding"]) <= set(BACKING_FINDINGS)


def test_exposure_with_backing_judges_accounts_as_azure_sees_them(fleet):
    declared = analysis.exposure(fleet)
    backing = backing_tables([storage(storage_id("locked", "eastus"), **LOCKED_STORAGE)])
    actual = analysis.exposure(fleet, backing)
    assert actual["severity"].dtype == analysis.SEVERITY
    codes = actual["severity"].cat.codes.tolist()
    assert codes == sorted(codes, reverse=True)  # worst first
    assert set(declared["finding"]) <= set(actual["finding"]) | {"storage_blob_public_access"}
    locked_storage = actual[actual["resource_id"] == storage_id("locked", "eastus").lower()]
    assert "storage_all_networks" not in set(locked_storage["finding"])  # it is private
    assert (actual["finding"] == "backing_not_visible").sum() == 5  # the other five accounts


def test_an_empty_backing_makes_every_account_unknown(fleet):
    rows = backing_exposure(fleet, BackingTables())
    assert set(rows["state"]) == {"unknown"} and set(rows["network_exposure"]) == {"unknown"}
    assert rows["private_path"].isna().all()
    found = backing_findings(fleet, BackingTables())
    assert set(found["finding"]) == {"backing_not_visible"}
    assert len(found) == len(rows) == 6


def test_declared_vs_actual_matrix_and_plot(fleet):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from mlreg_frames import plots

    backing = backing_tables([
        storage(storage_id("locked", "eastus"), allowBlobPublicAccess=True),
        registry(acr_id("locked", "eastus"), **LOCKED_ACR),
    ])  # fmt: skip
    matrix = plots.declared_vs_actual_matrix(fleet, backing)
    assert list(matrix.columns) == list(plots.backing.CHECKS)
    assert matrix.loc["locked"].tolist() == [0, 2, 2, 2, 0, 0, 0]  # private registry, open storage
    assert matrix.loc["open"].tolist() == [2, 1, 1, 1, 1, 1, 1]  # nothing behind it was returned
    assert list(matrix.index) == ["locked", "open"]  # most exposed first
    ax = plots.declared_vs_actual(fleet, backing, ax=Figure().subplots())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["locked", "open"]
    assert ax.get_title(loc="left").startswith("Registry and the accounts behind it")
