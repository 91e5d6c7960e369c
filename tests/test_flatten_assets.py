"""``flatten_assets``: asset list pages -> the asset tables, their quirks, errors and Parquet.

The official examples (``../shared/.../registry-assets``, skipped when absent) and the
project's own fixtures (``tests/data/assets``: the same quirks, written for these tests) must
flatten; broken pages raise :class:`~mlreg_frames.FlattenError` naming page, registry and
field; arbitrary JSON anywhere in a page gives tables or that error, never another exception.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.pages import Page

from .helpers import DATA, SPECS

ASSET_SPECS = SPECS / "2025-09-01" / "registry-assets"
ASSET_DATA = DATA / "assets"

# file stem -> (asset type, name parameter of a version list; None for a container list)
_OPERATIONS = {
    "RegistryModelContainer": ("models", None),
    "RegistryModelVersion": ("models", "modelName"),
    "RegistryEnvironmentContainer": ("environments", None),
    "RegistryEnvironmentVersion": ("environments", "environmentName"),
    "RegistryComponentContainer": ("components", None),
    "RegistryComponentVersion": ("components", "componentName"),
    "RegistryDataContainer": ("data", None),
    "RegistryDataVersion": ("data", "name"),
    "RegistryCodeContainer": ("codes", None),
    "RegistryCodeVersion": ("codes", "codeName"),
}
EXAMPLES = sorted(ASSET_SPECS.glob("Registry*-list*.json")) if ASSET_SPECS.is_dir() else []
needs_specs = pytest.mark.skipif(not EXAMPLES, reason="../shared registry-assets is absent")


def _example_page(path: Path) -> tuple[Page, str, str | None]:
    """The example's 200 body as a page, with the URL its `parameters` request."""
    example = json.loads(path.read_text(encoding="utf-8"))
    asset_type, name_param = _OPERATIONS[path.name.split("-")[0]]
    p = example["parameters"]
    registry = (
        f"/subscriptions/{p['subscriptionId']}/resourceGroups/{p['resourceGroupName']}"
        f"/providers/Microsoft.MachineLearningServices/registries/{p['registryName']}"
    )
    container = p.get(name_param) if name_param else None
    suffix = f"/{container}/versions" if container else ""
    url = f"https://management.azure.com{registry}/{asset_type}{suffix}?api-version=x"
    body = example["responses"]["200"]["body"]
    return Page(body, path.name, url), asset_type, container


@needs_specs
def test_there_are_ten_examples() -> None:
    assert len(EXAMPLES) == 10


@needs_specs
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_official_example_flattens(path: Path) -> None:
    page, asset_type, container = _example_page(path)
    tables = mf.flatten_assets([page])
    items = page.body["value"]
    table = tables.asset_versions if container else tables.assets
    other = tables.assets if container else tables.asset_versions
    assert len(table) == len(items) and other.empty
    assert set(table["asset_type"]) == {asset_type}
    assert table["registry_id"].str.islower().all()
    for item, (_, row) in zip(
        sorted(items, key=lambda i: i["name"]), table.iterrows(), strict=True
    ):
        props = item.get("properties", {})
        assert row["description"] == props.get("description")
        archived = props.get("isArchived")
        assert pd.isna(row["is_archived"]) if archived is None else row["is_archived"] == archived
        if "createdAt" in item.get("systemData", {}):
            assert pd.notna(row["created_at"])
    n_tags = sum(
        len(i.get("properties", {}).get(m) or {}) for i in items for m in ("tags", "properties")
    )
    assert n_tags == len(tables.asset_tags)
    for name, frame in tables.items():
        assert frame.dtypes.to_dict() == schema.empty_frame(name).dtypes.to_dict()


@needs_specs
def test_example_quirks_land_in_their_columns() -> None:
    pages = {p.name.split("-")[0]: _example_page(p)[0] for p in EXAMPLES}
    t = mf.flatten_assets(pages.values())
    v = t.asset_versions.set_index("asset_type")
    assert json.loads(v.loc["models", "flavors"]) == {"string": {"data": {"string": "string"}}}
    assert json.loads(v.loc["components", "component_spec"]) == {
        "50acbce5-cccc-475a-8ac6-c4da402afbd8": None
    }
    env = v.loc["environments"]
    assert env["environment_type"] == "Curated" and env["uri"] == env["image"]
    assert env["conda_file"].startswith("channels:") or env["conda_file"]
    assert "my-aml-regsitry" in env["registry_id"]
    assert v.loc["data", "data_type"] == "mltable" and list(v.loc["data", "referenced_uris"])
    assert v.loc["data", "is_archived"] == False  # noqa: E712 (as the ArchivedOnly example says)
    assert v.loc["codes", "uri"] == "https://blobStorage/folderName"
    stamps = t.asset_versions["created_at"].dropna()
    assert str(v.loc["data", "created_at"]) == "2020-01-01 11:46:56.999000+00:00"  # +00:48
    assert len(stamps) == len(t.asset_versions)
    assert len(t.assets.query("asset_type == 'codes'")) == 2


def test_own_fixtures_flatten_with_their_quirks() -> None:
    t = mf.flatten_assets(ASSET_DATA)
    assert t.counts() == {"assets": 5, "asset_versions": 7, "asset_tags": 3, "fetch_errors": 0}
    a = t.assets.set_index(["asset_type", "name"])
    assert a.loc[("models", "fraud-model"), "latest_version"] == "2"
    assert pd.isna(a.loc[("models", "string"), "is_archived"])  # unknown stays unknown
    assert json.loads(a.loc[("models", "string"), "extra"]) == {"type": "string"}
    assert pd.isna(a.loc[("models", "fraud-model"), "extra"])  # the expected type is no news
    assert str(a.loc[("data", "string"), "created_at"]) == "2020-01-01 12:19:56.999000+00:00"
    assert set(t.assets.query("asset_type == 'codes'")["name"]) == {"code-a", "code-b"}
    v = t.asset_versions.set_index(["asset_type", "name", "version"])
    two = v.loc[("models", "fraud-model", "2")]
    assert pd.isna(two["created_at"]) and json.loads(two["extra"]) == {
        "created_at": "now",
        "last_modified_at": "now",
        "properties.weird": [1, 2],
    }
    one = v.loc[("models", "fraud-model", "1")]
    assert one["is_archived"] and one["stage"] == "Archived" and one["job_name"] == "job-1"
    env = v.loc[("environments", "curated-env", "7")]
    assert env["uri"] == env["image"] and env["dockerfile_path"] == "prod/Dockerfile"
    assert json.loads(env["extra"]) == {
        "properties.inferenceConfig": {"livenessRoute": {"path": "/", "port": 5001}}
    }
    assert v.loc[("environments", "curated-env", "8"), "uri"] == "https://blob/ctx8"
    tags = t.asset_tags.set_index(["name", "source", "key"])["value"].to_dict()
    assert tags == {
        ("fraud-model", "properties", "string"): "string",
        ("fraud-model", "tags", "n"): "3",
        ("fraud-model", "tags", "team"): "risk",
    }
    assert t.asset_tags.set_index("key").loc["string", "version"] == "1"
    assert t.asset_tags.set_index("key")["version"].isna().sum() == 2


def test_empty_input_has_the_declared_dtypes() -> None:
    t = mf.flatten_assets([])
    for name, frame in t.items():
        assert frame.empty
        assert frame.dtypes.to_dict() == schema.empty_frame(name).dtypes.to_dict()
        assert list(frame.columns) == list(schema.table(name).column_names)


def test_an_item_seen_twice_is_kept_once_the_last() -> None:
    pages = mf.read_pages(ASSET_DATA / "models.json")
    later = copy.deepcopy(pages[0].body)
    later["value"][0]["properties"] = {"description": "new", "tags": {"only": "this"}}
    twice = [pages[0], Page(later, "again", pages[0].url)]
    t = mf.flatten_assets(twice)
    row = t.assets.set_index("name").loc["fraud-model"]
    assert row["description"] == "new" and pd.isna(row["latest_version"])
    assert t.asset_tags["key"].tolist() == ["only"]


def test_parquet_round_trip_is_exact_and_shares_a_folder(tmp_path: Path) -> None:
    t = mf.flatten_assets(ASSET_DATA)
    registries = mf.flatten(mf.read_pages(DATA.parent.parent / "data" / "sample"))
    registries.to_parquet(tmp_path)
    t.to_parquet(tmp_path)
    assert mf.read_assets(tmp_path) == t
    assert mf.read_parquet(tmp_path) == registries
    empty = mf.AssetTables.empty()
    empty.to_parquet(tmp_path / "empty")
    back = mf.read_assets(tmp_path / "empty")
    assert back == empty
    assert back.asset_versions.dtypes.to_dict() == empty.asset_versions.dtypes.to_dict()


def test_a_mixed_set_is_refused(tmp_path: Path) -> None:
    mf.flatten_assets(ASSET_DATA).to_parquet(tmp_path / "a")
    mf.AssetTables.empty().to_parquet(tmp_path / "b")
    (tmp_path / "b" / "assets.parquet").replace(tmp_path / "a" / "assets.parquet")
    with pytest.raises(mf.ParquetSetError, match="incomplete set"):
        mf.read_assets(tmp_path / "a")
    (tmp_path / "b" / "asset_tags.parquet").unlink()
    with pytest.raises(mf.ParquetSetError, match="asset_tags missing"):
        mf.read_assets(tmp_path / "b")
    with pytest.raises(mf.SchemaError, match="holds no asset tables"):
        mf.read_assets(tmp_path / "nothing")


_URL = (
    "https://management.azure.com/subscriptions/s/resourceGroups/g/providers/"
    "Microsoft.MachineLearningServices/registries/R1/models/m/versions"
)


@pytest.mark.parametrize(
    ("body", "url", "field"),
    [
        ({"value": {"a": 1}}, _URL, "value"),
        ({"value": [3]}, _URL, "value[0]"),
        ({"value": [{"name": "1", "properties": [1]}]}, _URL, "value[0].properties"),
        ({"value": [{"name": "1", "systemData": "x"}]}, _URL, "value[0].systemData"),
        ({"value": [{"name": "1", "properties": {"build": 5}}]}, _URL, "value[0].properties.build"),
        ({"value": [{"properties": {}}]}, _URL, "value[0].name"),
        ({"value": [{"name": "1", "properties": {"flavors": [[[[]]]]}}]}, _URL, "flavors"),
        ({"value": []}, "https://management.azure.com/subscriptions/s/providers/x", "_mlreg.url"),
        ({"value": []}, None, "_mlreg.url"),
    ],
)
def test_broken_pages_name_page_registry_and_field(
    body: dict[str, Any], url: str | None, field: str
) -> None:
    if field == "flavors":
        body["value"][0]["properties"]["flavors"] = json.loads("[" * 300 + "]" * 300)
    with pytest.raises(mf.FlattenError) as info:
        mf.flatten_assets([Page(body, "page-7.json", url)])
    error = info.value
    assert error.page == "page-7.json" and field in str(error.field)
    if url == _URL:
        assert error.registry and error.registry.endswith("/registries/r1")
        assert "registries/r1" in str(error)


def test_input_that_is_not_pages_raises_the_project_error() -> None:
    with pytest.raises(mf.FlattenError, match="expected a Page"):
        mf.flatten_assets([{"value": []}])  # type: ignore[list-item]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _paths(v, (*prefix, i))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data(), json_values)
def test_any_json_anywhere_gives_tables_or_the_project_error(
    data: st.DataObject, value: Any
) -> None:
    page = mf.read_pages(ASSET_DATA / data.draw(st.sampled_from(sorted(
        p.name for p in ASSET_DATA.glob("*.json")))))[0]  # fmt: skip
    body = copy.deepcopy(page.body)
    path = data.draw(st.sampled_from(_paths(body)))
    if not path:
        body = value
    else:
        node = body
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    try:
        t = mf.flatten_assets([Page(body, "fuzz", page.url)])
    except mf.MlregFramesError:
        return
    for name, frame in t.items():
        assert frame.dtypes.to_dict() == schema.empty_frame(name).dtypes.to_dict()
    assert mf.AssetTables.from_frames(dict(t.items())) == t


def test_the_sample_holds_a_realistic_mix() -> None:
    t = mf.flatten_assets(DATA.parent.parent / "data" / "sample" / "_assets.ndjson").validate()
    registries = mf.flatten(mf.read_pages(DATA.parent.parent / "data" / "sample")).registries
    assert set(t.assets["registry_id"]) <= set(registries["registry_id"])
    assert t.assets["registry_id"].nunique() >= 30
    assert set(t.assets["asset_type"]) == set(schema.ASSET_TYPES)
    v = t.asset_versions
    assert v["is_archived"].any() and not v["is_archived"].all()
    assert {"MLFlowModel", "CustomModel"} <= set(v["model_type"].dropna())
    assert {"Curated", "UserCreated"} <= set(v["environment_type"].dropna())
    assert {"uri_folder", "uri_file", "mltable"} <= set(v["data_type"].dropna())
    assert v["flavors"].notna().any() and v["component_spec"].notna().any()
    assert v["created_at"].isna().any()  # some lists omit systemData
    assert (v["image"].isna() & (v["asset_type"] == "environments")).any()  # build contexts
