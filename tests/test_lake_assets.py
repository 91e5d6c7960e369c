"""The asset tables in the Delta lake: one snapshot with the registries, read back, diffed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.assettables import AssetTables
from mlreg_frames.lake import ledger as ledger_mod
from mlreg_frames.lake import write as lake_write

deltalake = pytest.importorskip(
    "deltalake", reason="the lake needs `pip install 'mlreg-frames[lake]'`"
)

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture(scope="module")
def sample() -> tuple[mf.RegistryTables, AssetTables]:
    return mf.flatten(mf.read_pages(SAMPLE)), mf.flatten_assets(SAMPLE / "_assets.ndjson")


def _errors(*scopes: str) -> pd.DataFrame:
    rows = pd.DataFrame({"scope": list(scopes), "outcome": "failed", "error_code": "Forbidden"})
    return schema.conform("fetch_errors", rows, allow_missing=True)


def _with(assets: AssetTables, **frames: pd.DataFrame) -> AssetTables:
    parts = {name: frame for name, frame in assets.items()}
    parts.update(frames)
    return AssetTables.from_frames(parts, provenance=assets.provenance)


def test_assets_land_in_the_registries_snapshot_and_round_trip(tmp_path, sample):
    tables, assets = sample
    root = tmp_path / "lake"
    plain = lake.append(tables, root, "2025-06-01T00:00:00Z")
    sid = lake.append(tables, root, "2025-06-02T00:00:00Z", assets=assets)
    empty = lake.append(tables, root, "2025-06-03T00:00:00Z", assets=AssetTables.empty())
    for name in lake.layout.ASSET_LAKE_TABLES:
        assert deltalake.DeltaTable.is_deltatable(str(root / name)), name

    back = lake.read_assets(root, sid)
    assert back is not None and back == assets
    for name, frame in back.items():
        assert frame.dtypes.equals(assets[name].dtypes), name
    assert back.provenance["snapshot"] == sid
    assert back.provenance["listed"] == assets.provenance["listed"]
    assert lake.read(root, sid) == tables  # the registry tables of the same snapshot

    # written without assets: None (not known), never empty tables (holds nothing)
    assert lake.read_assets(root, plain) is None
    nothing = lake.read_assets(root)
    assert nothing is not None and nothing == AssetTables.empty()
    for name, frame in nothing.items():
        assert frame.dtypes.equals(AssetTables.empty()[name].dtypes), name

    rows = ledger_mod.ledger(lake_write.LakeStore(root))
    done = rows[rows["state"] == "committed"].set_index("snapshot")
    assert done.loc[sid, "asset_versions"] == len(assets.asset_versions)
    assert done.loc[sid, "asset_fetch_errors"] == 0
    assert pd.isna(done.loc[plain, "assets"]) and done.loc[empty, "assets"] == 0
    listed = lake.snapshots(root).set_index("snapshot")
    assert listed.loc[sid, "asset_versions"] == len(assets.asset_versions)
    assert pd.isna(listed.loc[plain, "assets"]) and str(listed["assets"].dtype) == "Int64"


def test_append_refuses_what_is_not_asset_tables(tmp_path, sample):
    tables, assets = sample
    with pytest.raises(mf.InvalidArgumentError, match="assets must be AssetTables"):
        lake.append(tables, tmp_path, assets=assets.assets)  # type: ignore[arg-type]


def test_asset_fetch_errors_round_trip_under_their_own_table(tmp_path, sample):
    tables, assets = sample
    rid = assets.assets["registry_id"].iloc[0]
    failing = _with(assets, fetch_errors=_errors(f"{rid}/models"))
    sid = lake.append(tables, tmp_path, assets=failing)
    back = lake.read_assets(tmp_path, sid)
    assert back is not None and back.fetch_errors.equals(failing.fetch_errors)
    assert lake.read(tmp_path, sid).fetch_errors.empty  # not mixed with the registry fetch's


def test_diff_snapshots_reports_added_archived_removed_and_unknown(tmp_path, sample):
    tables, assets = sample
    versions = assets.asset_versions
    removed = versions.iloc[[0, 1]]
    flips = versions[versions["is_archived"].eq(False).to_numpy(dtype=bool)].iloc[[0, 1, 2]]
    newer = versions.iloc[[5]].assign(version="999")
    # every models version of one registry is gone, but its models list failed: unknown
    blind = versions[versions["registry_id"] != removed["registry_id"].iloc[0]]
    blind_rid = blind["registry_id"].iloc[-1]
    hidden = versions[(versions["registry_id"] == blind_rid) & (versions["asset_type"] == "models")]
    later = versions.drop(index=removed.index.union(hidden.index))
    later.loc[later.index.intersection(flips.index), "is_archived"] = True
    later = pd.concat([later, newer], ignore_index=True)
    after = _with(assets, asset_versions=later, fetch_errors=_errors(f"{blind_rid}/models"))

    root = tmp_path / "lake"
    lake.append(tables, root, "2025-06-01T00:00:00Z", assets=assets)
    lake.append(tables, root, "2025-06-08T00:00:00Z", assets=after)
    changes = lake.diff_snapshots(root)
    assert changes.attrs["assets"] == "compared"
    found = changes[changes["table"] == "asset_versions"]
    counts = found["change"].value_counts().to_dict()
    flipped = len(flips.index.difference(removed.index.union(hidden.index)))
    assert counts == {
        "removed": 2,
        "archived": flipped,
        "added": 1,
        "unknown": len(hidden),
    }
    unknown = found[found["change"] == "unknown"]
    assert set(unknown["field"]) == {"fetch_errors"}
    assert set(unknown["after"]) == {f"{blind_rid}/models"}
    first = removed.iloc[0]
    key = f"{first['asset_type']}/{first['name']}/{first['version']}"
    row = found[found["key"] == key].iloc[0]
    assert row["change"] == "removed" and row["after"] is pd.NA
    assert str(row["name"]) == str(
        tables.registries.set_index("registry_id").loc[first["registry_id"], "name"]
    )
    # the CLI shows them beside the registry changes
    from click.testing import CliRunner

    from mlreg_frames.cli import main

    result = CliRunner().invoke(main, ["diff", str(root)])
    assert result.exit_code == 0, result.output
    assert f"{flipped} archived" in result.stdout and "1 added" in result.stdout
    assert "asset_versions" in result.stdout


def test_diff_says_when_a_snapshot_has_no_assets(tmp_path, sample):
    tables, assets = sample
    lake.append(tables, tmp_path, "2025-06-01T00:00:00Z")
    lake.append(tables, tmp_path, "2025-06-02T00:00:00Z", assets=assets)
    changes = lake.diff_snapshots(tmp_path)
    assert changes.empty
    assert "2025-06-01T000000.000000Z was written without assets" in changes.attrs["assets"]
    assert lake.diff_snapshots(tmp_path, assets=False).attrs["assets"].startswith("not asked")
    from click.testing import CliRunner

    from mlreg_frames.cli import main

    result = CliRunner().invoke(main, ["diff", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "asset versions not compared" in result.stdout


def test_repair_optimize_and_vacuum_cover_the_asset_tables(tmp_path, sample):
    tables, assets = sample
    root = tmp_path / "lake"
    for day in (1, 2):
        lake.append(tables, root, f"2025-06-0{day}T00:00:00Z", assets=assets)
    # a writer killed after writing the asset versions
    store = lake_write.LakeStore(root)
    orphan = lake_write._claim(store, "2099-01-01T000000.000000Z", "dead", explicit=True)
    arrows = lake_write._asset_arrows(assets, orphan)
    lake_write._write_table(store, "asset_versions", arrows["asset_versions"], orphan)
    raw = deltalake.DeltaTable(str(root / "asset_versions")).to_pyarrow_table()
    assert raw.num_rows == 3 * len(assets.asset_versions)
    assert lake.repair(root, older_than=timedelta(0)) == [orphan]
    raw = deltalake.DeltaTable(str(root / "asset_versions")).to_pyarrow_table()
    assert raw.num_rows == 2 * len(assets.asset_versions)

    done = lake.optimize(root).set_index("table")
    for name in lake.layout.ASSET_LAKE_TABLES:
        assert name in done.index, name
    assert done.loc["asset_versions", "files_after"] == 1
    assert lake.read_assets(root) == assets
    assert lake.vacuum(root, dry_run=True) == []


def _tables(versions: dict[tuple[str, str, str], bool | None], failed: list[str]) -> AssetTables:
    rows = pd.DataFrame(
        [
            {
                "registry_id": f"/r/{r}",
                "asset_type": "models",
                "name": n,
                "version": v,
                "is_archived": a,
            }
            for (r, n, v), a in versions.items()
        ],
        columns=["registry_id", "asset_type", "name", "version", "is_archived"],
    )
    frames = {"asset_versions": rows, "fetch_errors": _errors(*failed)}
    return AssetTables.from_frames(frames, allow_missing=True)


_VERSION = st.tuples(st.sampled_from("ab"), st.sampled_from("mn"), st.sampled_from("123"))
_SIDE = st.dictionaries(_VERSION, st.booleans(), max_size=12)


@settings(max_examples=60, deadline=None)
@given(old=_SIDE, new=_SIDE, failed=st.sets(st.sampled_from(["a", "b"]), max_size=1))
def test_diff_assets_counts_match_set_arithmetic(old, new, failed):
    # the new side's models list failed in the registries of `failed`
    found = lake.diff_assets(_tables(old, []), _tables(new, [f"/r/{r}/models" for r in failed]))
    counts = found["change"].value_counts().to_dict()
    blind = {k for k in old.keys() - new.keys() if k[0] in failed}
    both = old.keys() & new.keys()
    expected = {
        "removed": len(old.keys() - new.keys() - blind),
        "added": len(new.keys() - old.keys()),
        "archived": sum(1 for k in both if not old[k] and new[k]),
        "unarchived": sum(1 for k in both if old[k] and not new[k]),
        "unknown": len(blind),
    }
    assert counts == {k: v for k, v in expected.items() if v}
    assert set(found["table"]) <= {"asset_versions"}
    assert list(found.columns) == list(lake.DIFF_COLUMNS)


def test_diff_assets_never_calls_an_unread_list_a_removal():
    old = _tables({("a", "m", "1"): False, ("a", "m", "2"): None}, [])
    new = _tables({("a", "m", "2"): True}, [])
    found = lake.diff_assets(old, new)
    assert found[["key", "change", "field"]].values.tolist() == [
        ["models/m/1", "removed", pd.NA],
        ["models/m/2", "unknown", "is_archived"],
    ]
    # containers only (versions=False), a type not asked for, a registry not read
    no_versions = AssetTables.from_frames({}, provenance={"versions": False})
    assert set(lake.diff_assets(old, no_versions)["field"]) == {"versions"}
    other_type = AssetTables.from_frames({}, provenance={"asset_types": ["data"]})
    assert set(lake.diff_assets(old, other_type)["field"]) == {"asset_types"}
    unread = lake.diff_assets(old, AssetTables.empty(), unread_new={"/R/A"})
    assert set(unread["change"]) == {"unknown"} and set(unread["field"]) == {"registries"}
    # a container's versions list that failed covers only that container
    one = lake.diff_assets(old, _tables({}, ["/r/a/models/m/versions"]))
    assert set(one["change"]) == {"unknown"}
    # a field not given is left out of the JSON, never written as NaT or NaN
    gone = lake.diff_assets(old, AssetTables.empty())
    assert set(gone["before"]) == {'{"is_archived": false}', "{}"}
    with pytest.raises(mf.InvalidArgumentError, match="diff_assets takes AssetTables"):
        lake.diff_assets(old, old.asset_versions)  # type: ignore[arg-type]


def test_a_lake_from_before_the_assets_reads_none_and_takes_them(tmp_path, sample):
    import shutil

    old_copy, root = tmp_path / "old", tmp_path / "new"
    shutil.copytree(Path(__file__).parent / "data" / "lake-v1", old_copy)
    first, second = lake.migrate(old_copy, root)
    assert lake.read_assets(root, first) is None and lake.read_assets(root, second) is None
    tables, assets = sample
    sid = lake.append(tables, root, "2025-07-01T00:00:00Z", assets=assets)
    assert lake.read_assets(root, sid) == assets
    assert lake.diff_snapshots(root, second, sid).attrs["assets"].startswith("not compared")
    assert lake.read(root, "all").snapshot_ids == (first, second, sid)


def test_a_large_asset_set_comes_back_in_key_order(tmp_path, sample):
    # delta-rs does not keep the row order of a large append: read_assets restores key order
    tables, assets = sample
    versions = assets.asset_versions
    many = pd.concat([versions.assign(version=versions["version"] + f".{i}") for i in range(8)])
    many = many.sort_values(list(schema.key("asset_versions")), ignore_index=True)
    big = _with(assets, asset_versions=many)
    sid = lake.append(tables, tmp_path, assets=big)
    assert lake.read_assets(tmp_path, sid) == big
