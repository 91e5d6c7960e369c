"""The edges of a fetch over real HTTP (issue 17): scope, page bounds, and what ARG announces.

Every test runs with a recording emulator on 127.0.0.2 (Linux routes all of 127/8 to the
loopback interface) where a token could leak; it must receive nothing. Covered: Resource
Graph's ``max_pages``; 3xx bodies read under the error-body cap (plain and gzip) on both
sources; ``nextLink`` s that leave the list being read; the api-version of every page;
``totalRecords`` against the rows received; absurd quota headers; ARG's
``x-ms-tenant-subscription-limit-hit``; the emulator's ``$skip`` and ``resultFormat: table``.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import mlreg_frames as mf
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.emulator.graphsim import GRAPH_TARGET, LIMIT_HIT
from mlreg_frames.errors import FetchError, LimitExceededError, PaginationError
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.client import ERROR_BODY_BYTES, ArmClient, RetryPolicy, _scope_path
from mlreg_frames.sources.fetch import API_VERSION, fetch_registries
from mlreg_frames.sources.graph import fetch_graph
from mlreg_frames.sources.guard import request_origin, request_path
from mlreg_frames.sources.limits import FetchLimits

from .emulated import QUICK_RETRIES, fetch_from, registry_ids, subscriptions_of

LIST = "providers/Microsoft.MachineLearningServices/registries"
SECRET = "tok-EDGES-0123456789abcdef"


@pytest.fixture(scope="module")
def attacker() -> Iterator[ArmEmulator]:
    with ArmEmulator(host="127.0.0.2") as arm:
        yield arm


@pytest.fixture(autouse=True)
def nothing_reaches_the_attacker(attacker: ArmEmulator) -> Iterator[None]:
    before = len(attacker.requests)
    yield
    assert attacker.requests[before:] == []


@pytest.fixture
def fleet() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(30, 5, seed=3, page_size=3, token=SECRET) as arm:
        yield arm


def _graph(arm: ArmEmulator, *args: Any, **kwargs: Any) -> mf.RegistryTables:
    return fetch_from(arm, *args, source="graph", **kwargs)


def _posts(arm: ArmEmulator) -> int:
    return sum(1 for r in arm.requests if r.method == "POST")


def _list_path(sub: str, group: str | None = None) -> str:
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "")
    return f"{scope}/{LIST}"


# --- 1. Resource Graph stops at max_pages ------------------------------------------------


def test_endless_skip_tokens_stop_at_max_pages(fleet: ArmEmulator) -> None:
    fleet.add_fault(Fault("endless_skip_token", match="resourcegraph"))
    with pytest.raises(LimitExceededError) as info:
        _graph(fleet, max_pages=5)
    assert info.value.code == "MaxPagesExceeded" and info.value.scope == "/"
    assert _posts(fleet) == 5


def test_max_pages_fails_only_the_batch_that_breaches_it(fleet: ArmEmulator) -> None:
    subs = subscriptions_of(fleet)
    fleet.add_fault(Fault("endless_skip_token", match="resourcegraph", times=4))
    tables = fetch_graph(
        subs, batch_size=2, endpoint=fleet.endpoint, credential=fleet.credential(),
        limits=FetchLimits(max_pages=4),
    )  # fmt: skip
    errors = tables.fetch_errors
    assert list(errors["subscription_id"]) == subs[:2]
    assert set(errors["error_code"]) == {"MaxPagesExceeded"}
    assert set(tables.registries["registry_id"]) == registry_ids(fleet, subs[2:])


# --- 2. a 3xx body is bounded, on both sources -----------------------------------------


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """Answers everything with a 302 to the attacker and a body far past the caps: 256 MiB
    declared (``plain``), or 256 MiB of zeros gzip-compressed to about 250 KiB (``gzip``)."""

    protocol_version = "HTTP/1.1"
    location: ClassVar[str] = ""
    mode: ClassVar[str] = "plain"
    bomb: ClassVar[bytes] = b""
    sent: ClassVar[list[int]] = []
    CHUNK: ClassVar[bytes] = b"0" * 2**20
    PLAIN_MIB: ClassVar[int] = 256

    def _answer(self) -> None:
        if self.command == "POST":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        gzipped = self.mode == "gzip"
        self.send_response(302)
        self.send_header("Location", self.location)
        self.send_header("Content-Type", "application/json")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        size = len(self.bomb) if gzipped else self.PLAIN_MIB * len(self.CHUNK)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        try:
            for chunk in [self.bomb] if gzipped else [self.CHUNK] * self.PLAIN_MIB:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client hung up, as it should
            self.close_connection = True
        finally:
            self.sent.append(sent)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _gzip_bomb(mib: int) -> bytes:
    """``mib`` MiB of zeros gzip-compressed (about 1 KiB per MiB), built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"0" * 2**20
    return b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up mid-body is the point of these tests


@pytest.fixture
def redirecting(attacker: ArmEmulator) -> Iterator[str]:
    _Redirecting.location = f"{attacker.endpoint}/stolen"
    _Redirecting.sent = []
    if not _Redirecting.bomb:
        _Redirecting.bomb = _gzip_bomb(256)
    server = _QuietServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", ["plain", "gzip"])
@pytest.mark.parametrize("source", ["arm", "graph"])
def test_a_redirect_body_is_read_no_further_than_the_cap(
    redirecting: str, source: str, mode: str
) -> None:
    _Redirecting.mode = mode
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as info:
            fetch_registries(
                "sub-a", endpoint=redirecting, credential=StaticTokenCredential(SECRET),
                source=source, max_attempts=1,
            )  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert getattr(info.value, "status", None) == 302
    assert "not followed" in str(info.value) and SECRET not in str(info.value)
    # what was held is the error-body cap, not the 256 MiB offered (inflated, for gzip)
    assert peak < 8 * ERROR_BODY_BYTES
    deadline = time.monotonic() + 10
    while not _Redirecting.sent and time.monotonic() < deadline:  # the server notices the hang-up
        time.sleep(0.01)
    assert _Redirecting.sent and max(_Redirecting.sent) < 64 * 2**20


# --- 3. a nextLink must stay on the list being read -------------------------------------


def test_a_next_link_to_another_subscription_is_refused(fleet: ArmEmulator) -> None:
    victim, target, third = subscriptions_of(fleet)[:3]
    link = f"{fleet.endpoint}{_list_path(target)}?api-version={API_VERSION}"
    fleet.add_fault(Fault("next_link", match=f"/subscriptions/{victim}/", times=1, url=link))
    tables = fetch_from(fleet, [victim, third])
    (row,) = tables.fetch_errors.itertuples()
    assert (row.scope, row.outcome, row.error_code) == (
        f"/subscriptions/{victim}",
        "failed",
        "NextLinkOutOfScope",
    )
    assert "not requested" in row.message and SECRET not in row.message
    assert fleet.count(f"/subscriptions/{target}") == 0  # never asked with the token
    got = set(tables.registries["registry_id"])
    assert not got & registry_ids(fleet, target)
    assert registry_ids(fleet, third) <= got
    first_page = {r["id"].lower() for r in _first_page(fleet, victim)}
    assert got & registry_ids(fleet, victim) == first_page


def _first_page(arm: ArmEmulator, sub: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{arm.endpoint}{_list_path(sub)}?api-version={API_VERSION}",
        headers={"Authorization": f"Bearer {SECRET}"},
        timeout=10,
    )
    return list(answer.json()["value"])


def _groups(arm: ArmEmulator) -> tuple[str, str, str]:
    """A subscription with two resource groups of registries, and both groups."""
    seen: dict[str, list[str]] = {}
    for registry in arm.registries:
        sub, group = parse_arm_id(registry["id"])[:2]
        names = seen.setdefault(str(sub), [])
        if group and group.lower() not in [n.lower() for n in names]:
            names.append(group)
    sub, names = next((s, n) for s, n in sorted(seen.items()) if len(n) >= 2)
    return sub, names[0], names[1]


def _follow(arm: ArmEmulator, path: str, link: str) -> tuple[list[dict], BaseException | None]:
    arm.add_fault(Fault("next_link", match=path, times=1, url=link))
    pages: list[dict] = []
    client = ArmClient(arm.endpoint, StaticTokenCredential(SECRET), retry=RetryPolicy(1))
    with client:
        try:
            scope = path.rsplit("/providers/", 1)[0]
            for page in client.iter_pages(path, scope=scope, api_version=API_VERSION):
                pages.append(page.body)
        except FetchError as exc:
            return pages, exc
    return pages, None


@pytest.mark.parametrize(
    "where",
    ["other-group", "role-assignments", "parent-path", "dot-segments", "attacker-same-path"],
)
def test_a_next_link_outside_the_list_is_never_requested(
    fleet: ArmEmulator, attacker: ArmEmulator, where: str
) -> None:
    sub, group, other = _groups(fleet)
    path = _list_path(sub, group)
    base = fleet.endpoint
    link = {
        "other-group": f"{base}{_list_path(sub, other)}?api-version={API_VERSION}",
        "role-assignments": f"{base}/subscriptions/{sub}/providers/"
        "Microsoft.Authorization/roleAssignments?api-version=2022-04-01",
        "parent-path": f"{base}/subscriptions/{sub}/resourceGroups/{group}?api-version=1",
        "dot-segments": f"{base}{path}/../../{other}/{LIST}?api-version={API_VERSION}",
        "attacker-same-path": f"{attacker.endpoint}{path}?api-version={API_VERSION}",
    }[where]
    before = len(fleet.requests)
    pages, error = _follow(fleet, path, link)
    assert len(pages) == 1 and error is not None  # the first page, then the refusal
    assert isinstance(error, PaginationError if where != "attacker-same-path" else FetchError)
    if where != "attacker-same-path":
        assert error.code == "NextLinkOutOfScope" and error.scope.endswith(group)
    assert len(fleet.requests) == before + 1  # the first page only


def test_a_next_link_on_the_same_list_in_another_case_is_followed(fleet: ArmEmulator) -> None:
    sub, group, _ = _groups(fleet)
    path = _list_path(sub, group)
    link = f"{fleet.endpoint}{path.upper()}/?api-version={API_VERSION}&$skipToken=3"
    pages, error = _follow(fleet, path, link)
    assert error is None
    ids = {r["id"].lower() for page in pages for r in page["value"]}
    assert ids == registry_ids(fleet, sub, group)


_PLAIN = "abcXYZ019-._~!$&'()*+,;=:@/?%"


@settings(max_examples=300, deadline=None)
@given(tail=st.text(alphabet=_PLAIN, max_size=30), endpoint=st.sampled_from([
    "http://127.0.0.1:8080", "https://management.azure.com", "http://[::1]:9", "http://localhost",
]))  # fmt: skip
def test_a_plain_url_skips_no_check_the_parser_would_make(endpoint: str, tail: str) -> None:
    """The client's shortcut for its own URLs agrees with the full guard and its parser."""
    client = ArmClient(endpoint, StaticTokenCredential(SECRET))
    url = f"{endpoint}/{tail}"
    assert client._plain(url)
    assert request_origin(url) == request_origin(endpoint)
    assert client._list_path(url) == _scope_path(request_path(url))


# --- 4. every page is asked with the client's api-version -------------------------------


def test_a_next_link_with_another_api_version_gets_ours(fleet: ArmEmulator, tmp_path: Path) -> None:
    victim = subscriptions_of(fleet)[0]
    link = f"{fleet.endpoint}{_list_path(victim)}?api-version=1999-01-01&$skipToken=3"
    fleet.add_fault(Fault("next_link", match=f"/subscriptions/{victim}/", times=1, url=link))
    tables = fetch_from(fleet, victim, raw_dir=tmp_path)
    assert tables.fetch_errors.empty
    assert set(tables.registries["registry_id"]) == registry_ids(fleet, victim)
    versions = {r.query.get("api-version") for r in fleet.requests if r.path != "/subscriptions"}
    assert versions == {API_VERSION}
    assert tables.provenance["api_versions"] == [API_VERSION]
    for saved in tmp_path.glob("sub-*.json"):
        meta = json.loads(saved.read_text(encoding="utf-8"))["_mlreg"]
        assert meta["api_version"] == API_VERSION and "1999" not in meta["url"]


# --- 5. totalRecords against the rows received ------------------------------------------


def test_rows_short_of_total_records_are_a_row(fleet: ArmEmulator) -> None:
    fleet.graph.page_size = 5
    fleet.add_fault(Fault("missing_rows", match="resourcegraph", times=1))
    tables = _graph(fleet)
    assert len(tables.registries) == 5
    (row,) = tables.fetch_errors.itertuples()
    assert (row.scope, row.outcome, row.error_code) == ("/", "truncated", "MissingRows")
    assert "totalRecords" in row.message and "30" in row.message


def test_total_records_met_over_pages_is_no_row(fleet: ArmEmulator) -> None:
    fleet.graph.page_size = 4
    tables = _graph(fleet)
    assert len(tables.registries) == 30 and tables.fetch_errors.empty


# --- 6. an absurd quota header is ignored ------------------------------------------------


@pytest.mark.parametrize(
    "value", ["9" * 5000 + ".00:00:01", "00:00:" + "1" * 5000, "1" * 5000, "soon", ""]
)
def test_an_unparseable_quota_reset_header_is_ignored(fleet: ArmEmulator, value: str) -> None:
    fleet.graph.page_size = 10
    fleet.add_fault(Fault("resets_after", match="resourcegraph", retry_after=value))
    tables = _graph(fleet)
    assert tables.fetch_errors.empty and len(tables.registries) == 30
    assert tables.provenance["quota_waited_s"] == 0


# --- 7. many empty subscriptions: nothing kept per scope, tables exactly as flattened -----


def test_a_tenant_of_empty_subscriptions_merges_as_it_goes(tmp_path: Path) -> None:
    from mlreg_frames import schema
    from mlreg_frames.synth import generate_fleet

    registries = generate_fleet(40, 8, seed=21)
    busy = sorted({parse_arm_id(r["id"])[0] or "" for r in registries})
    empty = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(400)]
    entries = [
        {"subscriptionId": sub, "state": "Enabled", "id": f"/subscriptions/{sub}"}
        for sub in [*empty[:200], *busy, *empty[200:]]
    ]
    with ArmEmulator(registries, subscriptions=entries, page_size=3, token=SECRET) as arm:
        arm.add_fault(Fault("latency", match=busy[0], delay=0.05))  # finishes late, sorts early
        tables = fetch_from(arm, raw_dir=tmp_path, max_workers=8)
    assert tables.fetch_errors.empty and len(tables.provenance["scopes"]) == 408
    assert tables.provenance["inputs"] == len(list(tmp_path.glob("sub-*.json")))
    rebuilt = mf.flatten(mf.read_pages(tmp_path))  # archive order
    for name in schema.TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(rebuilt, name), obj=name)


# --- 8. the emulator as ARG behaves, and the fetcher reads the limit-hit header ----------


def _query(arm: ArmEmulator, options: dict[str, Any]) -> requests.Response:
    body = {
        "query": "resources | where type =~ 'microsoft.machinelearningservices/registries'",
        "options": options,
    }
    return requests.post(
        arm.endpoint + GRAPH_TARGET,
        json=body,
        headers={"Authorization": f"Bearer {SECRET}"},
        timeout=10,
    )


def test_the_emulator_honours_skip(fleet: ArmEmulator) -> None:
    every = _query(fleet, {"$top": 1000}).json()["data"]
    page = _query(fleet, {"$skip": 5, "$top": 5}).json()
    assert [r["id"] for r in page["data"]] == [r["id"] for r in every[5:10]]
    assert page["totalRecords"] == 30 and "$skipToken" in page
    after = _query(fleet, {"$skip": 5, "$top": 5, "$skipToken": page["$skipToken"]}).json()
    assert [r["id"] for r in after["data"]] == [r["id"] for r in every[10:15]]
    assert _query(fleet, {"$skip": -1}).status_code == 400


def test_the_emulator_serves_the_table_format(fleet: ArmEmulator) -> None:
    objects = _query(fleet, {"$top": 7}).json()
    table = _query(fleet, {"$top": 7, "resultFormat": "table"}).json()
    names = [column["name"] for column in table["data"]["columns"]]
    rebuilt = [
        {k: v for k, v in zip(names, row, strict=True) if k in objects["data"][i]}
        for i, row in enumerate(table["data"]["rows"])
    ]
    assert rebuilt == objects["data"]
    kinds = {c["name"]: c["type"] for c in table["data"]["columns"]}
    assert kinds["id"] == "string" and kinds["properties"] == "object"
    assert table["$skipToken"] == objects["$skipToken"]
    assert _query(fleet, {"resultFormat": "csv"}).status_code == 400


def test_a_cut_scope_says_so_and_the_row_says_why(fleet: ArmEmulator) -> None:
    fleet.graph.scope_limit = 3
    answer = _query(fleet, {"allowPartialScopes": True})
    assert answer.headers[LIMIT_HIT] == "true"
    assert LIMIT_HIT not in _query(fleet, {"$top": 5, "allowPartialScopes": False}).headers
    tables = fetch_graph(
        endpoint=fleet.endpoint, credential=fleet.credential(), allow_partial_scopes=True,
        **QUICK_RETRIES,
    )  # fmt: skip
    assert set(tables.registries["registry_id"]) == registry_ids(fleet, subscriptions_of(fleet)[:3])
    (row,) = tables.fetch_errors.itertuples()
    assert (row.scope, row.outcome, row.error_code) == ("/", "partial", "SubscriptionLimitHit")
    assert LIMIT_HIT in row.message and "missing" in row.message
    fleet.graph.scope_limit = None  # within the limit: no header, and the row says so
    (row,) = fetch_graph(
        endpoint=fleet.endpoint, credential=fleet.credential(), allow_partial_scopes=True
    ).fetch_errors.itertuples()
    assert row.outcome == "partial" and pd.isna(row.error_code) and "did not say" in row.message
