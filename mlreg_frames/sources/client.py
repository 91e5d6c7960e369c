"""HTTP to Azure Resource Manager: sessions, retries, nextLink, ARM error bodies.

Policy lives here; scopes and concurrency live in :mod:`mlreg_frames.sources.fetch`, who may
receive a token in :mod:`mlreg_frames.sources.auth`. What a failed answer means (retry or not,
how long to wait, which :class:`~mlreg_frames.errors.ArmError`) is decided in
:mod:`mlreg_frames.sources.policy`, whose public names this module re-exports. What this module
guarantees:

* the bearer token goes only to the configured endpoint (same scheme, host and port), decided
  on the *prepared* request's URL with urllib3's parser, as the connection pool decides it
  (:mod:`mlreg_frames.sources.guard`); redirects are not followed, and a ``nextLink`` to
  another host, or one parsers could read differently, is refused before any request is
  made (:class:`~mlreg_frames.errors.InsecureEndpointError`);
* a ``nextLink`` is followed only along the list being read (its path, as the guard's parser
  reads it, is the list's own, in any case): anything else is a
  :class:`~mlreg_frames.errors.PaginationError` (``NextLinkOutOfScope``), nothing sent;
* every page is asked with the client's api-version (a ``nextLink``'s own is replaced, as
  Azure's SDKs do), so pages and provenance agree;
* bodies are streamed under :class:`~mlreg_frames.sources.limits.FetchLimits` (decompressed
  bytes per page, a total deadline per request), error and ``3xx`` bodies under
  :data:`ERROR_BODY_BYTES` (``Session.send`` is not used: it reads a redirect's whole body),
  and pages per listing are bounded;
* JSON is parsed with orjson from the raw bytes (the stdlib parser takes over for what orjson
  refuses but JSON allows: lone surrogates, integers beyond 64 bits);
* 429 waits for ``Retry-After`` (seconds or an HTTP date) up to a logged cap; 5xx and dropped
  connections back off exponentially with jitter; attempts are bounded; timeouts are set;
* a ``nextLink`` seen twice raises :class:`~mlreg_frames.errors.PaginationError`;
* ARM ``ErrorResponse`` bodies become :class:`~mlreg_frames.errors.ArmError` with status,
  code, message, target, ``x-ms-request-id`` and the scope, and a hint on what to do;
* the token is never logged, never part of an exception (or its causes), a repr or a page;
  any other failure inside a request is a :class:`~mlreg_frames.errors.FetchError` whose
  ``code`` names it.

Example::

    >>> from mlreg_frames.sources.auth import StaticTokenCredential
    >>> client = ArmClient("http://127.0.0.1:8080", StaticTokenCredential("t"))
    >>> client.url("/subscriptions", "2022-12-01")
    'http://127.0.0.1:8080/subscriptions?api-version=2022-12-01'
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.structures import CaseInsensitiveDict

from ..errors import (
    FetchError,
    InsecureEndpointError,
    LimitExceededError,
    MlregFramesError,
    PaginationError,
)
from .auth import TokenCredential, TokenProvider, check_endpoint, is_loopback, origin, token_scope
from .guard import REDACTOR, Origin, guarded_logger, request_path
from .limits import FetchLimits, deadline_exceeded, read_body
from .policy import RETRYABLE_ERRORS, RetryPolicy, arm_error, parse_retry_after, scrub
from .watchdog import WatchedAdapter, armed

__all__ = [
    "ERROR_BODY_BYTES",
    "RETRYABLE_ERRORS",
    "ArmClient",
    "FetchLimits",
    "ListPage",
    "RetryPolicy",
    "make_session",
    "parse_json",
    "parse_retry_after",
]

log = guarded_logger(__name__)

# RFC 3986 unreserved, sub-delims, ':', '@', '/', '?' and '%': the tail of a plain URL
_PLAIN_TAIL = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_DIGITS_AS_9 = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_RUN = b"9" * 19  # 19 digits in a row: perhaps an integer orjson would round

ERROR_BODY_BYTES = 2**20
"""Most bytes of an error answer's body read (for its ARM error code and message)."""


def make_session(pool_size: int = 10, *, loopback: bool = False) -> requests.Session:
    """A ``requests.Session`` whose connection pool holds ``pool_size`` connections per host.

    Its connections report to the deadline watchdog (:mod:`.watchdog`), so ``request_timeout``
    bounds the wait for headers too. Retries are ours, not urllib3's. For loopback endpoints
    proxy variables are ignored, so a local emulator is reached directly.
    """
    session = requests.Session()
    adapter = WatchedAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if loopback:
        session.trust_env = False
    return session


def parse_json(content: bytes) -> Any:
    """JSON from raw bytes: orjson, or the stdlib where orjson is stricter than JSON.

    orjson refuses lone surrogates (``"\\ud800"``), numbers beyond a double and a UTF-8
    byte-order mark, and turns integers beyond 64 bits into floats; the stdlib reads them
    exactly, so it takes every body orjson refuses and every body with a run of 19 digits.

    Example::

        >>> parse_json(b'{"value": [1, 18446744073709551616]}')
        {'value': [1, 18446744073709551616]}
    """
    if _LONG_RUN not in content.translate(_DIGITS_AS_9):  # 25x quicker than a regex
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return json.loads(content)


class ListPage(NamedTuple):
    """One ARM list response as received: its JSON body, URL, time and request id, and the
    headers a source reads beyond those (Resource Graph's; None on the ARM path)."""

    body: dict[str, Any]
    url: str
    fetched_at: str
    request_id: str | None
    headers: Mapping[str, str] | None = None


class _Bearer(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer`` (also keeps ``requests`` from reading ~/.netrc)."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self._token
        return request

    def __repr__(self) -> str:
        return "_Bearer('***')"


class ArmClient:
    """GET (and POST) ARM operations: one endpoint, one credential, one policy, thread-safe.

    Args:
        endpoint: the ARM endpoint; the only origin the token is ever sent to.
        credential: anything with ``get_token(scope)`` (azure-identity credentials).
        session: a ``requests.Session`` to share (pool sized to your workers); a new one by default.
        timeout: (connect, read) seconds: the wait for a connection, and the longest silence
            while reading.
        retry: the :class:`RetryPolicy`.
        limits: the :class:`~mlreg_frames.sources.limits.FetchLimits` (pages per listing,
            bytes per page, total time per request).
        on_retry: called as ``on_retry(reason, wait_seconds)`` before each retry (progress bars).
        sleep: the sleep function (tests pass a recorder).
        clock: the monotonic clock the request deadlines are measured on.
    """

    def __init__(
        self,
        endpoint: str,
        credential: TokenCredential,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 60),
        retry: RetryPolicy | None = None,
        limits: FetchLimits | None = None,
        on_retry: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not isinstance(endpoint, str):
            raise InsecureEndpointError(f"endpoint must be a URL (a str), got {endpoint!r}")
        self.endpoint = check_endpoint(endpoint.rstrip("/"))
        self._origin: Origin = origin(self.endpoint)
        bare = urlsplit(self.endpoint)
        # the prefix of URLs that plainly stay on the endpoint (see _plain); None when the
        # endpoint has a path, a query or a fragment of its own
        self._plain_base = None if bare.path or bare.query or bare.fragment else self.endpoint + "/"
        self._tokens = TokenProvider(credential, token_scope(self.endpoint))
        self.session = session or make_session(loopback=is_loopback(self._origin.host))
        self.timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.retry = retry or RetryPolicy()
        self.limits = limits or FetchLimits()
        self._on_retry = on_retry
        self._sleep = sleep
        self._clock = clock
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

    def token(self) -> str:
        """A checked bearer token (cached): call it first to fail early on a bad credential."""
        return self._tokens.token()

    def url(self, path: str, api_version: str) -> str:
        """Absolute URL for an ARM path, with ``api-version`` set."""
        return _with_api_version(self.endpoint + "/" + path.lstrip("/"), api_version)

    def guard(self, url: str, scope: str | None = None) -> str:
        """Return ``url`` if it is clean and on the endpoint's origin (token-safe), else raise.

        Raises:
            InsecureEndpointError: ``url`` is refused; nothing was sent.
        """
        if self._plain(url):
            return url
        try:
            target = origin(url)
        except InsecureEndpointError as exc:
            exc.scope = scope
            if scope:
                exc.args = (f"{exc.args[0]} (while listing {scope})",)
            raise
        if target != self._origin:
            raise InsecureEndpointError(
                f"refusing to follow a link to {target} while listing {scope}: "
                f"only {self.endpoint} receives the token; nothing was sent. If this host is "
                "genuine ARM, pass it as endpoint=",
                url=url,
                scope=scope,
            )
        return url

    def _plain(self, url: str) -> bool:
        """``url`` is the endpoint, a ``/``, then only characters every parser reads alike.

        Such a URL cannot name another origin: for urllib3, ``requests`` and ``urlsplit``
        alike the authority ends at that ``/``, and the rest has no backslash, space, control
        or non-ASCII character, no ``#``. Every URL this client builds is one, so the full
        parse of :func:`~mlreg_frames.sources.guard.request_origin` (the largest cost of a
        request after the network) is spent only on the URLs a server sends.
        """
        base = self._plain_base
        return (
            base is not None
            and url.startswith(base)
            and _PLAIN_TAIL.fullmatch(url, len(base)) is not None
        )

    def _list_path(self, url: str) -> str:
        """The path ``url`` asks for, as compared for a ``nextLink`` (see :func:`_scope_path`)."""
        if self._plain(url):
            path = "/" + url[len(self.endpoint) + 1 :].split("?", 1)[0]
            if "%" not in path and "/." not in path:  # nothing the parser would rewrite
                return _scope_path(path)
        return _scope_path(request_path(url))

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
            FetchError: no answer after retries, a 2xx body that is not a JSON object, or
                another failure (its ``code`` names it).
            LimitExceededError: the body is too large or too slow.
            InsecureEndpointError: ``url`` is not on the endpoint's origin.
        """
        return self.send(
            "GET" if body is None else "POST",  # Resource Graph queries are POSTs
            url,
            json_body=body,
            scope=scope,
            subscription_id=subscription_id,
            resource_group=resource_group,
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        scope: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> ListPage:
        """Send one request (``GET``, or ``POST`` with ``json_body``) with retries and limits.

        The same guarantees as :meth:`get_json`, for any method: the prepared request's
        origin is checked, the body streamed under the limits, the token scrubbed from errors.
        """
        try:
            return self._send(method, url, json_body, scope, subscription_id, resource_group)
        except MlregFramesError as exc:
            REDACTOR.scrub(exc)
            raise
        except Exception as exc:  # anything else (a library's bug, an odd answer) has a code
            cause = REDACTOR.scrub(exc)
            failure = FetchError(
                f"{type(exc).__name__} while requesting {_short(url)} for {scope}: "
                f"{REDACTOR.redact(str(exc).splitlines()[0][:200]) if str(exc) else ''}; "
                "the request was abandoned",
                url=url,
                scope=scope,
                code=type(exc).__name__,
            )
        raise failure from cause

    def _send(
        self,
        method: str,
        url: str,
        json_body: Any,
        scope: str | None,
        subscription_id: str | None,
        resource_group: str | None,
    ) -> ListPage:
        self.guard(url, scope)
        policy, refreshed = self.retry, False
        for attempt in range(1, policy.max_attempts + 1):
            last = attempt == policy.max_attempts
            try:
                response, content = self._attempt(method, url, json_body, scope)
            except RETRYABLE_ERRORS as exc:
                scrub(exc)
                if last:
                    raise FetchError(
                        f"no answer from {self._origin.host} after {attempt} attempts while "
                        f"listing {scope} ({type(exc).__name__}); check the network or retry later",
                        url=url,
                        scope=scope,
                    ) from exc
                self._wait(policy.backoff(attempt, self._rng), type(exc).__name__, url)
                continue
            status = response.status_code
            if 200 <= status < 300:
                return self._parse(response, content, url, scope)
            if status == 401 and not refreshed and not last:
                refreshed = True  # an expired or revoked token: one fresh try
                self._tokens.token(force=True)
                continue
            if (status == 429 or status >= 500) and not last:
                self._wait(self._delay(response, attempt), f"HTTP {status}", url)
                continue
            raise arm_error(response, url, scope, subscription_id, resource_group)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self, method: str, url: str, json_body: Any, scope: str | None
    ) -> tuple[requests.Response, bytes]:
        """One request: prepare, check the prepared URL's origin, send, stream the body.

        Prepared from the session's headers and hooks only: its ``auth``, ``params`` and
        cookies are not ARM's business (the token is ours, ARM sets no cookies), and
        ``Session.prepare_request`` merging them costs more than the rest of the request.
        """
        headers = CaseInsensitiveDict(
            {k: v for k, v in self.session.headers.items() if v is not None}
        )
        headers["Accept"] = "application/json"
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers=headers,
            json=json_body,
            auth=_Bearer(self._tokens.token()),
            hooks=self.session.hooks,
        )
        self.guard(str(prepared.url), scope)  # what urllib3 will connect to, exactly
        deadline = self._clock() + self.limits.request_timeout
        connect, read = self.timeout
        settings = self._settings(str(prepared.url))
        # The watchdog holds the deadline while the status line and headers arrive too
        # (read_body checks it between body reads); see .watchdog.
        with armed(self.limits.request_timeout) as watch:
            try:
                response = self._transmit(
                    prepared, (connect, min(read, self.limits.request_timeout)), settings
                )
                ok = 200 <= response.status_code < 300
                try:
                    content = read_body(
                        response,
                        max_bytes=self.limits.max_page_bytes if ok else ERROR_BODY_BYTES,
                        deadline=deadline,
                        url=url,
                        scope=scope,
                        clock=self._clock,
                    )
                except (LimitExceededError, FetchError):
                    if ok:
                        raise
                    content = b""  # an error answer whose body is unreadable: the status counts
            except RETRYABLE_ERRORS:
                if watch.fired:  # the watchdog cut the connection at the deadline
                    raise deadline_exceeded(url, scope) from None
                raise
        response._content = content  # so response.json() reads it (ARM error bodies)
        return response, content

    def _settings(self, url: str) -> Mapping[str, Any]:
        """The session's proxies, verify and cert for ``url`` (the environment's when it
        trusts it, as ``requests`` decides; read once otherwise: nothing can change them)."""
        session = self.session
        if session.trust_env:
            return session.merge_environment_settings(url, {}, True, None, None)
        proxies = {k: v for k, v in session.proxies.items() if v is not None}
        return {"proxies": proxies, "verify": session.verify, "cert": session.cert}

    def _transmit(
        self,
        prepared: requests.PreparedRequest,
        timeout: tuple[float, float],
        settings: Mapping[str, Any],
    ) -> requests.Response:
        """Send ``prepared`` through the session's adapter; the body is left unread.

        Not ``Session.send``: even with ``allow_redirects=False`` it runs
        ``resolve_redirects`` on a 3xx with a ``Location``, which reads (and gunzips) the
        whole body, past every limit. The session's adapter (its pool, the watchdog) and
        response hooks are used as ``Session.send`` uses them; cookies are not kept (ARM sets
        none) and no redirect is ever followed.
        """
        adapter = self.session.get_adapter(str(prepared.url))
        response = adapter.send(
            prepared,
            stream=True,
            timeout=timeout,
            verify=settings.get("verify", True),
            cert=settings.get("cert"),
            proxies=settings.get("proxies") or {},
        )
        hooked = requests.hooks.dispatch_hook("response", prepared.hooks, response)
        return hooked if isinstance(hooked, requests.Response) else response

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
        :class:`~mlreg_frames.errors.PaginationError`; a link to another origin (or one that
        parsers could read differently) raises
        :class:`~mlreg_frames.errors.InsecureEndpointError` before anything is sent; a link
        whose path is not the list's own (another subscription, resource group or operation)
        raises :class:`~mlreg_frames.errors.PaginationError` (code ``NextLinkOutOfScope``)
        before anything is sent; more than ``limits.max_pages`` pages raise
        :class:`~mlreg_frames.errors.LimitExceededError` (code ``MaxPagesExceeded``). Every
        page is requested with ``api_version``: a link's own api-version is replaced, as
        Azure's SDKs do, so the pages, the raw archive and the provenance agree.
        """
        url: str | None = path_or_url
        if not path_or_url.lower().startswith(("http://", "https://")):
            url = self.url(path_or_url, api_version)
        list_path = self._list_path(self.guard(str(url), scope))
        seen: set[str] = set()
        count = 0
        while url:
            key = _link_key(url)
            if key in seen:
                raise PaginationError(
                    f"nextLink {_short(url)} came back a second time while listing {scope}: ARM "
                    "is looping; the pages read so far are kept, retry later",
                    url=url,
                    scope=scope,
                )
            if count >= self.limits.max_pages:
                raise LimitExceededError(
                    f"{scope} has more than {self.limits.max_pages:,} pages: the server keeps "
                    "sending new nextLinks; the pages read so far are kept. Raise max_pages "
                    "(--max-pages) if the scope is genuinely that large",
                    code="MaxPagesExceeded",
                    limit="max_pages",
                    url=url,
                    scope=scope,
                )
            seen.add(key)
            page = self.get_json(
                url, scope=scope, subscription_id=subscription_id, resource_group=resource_group
            )
            count += 1
            yield page
            url = self._next(page, scope, api_version, list_path)

    def _next(self, page: ListPage, scope: str, api_version: str, list_path: str) -> str | None:
        link = page.body.get("nextLink", page.body.get("NextLink"))
        if link is None or link == "":
            return None
        if not isinstance(link, str) or not link.lower().startswith(("http://", "https://")):
            raise PaginationError(
                f"nextLink {_short(repr(link))} on {_short(page.url)} is not an absolute URL; "
                "ARM sent a broken page: retry later or report the request id "
                f"{page.request_id or '(none)'} to Azure support",
                url=page.url,
                scope=scope,
            )
        self.guard(link, scope)  # before any other parser reads it
        path = request_path(link)  # a server's URL: always the full parse
        if _scope_path(path) != list_path:
            raise PaginationError(
                f"nextLink on {_short(page.url)} leads to {_short(path)}, outside the list being "
                f"read for {scope} ({list_path}): it was not requested, and the pages read "
                "before it are kept; retry later, or report the request id "
                f"{page.request_id or '(none)'} to Azure support",
                url=page.url,
                scope=scope,
                code="NextLinkOutOfScope",
            )
        return _with_api_version(link, api_version)  # ours on every page, as Azure's SDKs do

    def _parse(
        self, response: requests.Response, content: bytes, url: str, scope: str | None
    ) -> ListPage:
        request_id = response.headers.get("x-ms-request-id")
        try:
            body = parse_json(content)
        except ValueError as exc:
            raise FetchError(
                f"ARM answered {response.status_code} with a body that is not JSON while "
                f"listing {scope} (request id {request_id or 'none'}); retry later, and report "
                "the request id to Azure support if it persists",
                url=url,
                scope=scope,
                code=type(exc).__name__,
            ) from exc
        if not isinstance(body, dict):
            raise FetchError(
                f"ARM answered with a JSON {type(body).__name__}, not a list page, while "
                f"listing {scope} (request id {request_id or 'none'}); check the endpoint",
                url=url,
                scope=scope,
                code="NotAnObject",
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
    if "?" not in url and "#" not in url:  # a path of ours: nothing to replace
        return f"{url}?{urlencode([('api-version', api_version)])}"
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() != "api-version"
    ]
    query.insert(0, ("api-version", api_version))
    return urlunsplit(parts._replace(query=urlencode(query, safe="$")))


def _scope_path(path: str) -> str:
    """A list path as compared for a ``nextLink``: lower-case, without a trailing ``/``."""
    return path.rstrip("/").lower() or "/"


def _link_key(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
