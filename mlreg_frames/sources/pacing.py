"""Pacing reads per subscription from ARM's ``x-ms-ratelimit-remaining-subscription-reads``.

ARM gives each principal a token bucket of reads per subscription (250, refilled at 25 per
second, per region) and says on every answer how many are left. A fan-out that ignores it
meets 429s and waits out ``Retry-After``; :class:`SubscriptionPacer` instead holds a request
until the bucket (as last reported, less the requests still in flight, plus what has refilled
since) has a read to spare, so a paced fetch runs at the bucket's refill rate without 429s.
The refill rate is learned from successive headers; a 429's ``Retry-After`` (the backstop)
holds the whole subscription. :class:`PacedArmClient` is the
:class:`~mlreg_frames.sources.client.ArmClient` that asks the pacer of each request's
subscription before sending it. Different subscriptions never wait for each other.

Example::

    >>> pacer = SubscriptionPacer()
    >>> pacer.before(); pacer.after(200, {"x-ms-ratelimit-remaining-subscription-reads": "9"})
    >>> pacer.remaining, pacer.requests
    (9.0, 1)
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from .client import ArmClient
from .policy import parse_retry_after

__all__ = ["READS_HEADER", "PacedArmClient", "SubscriptionPacer"]

READS_HEADER = "x-ms-ratelimit-remaining-subscription-reads"
_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?#]+)", re.I)
_RESERVE = 2.0  # reads kept back: reports lag, and arrive out of order, behind the requests


class SubscriptionPacer:
    """The read bucket of one subscription, as ARM reports it (see the module doc).

    Args:
        refill: the refill rate assumed until one is learned (ARM's documented 25 per second).
        clock: the monotonic clock (tests pass a fake).
    """

    def __init__(self, refill: float = 25.0, *, clock: Callable[[], float] = time.monotonic):
        self._cond = threading.Condition()
        self._clock = clock
        self.refill = refill
        self.remaining: float | None = None
        self._reported_at = 0.0
        self._in_flight = 0
        self._hold_until = 0.0
        self._window: tuple[float, float, int] | None = None  # (time, remaining, answered)
        self._answered = 0
        self._highest = 0.0
        self.requests = 0
        self.throttled = 0
        self.waited = 0.0

    def _available(self, now: float) -> float:
        if self.remaining is None:
            return float("inf")
        refilled = self.remaining + self.refill * (now - self._reported_at)
        return refilled - self._in_flight

    def before(self) -> None:
        """Wait until the bucket has a read to spare, then count the request as in flight."""
        with self._cond:
            while True:
                now = self._clock()
                if now < self._hold_until:
                    wait = self._hold_until - now
                else:
                    short = 1.0 + _RESERVE - self._available(now)
                    if short <= 0:
                        break
                    wait = short / max(self.refill, 0.1)
                self.waited += wait
                self._cond.wait(wait)
            self._in_flight += 1
            self.requests += 1

    def after(self, status: int | None, headers: Mapping[str, str] | None) -> None:
        """Record an answer (``status`` None: no answer at all) and wake the waiting requests."""
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            reported = _number((headers or {}).get(READS_HEADER))
            if status == 429:
                self.throttled += 1
                wait = parse_retry_after((headers or {}).get("Retry-After"))
                self._hold_until = max(self._hold_until, now + (wait if wait is not None else 1.0))
                reported = 0.0 if reported is None else reported
            elif status is not None:
                self._answered += 1
            if reported is not None:
                self._learn(now, reported)
                self.remaining, self._reported_at = reported, now
            self._cond.notify_all()

    def _learn(self, now: float, reported: float) -> None:
        """Refill = (change in remaining + reads spent) / time, while the bucket is not full."""
        self._highest = max(self._highest, reported)
        if reported >= 0.9 * self._highest:  # a full bucket does not refill: nothing to learn
            self._window = None
            return
        if self._window is None:
            self._window = (now, reported, self._answered)
            return
        then, before, answered = self._window
        if now - then >= 0.5:
            rate = (reported - before + (self._answered - answered)) / (now - then)
            if rate > 0:
                self.refill = min(10_000.0, 0.5 * self.refill + 0.5 * rate)
            self._window = (now, reported, self._answered)


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


class PacedArmClient(ArmClient):
    """An :class:`ArmClient` that paces every request by its subscription's read bucket.

    Takes :class:`ArmClient`'s arguments, plus ``refill``: the refill rate assumed per
    subscription until one is learned, and ``on_answer(status)``: called after each answer
    (progress bars count requests with it).
    """

    def __init__(
        self,
        *args: Any,
        refill: float = 25.0,
        on_answer: Callable[[int | None], None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._refill = refill
        self._on_answer = on_answer
        self._pacers: dict[str, SubscriptionPacer] = {}
        self._pacers_lock = threading.Lock()

    def pacer(self, subscription: str) -> SubscriptionPacer:
        """The pacer of one subscription (created on first use)."""
        key = subscription.lower()
        with self._pacers_lock:
            if key not in self._pacers:
                self._pacers[key] = SubscriptionPacer(self._refill)
            return self._pacers[key]

    @property
    def pacers(self) -> dict[str, SubscriptionPacer]:
        """The pacers so far, by subscription (their counts: requests, throttled, waited)."""
        with self._pacers_lock:
            return dict(self._pacers)

    def _attempt(
        self, method: str, url: str, json_body: Any, scope: str | None
    ) -> tuple[requests.Response, bytes]:
        match = _SUBSCRIPTION.search(url.split("?", 1)[0])
        if match is None:
            return super()._attempt(method, url, json_body, scope)
        pacer = self.pacer(match.group(1))
        pacer.before()
        status: int | None = None
        headers: Mapping[str, str] | None = None
        try:
            response, content = super()._attempt(method, url, json_body, scope)
            status, headers = response.status_code, response.headers
            return response, content
        finally:
            pacer.after(status, headers)
            if self._on_answer is not None:
                self._on_answer(status)
