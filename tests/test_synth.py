"""The synthetic fleet: deterministic, ARM-shaped, varied, and the committed sample reproducible."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from mlreg_frames import synth
from mlreg_frames.synth.sample import (
    COST_COLUMNS,
    FOCUS_COLUMNS,
    sample_files,
    write_pages,
    write_sample,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ARM_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-f-]{36})/resourcegroups/(?P<rg>[^/]+)/providers/"
    r"(?P<provider>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


def instant(text: str) -> datetime:
    """An ARM timestamp as an aware datetime, on every supported Python.

    On Python 3.10 ``datetime.fromisoformat`` reads only what ``isoformat`` writes, so ARM's
    ``Z`` and 7-digit fractions are normalised first.
    """
    text = text.replace("Z", "+00:00")
    head, _, tail = text.partition(".")
    if tail:  # keep at most 6 fraction digits (7 are legal in ARM)
        digits = re.match(r"\d+", tail)[0]
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    return datetime.fromisoformat(text)


def _sample_registries() -> list[dict]:
    out: list[dict] = []
    for path in sorted(SAMPLE.glob("registries-*.json")):
        out += json.loads(path.read_text(encoding="utf-8"))["value"]
    return out


def _pe_status(pe: dict) -> str:
    props = pe["properties"]
    state = props.get("registryPrivateLinkServiceConnectionState") or props.get(
        "privateLinkServiceConnectionState"
    )
    return state["status"]


def _accounts(registry: dict, field: str) -> list[tuple[str, dict]]:
    return [
        next(iter(entry.items()))
        for region in registry["properties"]["regionDetails"]
        for entry in region[field]
    ]


def test_same_seed_same_fleet_other_seed_other_fleet():
    assert synth.generate_fleet(30, 3, seed=5) == synth.generate_fleet(30, 3, seed=5)
    assert synth.generate_fleet(30, 3, seed=5) != synth.generate_fleet(30, 3, seed=6)


@pytest.mark.parametrize(("n", "subs"), [(0, 1), (1, 1), (7, 3), (250, 4)])
def test_sizes_and_subscriptions(n, subs):
    fleet = synth.generate_fleet(n, subs, seed=1)
    assert len(fleet) == n
    assert len({r["id"].lower() for r in fleet}) == n
    used = {ARM_ID.match(r["id"])["sub"] for r in fleet}
    assert len(used) == min(n, subs)
    assert [s["subscriptionId"] for s in synth.subscriptions(fleet)] == list(
        dict.fromkeys(ARM_ID.match(r["id"])["sub"] for r in fleet)
    )


def test_registry_shape_follows_arm():
    for registry in synth.generate_fleet(200, 3, seed=2):
        match = ARM_ID.match(registry["id"])
        assert match, registry["id"]
        assert match["provider"].lower() == "microsoft.machinelearningservices"
        assert match["name"] == registry["name"]
        assert registry["type"] == "Microsoft.MachineLearningServices/registries"
        props = registry["properties"]
        regions = [r["location"] for r in props["regionDetails"]]
        assert 1 <= len(regions) <= 5 and len(set(regions)) == len(regions)
        assert regions[0] == registry["location"] in synth.REGIONS
        assert props["publicNetworkAccess"] in ("Enabled", "Disabled")
        assert props["discoveryUrl"].startswith(f"https://{registry['location']}.api.azureml.ms/")
        assert props["mlFlowRegistryUri"].startswith("azureml://")
        mrg = props["managedResourceGroup"]["resourceId"]
        assert mrg.startswith(f"/subscriptions/{match['sub']}/resourceGroups/azureml-rg-")
        for origin, account in _accounts(registry, "storageAccountDetails") + _accounts(
            registry, "acrDetails"
        ):
            rid = account["armResourceId"]["resourceId"]
            parsed = ARM_ID.match(rid)
            assert parsed and parsed["sub"] == match["sub"], rid
            if origin.startswith("systemCreated"):
                assert rid.startswith(mrg + "/providers/")
                assert parsed["name"] in account.values()
            else:
                assert set(account) == {"armResourceId"}
        for pe in props["registryPrivateEndpointConnections"]:
            assert pe["id"].startswith(registry["id"] + "/privateEndpointConnections/")
            assert pe["properties"]["groupIds"] == ["amlregistry"]
        system = registry["systemData"]
        created = instant(system["createdAt"])
        assert 2022 <= created.year <= 2026


def test_timestamps_are_valid_and_modified_after_created():
    formats = Counter()
    for registry in synth.generate_fleet(300, 2, seed=3):
        system = registry["systemData"]
        assert instant(system["lastModifiedAt"]) >= instant(system["createdAt"])
        for key in ("createdAt", "lastModifiedAt"):
            text = system[key]
            formats["7-digit" if re.search(r"\.\d{7}Z$", text) else text[-6:][0]] += 1
    assert formats["7-digit"] and formats["+"] and formats["-"]


def test_guids_are_version_4():
    fleet = synth.generate_fleet(50, 2, seed=4)
    identities = [r["identity"] for r in fleet if "principalId" in r.get("identity", {})]
    assert identities
    assert all(GUID.match(i["principalId"]) and GUID.match(i["tenantId"]) for i in identities)


def test_small_fleets_still_hold_every_variant():
    fleet = synth.generate_fleet(13, 1, seed=9)
    assert {r.get("identity", {}).get("type") for r in fleet} >= {
        k for k in synth.IDENTITY_KINDS if k
    } | {None}
    pes = [
        _pe_status(pe)
        for r in fleet
        for pe in r["properties"]["registryPrivateEndpointConnections"]
    ]
    assert set(pes) == set(synth.PE_STATES)


def test_older_shape_has_the_same_values_under_older_names():
    new = synth.generate_fleet(40, 2, seed=8)
    old = synth.generate_fleet(40, 2, seed=8, api_shape="2023-04-01")
    for a, b in zip(new, old, strict=True):
        assert "registryPrivateEndpointConnections" not in b["properties"]
        assert "managedResourceGroupSettings" not in b["properties"]
        assert [_pe_status(p) for p in a["properties"]["registryPrivateEndpointConnections"]] == [
            _pe_status(p) for p in b["properties"]["privateEndpointConnections"]
        ]
        assert a["systemData"] == b["systemData"]
    with pytest.raises(ValueError, match="api_shape"):
        synth.generate_fleet(1, api_shape="2019-01-01")


@pytest.mark.parametrize(("n", "size", "pages"), [(0, 5, 1), (5, 5, 1), (6, 5, 2), (23, 5, 5)])
def test_paginate(n, size, pages):
    fleet = synth.generate_fleet(n, 1, seed=0)
    out = synth.paginate(fleet, size)
    assert len(out) == pages
    assert [r for page in out for r in page["value"]] == fleet
    assert all(page["nextLink"].startswith("https://management.azure.com/") for page in out[:-1])
    assert "nextLink" not in out[-1]
    assert len({page["nextLink"] for page in out[:-1]}) == pages - 1
    custom = synth.paginate(fleet, size, next_link=lambda i: f"http://127.0.0.1/p/{i}")
    assert [p.get("nextLink") for p in custom] == [
        f"http://127.0.0.1/p/{i}" for i in range(1, pages)
    ] + [None]
    with pytest.raises(ValueError, match="page_size"):
        synth.paginate(fleet, 0)


def test_write_pages_round_trips(tmp_path):
    fleet = synth.generate_fleet(25, 2, seed=1)
    assert write_pages(fleet, tmp_path, 10) == 3
    files = sorted(tmp_path.glob("page-*.json"))
    loaded = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    assert loaded == json.loads(json.dumps(synth.paginate(fleet, 10)))


# --- the committed sample ---------------------------------------------------------------


def test_committed_sample_is_what_the_generator_writes():
    files = sample_files()
    on_disk = {p.name for p in SAMPLE.iterdir() if p.name != "README.md"}
    assert on_disk == set(files), "regenerate: python -m mlreg_frames.synth --sample data/sample"
    for name, text in files.items():
        assert (SAMPLE / name).read_text(encoding="utf-8") == text, name


def test_write_sample_writes_the_same_bytes(tmp_path):
    (tmp_path / "registries-stale-p9.json").write_text("{}", encoding="utf-8")
    written = write_sample(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes()


def test_sample_pages_are_per_subscription_and_linked():
    subs = json.loads((SAMPLE / "_subscriptions.json").read_text(encoding="utf-8"))["value"]
    enabled = [s["subscriptionId"] for s in subs if s["state"] == "Enabled"]
    disabled = [s["subscriptionId"] for s in subs if s["state"] == "Disabled"]
    assert len(enabled) == 3 and len(disabled) == 1
    assert all(s["id"] == f"/subscriptions/{s['subscriptionId']}" for s in subs)
    assert not list(SAMPLE.glob(f"registries-{disabled[0]}-*.json"))
    for sub in enabled:
        files = sorted(SAMPLE.glob(f"registries-{sub}-p*.json"))
        assert len(files) >= 2
        pages = [json.loads(p.read_text(encoding="utf-8")) for p in files]
        assert all(
            p["nextLink"].startswith(f"https://management.azure.com/subscriptions/{sub}/")
            for p in pages[:-1]
        )
        assert "nextLink" not in pages[-1]
        for page in pages:
            assert all(ARM_ID.match(r["id"])["sub"] == sub for r in page["value"])
            text = json.dumps(page, indent=2, ensure_ascii=False) + "\n"
            assert (SAMPLE / files[pages.index(page)].name).read_text(encoding="utf-8") == text


def test_sample_variety():
    fleet = _sample_registries()
    assert len(fleet) == 40
    assert {r.get("identity", {}).get("type") for r in fleet} == set(synth.IDENTITY_KINDS)
    statuses = {
        _pe_status(pe)
        for r in fleet
        for pe in r["properties"]["registryPrivateEndpointConnections"]
    }
    assert statuses == set(synth.PE_STATES)
    assert {len(r["properties"]["regionDetails"]) for r in fleet} == {1, 2, 3, 4, 5}
    storage = Counter(o for r in fleet for o, _ in _accounts(r, "storageAccountDetails"))
    acr = Counter(o for r in fleet for o, _ in _accounts(r, "acrDetails"))
    assert storage["systemCreatedStorageAccount"] and storage["userCreatedStorageAccount"]
    assert acr["systemCreatedAcrAccount"] and acr["userCreatedAcrAccount"]
    tags = {k for r in fleet for k in r["tags"]} | {v for r in fleet for v in r["tags"].values()}
    assert any(not t.isascii() for t in tags)
    assert any("managedResourceGroupSettings" in r["properties"] for r in fleet)
    assert any(ARM_ID.match(r["id"]) and "/resourcegroups/" in r["id"] for r in fleet)


def test_sample_costs_join_the_fleet_case_insensitively():
    fleet = _sample_registries()
    billed = {
        a["armResourceId"]["resourceId"].lower()
        for r in fleet
        for field in ("storageAccountDetails", "acrDetails")
        for _, a in _accounts(r, field)
    }
    with (SAMPLE / "costs.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COST_COLUMNS
    ids = {row["ResourceId"] for row in rows}
    assert billed <= {i.lower() for i in ids}, "every storage account and ACR has costs"
    assert billed - ids, "some ids differ only in casing, as real exports do"
    assert {i.lower() for i in ids} - billed, "unrelated resources are present too"
    assert {row["Date"] for row in rows} == {"08/01/2026", "09/01/2026", "10/01/2026"}
    for row in rows:
        cost, quantity, price = (
            float(row[k]) for k in ("CostInBillingCurrency", "Quantity", "UnitPrice")
        )
        if row["PricingModel"] == "OnDemand":
            assert cost == pytest.approx(quantity * price, abs=1e-3)
        elif row["ChargeType"] == "Usage":  # covered by reserved capacity: 0 in actual cost
            assert cost == 0.0 and row["MeterName"].endswith("Data Stored")
    premium = [r for r in rows if r["MeterName"] == "Premium Registry Unit"]
    assert premium and all(r["UnitPrice"] == "1.6670" for r in premium)
    with (SAMPLE / "costs-focus.csv").open(encoding="utf-8", newline="") as handle:
        focus = list(csv.DictReader(handle))
    assert tuple(focus[0]) == FOCUS_COLUMNS
    assert len(focus) == len(rows)
    reserved = purchases = 0
    for detail, row in zip(rows, focus, strict=True):
        # BilledCost is the actual cost, row by row
        assert row["BilledCost"] == detail["CostInBillingCurrency"]
        if detail["ChargeType"] == "Purchase":  # amortized onto the usage it covered
            purchases += 1
            assert row["EffectiveCost"] == "0.000000" and float(row["BilledCost"]) > 0
        elif detail["PricingModel"] == "Reservation":
            reserved += 1
            assert row["BilledCost"] == "0.000000" and float(row["EffectiveCost"]) > 0
        else:
            assert row["BilledCost"] == row["EffectiveCost"]
    assert reserved and purchases == 3
    assert [r["ResourceId"] for r in focus] == [r["ResourceId"] for r in rows]
