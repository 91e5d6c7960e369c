"""The change log of the lake and Resource Graph, merged without duplicates.

A constructed history: two snapshots three days apart in which one registry's public network
access flips and a tag appears, and Resource Graph records for the same registry, some inside
the snapshots' window (the same change: kept once, as the graph row), one before it and one
after it (other changes: kept), all through the public API.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.emulator.changesim import change_record
from mlreg_frames.flatten.changes import ChangeSet, explode_changes

pytest.importorskip("deltalake", reason="the lake needs `pip install 'mlreg-frames[lake]'`")

NOW = datetime.now(timezone.utc).replace(microsecond=0)
T0, T1 = NOW - timedelta(days=5), NOW - timedelta(days=2)
TYPE = "Microsoft.MachineLearningServices/registries"


def _registries() -> list[dict[str, Any]]:
    return [r for page in mf.read_pages("data/sample") for r in page.registries]


def _history(root: Path) -> tuple[str, str, str]:
    """Two snapshots; the first registry's publicNetworkAccess flips, a tag is added.
    Returns (registry id as ARM gives it, the access before, after)."""
    before = _registries()
    after = copy.deepcopy(before)
    props = after[0]["properties"]
    old = str(props.get("publicNetworkAccess") or "Enabled")
    new = "Disabled" if old == "Enabled" else "Enabled"
    props["publicNetworkAccess"] = new
    after[0]["tags"] = {**(after[0].get("tags") or {}), "owner": "team-a"}
    lake.append(mf.flatten(before), root, T0)
    lake.append(mf.flatten(after), root, T1)
    return str(after[0]["id"]), old, new


def _graph(rid: str, old: str, new: str) -> ChangeSet:
    access = {"properties.publicNetworkAccess": {"previousValue": old, "newValue": new}}
    rows = [
        change_record(rid, TYPE, "Update", T1 - timedelta(hours=20), access),  # same as lake
        change_record(rid, TYPE, "Update", T1 - timedelta(hours=19),
                      {"tags.owner": {"previousValue": "null", "newValue": "team-a"}}),
        change_record(rid, TYPE, "Update", T0 - timedelta(hours=3), access),  # before window
        change_record(rid, TYPE, "Update", NOW - timedelta(hours=1),
                      {"properties.description": {"previousValue": None, "newValue": "x"}}),
    ]  # fmt: skip
    frame = explode_changes(rows)
    return ChangeSet(changes=frame, fetch_errors=schema.empty_frame("fetch_errors"))


def test_lake_rows_have_the_change_shape(tmp_path: Path) -> None:
    rid, old, new = _history(tmp_path)
    found = lake.snapshot_changes(tmp_path)
    assert list(found.columns) == list(schema.CHANGES.column_names)
    assert found["source"].eq("lake").all() and found["changed_by"].isna().all()
    assert (found["time"] == pd.Timestamp(T1)).all() and set(found["resource_id"]) == {rid.lower()}
    access = found[found["property"] == "registries.public_network_access"]
    assert access[["old", "new", "change_type"]].values.tolist() == [[old, new, "Update"]]
    assert found["property"].str.startswith("tags[").sum() == 1
    assert lake.snapshot_changes(tmp_path, since=T1 + timedelta(seconds=1)).empty
    assert lake.snapshot_changes(tmp_path, until=T1 - timedelta(seconds=1)).empty
    pair = lake.diff_snapshots(tmp_path, as_changes=True)  # the same rows for one pair
    pd.testing.assert_frame_equal(pair, found)


def test_a_change_seen_by_both_appears_once_as_the_graph_row(tmp_path: Path) -> None:
    rid, old, new = _history(tmp_path)
    graph = _graph(rid, old, new)
    merged = mf.changes(tmp_path, graph=graph)
    assert merged["source"].value_counts().to_dict() == {"graph": 4}  # both lake rows matched
    assert not merged.duplicated(["change_id", "property"]).any()
    access = merged[merged["property"].str.contains("ublicNetworkAccess|public_network", na=False)]
    assert len(access) == 2 and access["time"].min() < pd.Timestamp(T0)  # the earlier one stays
    assert merged["time"].is_monotonic_decreasing
    # without the graph rows inside the window, the lake rows come back
    outside = graph.changes[graph.changes["time"] < pd.Timestamp(T0)]
    alone = mf.changes(tmp_path, graph=outside)
    assert alone["source"].value_counts().to_dict() == {"lake": 2, "graph": 1}


def test_a_different_new_value_or_resource_is_not_the_same_change(tmp_path: Path) -> None:
    rid, old, new = _history(tmp_path)
    other = {"properties.publicNetworkAccess": {"previousValue": old, "newValue": "SomethingElse"}}
    rows = [change_record(rid, TYPE, "Update", T1 - timedelta(hours=5), other),
            change_record(rid.replace("/registries/", "/registries/x"), TYPE, "Update",
                          T1 - timedelta(hours=5), {"properties.publicNetworkAccess": {
                              "previousValue": old, "newValue": new}})]  # fmt: skip
    merged = mf.changes(tmp_path, graph=explode_changes(rows))
    assert merged["source"].value_counts().to_dict() == {"lake": 2, "graph": 2}


def test_append_keeps_graph_rows_once_per_change_id(tmp_path: Path) -> None:
    rid, old, new = _history(tmp_path)
    graph = _graph(rid, old, new)
    tables = mf.flatten(_registries())
    lake.append(tables, tmp_path, NOW - timedelta(hours=2), changes=graph)
    lake.append(tables, tmp_path, NOW - timedelta(hours=1), changes=graph)  # again: no new rows
    stored = lake.read_stored_changes(tmp_path)
    assert len(stored) == len(graph.changes) and not stored.duplicated("change_id").any()
    pd.testing.assert_frame_equal(stored, graph.changes)
    merged = lake.changes(tmp_path)  # the stored rows stand in for ARG after it forgets
    assert (merged["source"] == "graph").sum() == 4 and not merged.duplicated(
        ["change_id", "property"]).any()  # fmt: skip
    # the third snapshot undoes the flip: a lake change no graph row records
    assert (merged["source"] == "lake").sum() == 2


def test_since_and_registry_filter(tmp_path: Path) -> None:
    rid, old, new = _history(tmp_path)
    graph = _graph(rid, old, new)
    recent = mf.changes(tmp_path, since=NOW - timedelta(days=1), graph=graph)
    assert recent["property"].tolist() == ["properties.description"]
    name = rid.rsplit("/", 1)[-1]
    assert len(mf.changes(tmp_path, graph=graph, registry=name.upper())) == 4
    assert mf.changes(tmp_path, graph=graph, registry="no-such-registry").empty
    assert mf.changes(graph=graph)["source"].eq("graph").all()
