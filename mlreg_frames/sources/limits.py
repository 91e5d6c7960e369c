"""Bounds on what a server can make a fetch do: pages per scope, bytes per page, time per request.

A hostile or broken server can send an endless chain of distinct ``nextLink`` s, drip a body
one byte at a time, or answer with a huge body or a small gzip bomb. :class:`FetchLimits`
holds the bounds (safe defaults, each one a keyword of ``fetch_registries``), and
:func:`read_body` reads a streamed response under them: the *decompressed* size is counted
while reading, in chunks, and the total deadline is checked after every chunk (each chunk
returns as soon as any bytes arrive, so a slow drip cannot stretch one read). A breach raises
:class:`~mlreg_frames.errors.LimitExceededError` with a ``code`` saying which bound.

Both work for any method (GET pages, POST queries).

Example::

    >>> FetchLimits().max_pages
    10000
    >>> FetchLimits(max_page_bytes=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlreg_frames.errors.InvalidArgumentError: max_page_bytes must be a whole number of at ...
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
import urllib3

from ..errors import FetchError, InvalidArgumentError, LimitExceededError

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_PAGE_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "FetchLimits",
    "deadline_exceeded",
    "read_body",
]

DEFAULT_MAX_PAGES = 10_000
"""Pages read per scope at most (10,000 pages of 1,000 registries is far beyond any tenant)."""

DEFAULT_MAX_PAGE_BYTES = 64 * 2**20
"""Decompressed bytes per response at most (ARM pages are well under 10 MiB)."""

DEFAULT_REQUEST_TIMEOUT = 300.0
"""Seconds one request may take from sending to the last body byte (retries get their own)."""

CHUNK_BYTES = 256 * 2**10
"""Most decompressed bytes taken from the socket per read."""


def _whole(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be a whole number of at least {minimum}, got {value!r}", argument=name
        )
    return value


def _seconds(name: str, value: object, *, positive: bool = True) -> float:
    number = float(value) if isinstance(value, (int, float)) else math.nan
    if (
        isinstance(value, bool)
        or not math.isfinite(number)
        or number < 0
        or (positive and not number)
    ):
        wanted = "a number of seconds above 0" if positive else "a number of seconds, 0 or more"
        raise InvalidArgumentError(f"{name} must be {wanted}, got {value!r}", argument=name)
    return number


@dataclass(frozen=True)
class FetchLimits:
    """How far a fetch follows a server: pages per scope, bytes per page, time per request.

    Attributes:
        max_pages: pages per scope (``nextLink`` s followed + 1); more fails the scope with
            code ``MaxPagesExceeded``.
        max_page_bytes: decompressed bytes per response; more fails the scope with code
            ``PageTooLarge`` (counted while streaming, so memory stays bounded).
        request_timeout: seconds from sending a request to its last body byte; more fails
            that attempt with code ``RequestDeadlineExceeded`` (a slow drip of bytes never
            trips a per-read timeout, this catches it).

    Example::

        >>> FetchLimits(max_pages=50, request_timeout=30).max_page_bytes == 64 * 2**20
        True
    """

    max_pages: int = DEFAULT_MAX_PAGES
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        _whole("max_pages", self.max_pages)
        _whole("max_page_bytes", self.max_page_bytes)
        object.__setattr__(
            self, "request_timeout", _seconds("request_timeout", self.request_timeout)
        )


def _reader(raw: urllib3.HTTPResponse) -> Callable[[int], bytes]:
    """A read that returns as soon as any bytes arrive (``read1``), decompressing."""
    read1 = getattr(raw, "read1", None)
    if read1 is not None:
        return lambda amt: read1(amt, decode_content=True)  # type: ignore[no-any-return]
    # urllib3 without read1: small reads keep one blocking read short
    return lambda amt: raw.read(min(amt, 16 * 2**10), decode_content=True)


def read_body(
    response: requests.Response,
    *,
    max_bytes: int,
    deadline: float,
    url: str,
    scope: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The decompressed body of a ``stream=True`` response, under a size cap and a deadline.

    Args:
        response: a response from ``session.send(..., stream=True)``; closed on return.
        max_bytes: most decompressed bytes accepted.
        deadline: ``clock()`` time by which the body must be complete.
        url, scope: for the error.

    Raises:
        LimitExceededError: ``PageTooLarge`` or ``RequestDeadlineExceeded``.
        FetchError: the body could not be decoded (garbage gzip), code ``ContentDecodingError``.
        requests.ConnectionError, requests.Timeout, ChunkedEncodingError: the connection
            broke (worth a retry).
    """
    declared = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity").strip().lower()
    if declared.isdigit() and encoded in ("", "identity") and int(declared) > max_bytes:
        response.close()
        raise _too_large(url, scope, max_bytes, declared=int(declared))
    # a declared, uncompressed length ends the read when it is reached (no last empty read)
    expected = int(declared) if declared.isdigit() and encoded in ("", "identity") else -1
    parts: list[bytes] = []
    total = 0
    read = _reader(response.raw)
    try:
        while total != expected:
            if clock() > deadline:
                raise deadline_exceeded(url, scope)
            try:
                chunk = read(CHUNK_BYTES)
            except urllib3.exceptions.DecodeError as exc:
                raise FetchError(
                    f"the answer to {_short(url)} could not be decompressed while listing "
                    f"{scope} ({str(exc).splitlines()[0][:120] if str(exc) else 'bad data'}): "
                    "the server sent a broken compressed body; retry later",
                    url=url,
                    scope=scope,
                    code="ContentDecodingError",
                ) from None
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.Timeout(str(exc)) from None
            except (urllib3.exceptions.ProtocolError, OSError) as exc:
                raise requests.ConnectionError(str(exc)) from None
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise _too_large(url, scope, max_bytes)
            parts.append(chunk)
    finally:
        response.close()
    return b"".join(parts)


def deadline_exceeded(url: str, scope: str | None) -> LimitExceededError:
    """The error of an answer still arriving at the request deadline (headers or body)."""
    return LimitExceededError(
        f"the answer to {_short(url)} was still arriving at the request deadline while "
        f"listing {scope}: the server is too slow (or dripping bytes); raise request_timeout "
        "(--request-timeout) if it is genuine",
        code="RequestDeadlineExceeded",
        limit="request_timeout",
        url=url,
        scope=scope,
    )


def _too_large(url: str, scope: str | None, limit: int, declared: int | None = None) -> Exception:
    size = f"{declared:,} bytes" if declared is not None else f"more than {limit:,} bytes"
    return LimitExceededError(
        f"the answer to {_short(url)} is {size} (decompressed) while listing {scope}, over "
        f"the limit of {limit:,}; raise max_page_bytes (--max-page-bytes) if it is genuine",
        code="PageTooLarge",
        limit="max_page_bytes",
        url=url,
        scope=scope,
    )


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
