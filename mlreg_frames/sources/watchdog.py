"""A request deadline that holds while the status line and headers arrive, not only the body.

:func:`~mlreg_frames.sources.limits.read_body` checks the deadline between body reads. Before
the body, http.client reads the status line and headers with blocking reads that only the
read timeout bounds, and every read that returns restarts it: a server dripping its headers a
byte a minute (over TLS: a record a minute) could hold a worker for days (http.client accepts
100 header lines of 64 KiB each).

The :class:`Watchdog` closes that gap. The client arms it around each attempt
(:func:`armed`); connections of a session from
:func:`~mlreg_frames.sources.client.make_session` (:class:`WatchedAdapter`) report the socket
they are about to use; when an armed deadline passes, the one watchdog thread shuts that socket
down, the blocked read returns at once, and the client reports ``RequestDeadlineExceeded``.
A session of your own (``session=``) is not watched this way: mount a :class:`WatchedAdapter`
on it to get the same bound.

Example::

    >>> import time
    >>> with armed(0.05) as watch:
    ...     time.sleep(0.2)        # nothing registered: the deadline passes harmlessly
    >>> watch.fired
    True
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
import urllib3.poolmanager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["WatchedAdapter"]


class Arming:
    """One attempt's deadline and the sockets it uses; ``fired`` once the deadline passed."""

    __slots__ = ("active", "deadline", "fired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.active = True


class _Watched:
    """A connection in use by an attempt, and the TCP socket it was opened with."""

    __slots__ = ("conn", "raw")

    def __init__(self, conn: HTTPConnection, raw: socket.socket | None) -> None:
        self.conn = conn
        self.raw = raw

    def shut(self) -> None:
        """Shut the connection's socket down: a blocked read on it returns at once.

        That is ``conn.sock`` once connected (TLS or plain), else the TCP socket just opened.
        During a TLS handshake there is neither (the TCP socket was handed to the TLS socket
        being built); CPython bounds the whole handshake by the connect timeout, so nothing
        is needed there.
        """
        sock = getattr(self.conn, "sock", None)
        if not isinstance(sock, socket.socket):
            sock = self.raw
        if sock is None:
            return
        with contextlib.suppress(OSError):  # already closed or detached: nothing waits on it
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # for TLS too: no TLS alert, no lock


class Watchdog:
    """One daemon thread that shuts the connections of attempts past their deadline.

    A connection belongs to the attempt that used it last: a pooled connection taken by
    another attempt is no longer shut for the first one's deadline.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Arming]] = []
        self._owner: dict[int, tuple[Arming, _Watched]] = {}
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> Arming:
        arming = Arming(time.monotonic() + seconds)
        with self._lock:
            heapq.heappush(self._heap, (arming.deadline, next(self._order), arming))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mlreg-deadline", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is arming:  # the earliest now: wake the thread to wait less
                self._lock.notify()
        return arming

    def watch(self, watched: _Watched, arming: Arming) -> None:
        with self._lock:
            self._owner[id(watched.conn)] = (arming, watched)
            late = arming.fired  # the deadline passed before the connection was known
        if late:
            watched.shut()

    def disarm(self, arming: Arming) -> None:
        with self._lock:
            arming.active = False
            for key in [k for k, (owner, _) in self._owner.items() if owner is arming]:
                del self._owner[key]

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and not self._heap[0][2].active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                _, _, arming = heapq.heappop(self._heap)
                arming.fired = True
                for owner, watched in list(self._owner.values()):
                    if owner is arming:
                        watched.shut()


WATCHDOG = Watchdog()
_current = threading.local()


@contextmanager
def armed(seconds: float) -> Iterator[Arming]:
    """Arm the deadline for this thread's next connection use, for ``seconds``."""
    arming = WATCHDOG.arm(seconds)
    _current.arming = arming
    try:
        yield arming
    finally:
        _current.arming = None
        WATCHDOG.disarm(arming)


def _report(conn: HTTPConnection, raw: socket.socket | None = None) -> None:
    arming: Arming | None = getattr(_current, "arming", None)
    if arming is not None:
        WATCHDOG.watch(_Watched(conn, raw), arming)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _report(self, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a pooled connection: it serves this attempt now
            _report(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The same for TLS (urllib3's HTTPSConnection is an HTTPConnection)."""


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _watch_pools(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    """Give ``manager`` the watched pools, unless it has pools of its own (SOCKS proxies:
    there the headers stay bounded per read only)."""
    if manager.pool_classes_by_scheme == urllib3.poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _POOLS
    return manager


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """A ``requests`` adapter whose connections report their sockets to the watchdog.

    Direct connections and HTTP(S) proxies are watched; a SOCKS proxy keeps urllib3's own
    connection classes.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        return _watch_pools(manager)
