"""The fetch checks against real Azure: deselected by default, skipped without credentials.

Run with::

    export AZURE_SUBSCRIPTION_ID=<a subscription where you have Reader>
    az login                       # or any DefaultAzureCredential source (AZURE_CLIENT_ID...)
    python -m pytest -m live tests/test_live.py

Optional: ``MLREG_FRAMES_RESOURCE_GROUP`` (also list one resource group),
``MLREG_FRAMES_MANAGEMENT_GROUP`` (also query one management group with Resource Graph),
``MLREG_FRAMES_CLOUD`` (``china`` / ``usgov``), ``MLREG_FRAMES_LIVE_ALL=1`` (also list every
subscription the identity sees: slow on large estates). Nothing is written to Azure.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.errors import ArmError
from mlreg_frames.sources.auth import resolve_endpoint, token_scope

pytestmark = pytest.mark.live

CLOUD = os.environ.get("MLREG_FRAMES_CLOUD") or None
ONE_DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def subscription() -> str:
    sub = os.environ.get("AZURE_SUBSCRIPTION_ID", "").strip()
    if not sub:
        pytest.skip("set AZURE_SUBSCRIPTION_ID (and sign in) to run the live tests")
    return sub.lower()


@pytest.fixture(scope="module")
def credential(subscription: str) -> Any:
    pytest.importorskip("azure.identity")
    from azure.core.exceptions import ClientAuthenticationError

    from mlreg_frames.sources.auth import default_credential

    endpoint = resolve_endpoint(cloud=CLOUD)
    cred = default_credential(endpoint)
    try:
        cred.get_token(token_scope(endpoint))
    except ClientAuthenticationError as exc:  # not signed in: nothing to test against
        pytest.skip(f"no Azure credential available: {str(exc).splitlines()[0]}")
    return cred


def test_one_subscription(subscription: str, credential: Any, tmp_path: Path) -> None:
    tables = mf.fetch_registries(
        subscription, credential=credential, cloud=CLOUD, raw_dir=tmp_path / "raw"
    )
    tables.validate()
    assert (tables.fetch_errors["outcome"] == "failed").sum() == 0
    assert set(tables.registries["subscription_id"]) <= {subscription}
    assert tables.provenance["scopes"] == [f"/subscriptions/{subscription}"]
    if any((tmp_path / "raw").glob("*.json")):
        rebuilt = mf.flatten(mf.read_pages(tmp_path / "raw"))
        for name, frame in tables.items():
            assert rebuilt[name].equals(frame), name


def test_one_resource_group(subscription: str, credential: Any) -> None:
    group = os.environ.get("MLREG_FRAMES_RESOURCE_GROUP")
    if not group:
        pytest.skip("set MLREG_FRAMES_RESOURCE_GROUP to list one resource group")
    tables = mf.fetch_registries(subscription, group, credential=credential, cloud=CLOUD)
    assert set(tables.registries["resource_group"].str.lower()) <= {group.lower()}


def test_an_unknown_subscription_is_an_arm_error(credential: Any) -> None:
    with pytest.raises(ArmError) as info:
        mf.fetch_registries(str(uuid.uuid4()), credential=credential, cloud=CLOUD, max_attempts=2)
    assert info.value.status in (403, 404)
    assert info.value.code and info.value.request_id


def test_every_visible_subscription(subscription: str, credential: Any) -> None:
    if os.environ.get("MLREG_FRAMES_LIVE_ALL") != "1":
        pytest.skip("set MLREG_FRAMES_LIVE_ALL=1 to list every subscription you can see")
    tables = mf.fetch_registries(credential=credential, cloud=CLOUD)
    tables.validate()
    assert f"/subscriptions/{subscription}" in tables.provenance["scopes"]


def test_resource_graph_matches_arm_for_one_subscription(
    subscription: str, credential: Any
) -> None:
    by_arm = mf.fetch_registries(subscription, credential=credential, cloud=CLOUD)
    by_graph = mf.fetch_registries(subscription, credential=credential, cloud=CLOUD, source="graph")
    by_graph.validate()
    assert (by_graph.fetch_errors["outcome"] == "failed").sum() == 0
    # ARG's index lags ARM by seconds to minutes: a registry changed just now may differ
    assert set(by_graph.registries["registry_id"]) == set(by_arm.registries["registry_id"])
    assert by_graph.registries["tenant_id"].notna().all()
    assert by_graph.registries["created_at"].isna().all()
    assert by_graph.provenance["source"] == "graph"


def test_resource_graph_tenant_wide(subscription: str, credential: Any) -> None:
    tables = mf.fetch_registries(credential=credential, cloud=CLOUD, source="graph")
    tables.validate()
    assert tables.provenance["scopes"] == ["/"]
    assert set(tables.fetch_errors["outcome"]) <= {"truncated"}


def test_resource_graph_management_group(credential: Any) -> None:
    group = os.environ.get("MLREG_FRAMES_MANAGEMENT_GROUP")
    if not group:
        pytest.skip("set MLREG_FRAMES_MANAGEMENT_GROUP to query one management group")
    tables = mf.fetch_registries(
        credential=credential, cloud=CLOUD, source="graph", management_groups=[group]
    )
    tables.validate()
    assert tables.provenance["scopes"] == [
        f"/providers/Microsoft.Management/managementGroups/{group}"
    ]


def test_an_unknown_management_group_is_an_arm_error(credential: Any) -> None:
    with pytest.raises(ArmError) as info:
        mf.fetch_registries(
            credential=credential, cloud=CLOUD, source="graph",
            management_groups=[f"mlreg-missing-{uuid.uuid4().hex[:8]}"], max_attempts=2,
        )  # fmt: skip
    assert info.value.status in (400, 403, 404) and info.value.request_id


def test_the_assets_of_one_subscription(subscription: str, credential: Any, tmp_path: Path) -> None:
    tables = mf.fetch_registries(subscription, credential=credential, cloud=CLOUD)
    if tables.registries.empty:
        pytest.skip(f"subscription {subscription} holds no registries")
    raw = tmp_path / "raw"
    assets = mf.fetch_assets(tables, credential=credential, cloud=CLOUD, raw_dir=raw)
    assert assets == mf.flatten_assets(mf.read_pages(raw))  # refused pages are set apart
    assets.validate()
    assert set(assets.assets["registry_id"]) <= set(tables.registries["registry_id"])
    assert assets.provenance["throttled"] <= 0.01 * max(1, assets.provenance["requests"])


def test_the_changes_of_one_subscription(subscription: str, credential: Any) -> None:
    tables = mf.fetch_registries(subscription, credential=credential, cloud=CLOUD)
    found = mf.fetch_changes(tables, days=14, credential=credential, cloud=CLOUD)
    frame = found.changes
    assert list(frame.columns) == list(schema.CHANGES.column_names)
    assert (found.fetch_errors["outcome"] == "failed").sum() == 0
    assert frame["source"].eq("graph").all() and frame["registry_id"].notna().all()
    assert set(frame["change_type"].dropna()) <= {"Create", "Update", "Delete"}
    assert not frame.duplicated(["change_id", "property"]).any()
    if len(frame):  # ARG's window: nothing older than its retention comes back
        assert found.oldest is not None and found.oldest >= found.since - ONE_DAY
        assert frame["time"].notna().all()
