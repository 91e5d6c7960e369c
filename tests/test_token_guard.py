"""The token guard over real HTTP: ambiguous URLs never reach another host, tokens never leak.

A recording emulator on 127.0.0.2 (Linux routes all of 127/8 to the loopback interface) plays
the attacker's host: whatever the nextLink or endpoint looks like, it must never receive a
request, let alone an Authorization header. Tokens are checked before use and scrubbed from
every exception in a chain and from log lines.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import FetchError, InsecureEndpointError, MlregFramesError
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import AccessToken, StaticTokenCredential, check_endpoint
from mlreg_frames.sources.client import ArmClient, RetryPolicy
from mlreg_frames.sources.fetch import fetch_registries
from mlreg_frames.sources.guard import Redactor, check_token, guarded_logger, request_origin
from mlreg_frames.sources.limits import FetchLimits

LIST = "providers/Microsoft.MachineLearningServices/registries"
SECRET = "tok-SECRET-0123456789abcdef"


@pytest.fixture(scope="module")
def attacker() -> Iterator[ArmEmulator]:
    with ArmEmulator(host="127.0.0.2") as arm:
        yield arm


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmEmulator]:
    with ArmEmulator(page_size=2, token=SECRET) as emulator:
        yield emulator


def _port(arm: ArmEmulator) -> int:
    return int(arm.endpoint.rsplit(":", 1)[1])


def _sub(arm: ArmEmulator) -> str:
    return sorted({parse_arm_id(r["id"])[0] or "" for r in arm.registries})[0]


def _follow(arm: ArmEmulator, link_prefix: str) -> list[dict]:
    """List one subscription while its first page links to ``link_prefix`` + path."""
    arm.add_fault(Fault("foreign_next_link", match=_sub(arm), times=1, url=link_prefix))
    client = ArmClient(
        arm.endpoint, StaticTokenCredential(SECRET), retry=RetryPolicy(max_attempts=1)
    )
    with client:
        sub = _sub(arm)
        pages = client.iter_pages(
            f"/subscriptions/{sub}/{LIST}", scope=f"/subscriptions/{sub}", api_version="2025-09-01"
        )
        return [page.body for page in pages]


def _confusions(p: int, q: int) -> list[str]:
    """nextLink prefixes that name the attacker (127.0.0.2:p) to some parser; q is ARM's port."""
    a, b = f"127.0.0.2:{p}", f"127.0.0.1:{q}"
    return [
        f"http://{a}",
        f"HTTP://{a}",
        f"http://{a}\\@{b}",
        f"http://{a}\\\\@{b}",
        f"http://{a}%5C@{b}",
        f"http://{a}%5c@{b}",
        f"http://{a}/\\@{b}",
        f"http://{a}%2F@{b}",
        f"http://{b}@{a}",
        f"http://user:pass@{a}",
        f"http://{b}:{p}@{a}",
        f"http://{a}#@{b}",
        f"http://{a}?@{b}",
        f"http://{a};@{b}",
        f"http://{a}\t@{b}",
        f"http://{a} @{b}",
        f"http://{b}\t.127.0.0.2:{p}",
        f"http://{a}\r\n@{b}",
        f"http://{b}%00@{a}",
        f"http://{a}\x00@{b}",
        f"http:\\\\{a}",
        f"http:/{a}",
        f"//{a}",
        f"http://127.0.0.1\u3002{a}",
        f"http://{a.replace('.', '%2E')}",
        f"http://0x7f.0.0.2:{p}",
        f"http://127.0.0.2.:{p}",
        f"http://[::ffff:127.0.0.2]:{p}",
        f"http://[127.0.0.2]:{p}",
        f"http://127.0.0.1:{q}:{p}",
        f"http://127.0.0.1:{q + 100000}",
        f"http://127.0.0.1:-{q}",
        "http://[x",
        f"ftp://{a}",
        f"javascript://{a}",
        f"http\u200b://{a}",
    ]


def test_no_confused_link_reaches_another_host(arm: ArmEmulator, attacker: ArmEmulator) -> None:
    forms = _confusions(_port(attacker), _port(arm))
    for form in forms:
        with pytest.raises(FetchError) as info:
            _follow(arm, form)
        assert isinstance(info.value, MlregFramesError), form
        assert "nothing was sent" in str(info.value) or "not an absolute URL" in str(info.value)
    assert attacker.requests == []
    assert all(r.authorization == f"Bearer {SECRET}" for r in arm.requests)


def test_the_backslash_trick_of_the_issue(arm: ArmEmulator, attacker: ArmEmulator) -> None:
    link = f"http://127.0.0.2:{_port(attacker)}\\@127.0.0.1:{_port(arm)}/x"
    with pytest.raises(InsecureEndpointError, match="backslash"):
        _follow(arm, link)
    with pytest.raises(InsecureEndpointError):
        fetch_registries(endpoint=link, credential=StaticTokenCredential(SECRET))
    with pytest.raises(InsecureEndpointError):
        check_endpoint("https://evil.example\\@management.azure.com/")
    assert attacker.requests == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.2:{p}\\@127.0.0.1:{q}",
        "http://127.0.0.1:{q}@127.0.0.2:{p}",
        "http://127.0.0.2:{p}%5C@127.0.0.1:{q}",
        "http://10.0.0.1\\@127.0.0.1:{q}",
        "https://evil.example\\@management.azure.com",
        "https://evil.example%5C@management.azure.com",
        "https://management.azure.com@evil.example",
        "http://127.0.0.1:abc",
        "http://127.0.0.1:99999",
        "http://[::1",
        "//127.0.0.1:{q}",
        " http://127.0.0.1:{q}",
    ],
)
def test_endpoints_that_confuse_parsers_are_refused(
    endpoint: str, arm: ArmEmulator, attacker: ArmEmulator
) -> None:
    url = endpoint.format(p=_port(attacker), q=_port(arm))
    with pytest.raises(InsecureEndpointError):
        fetch_registries(endpoint=url, credential=StaticTokenCredential(SECRET))
    assert attacker.requests == []


_PIECES = st.sampled_from(
    ["\\", "%5C", "%5c", "@", "#", "?", "/", ":", "\t", " ", "%2E", ".", "%00", "[", "]", ";"]
)
_HOSTS = st.sampled_from(["127.0.0.1", "127.0.0.2", "localhost", "[::1]", "127.1", ""])
_SCHEMES = st.sampled_from(["http://", "HTTP://", "https://", "http:/", "//", "http:\\\\", ""])


def _pool_origin(url: str) -> tuple[str, str, int]:
    """Where requests' connection pool would connect for ``url`` (no network)."""
    prepared = requests.Request("GET", url).prepare()
    adapter = requests.adapters.HTTPAdapter()
    pool = adapter.get_connection_with_tls_context(prepared, verify=True)
    return pool.scheme, pool.host.strip("[]"), int(pool.port)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=_SCHEMES,
    first=_HOSTS,
    middle=st.lists(_PIECES, max_size=3),
    second=_HOSTS,
    port=st.sampled_from(["", ":80", ":0", ":65536", ":08080", ":x", ":443"]),
    path=st.sampled_from(["", "/", "/a\\b", "/x?y=@z", "#frag"]),
)
def test_accepted_urls_go_exactly_where_the_guard_says(
    scheme: str, first: str, middle: list[str], second: str, port: str, path: str
) -> None:
    url = scheme + first + "".join(middle) + second + port + path
    try:
        accepted = request_origin(url)
    except InsecureEndpointError:
        return
    assert "\\" not in url and "@" not in url.split("//", 1)[1].split("/")[0]
    assert _pool_origin(url) == (accepted.scheme, accepted.host.strip("[]"), accepted.port)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    middle=st.lists(_PIECES, min_size=1, max_size=3),
    swap=st.booleans(),
)
def test_generated_links_never_reach_the_attacker(
    arm: ArmEmulator, attacker: ArmEmulator, middle: list[str], swap: bool
) -> None:
    hosts = [f"127.0.0.2:{_port(attacker)}", f"127.0.0.1:{_port(arm)}"]
    if swap:
        hosts.reverse()
    link = "http://" + hosts[0] + "".join(middle) + hosts[1]
    with contextlib.suppress(FetchError):
        _follow(arm, link)
    assert attacker.requests == []


# --- the token itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["abc\r\nX-Evil: 1", "abc\ndef", "a b", "tab\there", "nul\x00x", "del\x7f", "é-token", ""],
)
def test_bad_tokens_are_refused_without_showing_them(token: str) -> None:
    with pytest.raises(FetchError) as info:
        check_token(token)
    if token:
        assert token not in str(info.value)
        assert token.split()[0] not in str(info.value) or len(token.split()[0]) < 4


@pytest.mark.parametrize("token", [None, b"bytes-token", 123, ["t"]])
def test_tokens_that_are_not_str_are_refused(token: Any) -> None:
    with pytest.raises(FetchError, match="not a str"):
        check_token(token)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception, its causes, contexts and nested exceptions (args, reason), once each."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__]
        stack += [a for a in current.args if isinstance(a, BaseException)]
        stack += [v for v in vars(current).values() if isinstance(v, BaseException)]


def _texts(exc: BaseException) -> list[str]:
    texts = []
    for error in _chain(exc):
        texts += [str(error), repr(error)]
        texts += [repr(v) for v in vars(error).values()]
    return texts


def test_a_token_with_cr_lf_is_refused_before_any_request(arm: ArmEmulator) -> None:
    before = arm.count()
    token = "eyJhbGciOi.SECRETPART\r\nX-Injected: yes"
    with pytest.raises(FetchError) as info:
        fetch_registries(endpoint=arm.endpoint, credential=StaticTokenCredential(token))
    assert arm.count() == before
    assert "control character" in str(info.value)
    for text in _texts(info.value):
        assert "SECRETPART" not in text and "X-Injected" not in text


class _Returns:
    def __init__(self, value: Any):
        self.value = value

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.value


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (None, "returned a NoneType"),
        ("a-str-token", "returned a str"),
        (AccessToken(None, 0), "returned a AccessToken"),  # type: ignore[arg-type]
        (AccessToken("t0k3n", "soon"), "expires_on"),  # type: ignore[arg-type]
    ],
)
def test_credentials_that_return_no_access_token(arm: ArmEmulator, value: Any, match: str) -> None:
    before = arm.count()
    with pytest.raises(FetchError, match=match) as info:
        fetch_registries(endpoint=arm.endpoint, credential=_Returns(value))
    assert arm.count() == before
    assert "a-str-token" not in str(info.value)


def test_a_credential_error_quoting_the_token_is_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Leaky:
        calls = 0

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.calls += 1
            if self.calls > 1:  # the refresh after a 401 fails, quoting the old token
                raise RuntimeError(f"refresh of {SECRET}-old failed: Bearer {SECRET}-old")
            return AccessToken(f"{SECRET}-old", 2**40)

    caplog.set_level(logging.DEBUG)
    with ArmEmulator(token="another") as other, pytest.raises(FetchError) as info:
        fetch_registries(
            endpoint=other.endpoint, credential=Leaky(), max_attempts=3, backoff_base=0.01
        )
    texts = [*_texts(info.value), caplog.text]
    assert not [t for t in texts if f"{SECRET}-old" in t]
    assert "***" in str(info.value)


def test_requests_own_invalid_header_error_is_scrubbed() -> None:
    redactor = Redactor()
    bad = f"{SECRET}\r\nX: y"
    redactor.add(bad)
    try:
        requests.Request("GET", "http://127.0.0.1:1/", headers={"Authorization": bad}).prepare()
    except requests.exceptions.InvalidHeader as exc:
        assert SECRET in str(exc)  # what requests does on its own
        try:
            raise FetchError("wrapped") from exc
        except FetchError as outer:
            redactor.scrub(outer)
            assert not [t for t in _texts(outer) if SECRET in t]
    else:
        pytest.fail("requests accepted a header with CR/LF")


def test_log_lines_never_carry_a_token(arm: ArmEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sub = _sub(arm)
    arm.add_fault(Fault("throttle", match=sub, times=1, retry_after="0"))
    arm.add_fault(Fault("drop", match=sub, times=1))
    fetch_registries(
        sub, endpoint=arm.endpoint, credential=StaticTokenCredential(SECRET), backoff_base=0.01
    )
    guarded_logger("mlreg_frames.sources.client").warning("a careless line: Bearer %s", SECRET)
    guarded_logger("mlreg_frames.sources.fetch").info(f"and another {SECRET}")
    assert "careless line" in caplog.text and "and another" in caplog.text
    assert SECRET not in caplog.text
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_the_cli_never_prints_a_bad_token(arm: ArmEmulator, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from mlreg_frames.cli import main

    before = arm.count()
    token = "eyJ0eXAi.PRINTED-SECRET\r\nX-Injected: 1"
    args = ["fetch", "--endpoint", arm.endpoint, "--token-env", "T", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--no-progress"], env={"T": token})
    assert result.exit_code == 1
    assert "control character" in result.output
    assert "PRINTED-SECRET" not in result.output and "Injected" not in result.output
    assert arm.count() == before


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers a POST with what it received (method, JSON body, Authorization)."""

    received: ClassVar[list[tuple[str, Any, str | None]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(("POST", body, self.headers.get("Authorization")))
        payload = json.dumps({"data": [body], "count": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_post_requests_get_the_same_guard_and_limits(attacker: ArmEmulator) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with ArmClient(endpoint, StaticTokenCredential(SECRET)) as client:
            url = client.url("/providers/Microsoft.ResourceGraph/resources", "2024-04-01")
            page = client.send("POST", url, json_body={"query": "Resources | take 1"})
            assert page.body == {"data": [{"query": "Resources | take 1"}], "count": 1}
            assert _Echo.received[-1] == (
                "POST",
                {"query": "Resources | take 1"},
                f"Bearer {SECRET}",
            )
            foreign = f"http://127.0.0.2:{_port(attacker)}\\@127.0.0.1:{server.server_address[1]}/"
            with pytest.raises(InsecureEndpointError):
                client.send("POST", foreign, json_body={})
        small = ArmClient(
            endpoint, StaticTokenCredential(SECRET), limits=FetchLimits(max_page_bytes=10)
        )
        with small, pytest.raises(FetchError, match="max_page_bytes"):
            small.send("POST", url, json_body={"query": "x" * 50})
    finally:
        server.shutdown()
        server.server_close()
    assert attacker.requests == []
