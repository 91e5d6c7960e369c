"""Property tests: no leaf value of a generated registry is lost, and keys always join."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames.flatten.text import restore_surrogates

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
                    found.update(restore_surrogates(v) if isinstance(v, str) else v for v in value)
                elif isinstance(value, pd.Timestamp):
                    found.add(value)
                elif isinstance(value, bool):
                    found.add(json.dumps(value))
                else:  # strings are stored in the reversible form of flatten.text
                    found.add(restore_surrogates(value) if isinstance(value, str) else value)
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


any_text = st.text(
    alphabet=st.one_of(
        st.characters(),  # surrogates included
        st.sampled_from(["\\", "u", "d", "8", "0", "5", "c", "f"]),
    ),
    max_size=16,
) | st.builds("".join, st.lists(st.sampled_from(["\\", "\\u", "\\ud800", "\\u005c", "\ud800",
                                                 "\udfff", "x", "u005c"]), max_size=6))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_surrogate_escape_is_reversible_and_valid_utf8(value: str) -> None:
    from mlreg_frames.flatten.text import escape_surrogates

    escaped = escape_surrogates(value)
    escaped.encode("utf-8")  # no lone surrogate left
    assert restore_surrogates(escaped) == value
    if escaped == value:  # unchanged text is plain text
        assert not any("\ud800" <= ch <= "\udfff" for ch in value)


@settings(max_examples=30, deadline=None)
@given(st.lists(any_text, min_size=1, max_size=3))
def test_any_string_in_a_string_column_round_trips_through_parquet(
    tmp_path_factory: Any, names: list[str]
) -> None:
    regs = [{"id": f"/subscriptions/s/resourceGroups/r/providers/"
             f"Microsoft.MachineLearningServices/registries/n{i}", "name": name, "zz": name}
            for i, name in enumerate(names)]  # fmt: skip
    tables = mf.flatten(regs).validate()
    assert [restore_surrogates(n) for n in tables.registries["name"]] == names
    # JSON text cannot tell a surrogate pair from the character it encodes: compare as JSON.
    assert [json.loads(e)["zz"] for e in tables.registries["extra"]] == json.loads(
        json.dumps(names)
    )
    folder = tmp_path_factory.mktemp("pq")
    tables.to_parquet(folder)
    assert mf.read_parquet(folder) == tables


@st.composite
def dotnet_timestamps(draw: st.DrawFn) -> tuple[str, datetime]:
    """(ISO text ARM could send, the UTC instant it means) over 0001-01-02 .. 9999-12-30."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    digits = draw(st.integers(0, 9))
    extra = draw(st.integers(0, 10**3 - 1))
    sep = draw(st.sampled_from(["T", " "]))
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S").rjust(19, "0")
    text = f"{moment.year:04d}{text[text.index('-') :]}"
    fraction = f"{moment.microsecond:06d}{extra:03d}"[:digits]
    if digits:
        text += "." + fraction
    kept = int(fraction.ljust(6, "0")[:6]) if digits else 0
    if minutes == 0 and draw(st.booleans()):
        text += "Z"
    else:
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    instant = moment.replace(microsecond=kept) - timedelta(minutes=minutes)
    return text, instant.replace(tzinfo=timezone.utc)


@settings(max_examples=150, deadline=None)
@given(st.lists(dotnet_timestamps(), min_size=1, max_size=6))
def test_any_dotnet_timestamp_parses_to_its_instant(
    stamps: list[tuple[str, datetime]],
) -> None:
    from mlreg_frames.flatten.frames import parse_timestamps

    parsed, failed = parse_timestamps([text for text, _ in stamps])
    assert failed == []
    assert str(parsed.dtype) == "datetime64[us, UTC]"
    assert [t.to_pydatetime() for t in parsed] == [instant for _, instant in stamps]
