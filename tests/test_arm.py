"""ARM HTTP policy over real HTTP against the emulator: retries, errors, paging, the token guard."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.errors import (
    ArmError,
    FetchError,
    InsecureEndpointError,
    MlregFramesError,
    PaginationError,
)
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.auth import (
    AccessToken,
    StaticTokenCredential,
    TokenProvider,
    check_endpoint,
    resolve_endpoint,
    token_scope,
)
from mlreg_frames.sources.client import ArmClient, RetryPolicy, parse_retry_after

LIST = "providers/Microsoft.MachineLearningServices/registries"


class Recorder:
    """A credential that records scopes and hands out tokens from a list (the last repeats)."""

    def __init__(self, *tokens: str, lifetime: float = 3600.0):
        self.tokens = list(tokens) or ["t0ken"]
        self.lifetime = lifetime
        self.scopes: list[str] = []
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes[0])
            token = self.tokens[min(len(self.scopes), len(self.tokens)) - 1]
        return AccessToken(token, int(time.time() + self.lifetime))


@pytest.fixture
def arm() -> Iterator[ArmEmulator]:
    with ArmEmulator(page_size=4) as emulator:
        yield emulator


@pytest.fixture
def waits() -> list[float]:
    return []


def _client(arm: ArmEmulator, waits: list[float], cred: Any = None, **retry: Any) -> ArmClient:
    policy = RetryPolicy(**{"max_attempts": 4, "backoff_base": 0.2, **retry})
    return ArmClient(arm.endpoint, cred or arm.credential(), retry=policy, sleep=waits.append)


def _sub(arm: ArmEmulator, index: int = 0) -> str:
    return sorted({parse_arm_id(r["id"])[0] or "" for r in arm.registries})[index]


def _pages(client: ArmClient, sub: str) -> list[dict]:
    listing = client.iter_pages(
        f"/subscriptions/{sub}/{LIST}", scope=f"/subscriptions/{sub}", api_version="2025-09-01"
    )
    return [page.body for page in listing]


# --- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 0.25 ", 0.25), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=42), usegmt=True), now) == 42
    assert parse_retry_after(format_datetime(now - timedelta(seconds=9), usegmt=True), now) == 0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    import random

    policy, rng = RetryPolicy(backoff_base=1.0, backoff_max=5.0), random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        waits = [policy.backoff(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:1",
        "http://[::1]:80",
    ],
)
def test_endpoints_that_may_receive_a_token(url: str) -> None:
    assert check_endpoint(url) == url


@pytest.mark.parametrize(
    "url", ["http://management.azure.com", "http://10.0.0.1", "ftp://127.0.0.1", "nonsense"]
)
def test_endpoints_that_may_not(url: str) -> None:
    with pytest.raises(InsecureEndpointError, match="http"):
        ArmClient(url, StaticTokenCredential("secret"))


def test_cloud_presets_and_token_scopes() -> None:
    assert resolve_endpoint() == "https://management.azure.com"
    assert resolve_endpoint("https://x.example/") == "https://x.example"
    assert token_scope(resolve_endpoint(cloud="china")) == (
        "https://management.chinacloudapi.cn/.default"
    )
    assert token_scope(resolve_endpoint(cloud="USGOV")) == (
        "https://management.usgovcloudapi.net/.default"
    )
    with pytest.raises(FetchError, match="public, china, usgov"):
        resolve_endpoint(cloud="mars")


def test_token_provider_caches_refreshes_and_is_thread_safe() -> None:
    long_lived = Recorder("a")
    provider = TokenProvider(long_lived, "https://x/.default")
    threads = [threading.Thread(target=provider.token) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert long_lived.scopes == ["https://x/.default"]
    assert provider.token(force=True) == "a" and len(long_lived.scopes) == 2
    expiring = Recorder("b", "c", lifetime=120)  # within the 5-minute margin: always refreshed
    provider = TokenProvider(expiring, "s")
    assert [provider.token(), provider.token()] == ["b", "c"]
    assert "b" not in repr(provider) and "c'" not in repr(provider)


def test_credential_failures_become_fetch_errors() -> None:
    class Broken:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise RuntimeError("no az login")

    with pytest.raises(FetchError, match="az login") as info:
        TokenProvider(Broken(), "s").token()
    assert isinstance(info.value.__cause__, RuntimeError)


# --- over HTTP ----------------------------------------------------------------------------------


def test_pages_follow_next_link_and_send_the_token(arm: ArmEmulator, waits: list[float]) -> None:
    cred = Recorder("t0ken")
    with _client(arm, waits, cred) as client:
        pages = _pages(client, _sub(arm))
    assert len(pages) >= 2 and "nextLink" not in pages[-1]
    assert {r.authorization for r in arm.requests} == {"Bearer t0ken"}
    assert cred.scopes == [f"{arm.endpoint}/.default"]
    assert waits == []


@pytest.mark.parametrize("retry_after", ["2", "0"])
def test_429_with_retry_after_seconds_is_honoured(
    arm: ArmEmulator, waits: list[float], retry_after: str
) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("throttle", match=sub, times=2, retry_after=retry_after))
    with _client(arm, waits) as client:
        pages = _pages(client, sub)
    assert waits == [float(retry_after)] * 2
    assert sum(len(p["value"]) for p in pages) == sum(sub in r["id"] for r in arm.registries)


def test_429_with_an_http_date(arm: ArmEmulator, waits: list[float]) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    arm.add_fault(Fault("throttle", times=1, retry_after=format_datetime(when, usegmt=True)))
    with _client(arm, waits) as client:
        _pages(client, _sub(arm))
    assert len(waits) == 1 and 25 <= waits[0] <= 30


def test_429_retry_after_above_the_cap_is_cut_and_logged(
    arm: ArmEmulator, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    arm.add_fault(Fault("throttle", times=1, retry_after="3600"))
    with (
        caplog.at_level(logging.WARNING, "mlreg_frames.sources.client"),
        _client(arm, waits, max_retry_after=1.5) as client,
    ):
        _pages(client, _sub(arm))
    assert waits == [1.5]
    assert "3600.0s" in caplog.text and "max_retry_after" in caplog.text


def test_429_without_retry_after_backs_off(arm: ArmEmulator, waits: list[float]) -> None:
    arm.add_fault(Fault("throttle", times=3))
    with _client(arm, waits) as client:
        _pages(client, _sub(arm))
    assert len(waits) == 3
    assert 0.1 <= waits[0] <= 0.2 and 0.2 <= waits[1] <= 0.4 and 0.4 <= waits[2] <= 0.8


def test_429_every_time_gives_up_with_a_hint(arm: ArmEmulator, waits: list[float]) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("throttle", retry_after="1"))
    with _client(arm, waits) as client, pytest.raises(ArmError, match="fewer workers") as info:
        _pages(client, sub)
    assert (info.value.status, info.value.code) == (429, "TooManyRequests")
    assert arm.count() == 4 and len(waits) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(arm: ArmEmulator, waits: list[float], status: int) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("error", match=sub, status=status, times=2))
    with _client(arm, waits) as client:
        pages = _pages(client, sub)
    assert len(waits) == 2 and waits[1] > waits[0] / 2
    assert [r.status for r in arm.requests][:3] == [status, status, 200]
    assert sum(len(p["value"]) for p in pages) == sum(sub in r["id"] for r in arm.registries)


def test_attempts_are_bounded(arm: ArmEmulator, waits: list[float]) -> None:
    arm.add_fault(Fault("error", status=500))
    with _client(arm, waits, max_attempts=3) as client, pytest.raises(ArmError) as info:
        _pages(client, _sub(arm))
    assert info.value.status == 500 and arm.count() == 3
    assert "retry later" in str(info.value)


def test_dropped_connections_are_retried(arm: ArmEmulator, waits: list[float]) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("drop", match=sub, times=2))
    with _client(arm, waits) as client:
        pages = _pages(client, sub)
    assert len(waits) == 2 and pages


def test_no_answer_at_all_is_a_fetch_error_without_the_request(
    arm: ArmEmulator, waits: list[float]
) -> None:
    arm.add_fault(Fault("drop"))
    with _client(arm, waits, max_attempts=2) as client, pytest.raises(FetchError) as info:
        _pages(client, _sub(arm))
    cause = info.value.__cause__
    assert isinstance(cause, requests.ConnectionError)
    assert cause.request is None  # the prepared request holds the Authorization header
    assert "after 2 attempts" in str(info.value)


def test_read_timeout_is_set_and_retried(waits: list[float]) -> None:
    with (
        ArmEmulator(latency=0.3) as arm,
        ArmClient(
            arm.endpoint,
            arm.credential(),
            timeout=(2, 0.05),
            retry=RetryPolicy(max_attempts=2),
            sleep=waits.append,
        ) as client,
        pytest.raises(FetchError) as info,
    ):
        _pages(client, _sub(arm))
    assert isinstance(info.value.__cause__, requests.Timeout)
    assert len(waits) == 1


def test_401_refreshes_the_token_once(waits: list[float]) -> None:
    with ArmEmulator(token="fresh") as arm:
        cred = Recorder("stale", "fresh")
        with _client(arm, waits, cred) as client:
            assert _pages(client, _sub(arm))
        assert [r.status for r in arm.requests][:2] == [401, 200]
        wrong = Recorder("wrong")
        with (
            _client(arm, waits, wrong) as client,
            pytest.raises(ArmError, match="az login") as info,
        ):
            _pages(client, _sub(arm))
        assert info.value.status == 401 and len(wrong.scopes) == 2


def test_403_is_an_arm_error_with_every_fact(arm: ArmEmulator, waits: list[float]) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("forbidden", match=sub))
    with _client(arm, waits) as client, pytest.raises(ArmError) as info:
        list(
            client.iter_pages(
                f"/subscriptions/{sub}/{LIST}",
                scope=f"/subscriptions/{sub}",
                api_version="2025-09-01",
                subscription_id=sub,
            )
        )
    err = info.value
    assert isinstance(err, MlregFramesError)
    assert (err.status, err.code, err.scope, err.subscription_id) == (
        403,
        "AuthorizationFailed",
        f"/subscriptions/{sub}",
        sub,
    )
    assert err.request_id and err.request_id in str(err)
    assert "registries/read" in (err.arm_message or "")
    assert "Reader role" in str(err) and f"/subscriptions/{sub}" in str(err)
    assert waits == []  # 403 is not retried


def test_error_bodies_that_are_not_arm_shaped() -> None:
    response = requests.Response()
    response.status_code, response._content = 502, b"<html>Bad Gateway</html>"
    response.reason, response.url = "Bad Gateway", "https://management.azure.com/x"
    from mlreg_frames.sources.policy import arm_error

    err = arm_error(response, response.url, "/subscriptions/s")
    assert (err.status, err.code, err.arm_message) == (502, None, None)
    assert "502 Bad Gateway" in str(err)
    response._content = b'{"error": {"code": "InvalidAuthenticationTokenAudience", "message": "m"}}'
    response.status_code = 401
    assert "cloud" in str(arm_error(response, response.url, "/subscriptions/s"))


def test_malformed_json_is_a_fetch_error_not_retried(arm: ArmEmulator, waits: list[float]) -> None:
    arm.add_fault(Fault("malformed"))
    with _client(arm, waits) as client, pytest.raises(FetchError, match="not JSON") as info:
        _pages(client, _sub(arm))
    assert type(info.value) is FetchError and arm.count() == 1


def test_an_empty_page_with_next_link_is_followed(arm: ArmEmulator, waits: list[float]) -> None:
    sub = _sub(arm)
    arm.add_fault(Fault("empty_page", match=sub, times=1))
    with _client(arm, waits) as client:
        pages = _pages(client, sub)
    assert pages[0]["value"] == [] and len(pages) >= 2
    assert sum(len(p["value"]) for p in pages) == sum(sub in r["id"] for r in arm.registries)


def test_a_repeated_next_link_is_an_error(arm: ArmEmulator, waits: list[float]) -> None:
    arm.add_fault(Fault("repeat_next_link", times=1))
    with _client(arm, waits) as client, pytest.raises(PaginationError, match="second time"):
        _pages(client, _sub(arm))
    assert arm.count() == 1


def test_a_next_link_to_another_host_gets_nothing(arm: ArmEmulator, waits: list[float]) -> None:
    with ArmEmulator(host="127.0.0.2") as foreign, ArmEmulator() as other_port:
        for target in (foreign, other_port):
            arm.add_fault(Fault("foreign_next_link", times=1, url=target.endpoint))
            with _client(arm, waits) as client, pytest.raises(InsecureEndpointError) as info:
                _pages(client, _sub(arm))
            assert target.endpoint.split("//")[1] in str(info.value)
            assert "nothing was sent" in str(info.value)
        assert foreign.requests == [] and other_port.requests == []


def test_a_next_link_that_is_not_a_url(waits: list[float]) -> None:
    registries = [{"id": "/subscriptions/s/resourceGroups/g/providers/P/registries/r"}]
    with ArmEmulator(registries) as arm, _client(arm, waits) as client:
        arm.add_fault(Fault("foreign_next_link", times=1, url="string"))
        with pytest.raises(PaginationError, match="not an absolute URL"):
            _pages(client, "s")


def test_reprs_hide_the_token(arm: ArmEmulator) -> None:
    cred = StaticTokenCredential("s3cr3t-value")
    with ArmClient(arm.endpoint, cred) as client:
        client.get_json(client.url("/subscriptions", "2022-12-01"), scope="/subscriptions")
        texts = [repr(cred), repr(client), repr(cred.get_token("x")), repr(client._tokens)]
    assert not any("s3cr3t" in text for text in texts)
