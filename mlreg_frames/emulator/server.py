"""A local stand-in for Azure Resource Manager: a real threaded HTTP server on 127.0.0.1.

It serves ``Subscriptions - List``, ``Registries - List By Subscription`` and ``Registries -
List`` (paths matched case-insensitively, ``api-version`` required) from a folder of pages (the
bundled sample by default) or a generated fleet, with absolute ``nextLink``s carrying a
``$skipToken``, ARM ``ErrorResponse`` bodies, a bearer-token check, and injectable
:class:`Fault` s: throttling, server errors, 403 for chosen subscriptions, dropped connections,
latency, malformed bodies, empty pages with a ``nextLink``, repeated, foreign and endless
``nextLink``s, and hostile bodies (huge, gzip bombs, garbage gzip, a slow drip).
Every request is counted, so tests can assert on what reached the server. What ARM answers is
decided in :mod:`mlreg_frames.emulator.armsim`, what Resource Graph answers to POSTed queries in
:mod:`mlreg_frames.emulator.graphsim`; this module is the HTTP around them.

Example::

    >>> from mlreg_frames.sources.fetch import fetch_registries
    >>> with ArmEmulator.from_fleet(30, 3, page_size=5) as arm:
    ...     tables = fetch_registries(endpoint=arm.endpoint, credential=arm.credential())
    >>> len(tables.registries), arm.count("/subscriptions") == arm.count()
    (30, True)

From a shell: ``mlreg-frames emulator --port 8080 --fleet 200 --latency-ms 50``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import MlregFramesError
from ..sources.auth import StaticTokenCredential
from .armsim import ArmModel, Fault, sample_dir
from .graphsim import GraphModel

__all__ = ["ArmEmulator", "Fault", "Request", "sample_dir"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What the emulator received: method, path, query, Authorization header, answer status.

    ``status`` is 0 when the connection was dropped on purpose (a ``drop`` fault).
    """

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    status: int
    host: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() shuts idle keep-alive connections itself
    request_queue_size = 256
    emulator: ArmEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (it refused a huge or dripping body) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("emulator: %s hung up", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can pool connections
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server

    def do_GET(self) -> None:
        self.server.emulator._handle(self)

    def do_POST(self) -> None:  # Resource Graph queries
        self.server.emulator._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator: " + format, *args)

    def setup(self) -> None:
        super().setup()
        self.server.emulator._opened(self.connection, True)

    def finish(self) -> None:
        self.server.emulator._opened(self.connection, False)
        super().finish()


class ArmEmulator(ArmModel):
    """ARM's registry list operations over real HTTP, with faults on demand.

    Takes every argument of :class:`~mlreg_frames.emulator.armsim.ArmModel` (registries,
    subscriptions, page_size, pages_per_scope, token, latency, faults), plus ``host`` and
    ``port`` (0 picks a free port). Use it as a context manager, or ``start()``/``close()``.
    Resource Graph queries (POST) are answered by ``self.graph``, a
    :class:`~mlreg_frames.emulator.graphsim.GraphModel` built with the ``graph`` options
    (``management_groups``, ``quota``, ``window``, ``page_size``, ``scope_limit``).

    Attributes:
        max_in_flight: the most requests it was answering at once (shows concurrency).
    """

    def __init__(
        self,
        *args: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        graph: dict[str, Any] | None = None,
        **options: Any,
    ):
        super().__init__(*args, **options)
        self.graph = GraphModel(self, **(graph or {}))
        self._records: list[Request] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._closing = threading.Event()
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as exc:
            raise MlregFramesError(
                f"the ARM emulator cannot listen on {host}:{port}: {exc.strerror or exc}; "
                "pick another port (0 picks a free one)"
            ) from exc
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The base URL to pass as ``endpoint=``, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def credential(self) -> StaticTokenCredential:
        """A credential whose token this emulator accepts."""
        accepted = self.token if isinstance(self.token, str) else None
        if accepted is None and self.token:
            accepted = sorted(self.token)[0]
        return StaticTokenCredential(accepted or "emulator-token")

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def count(self, match: str | None = None) -> int:
        """How many requests had ``match`` (any case) in their path; all when None."""
        return sum(1 for r in self.requests if match is None or match.lower() in r.path.lower())

    def start(self) -> ArmEmulator:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so close() returns quickly
                name="arm-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI's ``emulator`` command)."""
        self._server.serve_forever()

    def close(self) -> None:
        """Stop serving, close open keep-alive connections and the listening socket."""
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> ArmEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ArmEmulator({self.endpoint}, {len(self.registries)} registries, "
            f"{len(self.subscriptions)} subscriptions)"
        )

    def _opened(self, conn: socket.socket, is_open: bool) -> None:
        with self._lock:
            if is_open:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _drip(self, handler: _Handler, data: bytes, delay: float) -> None:
        """Send ``data`` one byte at a time until done, the client leaves or we close."""
        handler.wfile.flush()
        for index in range(len(data)):
            if self._closing.is_set():
                break
            handler.wfile.write(data[index : index + 1])
            handler.wfile.flush()
            time.sleep(delay)

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            authorization = handler.headers.get("Authorization")
            if handler.command == "POST":
                size = int(handler.headers.get("Content-Length") or 0)
                payload = handler.rfile.read(size) if size > 0 else b""
                answer = self.graph.answer(handler.path, authorization, payload)
            else:
                answer = self.answer(handler.path, authorization, self.endpoint)
            parts = urlsplit(handler.path)
            record = Request(
                handler.command,
                parts.path,
                dict(parse_qsl(parts.query)),
                authorization,
                answer.status,
                handler.headers.get("Host", ""),
            )
            with self._lock:
                self._records.append(record)
            if answer.status == 0:
                handler.close_connection = True  # hang up without a word: a dropped connection
                return
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(answer.payload)))
            handler.send_header("x-ms-request-id", str(uuid.uuid4()))
            for key, value in (answer.headers or {}).items():
                handler.send_header(key, value)
            if answer.continues:
                while not self._closing.is_set():  # until the client hangs up
                    handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    handler.wfile.flush()
                    time.sleep(answer.continues)
                return
            if answer.drip_headers:
                handler._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
                head = b"".join(handler._headers_buffer)  # type: ignore[attr-defined]
                handler._headers_buffer = []  # type: ignore[attr-defined]
                self._drip(handler, head, answer.drip_headers)
                handler.wfile.write(answer.payload)
                return
            handler.end_headers()
            if answer.drip:
                self._drip(handler, answer.payload, answer.drip)
            else:
                handler.wfile.write(answer.payload)
        except (ConnectionError, ValueError):  # the client gave up, or we closed: stop
            handler.close_connection = True
        finally:
            with self._lock:
                self._in_flight -= 1
