"""The deadline watchdog on its own: it shuts the socket an attempt uses when the attempt's
deadline passes, never one that another attempt has taken over, and runs on one thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mlreg_frames.emulator import ArmEmulator
from mlreg_frames.sources import WatchedAdapter
from mlreg_frames.sources.client import make_session
from mlreg_frames.sources.watchdog import WATCHDOG, _Watched, armed


class _Conn:
    """Stands in for a urllib3 connection: the watchdog only reads ``sock``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    with ours, peer:
        yield ours, peer


def _shut(peer: socket.socket) -> bool:
    """Whether the other end was shut down (the peer reads end-of-stream)."""
    peer.settimeout(2)
    return peer.recv(1) == b""


def test_a_socket_in_use_is_shut_when_its_deadline_passes(pair) -> None:  # type: ignore[no-untyped-def]
    ours, peer = pair
    with armed(0.1) as arming:
        WATCHDOG.watch(_Watched(_Conn(ours), None), arming)  # type: ignore[arg-type]
        started = time.monotonic()
        assert _shut(peer)
        assert 0.05 <= time.monotonic() - started < 2
    assert arming.fired


def test_a_socket_taken_over_by_another_attempt_is_not_shut_for_the_first(pair) -> None:  # type: ignore[no-untyped-def]
    ours, peer = pair
    conn = _Conn(ours)
    first = WATCHDOG.arm(0.1)
    WATCHDOG.watch(_Watched(conn, None), first)  # type: ignore[arg-type]
    with armed(30) as second:
        WATCHDOG.watch(_Watched(conn, None), second)  # type: ignore[arg-type]
        time.sleep(0.3)
        assert first.fired and not second.fired
        ours.sendall(b"x")  # still open both ways
        peer.settimeout(2)
        assert peer.recv(1) == b"x"
    WATCHDOG.disarm(first)


def test_a_disarmed_attempt_never_fires(pair) -> None:  # type: ignore[no-untyped-def]
    ours, peer = pair
    with armed(0.1) as arming:
        WATCHDOG.watch(_Watched(_Conn(ours), None), arming)  # type: ignore[arg-type]
    time.sleep(0.3)
    assert not arming.fired
    ours.sendall(b"y")
    peer.settimeout(2)
    assert peer.recv(1) == b"y"


def test_a_socket_reported_after_its_deadline_is_shut_at_once(pair) -> None:  # type: ignore[no-untyped-def]
    ours, peer = pair
    with armed(0.05) as arming:
        time.sleep(0.2)
        WATCHDOG.watch(_Watched(_Conn(ours), None), arming)  # type: ignore[arg-type]
        assert _shut(peer)


def test_many_attempts_share_one_watchdog_thread() -> None:
    with ArmEmulator.from_fleet(24, 6, seed=2, page_size=2) as arm:
        session = make_session(8, loopback=True)
        try:
            from mlreg_frames.sources.fetch import fetch_registries

            tables = fetch_registries(
                endpoint=arm.endpoint, credential=arm.credential(), session=session
            )
        finally:
            session.close()
        assert len(tables.registries) == 24 and arm.count() > 10
    names = [t.name for t in threading.enumerate()]
    assert names.count("mlreg-deadline") == 1


def test_make_session_mounts_the_watched_adapter_for_both_schemes() -> None:
    with make_session(4) as session:
        for scheme in ("https://", "http://"):
            assert isinstance(session.get_adapter(scheme + "example.org"), WatchedAdapter)


def test_a_session_of_ones_own_gets_the_header_deadline_by_mounting_the_adapter() -> None:
    from mlreg_frames.emulator import Fault
    from mlreg_frames.errors import FetchError
    from mlreg_frames.sources.fetch import fetch_registries

    with ArmEmulator.from_fleet(6, 2, seed=1) as arm, requests.Session() as session:
        session.trust_env = False
        session.mount("http://", WatchedAdapter())
        sub = sorted({r["id"].split("/")[2] for r in arm.registries})[0]
        arm.add_fault(Fault("drip_headers", match=f"/subscriptions/{sub}/", delay=0.2))
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_registries(
                sub, endpoint=arm.endpoint, credential=arm.credential(), session=session,
                request_timeout=1.0, timeout=(2, 30),
            )  # fmt: skip
        assert time.monotonic() - started < 6


def test_connections_through_an_http_proxy_are_watched_too() -> None:
    from mlreg_frames.sources.watchdog import _POOLS

    adapter = WatchedAdapter()
    manager = adapter.proxy_manager_for("http://127.0.0.1:3128")
    assert manager.pool_classes_by_scheme is _POOLS
    assert adapter.poolmanager.pool_classes_by_scheme is _POOLS
    adapter.close()
