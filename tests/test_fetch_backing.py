"""fetch_backing over real HTTP: every account read once, failures as rows, the token guarded.

The emulator serves the sample fleet's storage accounts and container registries with the
drift of :mod:`mlreg_frames.synth.backing`: some deleted (404), some in a managed resource group
the caller cannot read (403).
"""

from __future__ import annotations

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.sources.backing import backing_ids
from mlreg_frames.synth.backing import missing_accounts, unreadable_groups

from .emulated import QUICK_RETRIES, fetch_from

fetch_backing = mf.fetch_backing  # the public name, imported on first use


@pytest.fixture(scope="module")
def arm():
    with ArmEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def tables(arm) -> mf.RegistryTables:
    return fetch_from(arm)


def fetch(arm: ArmEmulator, tables: mf.RegistryTables, **options) -> object:
    return fetch_backing(tables, endpoint=arm.endpoint, credential=arm.credential(),
                         **{**QUICK_RETRIES, **options})  # fmt: skip


def test_every_account_is_read_once_and_failures_are_rows(arm, tables):
    before = len(arm.requests)
    backing = fetch(arm, tables)
    ids = [rid for rid, _ in backing_ids(tables)]
    gets = [r for r in arm.requests[before:] if "/registries?" not in r.path]
    assert len(gets) == len(ids)  # one GET per account, none repeated
    read = set(backing.storage_accounts["resource_id"]) | set(
        backing.container_registries["resource_id"]
    )
    failed = set(backing.fetch_errors["scope"])
    assert read | failed == set(ids) and not read & failed
    gone = missing_accounts(arm.registries)
    forbidden = unreadable_groups(arm.registries)
    by_status = backing.fetch_errors.groupby("http_status")["scope"].apply(set).to_dict()
    assert by_status.get(404, set()) == gone - {
        r for r in gone if "/".join(r.split("/")[:5]) in forbidden
    }
    assert all("/".join(r.split("/")[:5]) in forbidden for r in by_status.get(403, set()))
    assert set(backing.fetch_errors["error_code"]) <= {"ResourceNotFound", "AuthorizationFailed"}
    assert set(backing.storage_accounts["api_version"]) == {"2025-08-01"}
    assert set(backing.container_registries["api_version"]) == {"2025-11-01"}


def test_the_sample_drift_becomes_findings(arm, tables):
    backing = fetch(arm, tables)
    found = analysis.exposure(tables, backing)
    unknown = found[found["finding"] == "backing_not_visible"]
    assert set(unknown["resource_id"]) == set(backing.fetch_errors["scope"])
    assert (found["finding"] == "registry_private_storage_public").any()
    assert {"acr_admin_user", "storage_tls_below_1_2", "acr_not_premium"} <= set(found["finding"])
    # the drift data/sample/README.md documents
    accounts = found[found["resource_id"].notna()]
    high = accounts[accounts["severity"] == "high"].groupby("finding").size().to_dict()
    assert high == {"acr_anonymous_pull": 3, "registry_private_acr_public": 3,
                    "registry_private_storage_public": 9, "storage_blob_public_access": 7}  # fmt: skip
    assert backing.counts() == {"storage_accounts": 97, "container_registries": 99,
                                "backing_pe_connections": 82, "fetch_errors": 6}  # fmt: skip
    assert backing.fetch_errors["error_code"].value_counts().to_dict() == {
        "AuthorizationFailed": 4, "ResourceNotFound": 2}  # fmt: skip
    # every account-level finding names an account the registries list
    listed = {rid for rid, _ in backing_ids(tables)}
    assert set(found["resource_id"].dropna()) <= listed


def test_throttling_and_a_server_error_are_retried(arm, tables):
    rid = (
        backing.storage_accounts["resource_id"].iloc[0] if (backing := fetch(arm, tables)) else None
    )
    arm.add_fault(Fault("throttle", match=rid, times=1, retry_after="0"))
    arm.add_fault(Fault("error", match=rid, times=1, status=503))
    again = fetch(arm, tables)
    assert rid in set(again.storage_accounts["resource_id"])


def test_an_answer_about_another_resource_is_not_used(arm, tables):
    rid, _ = backing_ids(tables)[0]
    other = next(b for k, b in arm.resources.items() if k != rid)
    saved = arm.resources[rid]
    arm.resources[rid] = other
    try:
        backing = fetch(arm, tables)
    finally:
        arm.resources[rid] = saved
    (row,) = backing.fetch_errors[backing.fetch_errors["scope"] == rid].to_dict("records")
    assert row["error_code"] == "UnexpectedResource"
    assert rid not in set(backing.storage_accounts["resource_id"]) | set(
        backing.container_registries["resource_id"]
    )


def test_hostile_answers_fail_only_their_account(arm, tables):
    ids = [rid for rid, _ in backing_ids(tables)]
    arm.add_fault(Fault("malformed", match=ids[0], times=10))
    arm.add_fault(Fault("huge", match=ids[1], times=10, size=4096))
    try:
        backing = fetch(arm, tables, max_page_bytes=1024)
    finally:
        arm.faults.clear()
    codes = backing.fetch_errors.set_index("scope")["error_code"].to_dict()
    assert codes[ids[0]] and codes[ids[1]] == "PageTooLarge"
    assert len(backing.storage_accounts) + len(backing.container_registries) >= len(ids) - 2 - len(
        codes
    )


def test_the_token_goes_only_to_the_endpoint():
    tables = mf.flatten(mf.read_pages("data/sample"))
    with ArmEmulator(host="127.0.0.2") as attacker, pytest.raises(mf.InsecureEndpointError):
        fetch_backing(tables, endpoint="http://example.com", credential=attacker.credential())
    assert attacker.requests == []


@pytest.mark.parametrize(
    ("options", "argument"),
    [({"source": "kusto"}, "source"), ({"max_workers": 0}, "max_workers"),
     ({"storage_api_version": ""}, "storage_api_version")],
)  # fmt: skip
def test_bad_arguments_are_refused_before_any_request(arm, tables, options, argument):
    before = len(arm.requests)
    with pytest.raises(mf.InvalidArgumentError) as info:
        fetch(arm, tables, **options)
    assert info.value.argument == argument and len(arm.requests) == before
    with pytest.raises(mf.InvalidArgumentError):
        fetch_backing(tables.registries)  # type: ignore[arg-type]


def test_the_backing_command_writes_tables_that_read_back_exactly(arm, tables, tmp_path):
    from click.testing import CliRunner

    from mlreg_frames.backingfiles import read_backing
    from mlreg_frames.cli import main

    tables.to_parquet(tmp_path)
    args = ["backing", "--from", str(tmp_path), "--endpoint", arm.endpoint, "--token-env", "T",
            "--max-attempts", "2"]  # fmt: skip
    result = CliRunner().invoke(main, args, env={"T": "token"})
    assert result.exit_code == 2, result.output  # the sample has accounts it cannot read
    assert "exposure findings:" in result.output and "Traceback" not in result.output
    saved = read_backing(tmp_path)
    again = fetch(arm, tables)
    for name in ("storage_accounts", "container_registries", "backing_pe_connections"):
        pd.testing.assert_frame_equal(saved[name], again[name])
    assert set(saved.fetch_errors["scope"]) == set(again.fetch_errors["scope"])
    assert len(mf.read_parquet(tmp_path).registries) == len(tables.registries)  # untouched


def test_resource_graph_gives_the_same_tables_as_arm(arm, tables):
    arm.faults.clear()
    by_arm = fetch(arm, tables)
    before = len(arm.requests)
    by_graph = fetch(arm, tables, source="graph")
    posts = [r for r in arm.requests[before:] if r.method == "POST"]
    assert 1 <= len(posts) <= -(-len(backing_ids(tables)) // 200) * 2  # a query per batch
    for name in ("storage_accounts", "container_registries", "backing_pe_connections"):
        a = by_arm[name].drop(columns=[c for c in ("source", "api_version") if c in by_arm[name]])
        g = by_graph[name].drop(
            columns=[c for c in ("source", "api_version") if c in by_graph[name]]
        )
        pd.testing.assert_frame_equal(a.reset_index(drop=True), g.reset_index(drop=True))
    assert set(by_graph.storage_accounts["source"]) == {"graph"}
    # ARG does not say why an account is missing; ARM does, for the same accounts
    assert set(by_graph.fetch_errors["scope"]) == set(by_arm.fetch_errors["scope"])
    assert set(by_graph.fetch_errors["error_code"]) == {"NotReturned"}


def test_a_failing_graph_batch_leaves_its_accounts_unknown(arm, tables):
    arm.add_fault(Fault("error", match="/providers/Microsoft.ResourceGraph", times=50, status=500))
    try:
        backing = fetch(arm, tables, source="graph")
    finally:
        arm.faults.clear()
    assert backing.storage_accounts.empty
    assert set(backing.fetch_errors["scope"]) == {rid for rid, _ in backing_ids(tables)}


def test_the_lake_keeps_the_accounts_in_the_registries_snapshot(arm, tables, tmp_path):
    pytest.importorskip("deltalake")
    from mlreg_frames import lake

    arm.faults.clear()
    backing = fetch(arm, tables)
    first = lake.append(tables, tmp_path)  # an older snapshot, written without them
    second = lake.append(tables, tmp_path, backing=backing)
    assert lake.read_backing(tmp_path, first) is None
    again = lake.read_backing(tmp_path, second)
    assert again is not None
    for name in (
        "storage_accounts",
        "container_registries",
        "backing_pe_connections",
        "fetch_errors",
    ):
        pd.testing.assert_frame_equal(
            again[name].reset_index(drop=True), backing[name].reset_index(drop=True)
        )
    assert len(lake.read(tmp_path).registries) == len(tables.registries)
    assert set(lake.snapshots(tmp_path)["snapshot"]) == {first, second}
    with pytest.raises(mf.InvalidArgumentError):
        lake.append(tables, tmp_path, backing=tables)  # type: ignore[arg-type]
