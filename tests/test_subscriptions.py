"""The subscriptions table: from saved pages, from a fetch over real HTTP (ARM emulator), the
raw archive, Parquet and the lake round trips, old sets without it, hostile names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import mlreg_frames as mf
from mlreg_frames import lake, schema
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import FlattenError, LakeError
from mlreg_frames.flatten.subscriptions import from_graph_row, subscriptions_frame
from mlreg_frames.synth import generate_fleet, subscriptions
from mlreg_frames.tables import METADATA_KEY

from .emulated import fetch_from

SAMPLE = Path("data/sample")
COLUMNS = ["subscription_id", "display_name", "state", "tenant_id", "outcome"]


def _entry(sub: str, name: object = "Prod", state: str = "Enabled") -> dict:
    return {"subscriptionId": sub, "displayName": name, "state": state, "tenantId": "t1"}


def test_the_sample_pages_give_named_subscriptions() -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE)).validate()
    subs = tables.subscriptions
    assert list(subs.columns[:5]) == COLUMNS
    listed = json.loads((SAMPLE / "_subscriptions.json").read_text())["value"]
    assert dict(zip(subs["subscription_id"], subs["display_name"], strict=True)) == {
        e["subscriptionId"].lower(): e["displayName"] for e in listed
    }
    assert subs["outcome"].isna().all()  # pages record no fetch: unknown, never "fetched"
    assert set(tables.registries["subscription_id"]) <= set(subs["subscription_id"])


def test_empty_tables_have_stable_dtypes() -> None:
    empty = mf.RegistryTables.empty().subscriptions
    assert list(empty.columns) == list(schema.SUBSCRIPTIONS.column_names)
    assert empty.dtypes.equals(subscriptions_frame([_entry("a")]).dtypes)
    assert subscriptions_frame([]).dtypes.equals(empty.dtypes)
    assert mf.flatten([]).subscriptions.dtypes.equals(empty.dtypes)


def test_hostile_display_names_are_kept_like_other_strings(tmp_path: Path) -> None:
    names = ["x\ud800y", "n" * 200_000, "tab\tnul\x00bell\x07\u202e"]
    entries = [_entry(f"s{i}", name) for i, name in enumerate(names)]
    tables = mf.RegistryTables(subscriptions=subscriptions_frame(entries))
    assert tables.subscriptions["display_name"].iloc[1] == names[1]
    assert tables.subscriptions["display_name"].iloc[2] == names[2]
    tables.to_parquet(tmp_path / "p")
    assert mf.read_parquet(tmp_path / "p") == tables
    mf.pages.write_subscriptions(entries, {}, tmp_path / "raw" / "_subscriptions.json")
    assert mf.flatten(mf.read_pages(tmp_path / "raw")).subscriptions.equals(tables.subscriptions)


def test_malformed_entries_are_refused_naming_the_field() -> None:
    with pytest.raises(FlattenError, match="displayName"):
        subscriptions_frame([_entry("s1", name=42)])
    with pytest.raises(FlattenError, match="subscriptionId"):
        subscriptions_frame([{"displayName": "no id"}])


def test_a_graph_row_is_a_listed_entry() -> None:
    row = {"subscriptionId": "S1", "name": "Prod", "tenantId": "t",
           "properties": {"state": "Enabled", "subscriptionPolicies": {"quotaId": "q"}}}  # fmt: skip
    frame = subscriptions_frame([from_graph_row(row)])
    assert frame[["subscription_id", "display_name", "state", "quota_id"]].values.tolist() == [
        ["s1", "Prod", "Enabled", "q"]
    ]


def _fleet() -> tuple[list, list[dict]]:
    fleet = generate_fleet(12, 3, seed=4)
    subs = subscriptions(fleet)
    subs[1]["state"] = "Disabled"
    subs.append(_entry("00000000-0000-0000-0000-0000000000ee", "Empty subscription"))
    return fleet, subs


def test_a_fetch_names_its_subscriptions_with_their_outcome(tmp_path: Path) -> None:
    fleet, subs = _fleet()
    with ArmEmulator(fleet, subscriptions=subs) as arm:
        arm.add_fault(Fault("forbidden", match=subs[2]["subscriptionId"]))
        tables = fetch_from(arm, raw_dir=tmp_path / "raw")
    got = tables.subscriptions.set_index("subscription_id")
    ids = [s["subscriptionId"].lower() for s in subs]
    assert got.loc[ids, "display_name"].tolist() == [s["displayName"] for s in subs]
    assert got.loc[ids, "outcome"].tolist() == ["fetched", "skipped", "failed", "fetched"]
    assert got.loc[ids[1], "state"] == "Disabled"
    assert got["listed"].all()
    assert not (tables.registries["subscription_id"] == ids[3]).any()  # no registries: a row
    rebuilt = mf.flatten(mf.read_pages(tmp_path / "raw"))
    assert rebuilt.subscriptions.equals(tables.subscriptions)


def test_given_ids_are_named_from_one_list_call_and_fail_softly() -> None:
    fleet, subs = _fleet()
    wanted = [subs[0]["subscriptionId"], "11111111-2222-3333-4444-555555555555"]
    with ArmEmulator(fleet, subscriptions=subs) as arm:
        tables = fetch_from(arm, wanted)
        arm.add_fault(Fault("forbidden", match="/subscriptions?"))
        arm.add_fault(Fault("forbidden", match="/subscriptions?api"))
        soft = fetch_from(arm, wanted[:1])
    got = tables.subscriptions.set_index("subscription_id")
    assert list(got.index) == sorted(w.lower() for w in wanted)
    assert got.loc[wanted[0].lower(), "display_name"] == subs[0]["displayName"]
    assert not got.loc[wanted[1], "listed"] and pd.isna(got.loc[wanted[1], "display_name"])
    assert soft.subscriptions["outcome"].tolist() == ["fetched"]


def _as_an_old_set(folder: Path) -> None:
    """Make a set as a version before the subscriptions table wrote it."""
    (folder / "subscriptions.parquet").unlink()
    for path in folder.glob("*.parquet"):
        arrow = pq.read_table(path)
        meta = json.loads(arrow.schema.metadata[METADATA_KEY])
        meta["set"]["tables"].remove("subscriptions")
        pq.write_table(arrow.replace_schema_metadata({METADATA_KEY: json.dumps(meta)}), path)


def test_parquet_and_lake_round_trips_and_old_sets(tmp_path: Path) -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE))
    tables.to_parquet(tmp_path / "p")
    assert mf.read_parquet(tmp_path / "p").subscriptions.equals(tables.subscriptions)
    _as_an_old_set(tmp_path / "p")
    old = mf.read_parquet(tmp_path / "p")
    assert old.subscriptions.empty
    assert old.subscriptions.dtypes.equals(tables.subscriptions.dtypes)
    lake.append(tables, tmp_path / "lake")
    assert lake.read(tmp_path / "lake").subscriptions.equals(tables.subscriptions)
    shutil.rmtree(tmp_path / "lake" / "subscriptions")  # the ledger counts its rows
    with pytest.raises(LakeError, match="table subscriptions holds 0 rows"):
        lake.read(tmp_path / "lake")


def test_resource_graph_names_subscriptions_from_resourcecontainers() -> None:
    fleet, subs = _fleet()
    subs = [s for s in subs if s["state"] == "Enabled"]  # graph reads what ARG indexes
    with ArmEmulator(fleet, subscriptions=subs) as arm:
        by_graph = fetch_from(arm, source="graph")
        by_arm = fetch_from(arm)
        arm.add_fault(Fault("forbidden", match=subs[0]["subscriptionId"]))
        wanted = [s["subscriptionId"] for s in subs]
        batched = fetch_from(arm, wanted, source="graph")
    cols = ["subscription_id", "display_name", "state", "listed"]
    assert by_graph.subscriptions[cols].equals(by_arm.subscriptions[cols])
    assert set(by_graph.subscriptions["outcome"]) == {"fetched"}
    assert batched.subscriptions["display_name"].notna().all()
