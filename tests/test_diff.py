"""diff(): tidy changes between two RegistryTables, matched by natural keys."""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from mlreg_frames import flatten, schema
from mlreg_frames.lake.diff import CHANGES, DIFF_COLUMNS, NATURAL_KEYS, diff
from mlreg_frames.synth import generate_fleet
from mlreg_frames.tables import RegistryTables

SUB = "00000000-0000-0000-0000-00000000000a"
PROVIDER = "providers/Microsoft.MachineLearningServices/registries"
MRG = f"/subscriptions/{SUB}/resourceGroups/azureml-rg-reg"
UAMI = f"/subscriptions/{SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/identities"


def rid(name: str, rg: str = "rg-ml") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/{PROVIDER}/{name}"


def account(kind: str, name: str, location: str, **more: Any) -> dict[str, Any]:
    provider = (
        "Microsoft.Storage/storageAccounts"
        if kind == "storage"
        else ("Microsoft.ContainerRegistry/registries")
    )
    if kind == "storage":
        body = {"storageAccountName": name, "storageAccountType": "Standard_LRS"}
        wrapper = "systemCreatedStorageAccount"
    else:
        body = {"acrAccountName": name, "acrAccountSku": "Premium"}
        wrapper = "systemCreatedAcrAccount"
    body["armResourceId"] = {"resourceId": f"{MRG}/providers/{provider}/{name}"}
    return {wrapper: {**body, **more}}


def region(location: str) -> dict[str, Any]:
    return {
        "location": location,
        "storageAccountDetails": [account("storage", f"st{location}", location)],
        "acrDetails": [account("acr", f"acr{location}", location)],
    }


def pe(name: str, status: str = "Approved") -> dict[str, Any]:
    return {
        "id": f"{rid('reg')}/privateEndpointConnections/{name}",
        "location": "westeurope",
        "properties": {
            "groupIds": ["amlregistry"],
            "privateEndpoint": {"id": f"/subscriptions/{SUB}/x/privateEndpoints/{name}"},
            "registryPrivateLinkServiceConnectionState": {"status": status},
            "provisioningState": "Succeeded",
        },
    }


def registry(name: str = "reg", rg: str = "rg-ml") -> dict[str, Any]:
    return {
        "id": rid(name, rg),
        "name": name,
        "type": "Microsoft.MachineLearningServices/registries",
        "location": "westeurope",
        "tags": {"env": "prod", "team": "vision"},
        "identity": {
            "type": "SystemAssigned,UserAssigned",
            "principalId": "11111111-1111-1111-1111-111111111111",
            "tenantId": "22222222-2222-2222-2222-222222222222",
            "userAssignedIdentities": {
                f"{UAMI}/id-a": {"principalId": "3a", "clientId": "4a"},
            },
        },
        "properties": {
            "publicNetworkAccess": "Enabled",
            "regionDetails": [region("westeurope"), region("eastus")],
            "registryPrivateEndpointConnections": [pe("pe1"), pe("pe2", "Pending")],
        },
    }


def tables_of(*registries: dict[str, Any]) -> RegistryTables:
    return flatten(copy.deepcopy(list(registries)))


def changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    frame = diff(tables_of(*old), tables_of(*new))
    cols = ["table", "change", "key", "field", "before", "after"]
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[cols].values.tolist()]


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    reg = registry()
    change(reg)
    return reg


ANY = object()
"""In an expected row: a before/after whose exact JSON is not the point of the case."""

WE_STORAGE = f"{MRG}/providers/Microsoft.Storage/storageAccounts/stwesteurope".lower()

CASES: list[tuple[str, Callable[[dict[str, Any]], None], list[tuple[Any, ...]]]] = [
    (
        "registry made private",
        lambda r: r["properties"].update(publicNetworkAccess="Disabled"),
        [("registries", "changed", None, "public_network_access", "Enabled", "Disabled")],
    ),
    (
        "region added",
        lambda r: r["properties"]["regionDetails"].append({"location": "japaneast"}),
        [
            ("registries", "changed", None, "region_count", "2", "3"),
            (
                "regions",
                "added",
                "japaneast",
                None,
                None,
                '{"is_primary": false, "location": "japaneast"}',
            ),
        ],
    ),
    (
        "region removed, with its storage and acr",
        lambda r: r["properties"]["regionDetails"].pop(),
        [
            ("registries", "changed", None, "region_count", "2", "1"),
            (
                "regions",
                "removed",
                "eastus",
                None,
                '{"is_primary": false, "location": "eastus"}',
                None,
            ),
            ("storage", "removed", WE_STORAGE.replace("westeurope", "eastus"), None, ANY, None),
            (
                "acr",
                "removed",
                WE_STORAGE.replace("westeurope", "eastus").replace(
                    "microsoft.storage/storageaccounts/st",
                    "microsoft.containerregistry/registries/acr",
                ),
                None,
                ANY,
                None,
            ),
        ],
    ),
    (
        "storage redundancy changed",
        lambda r: r["properties"]["regionDetails"][0]["storageAccountDetails"][0][
            "systemCreatedStorageAccount"
        ].update(storageAccountType="Standard_ZRS"),
        [
            (
                "storage",
                "changed",
                WE_STORAGE,
                "storage_account_type",
                "Standard_LRS",
                "Standard_ZRS",
            )
        ],
    ),
    (
        "private endpoint rejected",
        lambda r: r["properties"]["registryPrivateEndpointConnections"][0]["properties"][
            "registryPrivateLinkServiceConnectionState"
        ].update(status="Rejected"),
        [
            (
                "pe_connections",
                "changed",
                f"{rid('reg')}/privateEndpointConnections/pe1".lower(),
                "status",
                "Approved",
                "Rejected",
            )
        ],
    ),
    (
        "private endpoint added, without group ids",
        lambda r: r["properties"]["registryPrivateEndpointConnections"].append(
            {"id": f"{rid('reg')}/privateEndpointConnections/pe3"}
        ),
        [
            (
                "pe_connections",
                "added",
                f"{rid('reg')}/privateEndpointConnections/pe3".lower(),
                None,
                None,
                ANY,
            ),
        ],
    ),
    (
        "user-assigned identity added",
        lambda r: r["identity"]["userAssignedIdentities"].update(
            {f"{UAMI}/id-b": {"principalId": "3b", "clientId": "4b"}}
        ),
        [("identities", "added", f"user / {UAMI}/id-b".lower(), None, None, ANY)],
    ),
    (
        "tags added, removed and changed",
        lambda r: r.update(tags={"env": "dev", "owner": "ana"}),
        [
            ("tags", "changed", "resource / env", "value", "prod", "dev"),
            ("tags", "added", "resource / owner", None, None, ANY),
            ("tags", "removed", "resource / team", None, ANY, None),
        ],
    ),
    (
        "an unmodelled key changes: reported as extra, only the differing entries",
        lambda r: r["properties"].update(newFeature={"on": True}),
        [("registries", "changed", None, "extra", None, '{"properties.newFeature": {"on": true}}')],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_change_is_one_tidy_row(change, expected):
    got = changes([registry()], [mutated(change)])
    assert len(got) == len(expected), got
    for row, want in zip(got, expected, strict=True):
        assert [w is ANY or g == w for g, w in zip(row, want, strict=True)] == [True] * 6, (
            row,
            want,
        )


def test_reordered_lists_and_id_case_are_not_changes():
    def shuffle(r: dict[str, Any]) -> None:
        props = r["properties"]
        props["regionDetails"].reverse()
        props["registryPrivateEndpointConnections"].reverse()
        account = props["regionDetails"][0]["storageAccountDetails"][0][
            "systemCreatedStorageAccount"
        ]
        account["armResourceId"]["resourceId"] = account["armResourceId"]["resourceId"].upper()
        r["location"] = "West Europe"

    assert changes([registry()], [mutated(shuffle)]) == []


def test_extra_reports_only_the_entries_that_differ():
    def unmodelled(value: int) -> Callable[[dict[str, Any]], None]:
        return lambda r: r["properties"].update(stable="same", moving=value)

    assert changes([mutated(unmodelled(1))], [mutated(unmodelled(2))]) == [
        (
            "registries",
            "changed",
            None,
            "extra",
            '{"properties.moving": 1}',
            '{"properties.moving": 2}',
        )
    ]
    assert changes([mutated(unmodelled(1))], [mutated(unmodelled(1))]) == []


def test_registries_added_and_removed_without_their_children():
    got = changes([registry("a"), registry("b")], [registry("b"), registry("c")])
    assert got == [
        ("registries", "removed", None, None, None, None),
        ("registries", "added", None, None, None, None),
    ]
    frame = diff(tables_of(registry("a")), tables_of(registry("c")))
    assert frame["registry_id"].tolist() == [rid("a").lower(), rid("c").lower()]


def test_registry_missing_because_its_scope_failed_is_unfetched_not_removed():
    old = tables_of(registry("a"), registry("b", rg="rg-other"))
    new = tables_of(registry("a"))
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-other"
    failed = schema.conform(
        "fetch_errors",
        pd.DataFrame({"scope": [scope], "subscription_id": [SUB], "outcome": ["failed"]}),
        allow_missing=True,
    )
    got = diff(old, dataclasses.replace(new, fetch_errors=failed))
    assert got[["change", "field", "before", "after"]].values.tolist() == [
        ["unfetched", "fetch_errors", pd.NA, scope]
    ]
    # and the other way round: it was unreadable before, now it is back
    back = diff(dataclasses.replace(new, fetch_errors=failed), old)
    assert back[["change", "before", "after"]].values.tolist() == [["unfetched", scope, pd.NA]]


def test_registry_outside_the_scopes_a_fetch_asked_for_is_unfetched_not_removed():
    other = "00000000-0000-0000-0000-00000000000b"
    elsewhere = registry("b")
    elsewhere["id"] = elsewhere["id"].replace(SUB, other)
    old = tables_of(registry("a"), elsewhere)
    asked = {"scopes": [f"/subscriptions/{SUB}"]}  # e.g. `fetch -s <SUB>` the second day
    new = dataclasses.replace(tables_of(registry("a")), provenance=asked)
    got = diff(old, new)
    assert got[["change", "field", "before", "after"]].values.tolist() == [
        ["unfetched", "scopes", pd.NA, f"/subscriptions/{other}"]
    ]
    back = diff(new, dataclasses.replace(old, provenance=asked))
    assert back[["change", "field"]].values.tolist() == [["unfetched", "scopes"]]
    # a resource-group fetch names the resource group it did not list
    by_group = {"scopes": [f"/subscriptions/{SUB}/resourceGroups/rg-ml"]}
    old = tables_of(registry("a"), registry("c", rg="rg-other"))
    got = diff(old, dataclasses.replace(tables_of(registry("a")), provenance=by_group))
    assert got["after"].tolist() == [f"/subscriptions/{SUB}/resourcegroups/rg-other"]
    # a registry removed inside a scope that was read is a real removal
    new = dataclasses.replace(
        tables_of(registry("a")), provenance={"scopes": [f"/subscriptions/{SUB}"]}
    )
    assert diff(tables_of(registry("a"), registry("d")), new)["change"].tolist() == ["removed"]


def test_duplicate_natural_keys_are_told_apart_and_null_keys_fall_back():
    def twins(r: dict[str, Any]) -> None:
        r["properties"]["regionDetails"] = [{"location": "eastus"}, {"location": "eastus"}]

    assert changes([mutated(twins)], [mutated(twins)]) == []
    got = changes([mutated(twins)], [registry()])
    assert ("regions", "removed", "eastus#2") in [row[:3] for row in got]

    def nameless(r: dict[str, Any]) -> None:
        r["properties"]["regionDetails"] = [
            {
                "location": "eastus",
                "storageAccountDetails": [
                    {"systemCreatedStorageAccount": {"storageAccountType": "Standard_LRS"}}
                ],
            }
        ]

    renamed = mutated(nameless)
    renamed["properties"]["regionDetails"][0]["storageAccountDetails"][0][
        "systemCreatedStorageAccount"
    ]["storageAccountType"] = "Premium_LRS"
    assert changes([mutated(nameless)], [renamed]) == [
        (
            "storage",
            "changed",
            "region_index=0 storage_index=0",
            "storage_account_type",
            "Standard_LRS",
            "Premium_LRS",
        )
    ]


def test_result_shape_and_vocabulary():
    frame = diff(tables_of(registry("a")), tables_of(mutated(lambda r: r.update(tags={}))))
    assert tuple(frame.columns) == DIFF_COLUMNS
    assert all(str(t) == "string" for t in frame.dtypes)
    assert set(frame["change"]) <= set(CHANGES)
    assert set(NATURAL_KEYS) == set(schema.TABLES) - {"registries"}
    empty = diff(RegistryTables.empty(), RegistryTables.empty())
    assert empty.empty and tuple(empty.columns) == DIFF_COLUMNS


def test_invariants_on_a_synthetic_fleet():
    fleet = generate_fleet(60, 3, seed=11)
    base = flatten(copy.deepcopy(fleet))
    assert diff(base, base).empty

    rng = random.Random(5)
    shuffled = copy.deepcopy(fleet)
    rng.shuffle(shuffled)
    for reg in shuffled:
        for key in ("regionDetails", "registryPrivateEndpointConnections"):
            rng.shuffle((reg.get("properties") or {}).get(key) or [])
    assert diff(base, flatten(shuffled)).empty

    dropped = fleet[:-5]
    got = diff(base, flatten(copy.deepcopy(dropped)))
    assert got["change"].tolist() == ["removed"] * 5
    assert set(got["table"]) == {"registries"}
    # swapping the arguments swaps added and removed, before and after
    back = diff(flatten(copy.deepcopy(dropped)), base)
    assert back["change"].tolist() == ["added"] * 5
