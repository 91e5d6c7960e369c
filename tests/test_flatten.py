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
