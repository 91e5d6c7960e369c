"""Property tests: no leaf value of a generated registry is lost, and keys always join."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlreg_frames as mf

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
ident = st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True)
extra_key = st.from_regex(r"zz[A-Za-z]{1,6}", fullmatch=True)
leaf = st.one_of(text, st.integers(-(2**40), 2**40), st.booleans())
extras = st.dictionaries(extra_key, leaf, max_size=2)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
    minutes = draw(st.integers(-12 * 60, 14 * 60))
    tz = timezone(timedelta(minutes=minutes))
    return moment.replace(tzinfo=tz).isoformat(timespec="microseconds")


def account(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = (
        {"storageAccountName": maybe(text), "storageAccountType": maybe(text),
         "storageAccountHnsEnabled": maybe(st.booleans()),
         "allowBlobPublicAccess": maybe(st.booleans())}
        if kind == "Storage"
        else {"acrAccountName": maybe(text), "acrAccountSku": maybe(text)}
    )  # fmt: skip
    body = st.fixed_dictionaries(
        fields, optional={"armResourceId": st.fixed_dictionaries({"resourceId": text})}
    )
    origin = st.sampled_from([f"systemCreated{kind}Account", f"userCreated{kind}Account"])
    return st.tuples(origin, body, extras).map(lambda t: {t[0]: {**t[1], **t[2]}})


region = st.fixed_dictionaries(
    {"location": maybe(ident)},
    optional={"storageAccountDetails": st.lists(account("Storage"), max_size=2),
              "acrDetails": st.lists(account("Acr"), max_size=2)},
)  # fmt: skip

pe = st.fixed_dictionaries(
    {"id": text},
    optional={"location": ident, "properties": st.fixed_dictionaries(
        {},
        optional={"provisioningState": text, "groupIds": st.lists(text, max_size=2),
                  "privateEndpoint": st.fixed_dictionaries({"id": text}, optional={"subnetArmId": text}),
                  "registryPrivateLinkServiceConnectionState": st.fixed_dictionaries(
                      {"status": st.sampled_from(["Approved", "Pending", "Rejected"])},
                      optional={"description": text, "actionsRequired": text})})},
)  # fmt: skip


@st.composite
def registries(draw: st.DrawFn) -> dict[str, Any]:
    sub, rg, name = draw(ident), draw(ident), draw(ident)
    reg: dict[str, Any] = {
        "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
        f"Microsoft.MachineLearningServices/registries/{name}",
        "name": name,
        "location": draw(maybe(ident)),
    }
    reg.update(draw(extras))
    reg["tags"] = draw(st.dictionaries(text, text, max_size=3))
    reg["sku"] = draw(st.fixed_dictionaries({}, optional={"name": text, "tier": text,
                                                          "capacity": st.integers(0, 10)}))  # fmt: skip
    reg["identity"] = draw(st.fixed_dictionaries({}, optional={
        "type": text, "principalId": text, "tenantId": text,
        "userAssignedIdentities": st.dictionaries(
            text, st.fixed_dictionaries({}, optional={"principalId": text, "clientId": text}),
            max_size=2)}))  # fmt: skip
    reg["properties"] = draw(st.fixed_dictionaries({}, optional={
        "regionDetails": st.lists(region, max_size=3),
        "publicNetworkAccess": st.sampled_from(["Enabled", "Disabled"]),
        "discoveryUrl": text, "mlFlowRegistryUri": text,
        "managedResourceGroup": st.fixed_dictionaries({"resourceId": text}),
        "managedResourceGroupSettings": st.fixed_dictionaries(
            {"assignedIdentities": st.lists(st.fixed_dictionaries({"principalId": text}), max_size=2)}),
        "registryPrivateEndpointConnections": st.lists(pe, max_size=2),
        "zzFuture": st.dictionaries(extra_key, leaf, max_size=2)}))  # fmt: skip
    reg["systemData"] = draw(st.fixed_dictionaries({}, optional={
        "createdAt": timestamps(), "lastModifiedAt": timestamps(), "createdBy": text}))  # fmt: skip
    return reg


def _leaves(obj: Any, out: list[Any], keys: bool = False) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if keys:
                out.append(k)
            _leaves(v, out, keys=keys)
    elif isinstance(obj, list):
        for v in obj:
            _leaves(v, out, keys=keys)
    elif obj is not None:
        out.append(obj)


def _output_values(tables: mf.RegistryTables) -> set[Any]:
    found: set[Any] = set()
    for _, frame in tables.items():
        for column in frame.columns:
            for value in frame[column].dropna().tolist():
                if column == "extra":
                    leaves: list[Any] = []
                    _leaves(json.loads(value), leaves, keys=True)
                    found.update(json.dumps(v) if isinstance(v, bool) else v for v in leaves)
                elif isinstance(value, list):
                    found.update(value)
                elif isinstance(value, pd.Timestamp):
                    found.add(value)
                elif isinstance(value, bool):
                    found.add(json.dumps(value))
                else:
                    found.add(value)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(registries(), min_size=0, max_size=4, unique_by=lambda r: r["id"].lower()))
def test_no_leaf_value_is_lost_and_keys_join(regs: list[dict[str, Any]]) -> None:
    tables = mf.flatten([{"value": regs}]).validate()
    found = _output_values(tables)
    for reg in regs:
        leaves: list[Any] = []
        _leaves({k: v for k, v in reg.items() if k not in ("tags", "identity")}, leaves)
        _leaves(reg["tags"], leaves, keys=True)
        identity = dict(reg["identity"])
        uai = identity.pop("userAssignedIdentities", {})
        _leaves(identity, leaves)
        leaves.extend(uai)  # the identities' ARM ids are keys of this object
        _leaves(list(uai.values()), leaves)
        for value in leaves:
            if isinstance(value, str) and value[:2].isdigit() and "T" in value and len(value) > 25:
                assert pd.Timestamp(value).tz_convert("UTC") in found
            elif isinstance(value, bool):
                assert json.dumps(value) in found, value
            else:
                assert value in found, value
    # every child row joins its registry; every registry is there once
    ids = set(tables.registries["registry_id"])
    assert len(ids) == len(regs)
    for _, frame in tables.items():
        assert set(frame["registry_id"]) <= ids
