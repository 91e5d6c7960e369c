"""fetch_registries(source="graph") over real HTTP against the emulator's Resource Graph.

Paging, quota pacing, 429, management groups, partial scopes, truncation, batches of more than
1,000 subscriptions, the raw archive, secrecy, and the same tables as the ARM source.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import ArmError, FetchError, MlregFramesError, PaginationError
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.fetch import fetch_registries
from mlreg_frames.sources.graph import GRAPH_PATH, fetch_graph

from .emulated import QUICK_RETRIES, fetch_from, registry_ids, subscriptions_of
from .helpers import ROOT

FAST = QUICK_RETRIES
ARM_ONLY = [
    "created_at", "created_by", "created_by_type",
    "last_modified_at", "last_modified_by", "last_modified_by_type",
]  # fmt: skip
REFERENCE = ROOT.parent / "shared" / "reference" / "resource-graph-2024-04-01"


@pytest.fixture
def fleet() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(30, 5, seed=3, page_size=3) as arm:
        yield arm


_subs, _ids = subscriptions_of, registry_ids


def _graph(arm: ArmEmulator, *args: Any, **kwargs: Any) -> mf.RegistryTables:
    return fetch_from(arm, *args, source="graph", **kwargs)


def _graph_requests(arm: ArmEmulator) -> list[Any]:
    return [r for r in arm.requests if r.method == "POST"]


def _queries(arm: ArmEmulator) -> list[Any]:
    """The registry queries sent (each request scope's subscriptions query left out)."""
    return [q for q in arm.graph.queries if "resourcecontainers" not in q["query"]]


def _without(tables: mf.RegistryTables, columns: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name in schema.TABLE_NAMES:
        frame = getattr(tables, name)
        frame = frame.drop(columns=[c for c in columns if c in frame.columns])
        key = list(schema.key(name))
        out[name] = frame.sort_values(key, ignore_index=True)
    return out


@pytest.mark.parametrize("fleet_kind", ["sample", "generated"])
def test_arm_and_graph_give_the_same_tables(fleet_kind: str) -> None:
    arm = ArmEmulator() if fleet_kind == "sample" else ArmEmulator.from_fleet(60, 7, seed=11)
    with arm:
        by_arm = fetch_registries(endpoint=arm.endpoint, credential=arm.credential())
        by_graph = _graph(arm)
    assert len(by_graph.registries) == len(by_arm.registries) > 0
    by_graph.validate()
    a, g = _without(by_arm, [*ARM_ONLY, "tenant_id"]), _without(by_graph, [*ARM_ONLY, "tenant_id"])
    for name in schema.TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], g[name], obj=name)
    assert by_graph.registries["tenant_id"].notna().all()
    assert by_arm.registries["tenant_id"].isna().all()
    assert by_graph.registries[ARM_ONLY].isna().all().all()
    assert by_arm.registries["created_at"].notna().any()
    assert by_graph.provenance["source"] == "graph"


def test_tenant_wide_is_one_query_without_subscriptions_list(fleet: ArmEmulator) -> None:
    tables = _graph(fleet)
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    # the registries, then the subscriptions' names (resourcecontainers): no Subscriptions - List
    assert [(r.method, r.path) for r in fleet.requests] == [("POST", GRAPH_PATH)] * 2
    (query,) = _queries(fleet)
    assert "subscriptions" not in query and "managementGroups" not in query
    assert query["options"] == {"$top": 1000, "resultFormat": "objectArray"}
    assert "microsoft.machinelearningservices/registries" in query["query"]
    assert fleet.requests[0].query["api-version"] == "2024-04-01"
    assert tables.fetch_errors.empty
    assert tables.provenance["scopes"] == ["/"]


def test_skip_token_paging_sends_the_same_query_and_scopes(fleet: ArmEmulator) -> None:
    fleet.graph.page_size = 4
    subs = _subs(fleet)
    tables = _graph(fleet, subs[:3])
    assert set(tables.registries["registry_id"]) == _ids(fleet, subs[:3])
    queries = _queries(fleet)
    assert len(queries) == -(-len(_ids(fleet, subs[:3])) // 4) > 2
    assert "$skipToken" not in queries[0]["options"]
    tokens = [q["options"]["$skipToken"] for q in queries[1:]]
    assert len(set(tokens)) == len(tokens)
    for query in queries:
        assert query["query"] == queries[0]["query"]
        assert query["subscriptions"] == subs[:3]
        assert query["options"]["$top"] <= 1000


def test_a_looping_skip_token_is_an_error(fleet: ArmEmulator) -> None:
    fleet.graph.page_size = 4
    fleet.add_fault(Fault("repeat_skip_token", match="resourcegraph"))
    with pytest.raises(PaginationError, match="same \\$skipToken twice"):
        _graph(fleet)


def test_a_top_of_one_pages_row_by_row(fleet: ArmEmulator) -> None:
    sub = _subs(fleet)[0]
    tables = fetch_graph(sub, endpoint=fleet.endpoint, credential=fleet.credential(), top=1)
    assert len(_queries(fleet)) == len(tables.registries) == len(_ids(fleet, [sub]))


def test_quota_headers_pace_requests_before_a_429() -> None:
    graph = {"quota": 3, "window": 1.0, "page_size": 5}
    with ArmEmulator.from_fleet(30, 5, seed=3, graph=graph) as arm:
        started = time.monotonic()
        tables = _graph(arm, max_retry_after=5.0)
        elapsed = time.monotonic() - started
        statuses = [r.status for r in _graph_requests(arm)]
    assert len(tables.registries) == 30
    assert statuses == [200] * 7  # 6 pages and the names, 3 per window: never throttled
    assert tables.provenance["quota_waited_s"] > 0.5 and elapsed > 0.5


def test_a_429_waits_for_the_quota_reset(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("throttle", match="resourcegraph", times=1, retry_after="00:00:01"))
    started = time.monotonic()
    tables = _graph(fleet, max_retry_after=5.0)
    assert time.monotonic() - started >= 1.0  # the reset, not the 10 ms backoff
    assert [r.status for r in fleet.requests] == [429, 200, 200]  # registries, names
    assert set(tables.registries["registry_id"]) == _ids(fleet)


def test_throttling_beyond_the_attempts_is_an_arm_error(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("throttle", match="resourcegraph", retry_after="00:00:01"))
    with pytest.raises(ArmError) as info:
        _graph(fleet)
    assert info.value.status == 429 and len(fleet.requests) == FAST["max_attempts"]


def test_5xx_and_dropped_connections_are_retried(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("error", match="resourcegraph", times=1, status=503))
    fleet.add_fault(Fault("drop", match="resourcegraph", times=1))
    tables = _graph(fleet)
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    many = [str(uuid.UUID(int=i + 1)) for i in range(1000)]
    fleet.add_fault(Fault("drop", match="resourcegraph", times=FAST["max_attempts"]))
    tables = _graph(fleet, [*many, *_subs(fleet)])  # the first batch is never answered
    assert set(tables.fetch_errors["error_code"]) == {"ConnectionError"}
    assert set(tables.fetch_errors["subscription_id"]) == set(many)
    assert set(tables.registries["registry_id"]) == _ids(fleet)
    fleet.add_fault(Fault("drop", match="resourcegraph"))
    with pytest.raises(FetchError, match="no answer") as info:
        _graph(fleet, [*many, *_subs(fleet)])
    assert "all 2 Resource Graph requests failed" in str(info.value)


def test_management_groups_map_to_their_subscriptions() -> None:
    with ArmEmulator.from_fleet(30, 5, seed=3) as arm:
        subs = _subs(arm)
        arm.graph.management_groups = {"mg-a": subs[:2], "mg-b": subs[1:3]}
        tables = _graph(arm, management_groups=["mg-a", "MG-B"])
        (query,) = _queries(arm)
        root = _graph(arm, management_groups=arm.graph.tenant_id)
        with pytest.raises(ArmError) as info:
            _graph(arm, management_groups="mg-unknown")
        assert arm.count("/subscriptions") == 0
    assert set(tables.registries["registry_id"]) == _ids(arm, subs[:3])
    assert query["managementGroups"] == ["mg-a", "MG-B"] and "subscriptions" not in query
    assert sorted(tables.provenance["scopes"]) == [
        "/providers/Microsoft.Management/managementGroups/MG-B",
        "/providers/Microsoft.Management/managementGroups/mg-a",
    ]
    assert set(root.registries["registry_id"]) == _ids(arm)
    assert info.value.status == 400 and "mg-unknown" in str(info.value)


def test_a_scope_over_the_limit_fails_unless_partial_scopes_are_allowed(
    fleet: ArmEmulator,
) -> None:
    fleet.graph.scope_limit = 3
    with pytest.raises(ArmError, match="allowPartialScopes"):
        _graph(fleet)
    tables = fetch_graph(
        endpoint=fleet.endpoint, credential=fleet.credential(), allow_partial_scopes=True
    )
    assert _queries(fleet)[-1]["options"]["allowPartialScopes"] is True
    assert set(tables.registries["registry_id"]) == _ids(fleet, _subs(fleet)[:3])
    (row,) = tables.fetch_errors.itertuples()
    assert (row.scope, row.outcome) == ("/", "partial")
    assert "subscription ids" in row.message
    # explicit subscriptions never send allowPartialScopes (it applies to tenant/MG scopes)
    fetch_graph(
        _subs(fleet), endpoint=fleet.endpoint, credential=fleet.credential(),
        allow_partial_scopes=True,
    )  # fmt: skip
    assert "allowPartialScopes" not in _queries(fleet)[-1]["options"]


def test_a_truncated_answer_is_reported(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("truncate", match="resourcegraph", times=1))
    tables = _graph(fleet)
    assert 0 < len(tables.registries) < len(fleet.registries)
    (row,) = tables.fetch_errors.itertuples()
    assert (row.scope, row.outcome) == ("/", "truncated")
    assert "resultTruncated" in row.message


def test_more_than_1000_subscriptions_go_in_batches() -> None:
    with ArmEmulator.from_fleet(20, 4, seed=2) as arm:
        real = _subs(arm)
        made_up = [str(uuid.UUID(int=i + 1)) for i in range(2100)]
        tables = _graph(arm, [*made_up[:1500], *real, *made_up[1500:], real[0].upper()])
        sizes = [len(q["subscriptions"]) for q in _queries(arm)]
    assert sizes == [1000, 1000, 104]
    sent = [s for q in _queries(arm) for s in q["subscriptions"]]
    assert len(set(sent)) == len(sent) == 2104
    assert set(tables.registries["registry_id"]) == _ids(arm)
    assert len(tables.provenance["scopes"]) == 2104


def test_a_failing_batch_becomes_one_row_per_subscription() -> None:
    with ArmEmulator.from_fleet(20, 4, seed=2) as arm:
        real = _subs(arm)
        made_up = [str(uuid.UUID(int=i + 1)) for i in range(1000)]
        arm.add_fault(Fault("forbidden", match="resourcegraph", times=1))
        tables = _graph(arm, [*made_up, *real], max_attempts=1)
    errors = tables.fetch_errors
    assert len(errors) == 1000 and set(errors["outcome"]) == {"failed"}
    assert set(errors["http_status"]) == {403} and set(errors["error_code"]) == {
        "AuthorizationFailed"
    }
    assert set(errors["subscription_id"]) == set(made_up)
    assert set(tables.registries["registry_id"]) == _ids(arm)


def test_a_resource_group_filters_across_the_tenant(fleet: ArmEmulator) -> None:
    group = parse_arm_id(fleet.registries[0]["id"])[1]
    assert group is not None
    tables = _graph(fleet, resource_group=group.upper())
    expected = {
        r["id"].lower()
        for r in fleet.registries
        if str(parse_arm_id(r["id"])[1]).lower() == group.lower()
    }
    assert set(tables.registries["registry_id"]) == expected
    assert f"resourceGroup =~ '{group.upper()}'" in _queries(fleet)[0]["query"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"source": "sql"}, "must be 'arm' or 'graph'"),
        ({"management_groups": ["mg"]}, "needs source='graph'"),
        ({"source": "graph", "management_groups": ["mg"], "subscription_ids": ["s"]}, "not both"),
        ({"source": "graph", "resource_group": "rg' or 1==1"}, "not a resource group name"),
        ({"source": "graph", "subscription_ids": []}, "empty"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    fleet: ArmEmulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(MlregFramesError, match=match):
        fetch_registries(endpoint=fleet.endpoint, credential=fleet.credential(), **kwargs)
    with pytest.raises(FetchError, match="out of range"):
        fetch_graph(endpoint=fleet.endpoint, credential=fleet.credential(), top=1001)
    assert fleet.count() == 0


def test_raw_archive_rebuilds_the_same_tables(fleet: ArmEmulator, tmp_path: Path) -> None:
    fleet.graph.page_size = 7
    tables = _graph(fleet, raw_dir=tmp_path / "raw")
    files = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert files == [f"graph-tenant.{i:05d}.json" for i in range(5)]
    saved = json.loads((tmp_path / "raw" / files[0]).read_text(encoding="utf-8"))
    assert saved["_mlreg"]["api_version"] == "2024-04-01" and "totalRecords" in saved
    rebuilt = mf.flatten(mf.read_pages(tmp_path / "raw"))
    for name in schema.TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(rebuilt, name), getattr(tables, name), obj=name)


def test_token_never_leaks(
    fleet: ArmEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "tok-graph-1a2b3c4d"
    fleet.token = secret
    fleet.graph.page_size = 10
    for fault in (
        Fault("throttle", match="resourcegraph", times=1, retry_after="00:00:00"),
        Fault("drop", match="resourcegraph", times=1),
        Fault("truncate", match="resourcegraph", times=1),
    ):
        fleet.add_fault(fault)
    caplog.set_level(logging.DEBUG)
    credential = StaticTokenCredential(secret)
    tables = _graph(fleet, credential=credential, raw_dir=tmp_path / "raw", progress=True)
    fleet.add_fault(Fault("malformed", match="resourcegraph"))
    with pytest.raises(FetchError) as info:
        _graph(fleet, credential=credential)
    out, err = capsys.readouterr()
    assert "graph pages" in err
    texts = [caplog.text, out, err, repr(tables), str(tables.provenance), str(info.value)]
    texts += [repr(info.value), tables.fetch_errors.to_csv()]
    texts += [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json")]
    assert any(r.authorization == f"Bearer {secret}" for r in fleet.requests)
    assert not [text for text in texts if secret in text]


def test_the_reference_contract_is_what_is_sent_and_served(fleet: ArmEmulator) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference/resource-graph-2024-04-01 is absent")
    first = json.loads((REFERENCE / "ResourcesFirstPageQuery.json").read_text(encoding="utf-8"))
    request_fields = {"query", "subscriptions", "managementGroups", "options", "facets"}
    option_fields = {
        "$top", "$skip", "$skipToken", "resultFormat", "allowPartialScopes",
        "authorizationScopeFilter",
    }  # fmt: skip
    fleet.graph.page_size = 8
    _graph(fleet, _subs(fleet)[:4])
    for query in _queries(fleet):
        assert set(query) <= request_fields and set(query["options"]) <= option_fields
    assert first["parameters"]["api-version"] == "2024-04-01"
    served = fleet.graph.answer(
        "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01",
        "Bearer t",
        json.dumps(_queries(fleet)[0]).encode(),
    )
    body = json.loads(served.payload)
    expected = first["responses"]["200"]["body"]
    assert set(body) == set(expected) and body["resultTruncated"] == "false"
    assert served.headers is not None and "x-ms-user-quota-resets-after" in served.headers


def test_a_truncated_snapshot_reads_as_unfetched_not_removed(fleet: ArmEmulator) -> None:
    from mlreg_frames.lake import diff

    full = _graph(fleet)
    fleet.add_fault(Fault("truncate", match="resourcegraph", times=1))
    cut = _graph(fleet)
    changes = diff(full, cut)
    missing = set(full.registries["registry_id"]) - set(cut.registries["registry_id"])
    assert missing and set(changes["change"]) == {"unfetched"}
    assert set(changes["registry_id"]) == missing


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"subscription_ids": [1]}, "subscription_ids"),
        ({"resource_group": 1}, "resource_group"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"backoff_base": -1}, "backoff_base"),
        ({"timeout": float("nan")}, "timeout"),
        ({"credential": "a-token-str"}, "credential"),
        ({"raw_dir": 5}, "raw_dir"),
    ],
)
def test_fetch_graph_checks_arguments_as_fetch_registries_does(
    fleet: ArmEmulator, kwargs: dict[str, Any], argument: str
) -> None:
    from mlreg_frames.errors import InvalidArgumentError

    options = {"endpoint": fleet.endpoint, "credential": fleet.credential(), **kwargs}
    with pytest.raises(InvalidArgumentError) as graph_error:
        fetch_graph(**options)
    with pytest.raises(InvalidArgumentError) as arm_error:
        fetch_registries(source="graph", **options)
    assert graph_error.value.argument == arm_error.value.argument == argument
    assert str(graph_error.value) == str(arm_error.value)
    assert fleet.count() == 0
