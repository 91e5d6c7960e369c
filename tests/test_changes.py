"""fetch_changes over real HTTP against the emulator's Resource Graph ``resourcechanges``.

Paging, quota pacing, 429, partial scopes, truncation, the explode of ``properties.changes``
(Create/Delete rows, ``"null"`` strings kept apart from JSON nulls, ``isTruncated``), the
registries of backing accounts, and the window warning.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.emulator.changesim import ChangeModel, change_record
from mlreg_frames.errors import ArmError, InvalidArgumentError

from .emulated import QUICK_RETRIES

NOW = datetime.now(timezone.utc).replace(microsecond=0)
REG = (
    "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.MachineLearningServices/registries/R1"
)


@pytest.fixture
def fleet() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(12, 3, seed=5) as arm:
        yield arm


def _fetch(arm: ArmEmulator, *args: Any, **kwargs: Any) -> Any:
    options = {"endpoint": arm.endpoint, "credential": arm.credential(), **QUICK_RETRIES}
    return mf.fetch_changes(*args, **{**options, **kwargs})


def _records(arm: ArmEmulator, subs: set[str] | None = None) -> list[dict[str, Any]]:
    return arm.graph.changes.rows("resourcechanges", subs)


def _change_queries(arm: ArmEmulator) -> list[Any]:
    return [q for q in arm.graph.queries if q["query"].startswith("resourcechanges")]


def test_every_record_becomes_rows_one_per_property(fleet: ArmEmulator) -> None:
    found = _fetch(fleet, top=7)
    records = _records(fleet)
    expected = sum(max(1, len(r["properties"]["changes"])) for r in records)
    frame = found.changes
    assert list(frame.columns) == list(schema.CHANGES.column_names)
    assert len(frame) == expected and frame["source"].eq("graph").all()
    assert frame["change_id"].nunique() == len(records)
    assert not frame.duplicated(["change_id", "property"]).any()
    assert len(_change_queries(fleet)) == -(-len(records) // 7)  # paged with $skipToken
    assert frame["time"].is_monotonic_decreasing  # newest first
    assert set(frame["change_type"]) == {"Create", "Update", "Delete"}
    whole = frame[frame["change_type"].isin(["Create", "Delete"])]
    assert whole["property"].isna().all() and whole["new"].isna().all()
    assert (frame["resource_id"] == frame["resource_id"].str.lower()).all()
    assert found.fetch_errors.empty and found.oldest == frame["time"].min()


def test_null_strings_json_nulls_and_truncation_are_kept_apart(fleet: ArmEmulator) -> None:
    frame = _fetch(fleet).changes
    tags = frame[frame["property"] == "tags.owner"]
    assert len(tags) and (tags["old"] == "null").all()  # ARG's string "null" stays a string
    region = frame[frame["property"] == "properties.regionDetails[1].location"]
    assert len(region) and region["old"].isna().all() and (region["new"] == "westus").all()
    cut = frame[frame["is_truncated"].fillna(False)]
    assert len(cut) and set(cut["property"]) == {"properties.description"}
    assert (cut["new"].str.len() == 1024).all()
    assert frame["is_truncated"].notna().all()
    apps = frame[frame["changed_by_type"] == "Application"]
    assert len(apps) and apps["client_type"].eq("ARM template").all()
    assert frame["correlation_id"].notna().all() and frame["operation"].notna().all()


def test_tables_fill_registry_ids_and_keep_only_their_resources(fleet: ArmEmulator) -> None:
    tables = mf.fetch_registries(endpoint=fleet.endpoint, credential=fleet.credential())
    found = _fetch(fleet, tables)
    frame = found.changes
    backing = set(tables.storage["resource_id"].dropna().str.lower()) | set(
        tables.acr["resource_id"].dropna().str.lower()
    )
    known = backing | set(tables.registries["registry_id"])
    assert len(frame) and set(frame["resource_id"]) <= known
    assert frame["registry_id"].notna().all()
    storage = frame[frame["resource_type"] == "microsoft.storage/storageaccounts"]
    pairs = tables.storage[["resource_id", "registry_id"]].dropna()
    owners = dict(zip(pairs["resource_id"].str.lower(), pairs["registry_id"], strict=True))
    got = zip(storage["resource_id"], storage["registry_id"], strict=True)
    assert len(storage) and all(owners[r] == g for r, g in got)
    sent = _change_queries(fleet)[-1]
    assert sorted(sent["subscriptions"]) == sorted(set(tables.registries["subscription_id"]))


def test_resource_types_and_days_go_into_the_query(fleet: ArmEmulator) -> None:
    found = _fetch(fleet, days=3, resource_types=["Microsoft.Storage/storageAccounts"])
    assert set(found.changes["resource_type"]) == {"microsoft.storage/storageaccounts"}
    assert (found.changes["time"] > pd.Timestamp(NOW - timedelta(days=3, minutes=5))).all()
    assert "ago(3d)" in _change_queries(fleet)[-1]["query"]
    with pytest.raises(InvalidArgumentError, match="resource type"):
        _fetch(fleet, resource_types=["storage') | union (resources"])
    with pytest.raises(InvalidArgumentError, match="days"):
        _fetch(fleet, days=0)


def test_the_oldest_change_is_recorded_and_a_longer_window_warned(fleet: ArmEmulator) -> None:
    found = _fetch(fleet, days=30)
    assert found.oldest is not None and found.oldest > pd.Timestamp(NOW - timedelta(days=14))
    assert (
        len(found.warnings) == 1 and "more than a day before the oldest change" in found.warnings[0]
    )
    fleet.graph.changes = ChangeModel(fleet, records=[
        change_record(fleet.registries[0]["id"], "Microsoft.MachineLearningServices/registries", "Update",
                      NOW - timedelta(hours=30), {"tags.a": {"previousValue": "1",
                                                             "newValue": "2"}}),
    ])  # fmt: skip
    near = _fetch(fleet, days=2)  # starts less than a day before the oldest change: no warning
    assert near.warnings == [] and len(near.changes) == 1
    assert "more than a day before" in _fetch(fleet, days=3).warnings[0]
    fleet.graph.changes = ChangeModel(fleet, records=[])
    empty = _fetch(fleet)
    assert empty.changes.empty and empty.oldest is None and "no change" in empty.warnings[0]


def test_quota_headers_pace_the_pages(fleet: ArmEmulator) -> None:
    fleet.graph.quota, fleet.graph.window = 2, 1.0
    started = time.monotonic()
    found = _fetch(fleet, top=20, max_retry_after=5.0)
    pages = len(_change_queries(fleet))
    assert pages >= 3 and [r.status for r in fleet.requests] == [200] * pages  # never a 429
    assert found.provenance["quota_waited_s"] > 0.3 and time.monotonic() - started > 0.3


def test_a_429_waits_and_retries(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("throttle", match="resourcegraph", times=1, retry_after="00:00:01"))
    started = time.monotonic()
    found = _fetch(fleet, max_retry_after=5.0)
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in fleet.requests] == [429, 200]
    assert len(found.changes) and found.fetch_errors.empty
    fleet.add_fault(Fault("throttle", match="resourcegraph", retry_after="00:00:01"))
    with pytest.raises(ArmError) as info:
        _fetch(fleet)
    assert info.value.status == 429


def test_partial_scopes_and_truncation_are_fetch_errors(fleet: ArmEmulator) -> None:
    fleet.graph.scope_limit = 2
    with pytest.raises(ArmError):
        _fetch(fleet)
    found = _fetch(fleet, allow_partial_scopes=True)
    assert found.fetch_errors[["scope", "outcome"]].values.tolist() == [["/", "partial"]]
    subs = {r["subscriptionId"].lower() for r in _records(fleet)}
    assert len(subs) == 3 and found.changes["resource_id"].str.split("/").str[2].nunique() == 2
    fleet.graph.scope_limit = None
    fleet.add_fault(Fault("truncate", match="resourcegraph", times=1))
    cut = _fetch(fleet)
    row = cut.fetch_errors.iloc[0]
    assert row.outcome == "truncated" and "change records are missing" in row.message
    assert 0 < cut.changes["change_id"].nunique() < len(_records(fleet))


def test_one_failed_batch_keeps_the_others(fleet: ArmEmulator) -> None:
    subs = sorted({r["subscriptionId"].lower() for r in _records(fleet)})
    fleet.add_fault(Fault("forbidden", match="resourcegraph", times=1))
    found = _fetch(fleet, subscription_ids=subs, batch_size=1)
    assert found.fetch_errors["outcome"].tolist() == ["failed"]
    assert found.changes["resource_id"].str.split("/").str[2].nunique() == 2
