"""One read per scope on the fetch's thread pool, a bounded number at a time.

Submitting every scope at once (50,000 subscriptions in a large tenant) keeps a future, a work
item and a result alive per scope until the end. :class:`Dispatcher` keeps at most ``window``
scopes submitted and not yet collected (the subscription listing waits for a free slot), and
collects each finished scope in the caller's thread: it keeps the result only when it still
matters (a failure, or batches handed to the walker, which may yet leave the scope out), and
otherwise only counts it.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from .walker import ScopeResult

__all__: list[str] = []  # the fetch's internals; the public face is fetch_registries

_POLL = 0.1  # seconds between collections while every slot is taken


class Dispatcher:
    """Submits ``read(scope)`` for each scope; collects results as they finish.

    Not thread-safe: one thread (the fetch's) submits and collects; the pool's threads only
    report completion.

    Attributes:
        kept: scope -> result, for the scopes whose result still matters (see above).
        scopes: every scope submitted, in order.
        empty_pages: pages with no registries over every scope collected (never walked).
    """

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        read: Callable[[Any], ScopeResult],
        window: int,
        on_done: Callable[[Future], None],
    ) -> None:
        self._pool = pool
        self._read = read
        self._on_done = on_done
        self._slots = threading.BoundedSemaphore(max(1, window))
        self._pending: dict[Future, Hashable] = {}
        self._done: collections.deque[Future] = collections.deque()
        self.kept: dict[Any, ScopeResult] = {}
        self.scopes: list[Any] = []
        self.empty_pages = 0

    def submit(self, scope: Hashable) -> None:
        """Read ``scope`` on the pool once a slot is free (results are collected meanwhile).

        Raises:
            whatever a finished read raised (the fetch stops: an unwritable raw archive).
        """
        while not self._slots.acquire(timeout=_POLL):
            self._collect()
        self._collect()
        self.scopes.append(scope)
        future = self._pool.submit(self._read, scope)
        self._pending[future] = scope
        future.add_done_callback(self._finished)

    def drain(self) -> None:
        """Wait for every read submitted, and collect them."""
        while self._pending:
            wait(list(self._pending), timeout=_POLL)
            self._collect()

    def _finished(self, future: Future) -> None:
        self._done.append(future)  # deque.append is atomic: no lock needed
        self._slots.release()
        self._on_done(future)

    def _collect(self) -> None:
        while self._done:
            future = self._done.popleft()
            scope = self._pending.pop(future)
            result: ScopeResult = future.result()
            self.empty_pages += result.empty_pages
            if result.error is not None or result.handed:
                self.kept[scope] = result
