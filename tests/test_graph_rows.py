"""Resource Graph without a server: row shape, quota pacing, request scopes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames.emulator.graphsim import graph_row
from mlreg_frames.flatten.graphrow import REGISTRY_TYPE, from_graph_row
from mlreg_frames.sources.graphclient import QuotaPacer, parse_resets_after
from mlreg_frames.sources.graphscope import GraphScope, batches, graph_scopes
from mlreg_frames.synth import generate_fleet

ID = "/subscriptions/AB-12/resourceGroups/RG-Ml/providers/Microsoft.MachineLearningServices/registries/r1"


def _row(**more: Any) -> dict[str, Any]:
    row = {
        "id": ID, "name": "r1", "type": REGISTRY_TYPE.lower(), "location": "westeurope",
        "kind": "", "tenantId": "t-1", "subscriptionId": "AB-12", "resourceGroup": "rg-ml",
        "managedBy": "", "plan": None, "zones": None, "extendedLocation": None, "sku": None,
        "identity": None, "tags": {}, "properties": {"regionDetails": []},
    }  # fmt: skip
    row.update(more)
    return row


def test_an_arg_row_lands_in_the_registries_table() -> None:
    tables = mf.flatten([{"value": [_row()]}])
    (reg,) = tables.registries.to_dict("records")
    assert reg["tenant_id"] == "t-1" and reg["type"] == REGISTRY_TYPE
    assert reg["subscription_id"] == "ab-12" and reg["resource_group"] == "RG-Ml"
    assert reg["kind"] is None and reg["extra"] is None  # "" kind, empty ARG additions
    assert tables.regions.empty and tables.tags.empty
    zoned = mf.flatten([{"value": [_row(zones=["1"])]}]).registries
    assert zoned["extra"].tolist() == ['{"zones": ["1"]}']


@pytest.mark.parametrize(
    ("more", "kept"),
    [
        ({"managedBy": "/subscriptions/x/app"}, {"managedBy": "/subscriptions/x/app"}),
        ({"zones": ["1", "2"]}, {"zones": ["1", "2"]}),
        ({"plan": {"name": "p"}}, {"plan": {"name": "p"}}),
        ({"extendedLocation": {"name": "edge", "type": "EdgeZone"}},
         {"extendedLocation": {"name": "edge", "type": "EdgeZone"}}),
        ({"subscriptionId": "other"}, {"subscriptionId": "other"}),
        ({"resourceGroup": "elsewhere"}, {"resourceGroup": "elsewhere"}),
        ({"tenantId": 7}, {"tenantId": 7}),
        ({"zones": []}, {}),
    ],
)  # fmt: skip
def test_arg_additions_with_information_are_kept_in_extra(
    more: dict[str, Any], kept: dict[str, Any]
) -> None:
    extra: dict[str, Any] = {}
    reg, _ = from_graph_row(_row(**more), extra)
    assert extra == kept
    assert not set(reg) & {"tenantId", "managedBy", "zones", "plan", "subscriptionId"}


def test_an_arm_registry_passes_through_untouched() -> None:
    reg = {"id": ID, "type": "microsoft.machinelearningservices/REGISTRIES", "kind": ""}
    extra: dict[str, Any] = {}
    assert from_graph_row(reg, extra) == (reg, None) and extra == {}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 8))
def test_a_registry_as_an_arg_row_flattens_the_same(seed: int, n: int) -> None:
    fleet = generate_fleet(n, 2, seed=seed)
    by_arm = mf.flatten([{"value": fleet}])
    by_graph = mf.flatten([{"value": [graph_row(r, "tenant-x") for r in fleet]}])
    dropped = ["created_at", "created_by", "created_by_type", "last_modified_at",
               "last_modified_by", "last_modified_by_type", "tenant_id"]  # fmt: skip
    assert by_arm.registries.drop(columns=dropped).equals(by_graph.registries.drop(columns=dropped))
    assert set(by_graph.registries["tenant_id"]) == {"tenant-x"}
    for name in ("regions", "storage", "acr", "identities", "pe_connections", "tags"):
        assert getattr(by_arm, name).equals(getattr(by_graph, name)), name


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:05", 5.0), ("00:01:00", 60.0), ("2:00:00", 7200.0), ("00:00:00.250", 0.25),
     ("1.00:00:00", 86400.0), ("", None), (None, None), ("5", None), ("aa:bb:cc", None)],
)  # fmt: skip
def test_parse_resets_after(text: str | None, seconds: float | None) -> None:
    assert parse_resets_after(text) == seconds


def test_the_pacer_waits_only_when_the_quota_is_spent() -> None:
    now = [0.0]
    slept: list[float] = []
    pacer = QuotaPacer(sleep=slept.append, clock=lambda: now[0])
    assert pacer.wait(cap=60) == 0.0  # nothing known yet
    pacer.observe({"x-ms-user-quota-remaining": "4", "x-ms-user-quota-resets-after": "00:00:03"})
    assert pacer.wait(cap=60) == 0.0
    pacer.observe({"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:03"})
    now[0] = 1.0
    assert pacer.until_reset() == 2.0
    assert pacer.wait(cap=60) == 2.0 and slept == [2.0]
    assert pacer.wait(cap=60) == 0.0  # a new window until an answer says otherwise
    pacer.observe({"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "01:00:00"})
    assert pacer.wait(cap=5) == 5 and pacer.waited == 7.0
    pacer.observe({"x-ms-user-quota-remaining": "many"})  # unreadable headers change nothing
    assert pacer.remaining is None


def test_request_scopes() -> None:
    assert graph_scopes(None, None) == [GraphScope()]
    assert GraphScope().label == "/" and GraphScope().slug == "graph-tenant"
    scopes = graph_scopes([f"S{i}" for i in range(2001)] + ["s0"], None)
    assert [len(s.subscriptions) for s in scopes] == [1000, 1000, 1]
    assert scopes[0].subscriptions[0] == "s0" and scopes[2].label == "/subscriptions/s2000"
    assert scopes[1].label == "/subscriptions (batch 2: s1000 .. s1999)"
    (group,) = graph_scopes(None, ["Prod", "Dev", "Prod"])
    assert group.management_groups == ("Prod", "Dev")
    assert group.body("q", 50, True)["options"]["allowPartialScopes"] is True
    assert batches(["a", "b", "c"], size=2) == [["a", "b"], ["c"]]
