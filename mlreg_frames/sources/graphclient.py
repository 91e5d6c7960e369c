"""HTTP to Azure Resource Graph: the ARM client, plus pacing by ARG's per-user quota headers.

Resource Graph answers on the ARM endpoint with the ARM token, so :class:`GraphClient` is an
:class:`~mlreg_frames.sources.client.ArmClient` (same session, token guard, retry policy, error
bodies and 401 refresh) that POSTs queries and reads two headers every ARG answer carries:

* ``x-ms-user-quota-remaining``: requests left in the current window;
* ``x-ms-user-quota-resets-after``: ``hh:mm:ss`` until the window resets.

A value that does not parse (or is absurdly long) is ignored: the answer it came with is still
read. Pages carry their headers (``ListPage.headers``), so the fetch can read
``x-ms-tenant-subscription-limit-hit`` (:func:`limit_hit`): ARG sends ``true`` when it answered a
tenant or management-group query for only part of its subscriptions.

When the quota is spent the next request waits for the reset instead of drawing a 429, and a
429 waits for the reset (capped by ``RetryPolicy.max_retry_after``, like ``Retry-After``).

Example::

    >>> parse_resets_after("00:00:05")
    5.0
    >>> parse_resets_after("01:02:03.5")
    3723.5
    >>> parse_resets_after("soon") is None
    True
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from .client import ArmClient, ListPage

__all__ = [
    "LIMIT_HIT",
    "QUOTA_REMAINING",
    "QUOTA_RESETS_AFTER",
    "GraphClient",
    "QuotaPacer",
    "limit_hit",
    "parse_resets_after",
]

log = logging.getLogger(__name__)

QUOTA_REMAINING = "x-ms-user-quota-remaining"
"""ARG's header: requests the user may still send in the current window."""

QUOTA_RESETS_AFTER = "x-ms-user-quota-resets-after"
"""ARG's header: ``hh:mm:ss`` until the quota window resets."""

LIMIT_HIT = "x-ms-tenant-subscription-limit-hit"
"""ARG's header: ``true`` when a tenant or management-group query with ``allowPartialScopes``
was answered for only part of its subscriptions (the service's subscription limit)."""

# Bounded on purpose: a header is the server's to write, and int() of thousands of digits is
# slow, then refused (Python's digit limit); a day count of 7 digits is 27,000 years already.
_HMS = re.compile(r"^\s*(?:(\d{1,7})\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d{1,9})?)\s*$")
_MAX_HEADER = 64  # characters of a quota header looked at; longer values are ignored


def parse_resets_after(value: object) -> float | None:
    """Seconds from an ``x-ms-user-quota-resets-after`` value (``[d.]hh:mm:ss[.fff]``).

    None for anything else (absent, too long, out of shape): a header that does not parse
    is ignored, never an error.

    Example::

        >>> parse_resets_after("1.00:00:01")
        86401.0
        >>> parse_resets_after("9" * 5000 + ".00:00:01") is None
        True
    """
    if not isinstance(value, str) or len(value) > _MAX_HEADER:
        return None
    match = _HMS.match(value)
    if match is None:
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _remaining(value: object) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 18 or not text.isdigit():
        return None
    return int(text)


def limit_hit(headers: Any) -> bool | None:
    """What ``x-ms-tenant-subscription-limit-hit`` says: True, False, or None (absent/other).

    Example::

        >>> limit_hit({"x-ms-tenant-subscription-limit-hit": "True"}), limit_hit({})
        (True, None)
    """
    value = headers.get(LIMIT_HIT) if headers is not None else None
    text = value.strip().lower() if isinstance(value, str) else ""
    return {"true": True, "false": False}.get(text)


class QuotaPacer:
    """Holds the last quota ARG reported; :meth:`wait` sleeps out a spent window.

    Thread-safe. ``clock`` and ``sleep`` are injectable (tests pass recorders).

    Example::

        >>> slept = []
        >>> pacer = QuotaPacer(sleep=slept.append, clock=lambda: 100.0)
        >>> pacer.observe({"x-ms-user-quota-remaining": "0",
        ...                "x-ms-user-quota-resets-after": "00:00:02"})
        >>> pacer.wait(cap=60.0), slept
        (2.0, [2.0])
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.remaining: int | None = None
        self._reset_at: float | None = None
        self.waited = 0.0

    def observe(self, headers: Any) -> None:
        """Record the quota headers of an answer (any status); absent headers change nothing."""
        remaining = _remaining(headers.get(QUOTA_REMAINING))
        resets = parse_resets_after(headers.get(QUOTA_RESETS_AFTER))
        with self._lock:
            if remaining is not None:
                self.remaining = remaining
            if resets is not None:
                self._reset_at = self._clock() + resets

    def until_reset(self) -> float | None:
        """Seconds until the reported window resets (None when ARG did not say)."""
        with self._lock:
            if self._reset_at is None:
                return None
            return max(0.0, self._reset_at - self._clock())

    def wait(self, cap: float) -> float:
        """Sleep until the window resets when the quota is spent (at most ``cap`` s); the wait."""
        with self._lock:
            if self.remaining is None or self.remaining > 0 or self._reset_at is None:
                return 0.0
            wait = min(cap, max(0.0, self._reset_at - self._clock()))
            self.remaining = None  # a new window: unknown until the next answer says
        if wait > 0:
            log.info("Resource Graph quota spent: waiting %.2fs for the window to reset", wait)
            self._sleep(wait)
            self.waited += wait
        return wait


class GraphClient(ArmClient):
    """An :class:`~mlreg_frames.sources.client.ArmClient` that POSTs Resource Graph queries.

    Takes ArmClient's arguments; every answer's quota headers feed a :class:`QuotaPacer`, each
    query first waits out a spent quota, and a 429 waits for ``x-ms-user-quota-resets-after``
    (then ``Retry-After``, then the policy's backoff).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pacer = QuotaPacer(sleep=self._sleep)

    def __repr__(self) -> str:
        return f"GraphClient(endpoint={self.endpoint!r})"

    def post_json(self, url: str, body: dict[str, Any], *, scope: str) -> ListPage:
        """POST ``body`` to ``url`` after pacing; the JSON object answer (see ``get_json``)."""
        waited = self.pacer.wait(self.retry.max_retry_after)
        if waited and self._on_retry is not None:
            self._on_retry("quota", waited)
        return self.get_json(url, scope=scope, body=body)

    def _parse(
        self, response: requests.Response, content: bytes, url: str, scope: str | None
    ) -> ListPage:
        self.pacer.observe(response.headers)
        page = super()._parse(response, content, url, scope)
        return page._replace(headers=response.headers)

    def _delay(self, response: requests.Response, attempt: int) -> float:
        self.pacer.observe(response.headers)
        resets = parse_resets_after(response.headers.get(QUOTA_RESETS_AFTER))
        if response.status_code != 429 or resets is None:
            return super()._delay(response, attempt)
        if resets > self.retry.max_retry_after:
            log.warning(
                "Resource Graph asked to wait %.1fs (quota reset) ; waiting the cap of %.1fs "
                "(raise max_retry_after to honour longer waits)",
                resets,
                self.retry.max_retry_after,
            )
            return self.retry.max_retry_after
        # the window resets at a whole second: a little slack avoids landing just before it
        return resets + 0.05
