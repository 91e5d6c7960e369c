"""The request deadline over TLS: a server that drips its answer's headers, one TLS record
per byte.

Python's TLS socket already bounds one read (and the whole handshake) by the socket timeout,
so a drip of the bytes of one record is cut by the read timeout. One record per byte is not:
every read returns in time. Only a deadline over the whole wait stops it; the deadline
watchdog shuts the TLS socket down. The server is real TLS (Python's ``ssl`` over memory
buffers, a throw-away CA), so the client runs its real HTTPS path.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlreg_frames.errors import FetchError
from mlreg_frames.sources.auth import StaticTokenCredential
from mlreg_frames.sources.client import make_session
from mlreg_frames.sources.fetch import fetch_registries

from .azurite import _self_signed

SUB = "00000000-0000-0000-0000-00000000000a"


class DripTLS:
    """Answers every HTTPS request with an empty registries page; with ``mode="headers"``
    the status line and headers go one byte per TLS record, ``delay`` seconds apart."""

    def __init__(self, folder: Path, mode: str, delay: float) -> None:
        self.ca, key = _self_signed(folder)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "cert.pem", key)
        self.mode, self.delay = mode, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)

        def send() -> None:
            conn.sendall(outgoing.read())

        def receive() -> bool:
            data = conn.recv(65536)
            incoming.write(data)
            return bool(data)

        try:
            with conn:
                while True:
                    try:
                        tls.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        send()
                        if not receive():
                            return
                send()
                request = b""
                while b"\r\n\r\n" not in request:
                    try:
                        request += tls.read(65536)
                    except ssl.SSLWantReadError:
                        send()
                        if not receive():
                            return
                body = b'{"value": []}'
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                head += b"Content-Length: %d\r\n\r\n" % len(body)
                if self.mode == "headers":
                    for index in range(len(head)):
                        if self.closed.is_set():
                            return
                        tls.write(head[index : index + 1])  # a record of its own
                        send()
                        time.sleep(self.delay)
                    head = b""
                tls.write(head + body)
                send()
        except (OSError, ssl.SSLError):
            return  # the client hung up: what a deadline does


@pytest.fixture
def drip_tls(tmp_path: Path) -> Iterator[type[DripTLS]]:
    servers: list[DripTLS] = []

    def make(mode: str, delay: float) -> DripTLS:
        folder = tmp_path / mode
        folder.mkdir()
        servers.append(DripTLS(folder, mode, delay))
        return servers[-1]

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def _fetch(server: DripTLS, **options: object) -> object:
    session = make_session(4)
    session.verify = str(server.ca)
    session.trust_env = False  # no proxy between the test and its server
    try:
        return fetch_registries(
            SUB,
            endpoint=server.endpoint,
            credential=StaticTokenCredential("t"),
            session=session,
            max_attempts=1,
            **options,  # type: ignore[arg-type]
        )
    finally:
        session.close()


def test_the_tls_server_answers_when_it_does_not_drip(drip_tls) -> None:  # type: ignore[no-untyped-def]
    tables = _fetch(drip_tls("none", 0.0))
    assert tables.fetch_errors.empty and tables.registries.empty  # type: ignore[attr-defined]


def test_tls_headers_dripped_a_record_at_a_time_are_cut_at_the_deadline(drip_tls) -> None:  # type: ignore[no-untyped-def]
    server = drip_tls("headers", 0.2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline") as info:
        _fetch(server, request_timeout=1.0, timeout=(3, 30))
    assert 1.0 <= time.monotonic() - started < 6  # without the watchdog: 20 s
    assert info.value.code == "RequestDeadlineExceeded"
