"""The lake as other engines see it: 100+ appends read past checkpoints by independent
readers (our own Delta-log reader, Polars), time travel, scalar twins of list columns, the
snapshot id in commitInfo ``userMetadata``, table properties, and the subscriptions table
(older lakes without it, diff)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.lake import layout
from mlreg_frames.lake import ledger as ledger_mod
from mlreg_frames.lake import write as lake_write
from mlreg_frames.lake.diff import diff
from mlreg_frames.synth import generate_fleet
from mlreg_frames.tables import RegistryTables, from_arrow

from . import deltalog

deltalake = pytest.importorskip("deltalake", reason="the lake needs mlreg-frames[lake]")

REPO = Path(__file__).resolve().parents[1]
APPENDS = 105  # each append commits once to every data table: past 10 checkpoints of each


@pytest.fixture(scope="module")
def long_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A lake of 105 small snapshots (a few registries, private endpoints included)."""
    root = tmp_path_factory.mktemp("long") / "lake"
    variants = [mf.flatten(generate_fleet(3, 1, seed=seed)) for seed in range(4)]
    assert all(len(v.pe_connections) for v in variants)
    # one snapshot a month: each month's partition (of the ledger too) stays small
    months = [f"{2017 + i // 12}-{i % 12 + 1:02d}-01T00:00:00Z" for i in range(APPENDS)]
    sids = [lake.append(variants[i % len(variants)], root, at) for i, at in enumerate(months)]
    return root, sids


def _committed(root: Path, version: int | None = None) -> list[str]:
    ledger = deltalog.read(root / lake.LEDGER, version).to_pandas()
    return sorted(ledger.loc[ledger["state"] == "committed", "snapshot"])


def _as_ours(name: str, arrow: pa.Table, ids: list[str]) -> pd.DataFrame:
    """A raw reader's rows of committed snapshots ``ids``, as lake.read(root, "all") gives."""
    frame = arrow.to_pandas()
    frame = frame[frame["snapshot"].isin(ids)]
    snapshot = frame["snapshot"].tolist()
    ours = from_arrow(name, pa.Table.from_pandas(frame.drop(columns=["snapshot", "month"]),
                                                 preserve_index=False))  # fmt: skip
    ours.insert(0, "snapshot", pd.Series(snapshot, dtype=schema.pandas_dtype("string")))
    return ours


def _sorted(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["snapshot", *schema.ALL_TABLES[name].key]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_every_table_is_read_past_its_checkpoints_by_independent_readers(long_lake):
    polars = pytest.importorskip("polars")
    root, sids = long_lake
    history = lake.read(root, "all")
    assert list(history.snapshot_ids) == sids
    assert _committed(root) == sids
    for name in ("registries", "pe_connections", "tags", "subscriptions", lake.LEDGER):
        assert len(deltalog.checkpoints(root / name)) >= 10, name  # one every 10 commits
    for name in ("registries", "pe_connections", "tags", "regions"):
        expected = _sorted(name, history[name])
        ours = _sorted(name, _as_ours(name, deltalog.read(root / name), sids))
        pd.testing.assert_frame_equal(ours, expected, obj=f"{name} via the log reader")
        theirs = _sorted(name, _as_ours(name, polars.read_delta(str(root / name)).to_arrow(), sids))
        pd.testing.assert_frame_equal(theirs, expected, obj=f"{name} via polars")


def test_time_travel_past_checkpoints_matches_lake_read(long_lake):
    polars = pytest.importorskip("polars")
    root, sids = long_lake
    table = root / "registries"
    infos = deltalog.commit_infos(table)
    by_snapshot = {info.get("userMetadata"): version for version, info in infos.items()}
    for position in (12, 57, 99):  # between checkpoints, and just before one
        sid = sids[position]
        version = by_snapshot[sid]
        ledger_version = max(
            v for v, info in deltalog.commit_infos(root / lake.LEDGER).items()
            if info.get("userMetadata") == sid
        )  # fmt: skip
        ids = sids[: position + 1]
        assert _committed(root, ledger_version) == ids
        expected = _sorted("registries", lake.read(root, ids).registries)
        at_version = deltalog.read(table, version)
        got = _sorted("registries", _as_ours("registries", at_version, ids))
        pd.testing.assert_frame_equal(got, expected, obj=f"log reader at version {version}")
        via_polars = polars.read_delta(str(table), version=version).to_arrow()
        got = _sorted("registries", _as_ours("registries", via_polars, ids))
        pd.testing.assert_frame_equal(got, expected, obj=f"polars at version {version}")


def test_each_commit_names_its_snapshot_in_user_metadata(long_lake):
    root, sids = long_lake
    for name in ("registries", "subscriptions", lake.LEDGER):
        infos = deltalog.commit_infos(root / name)
        named = [info.get("userMetadata") for _, info in sorted(infos.items())]
        assert all(named), name  # every commit, the table's creation included
        assert sorted(set(named)) == sids, name
        history = deltalake.DeltaTable(str(root / name)).history()
        assert {h.get("userMetadata") for h in history} == set(sids)  # DESCRIBE HISTORY's column


def test_every_list_column_has_a_json_twin_in_the_lake(long_lake):
    root, _ = long_lake
    declared = {
        name: table
        for name, table in {
            **schema.ALL_TABLES, **layout.BACKING_LAKE_TABLES, **layout.ASSET_LAKE_TABLES
        }.items()
    }  # fmt: skip
    twins = {name: layout.list_twins(table.columns) for name, table in declared.items()}
    assert twins["pe_connections"] == {"group_ids": "group_ids_json"}
    assert twins["asset_versions"] == {"referenced_uris": "referenced_uris_json"}
    assert twins["storage_accounts"] == {"defaults_applied": "defaults_applied_json"}
    docs = (REPO / "docs" / "lake.md").read_text(encoding="utf-8")
    for name, pairs in twins.items():
        for twin in pairs.values():
            assert f"`{name}.{twin}`" in docs, twin
    raw = deltalog.read(root / "pe_connections")
    lists, texts = raw.column("group_ids").to_pylist(), raw.column("group_ids_json").to_pylist()
    assert len(lists) > 0
    assert all(t == (None if v is None else json.dumps(v, ensure_ascii=False))
               for v, t in zip(lists, texts, strict=True))  # fmt: skip
    names = raw.column_names
    assert names.index("group_ids_json") == names.index("group_ids") + 1
    assert "group_ids_json" not in lake.read(root).pe_connections  # read gives the list only


def test_tables_are_created_with_a_checkpoint_interval_and_optimize_sets_it(tmp_path, monkeypatch):
    sample = mf.flatten(mf.read_pages(REPO / "data" / "sample"))
    monkeypatch.setattr(lake_write, "TABLE_PROPERTIES", {})
    monkeypatch.setattr(ledger_mod, "TABLE_PROPERTIES", {})
    old = tmp_path / "old"
    lake.append(sample, old)  # as a version before the property wrote it
    monkeypatch.undo()
    new = tmp_path / "new"
    lake.append(sample, new)

    def interval(root: Path, name: str) -> str | None:
        config = deltalake.DeltaTable(str(root / name)).metadata().configuration
        return config.get("delta.checkpointInterval")

    names = [*schema.ALL_TABLES, lake.LEDGER]
    assert {interval(new, name) for name in names} == {"10"}
    assert {interval(old, name) for name in names} == {None}
    lake.optimize(old)
    assert {interval(old, name) for name in names} == {"10"}
    assert lake.read(old) == sample


def test_an_older_lake_without_subscriptions_reads_them_empty_and_typed(tmp_path, monkeypatch):
    sample = mf.flatten(mf.read_pages(REPO / "data" / "sample"))
    assert len(sample.subscriptions) > 0
    real_items = RegistryTables.items

    def without(self, *, include_errors=False):
        return ((n, f) for n, f in real_items(self, include_errors=include_errors)
                if n != "subscriptions")  # fmt: skip

    old_ledger = pa.schema([f for f in layout.LEDGER_SCHEMA if f.name != "subscriptions"])
    monkeypatch.setattr(RegistryTables, "items", without)
    monkeypatch.setattr(ledger_mod, "LEDGER_SCHEMA", old_ledger)
    root = tmp_path / "lake"
    lake.append(sample, root, "2025-05-01T00:00:00Z")  # what a version before the table wrote
    monkeypatch.undo()
    assert not (root / "subscriptions").exists()
    assert (
        "subscriptions"
        not in deltalake.DeltaTable(str(root / lake.LEDGER)).schema().to_arrow().names
    )
    read = lake.read(root)
    assert read.subscriptions.empty
    assert dict(read.subscriptions.dtypes) == dict(schema.empty_frame("subscriptions").dtypes)
    assert lake.snapshots(root)["subscriptions"].isna().all()
    # the next append adds the table; the old snapshot still reads, the new one has names
    lake.append(sample, root, "2025-06-01T00:00:00Z")
    both = lake.read(root, "all")
    assert both.at("2025-05-01T000000.000000Z").subscriptions.empty
    pd.testing.assert_frame_equal(lake.read(root).subscriptions, sample.subscriptions)
    assert lake.snapshots(root)["subscriptions"].tolist()[-1] == len(sample.subscriptions)
    # diff: an unknown side is not "every subscription removed"
    changes = lake.diff_snapshots(root, old=-2)
    assert "subscriptions" not in set(changes["table"])


def test_diff_compares_subscriptions_by_id(tmp_path):
    sample = mf.flatten(mf.read_pages(REPO / "data" / "sample"))
    later = mf.flatten(mf.read_pages(REPO / "data" / "sample"))
    subs = later.subscriptions.copy()
    first, last = subs["subscription_id"].iloc[0], subs["subscription_id"].iloc[-1]
    subs.loc[0, "display_name"] = "Renamed"
    later.subscriptions = subs.iloc[:-1].reset_index(drop=True)
    root = tmp_path / "lake"
    lake.append(sample, root, "2025-05-01T00:00:00Z")
    lake.append(later, root, "2025-06-01T00:00:00Z")
    changes = lake.diff_snapshots(root, old=-2)
    subs_rows = changes[changes["table"] == "subscriptions"]
    got = subs_rows[["registry_id", "name", "change", "key", "field", "before", "after"]]
    got = got.astype(object).where(got.notna(), None)
    assert got.to_dict("records") == [
        {"registry_id": None, "name": "Renamed", "change": "changed", "key": first,
         "field": "display_name", "before": sample.subscriptions["display_name"].iloc[0],
         "after": "Renamed"},
        {"registry_id": None, "name": sample.subscriptions["display_name"].iloc[-1],
         "change": "removed", "key": last, "field": None, "before": subs_rows["before"].iloc[1],
         "after": None},
    ]  # fmt: skip
    assert json.loads(subs_rows["before"].iloc[1])["subscription_id"] == last
    assert diff(sample, sample).empty
