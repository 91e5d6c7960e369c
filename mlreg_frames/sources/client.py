"""HTTP to Azure Resource Manager: sessions, retries, nextLink, ARM error bodies.

Policy lives here; scopes and concurrency live in :mod:`mlreg_frames.sources.fetch`, who may
receive a token in :mod:`mlreg_frames.sources.auth`. What a failed answer means (retry or not,
how long to wait, which :class:`~mlreg_frames.errors.ArmError`) is decided in
:mod:`mlreg_frames.sources.policy`, whose public names this module re-exports. What this module
guarantees:

* the bearer token goes only to the configured endpoint (same scheme, host and port);
  redirects are not followed, and a ``nextLink`` to another host is refused before any
  request is made (:class:`~mlreg_frames.errors.InsecureEndpointError`);
* 429 waits for ``Retry-After`` (seconds or an HTTP date) up to a logged cap; 5xx and dropped
  connections back off exponentially with jitter; attempts are bounded; timeouts are set;
* a ``nextLink`` seen twice raises :class:`~mlreg_frames.errors.PaginationError`;
* ARM ``ErrorResponse`` bodies become :class:`~mlreg_frames.errors.ArmError` with status,
  code, message, target, ``x-ms-request-id`` and the scope, and a hint on what to do;
* the token is never logged, never part of an exception, a repr or a page.

Example::

    >>> from mlreg_frames.sources.auth import StaticTokenCredential
    >>> client = ArmClient("http://127.0.0.1:8080", StaticTokenCredential("t"))
    >>> client.url("/subscriptions", "2022-12-01")
    'http://127.0.0.1:8080/subscriptions?api-version=2022-12-01'
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..errors import FetchError, InsecureEndpointError, PaginationError
from .auth import TokenCredential, TokenProvider, check_endpoint, is_loopback, origin, token_scope
from .policy import RETRYABLE_ERRORS, RetryPolicy, arm_error, parse_retry_after, scrub

__all__ = [
    "RETRYABLE_ERRORS",
    "ArmClient",
    "ListPage",
    "RetryPolicy",
    "make_session",
    "parse_retry_after",
]

log = logging.getLogger(__name__)


def make_session(pool_size: int = 10, *, loopback: bool = False) -> requests.Session:
    """A ``requests.Session`` whose connection pool holds ``pool_size`` connections per host.

    Retries are ours, not urllib3's. For loopback endpoints proxy variables are ignored, so
    a local emulator is reached directly.
    """
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if loopback:
        session.trust_env = False
    return session


class ListPage(NamedTuple):
    """One ARM list response as received: its JSON body, URL, time and request id."""

    body: dict[str, Any]
    url: str
    fetched_at: str
    request_id: str | None


class ArmClient:
    """GET ARM list operations: one endpoint, one credential, one retry policy, thread-safe.

    Args:
        endpoint: the ARM endpoint; the only host the token is ever sent to.
        credential: anything with ``get_token(scope)`` (azure-identity credentials).
        session: a ``requests.Session`` to share (pool sized to your workers); a new one by default.
        timeout: (connect, read) seconds.
        retry: the :class:`RetryPolicy`.
        on_retry: called as ``on_retry(reason, wait_seconds)`` before each retry (progress bars).
        sleep: the sleep function (tests pass a recorder).
    """

    def __init__(
        self,
        endpoint: str,
        credential: TokenCredential,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 60),
        retry: RetryPolicy | None = None,
        on_retry: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.endpoint = check_endpoint(endpoint.rstrip("/"))
        self._origin = origin(self.endpoint)
        self._tokens = TokenProvider(credential, token_scope(self.endpoint))
        self.session = session or make_session(loopback=is_loopback(self._origin[1]))
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._on_retry = on_retry
        self._sleep = sleep
        self._rng = random.Random()

    def __repr__(self) -> str:
        return f"ArmClient(endpoint={self.endpoint!r})"

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def __enter__(self) -> ArmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, api_version: str) -> str:
        """Absolute URL for an ARM path, with ``api-version`` set."""
        return _with_api_version(self.endpoint + "/" + path.lstrip("/"), api_version)

    def guard(self, url: str, scope: str | None = None) -> None:
        """Raise unless ``url`` is on the endpoint's scheme, host and port (token-safe)."""
        if origin(url) != self._origin:
            scheme, host, port = origin(url)
            raise InsecureEndpointError(
                f"refusing to follow a link to {scheme}://{host}:{port} while listing {scope}: "
                f"only {self.endpoint} receives the token; nothing was sent. If this host is "
                "genuine ARM, pass it as endpoint=",
                url=url,
                scope=scope,
            )

    def get_json(
        self,
        url: str,
        *,
        scope: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> ListPage:
        """GET ``url`` (POST ``body`` as JSON when given) with retries; the JSON object body.

        Raises:
            ArmError: ARM answered with an error status (after retries, for 429 and 5xx).
            FetchError: no answer after retries, or a 2xx body that is not a JSON object.
            InsecureEndpointError: ``url`` is not on the endpoint's host.
        """
        self.guard(url, scope)
        policy, refreshed = self.retry, False
        for attempt in range(1, policy.max_attempts + 1):
            last = attempt == policy.max_attempts
            headers = {
                "Accept": "application/json",
                "Authorization": "Bearer " + self._tokens.token(),
            }
            try:
                if body is None:
                    response = self.session.get(
                        url, headers=headers, timeout=self.timeout, allow_redirects=False
                    )
                else:  # Resource Graph queries are POSTs
                    response = self.session.post(
                        url, json=body, headers=headers, timeout=self.timeout, allow_redirects=False
                    )
            except RETRYABLE_ERRORS as exc:
                scrub(exc)
                if last:
                    raise FetchError(
                        f"no answer from {self._origin[1]} after {attempt} attempts while "
                        f"listing {scope} ({type(exc).__name__}); check the network or retry later",
                        url=url,
                        scope=scope,
                    ) from exc
                self._wait(policy.backoff(attempt, self._rng), type(exc).__name__, url)
                continue
            status = response.status_code
            if 200 <= status < 300:
                return self._parse(response, url, scope)
            if status == 401 and not refreshed and not last:
                refreshed = True  # an expired or revoked token: one fresh try
                self._tokens.token(force=True)
                continue
            if (status == 429 or status >= 500) and not last:
                self._wait(self._delay(response, attempt), f"HTTP {status}", url)
                continue
            raise arm_error(response, url, scope, subscription_id, resource_group)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def iter_pages(
        self,
        path_or_url: str,
        *,
        scope: str,
        api_version: str,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Iterator[ListPage]:
        """Yield every page of a list operation, following ``nextLink`` until it is absent.

        A page may be empty and still carry a ``nextLink``; a link seen twice raises
        :class:`~mlreg_frames.errors.PaginationError`; a link to another host raises
        :class:`~mlreg_frames.errors.InsecureEndpointError` before anything is sent.
        """
        url: str | None = path_or_url
        if not path_or_url.lower().startswith(("http://", "https://")):
            url = self.url(path_or_url, api_version)
        seen: set[str] = set()
        while url:
            key = _link_key(url)
            if key in seen:
                raise PaginationError(
                    f"nextLink {_short(url)} came back a second time while listing {scope}: ARM "
                    "is looping; the pages read so far are kept, retry later",
                    url=url,
                    scope=scope,
                )
            seen.add(key)
            page = self.get_json(
                url, scope=scope, subscription_id=subscription_id, resource_group=resource_group
            )
            yield page
            url = self._next(page, scope, api_version)

    def _next(self, page: ListPage, scope: str, api_version: str) -> str | None:
        link = page.body.get("nextLink", page.body.get("NextLink"))
        if link is None or link == "":
            return None
        if not isinstance(link, str) or not link.lower().startswith(("http://", "https://")):
            raise PaginationError(
                f"nextLink {link!r} on {_short(page.url)} is not an absolute URL; ARM sent a "
                "broken page: retry later or report the request id "
                f"{page.request_id or '(none)'} to Azure support",
                url=page.url,
                scope=scope,
            )
        has_version = any(k.lower() == "api-version" for k, _ in parse_qsl(urlsplit(link).query))
        return link if has_version else _with_api_version(link, api_version)

    def _parse(self, response: requests.Response, url: str, scope: str | None) -> ListPage:
        request_id = response.headers.get("x-ms-request-id")
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise FetchError(
                f"ARM answered {response.status_code} with a body that is not JSON while "
                f"listing {scope} (request id {request_id or 'none'}); retry later, and report "
                "the request id to Azure support if it persists",
                url=url,
                scope=scope,
            ) from exc
        if not isinstance(body, dict):
            raise FetchError(
                f"ARM answered with a JSON {type(body).__name__}, not a list page, while "
                f"listing {scope} (request id {request_id or 'none'}); check the endpoint",
                url=url,
                scope=scope,
            )
        return ListPage(body, url, _now(), request_id)

    def _delay(self, response: requests.Response, attempt: int) -> float:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return self.retry.backoff(attempt, self._rng)
        if asked > self.retry.max_retry_after:
            log.warning(
                "ARM asked to wait %.1fs (Retry-After) on %s; waiting the cap of %.1fs "
                "(raise max_retry_after to honour longer waits)",
                asked,
                _short(response.url),
                self.retry.max_retry_after,
            )
            return self.retry.max_retry_after
        return asked

    def _wait(self, seconds: float, reason: str, url: str) -> None:
        log.info("retrying %s in %.2fs after %s", _short(url), seconds, reason)
        if self._on_retry is not None:
            self._on_retry(reason, seconds)
        self._sleep(seconds)


def _with_api_version(url: str, api_version: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "api-version"]
    query.insert(0, ("api-version", api_version))
    return urlunsplit(parts._replace(query=urlencode(query, safe="$")))


def _link_key(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
