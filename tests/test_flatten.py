"""The flattener against the project's own quirk fixtures (tests/data/quirks, tests/data/broken)."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.pages import Page

from .helpers import DATA, cell_as_json

QUIRKS = json.loads((DATA / "quirks" / "expected.json").read_text(encoding="utf-8"))
BROKEN = json.loads((DATA / "broken" / "expected.json").read_text(encoding="utf-8"))
CASES = sorted(k for k in QUIRKS if not k.startswith("_"))


@pytest.mark.parametrize("name", CASES)
def test_quirk_counts_and_cells(name: str) -> None:
    case = QUIRKS[name]
    tables = mf.flatten(mf.read_pages(DATA / "quirks" / name)).validate()
    assert tables.counts(include_errors=False) == case["counts"]
    for table, row, column, expected in case["cells"]:
        got = cell_as_json(tables[table][column].iloc[row])
        assert got == expected, f"{name}: {table}[{row}].{column}"


@pytest.mark.parametrize("name", sorted(k for k in BROKEN if not k.startswith("_")))
def test_broken_input_raises_named_error(name: str) -> None:
    error_class, field = BROKEN[name]
    with pytest.raises(getattr(mf, error_class)) as info:
        mf.flatten(mf.read_pages(DATA / "broken" / name))
    err = info.value
    assert isinstance(err, mf.MlregFramesError)
    assert name in str(err)
    if field is not None:
        assert err.field == field
        assert f"field {field}" in str(err)


def test_all_quirks_together_keep_every_registry() -> None:
    files = [DATA / "quirks" / n for n in CASES]
    together = mf.flatten(mf.read_pages(files)).validate()
    separately = sum(len(mf.flatten(mf.read_pages(f)).registries) for f in files)
    assert len(together.registries) == separately  # no id is shared between fixtures


def test_empty_input_has_every_column_and_dtype() -> None:
    empty = mf.flatten([])
    full = mf.flatten(mf.read_pages(DATA / "quirks" / "pascal_case.json"))
    for name, table in schema.TABLES.items():
        assert list(empty[name].columns) == list(table.column_names)
        assert len(empty[name]) == 0
        pd.testing.assert_series_equal(empty[name].dtypes, full[name].dtypes, check_names=False)


def test_pages_with_null_or_empty_value_give_no_rows() -> None:
    tables = mf.flatten([{"value": None, "nextLink": "x"}, {"value": []}, Page({"Value": []}, "p")])
    assert tables.counts(include_errors=False) == dict.fromkeys(schema.TABLES, 0)


def test_last_registry_seen_wins_across_pages() -> None:
    rid = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/registries/r"
    first = {"id": rid, "location": "eastus", "tags": {"a": "1", "b": "2"}}
    second = {"id": rid.upper(), "location": "westus", "tags": {"a": "9"}}
    tables = mf.flatten([{"value": [first]}, {"value": [second]}])
    assert tables.registries["location"].tolist() == ["westus"]
    assert tables.tags[["key", "value"]].values.tolist() == [["a", "9"]]


def test_registry_dicts_and_pages_mix() -> None:
    rid = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/registries/"
    tables = mf.flatten([{"id": rid + "a"}, {"value": [{"id": rid + "b"}]}])
    assert tables.registries["name"].isna().all()
    assert tables.registries["registry_id"].tolist() == [rid.lower() + "a", rid.lower() + "b"]


def test_neither_page_nor_registry_is_a_flatten_error() -> None:
    with pytest.raises(mf.FlattenError, match="neither a page"):
        mf.flatten([{"nextLink": "x"}])
    with pytest.raises(mf.FlattenError, match="expected a page or a registry"):
        mf.flatten([["not", "a", "page"]])


def test_seven_digit_fraction_and_offsets_are_exact_instants() -> None:
    rid = (
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/registries/t"
    )
    tables = mf.flatten(
        [{"id": rid, "systemData": {"createdAt": "2021-05-06T07:08:09.1234567+00:40",
                                    "lastModifiedAt": "2021-05-06T07:08:09-03:00"}}]
    )  # fmt: skip
    row = tables.registries.iloc[0]
    assert row["created_at"] == pd.Timestamp("2021-05-06T06:28:09.123456Z")
    assert row["last_modified_at"] == pd.Timestamp("2021-05-06T10:08:09Z")
    assert str(tables.registries["created_at"].dtype) == "datetime64[us, UTC]"


def test_group_ids_is_a_real_list_column() -> None:
    tables = mf.flatten(mf.read_pages(DATA / "quirks" / "legacy_pe_names.json"))
    column = tables.pe_connections["group_ids"]
    assert isinstance(column.dtype, pd.ArrowDtype)
    assert column.list.len().tolist()[0] == 2
    assert column.explode().dropna().tolist() == ["amlregistry", "amlworkspace"]


def test_flatten_error_names_page_registry_and_field() -> None:
    page = Page({"value": [{"id": "/x/y", "properties": {"regionDetails": [{"acrDetails": 5}]}}]},
                "page-7.json")  # fmt: skip
    with pytest.raises(mf.FlattenError) as info:
        mf.flatten([page])
    assert info.value.page == "page-7.json"
    assert info.value.registry == "/x/y"
    assert info.value.field == "properties.regionDetails[0].acrDetails"


def test_bundled_sample_reads_as_the_documented_fleet() -> None:
    from .helpers import SAMPLE

    tables = mf.flatten(mf.read_pages(SAMPLE)).validate()  # _subscriptions.json is skipped
    assert len(tables.registries) == 40
    assert tables.registries["subscription_id"].nunique() == 3
    assert set(tables.pe_connections["status"]) >= {
        "Approved",
        "Pending",
        "Rejected",
        "Disconnected",
    }
    assert set(tables.identities["kind"]) == {"system", "user", "managed_resource_group"}
    assert set(tables.storage["origin"]) == {"system", "user"}


def _write_fleet_pages(folder, n: int, page_size: int) -> list[dict]:
    from mlreg_frames import synth

    fleet = synth.generate_fleet(n, 4, seed=3)
    pages = synth.paginate(fleet, page_size)
    changed = [dict(reg, location="changed-later") for reg in fleet[:5]]
    pages.append({"value": changed})  # seen again in the last file: these rows must win
    for i, page in enumerate(pages):
        (folder / f"p{i:04d}.json").write_text(json.dumps(page), encoding="utf-8")
    return fleet


@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_and_parallel_flatten_equal_one_pass(
    tmp_path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    flatten_module = sys.modules["mlreg_frames.flatten"]  # the package exports the function
    fleet = _write_fleet_pages(tmp_path, 120, 7)
    one_pass = mf.flatten([p.parsed() for p in mf.read_pages(tmp_path)])  # in memory: 1 chunk
    monkeypatch.setattr(flatten_module, "CHUNK_BYTES", 20_000)  # many small runs of files
    lazy = mf.read_pages(tmp_path)
    chunked = mf.flatten(lazy, workers=workers).validate()
    assert chunked == one_pass
    assert len(chunked.registries) == len(fleet)
    assert chunked.registries["location"].tail(5).tolist() == ["changed-later"] * 5
    assert not any(page.loaded for page in lazy)  # lazy pages stay unparsed


def test_parallel_flatten_reports_errors_with_their_details(tmp_path) -> None:
    _write_fleet_pages(tmp_path, 20, 5)
    (tmp_path / "p9999.json").write_text(json.dumps({"value": [{"name": "no id"}]}))
    with pytest.raises(mf.FlattenError) as info:
        mf.flatten(mf.read_pages(tmp_path), workers=2)
    assert info.value.page == "p9999.json" and info.value.field == "value[0].id"


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers"):
        mf.flatten([], workers=0)


# --- odd but valid JSON (issue 9, item 6) -------------------------------------------------

RID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/registries/"


def _deep(depth: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("field", "value", "column"),
    [
        ("sku.capacity", 2**63, "sku_capacity"),
        ("sku.capacity", -(2**63) - 1, "sku_capacity"),
        ("sku.capacity", 1e300, "sku_capacity"),
        ("properties.privateLinkCount", 1e300, "private_link_count"),
        ("properties.privateLinkCount", "99999999999999999999", "private_link_count"),
        ("properties.privateLinkCount", "--5", "private_link_count"),
        ("properties.privateLinkCount", "\u00b2", "private_link_count"),
    ],
)
def test_numbers_outside_int64_become_null_with_the_raw_value_in_extra(
    field: str, value: object, column: str
) -> None:
    parent, key = field.split(".")
    tables = mf.flatten([{"id": RID + "a", parent: {key: value}}]).validate()
    row = tables.registries.iloc[0]
    assert row[column] is pd.NA
    assert json.loads(row["extra"]) == {column: value}


def test_int64_limits_themselves_fit() -> None:
    regs = [{"id": RID + "a", "sku": {"capacity": 2**63 - 1}},
            {"id": RID + "b", "sku": {"capacity": float(-(2**63))}}]  # fmt: skip
    tables = mf.flatten(regs).validate()
    assert tables.registries["sku_capacity"].tolist() == [2**63 - 1, -(2**63)]
    assert tables.registries["extra"].isna().all()


def test_lone_surrogates_are_kept_reversibly_in_every_string_column(tmp_path) -> None:
    from mlreg_frames.flatten.text import restore_surrogates

    odd = "a\ud800b\udfffc"
    reg = {
        "id": RID + "s\udc80", "name": odd, "location": "east\ud800",
        "tags": {odd: odd, "n": {"k": odd}},
        "properties": {"description": "kept \\ud800 as text", "zzNew": {odd: [odd]},
                       "regionDetails": [{"location": "east\ud800", "acrDetails": [
                           {"userCreatedAcrAccount": {"acrAccountName": odd}}]}],
                       "registryPrivateEndpointConnections": [
                           {"id": odd, "properties": {"groupIds": [odd, None]}}]},
    }  # fmt: skip
    tables = mf.flatten([reg]).validate()
    row = tables.registries.iloc[0]
    assert restore_surrogates(row["arm_id"]) == reg["id"]
    assert restore_surrogates(row["registry_id"]) == reg["id"].lower()
    assert restore_surrogates(row["name"]) == odd
    assert restore_surrogates(row["description"]) == "kept \\ud800 as text"
    assert json.loads(row["extra"]) == {"properties.zzNew": {odd: [odd]}}
    assert tables.regions["is_primary"].tolist() == [True]
    assert restore_surrogates(tables.acr["acr_name"].iloc[0]) == odd
    assert [restore_surrogates(v) for v in tables.pe_connections["group_ids"].iloc[0][:1]] == [odd]
    tags = {restore_surrogates(k): restore_surrogates(v) for k, v in
            tables.tags[["key", "value"]].values.tolist()}  # fmt: skip
    assert tags == {odd: odd, "n": json.dumps({"k": odd}, ensure_ascii=False)}
    assert set(tables.tags["registry_id"]) == set(tables.registries["registry_id"])
    tables.to_parquet(tmp_path)
    assert mf.read_parquet(tmp_path) == tables


@pytest.mark.parametrize(
    ("reg", "field_start"),
    [
        ({"zzDeep": _deep(300)}, "zzDeep[0][0]"),
        ({"name": _deep(300)}, "name[0]"),
        ({"tags": {"t": _deep(300)}}, "tags.t[0]"),
        ({"properties": {"regionDetails": [{"location": "x", "zz": _deep(300)}]}},
         "properties.regionDetails[0].zz[0]"),
        ({"properties": {"registryPrivateEndpointConnections": [
            {"id": "p", "properties": {"groupIds": [_deep(300)]}}]}},
         "properties.registryPrivateEndpointConnections[0].group_ids[0]"),
        ({"zzDeep": _deep(100_000)}, "zzDeep[0]"),
    ],
)  # fmt: skip
def test_nesting_deeper_than_the_limit_is_a_flatten_error_naming_the_path(
    reg: dict, field_start: str
) -> None:
    from mlreg_frames.flatten.text import MAX_DEPTH

    with pytest.raises(mf.FlattenError, match=f"deeper than {MAX_DEPTH}") as info:
        mf.flatten([{"id": RID + "deep", **reg}])
    assert info.value.field.startswith(field_start)
    assert info.value.registry == (RID + "deep").lower() or info.value.registry == RID + "deep"
    assert len(str(info.value)) < 400  # one readable line, not 300 path parts


def test_nesting_up_to_the_limit_is_kept() -> None:
    from mlreg_frames.flatten.text import MAX_DEPTH

    value = _deep(MAX_DEPTH - 1)
    tables = mf.flatten([{"id": RID + "ok", "zzDeep": value}]).validate()
    assert json.loads(tables.registries["extra"].iloc[0]) == {"zzDeep": value}


@pytest.mark.parametrize(
    ("reg", "field"),
    [
        ({1: "x"}, "value[0]"),
        ({"sku": {None: 1}}, "sku"),
        ({"tags": {2: "x"}}, "tags"),
        ({"identity": {"userAssignedIdentities": {3: {}}}}, "identity.userAssignedIdentities"),
        ({"zz": {"a": {(1, 2): "x"}}}, "zz.a"),
        ({"name": {"a": {1: "x"}}}, "name.a"),
    ],
)
def test_keys_that_are_not_strings_are_a_flatten_error(reg: dict, field: str) -> None:
    with pytest.raises(mf.FlattenError, match=r"JSON object keys are strings|tag names") as info:
        mf.flatten([{"id": RID + "k", **reg}])
    assert info.value.field == field


@pytest.mark.parametrize("items", [None, 5, "data/sample", b"{}", 1.5, object()])
def test_flatten_of_something_that_is_not_pages_is_a_clear_error(items: object) -> None:
    with pytest.raises(mf.FlattenError, match="flatten takes pages or registry dicts"):
        mf.flatten(items)  # type: ignore[arg-type]


def test_flatten_argument_types_are_checked() -> None:
    with pytest.raises(TypeError, match="workers must be an int"):
        mf.flatten([], workers="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="provenance must be a mapping"):
        mf.flatten([], provenance=["x"])  # type: ignore[arg-type]


# --- timestamps (item 7) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"),
        ("0001-01-01T00:00:00.0000001Z", "0001-01-01T00:00:00+00:00"),
        ("0001-01-01T05:30:00+05:30", "0001-01-01T00:00:00+00:00"),
        ("0001-01-01T00:40:00.1234567+00:40", "0001-01-01T00:00:00.123456+00:00"),
        ("1677-09-21T00:12:43.145224Z", "1677-09-21T00:12:43.145224+00:00"),
        ("1970-01-01T00:00:00-00:01", "1970-01-01T00:01:00+00:00"),
        ("2000-02-29T23:59:59.9999999-0130", "2000-03-01T01:29:59.999999+00:00"),
        ("2262-04-11T23:47:16.854775808Z", "2262-04-11T23:47:16.854775+00:00"),
        ("2021-05-06 07:08:09", "2021-05-06T07:08:09+00:00"),
        ("2021-05-06", "2021-05-06T00:00:00+00:00"),
        ("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999999+00:00"),
        ("9999-12-31T23:59:59.9999999-14:00", "10000-01-01T13:59:59.999999+00:00"),
    ],
)
def test_timestamps_over_the_dotnet_range_parse_to_their_instant(text: str, instant: str) -> None:
    # A 7-digit fraction next to an out-of-nanosecond-range value once crashed pandas 3.
    tables = mf.flatten([{"id": RID + "t", "systemData": {
        "createdAt": text, "lastModifiedAt": "2021-05-06T07:08:09.1234567+00:40"}}])  # fmt: skip
    row = tables.registries.iloc[0]
    assert str(tables.registries["created_at"].dtype) == "datetime64[us, UTC]"
    got = row["created_at"]
    if instant.startswith("10000"):  # past year 9999: check the microseconds since the epoch
        assert got.asm8.view("i8") == 253402300799999999 + 14 * 3600 * 10**6
    else:
        assert got.isoformat() == instant
    assert row["last_modified_at"].isoformat() == "2021-05-06T06:28:09.123456+00:00"
    assert row["extra"] is pd.NA


def test_one_column_mixing_years_outside_nanoseconds_and_7_digit_fractions() -> None:
    # pandas 3 raised AssertionError on this column; pandas 2.2 gave null for year 0001.
    texts = ["0001-01-01T00:00:00Z", "2021-05-06T07:08:09.1234567+00:40",
             "9999-12-31T23:59:59.9999999+14:00", "2021-05-06T07:08:09Z", None, "now"]  # fmt: skip
    regs = [{"id": f"{RID}m{i}", "systemData": {"createdAt": t}} for i, t in enumerate(texts)]
    tables = mf.flatten(regs).validate()
    assert [None if v is pd.NaT else v.isoformat() for v in tables.registries["created_at"]] == [
        "0001-01-01T00:00:00+00:00",
        "2021-05-06T06:28:09.123456+00:00",
        "9999-12-31T09:59:59.999999+00:00",
        "2021-05-06T07:08:09+00:00",
        None,
        None,
    ]
    assert tables.registries["extra"].iloc[5] == '{"created_at": "now"}'


@pytest.mark.parametrize(
    "text",
    ["now", "today", "tomorrow", "2021-02-29T00:00:00Z", "2021-13-01", "2021-01-01T24:00:00Z",
     "2021-01-01T00:00:00+24:00", "0000-01-01T00:00:00Z", "", " 2021-01-01", "Jan 5 2021",
     "2021-01-01T00:00:00Z\n", "\uff12\uff10\uff12\uff11-01-01"],
)  # fmt: skip
def test_words_and_impossible_dates_are_not_timestamps(text: str) -> None:
    tables = mf.flatten([{"id": RID + "w", "systemData": {"createdAt": text}}]).validate()
    row = tables.registries.iloc[0]
    assert row["created_at"] is pd.NaT
    assert json.loads(row["extra"]) == {"created_at": text}


# --- keys differing only in case (item 8) ------------------------------------------------


@pytest.mark.parametrize("first", ["location", "Location"])
def test_case_duplicate_keys_keep_the_documented_spelling_and_the_other_in_extra(
    first: str,
) -> None:
    other = "Location" if first == "location" else "location"
    values = {"location": "eastus", "Location": "westus"}
    reg = {"id": RID + "c", first: values[first], other: values[other],
           "properties": {"Description": "one", "DESCRIPTION": "two"}}  # fmt: skip
    tables = mf.flatten([reg]).validate()
    row = tables.registries.iloc[0]
    assert row["location"] == "eastus"
    assert row["description"] == "one"  # neither spelled as documented: the first wins
    assert json.loads(row["extra"]) == {"Location": "westus", "properties.DESCRIPTION": "two"}


def test_page_with_value_and_Value_reads_both_lists() -> None:
    page = {"value": [{"id": RID + "lower"}], "Value": [{"id": RID + "upper"}]}
    tables = mf.flatten([page, Page(page, "p")]).validate()
    assert tables.registries["name"].isna().all()
    assert sorted(tables.registries["arm_id"]) == [RID + "lower", RID + "upper"]
    assert len(Page(page, "p").registries) == 2


# --- input that is not registries (item 10) ------------------------------------------------

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
NOT_REGISTRIES = [
    {"id": SUB, "subscriptionId": "00000000-0000-0000-0000-000000000001", "displayName": "x"},
    {"id": SUB + "/resourceGroups/rg"},
    {"id": SUB + "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w",
     "type": "Microsoft.MachineLearningServices/workspaces"},
    {"id": SUB + "/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w2"},
    {"id": "x", "type": "microsoft.storage/storageaccounts"},
    {"id": SUB + "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/registries/r/"
           "providers/Microsoft.Authorization/roleAssignments/a"},
]  # fmt: skip


def test_items_of_other_resource_types_are_skipped_with_one_warning() -> None:
    registry = {"id": SUB + "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                "registries/r", "type": "microsoft.machinelearningservices/registries"}  # fmt: skip
    with pytest.warns(mf.errors.NotRegistriesWarning, match=f"skipped {len(NOT_REGISTRIES)} "):
        tables = mf.flatten([{"value": NOT_REGISTRIES[:3]}, {"value": [registry]},
                             *NOT_REGISTRIES[3:]]).validate()  # fmt: skip
    assert tables.registries["arm_id"].tolist() == [registry["id"]]


@pytest.mark.parametrize("index", range(len(NOT_REGISTRIES)))
def test_strict_refuses_items_of_other_resource_types(index: int) -> None:
    item = NOT_REGISTRIES[index]
    with pytest.raises(mf.FlattenError, match="not a registry") as info:
        mf.flatten([{"value": [item]}], strict=True)
    assert info.value.field == ("type" if "type" in item else "id")


@pytest.mark.parametrize(
    "item",
    [
        {"id": "string", "type": "string", "name": "string"},
        {"id": "/x/y", "type": "Microsoft.MachineLearningServices/Registries"},
        {"id": SUB + "/resourceGroups/rg/providers/P/registries/r"},
        {"id": SUB + "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/registries"},
        {"id": "registry-1", "type": "None"},
    ],
)
def test_placeholders_and_registries_are_kept_without_a_warning(item: dict) -> None:
    tables = mf.flatten([{"value": [item]}], strict=True).validate()
    assert tables.registries["arm_id"].tolist() == [item["id"]]


def test_skipped_items_are_counted_across_worker_processes(tmp_path) -> None:
    for i in range(3):
        (tmp_path / f"p{i}.json").write_text(json.dumps({"value": NOT_REGISTRIES[:2]}))
    with pytest.warns(mf.errors.NotRegistriesWarning, match="skipped 6 "):
        tables = mf.flatten(mf.read_pages(tmp_path), workers=2)
    assert len(tables.registries) == 0
