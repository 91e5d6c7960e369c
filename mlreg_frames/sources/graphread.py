"""One Resource Graph request scope: its pages read to the end, and what its answer lacked.

:func:`read_scope` POSTs the query of one request scope (the tenant, some management groups, a
batch of subscriptions) and follows ``$skipToken`` to the end, at most ``max_pages`` pages (more
fails the scope: ``MaxPagesExceeded``), archiving each page when asked. What the answers said
is kept in a :class:`ScopeRead`: ``resultTruncated``, the first page's ``totalRecords`` (rows
over all pages) and ``x-ms-tenant-subscription-limit-hit``; :func:`problems` turns it into
the scope's ``fetch_errors`` rows, so nothing missing goes unnoticed:

* ``failed``: a request failed (after retries), or the paging broke or ran past its limit;
* ``truncated``: ``resultTruncated`` was ``true``, or fewer rows arrived than ``totalRecords``
  announced with no ``$skipToken`` left (``error_code`` ``MissingRows``);
* ``partial``: ARG answered for only part of a tenant or management-group scope
  (``x-ms-tenant-subscription-limit-hit: true``, code ``SubscriptionLimitHit``), or
  ``allowPartialScopes`` was sent and ARG did not say either way.

Used by :func:`mlreg_frames.sources.graph.fetch_graph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FetchError, LimitExceededError, PaginationError
from ..pages import Page, write_page
from .client import ListPage
from .graphclient import LIMIT_HIT, GraphClient, limit_hit
from .graphscope import GraphScope

__all__ = ["GRAPH_API_VERSION", "GRAPH_PATH", "ScopeRead", "error_row", "problems", "read_scope"]

GRAPH_API_VERSION = "2024-04-01"
"""The ``Microsoft.ResourceGraph`` api-version of the ``Resources`` query."""

GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
"""Where Resource Graph queries are POSTed, under the ARM endpoint."""


def error_row(path: str, outcome: str, exc: BaseException | None, message: str) -> dict[str, Any]:
    """One ``fetch_errors`` row for the ARM scope ``path`` (its code from ``exc``, as for ARM)."""
    sub = path[15:] if path.startswith("/subscriptions/") else None
    code = getattr(exc, "code", None)
    if code is None and exc is not None:  # the client-side failure class, as for ARM
        cause = exc.__cause__
        code = type(cause if type(exc) is FetchError and cause is not None else exc).__name__
    return {
        "scope": path,
        "subscription_id": sub,
        "resource_group": None,
        "outcome": outcome,
        "http_status": getattr(exc, "status", None),
        "error_code": code,
        "message": message,
        "request_id": getattr(exc, "request_id", None),
    }


@dataclass
class ScopeRead:
    """What one request scope gave: named pages, and what was wrong with the answer.

    ``total`` is the first page's ``totalRecords`` (rows over all pages), ``limit_hit`` what
    ``x-ms-tenant-subscription-limit-hit`` said (None: never sent).
    """

    pages: list[tuple[str, Page]]
    error: FetchError | None = None
    truncated: bool = False
    rows: int = 0
    total: int | None = None
    limit_hit: bool | None = None

    @property
    def short(self) -> bool:
        """Fewer rows arrived than ``totalRecords`` announced, with no page left to ask for."""
        return self.total is not None and self.rows < self.total


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def read_scope(
    client: GraphClient,
    scope: GraphScope,
    query: str,
    top: int,
    allow_partial: bool,
    raw_dir: Path | None,
    bar: Any,
) -> ScopeRead:
    """Every page of one request scope, following ``$skipToken`` until it is absent."""
    url = client.url(GRAPH_PATH, GRAPH_API_VERSION)
    first = scope.body(query, top, allow_partial)
    read = ScopeRead([])
    seen: set[str] = set()
    token: str | None = None
    while True:
        body = first
        if token is not None:
            body = {**first, "options": {**first["options"], "$skipToken": token}}
        try:
            if len(read.pages) >= client.limits.max_pages:
                raise _too_many_pages(client.limits.max_pages, scope, url)
            received = client.post_json(url, body, scope=scope.label)
            rows, token = _check_page(received, scope, seen)
        except FetchError as exc:
            read.error = exc
            return read
        read.truncated |= _is_true(received.body.get("resultTruncated"))
        hit = limit_hit(received.headers)
        if hit is not None:
            read.limit_hit = bool(read.limit_hit) or hit
        if not read.pages:
            read.total = _total_records(received.body.get("totalRecords"))
        page = _page(received, rows)
        name = f"{scope.slug}.{len(read.pages):05d}.json"
        if raw_dir is not None:
            try:
                write_page(page, raw_dir / name)
            except OSError as exc:  # the archive was asked for: stop rather than lose it
                raise FetchError(
                    f"cannot write the raw archive {raw_dir / name}: {exc}; check the folder",
                    scope=scope.label,
                ) from exc
        read.pages.append((name, page))
        read.rows += len(rows)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(registries=read.rows, refresh=False)
        if token is None:
            return read


def _too_many_pages(limit: int, scope: GraphScope, url: str) -> LimitExceededError:
    return LimitExceededError(
        f"{scope.label} has more than {limit:,} Resource Graph pages: the server keeps sending "
        "new $skipTokens; the pages read so far are kept. Raise max_pages (--max-pages) if the "
        "scope is genuinely that large",
        code="MaxPagesExceeded",
        limit="max_pages",
        url=url,
        scope=scope.label,
    )


def _total_records(value: Any) -> int | None:
    """``totalRecords`` when it is a whole number (ARG's int64), else None (not checked)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _check_page(
    received: ListPage, scope: GraphScope, seen: set[str]
) -> tuple[list[Any], str | None]:
    """(rows, next $skipToken) of an answer; a broken answer or a looping token raises."""
    rows = received.body.get("data")
    if not isinstance(rows, list):
        shape = type(rows).__name__ if rows is not None else "no data"
        raise FetchError(
            f"Resource Graph answered {scope.label} with {shape} where a list of rows belongs "
            f"(request id {received.request_id or 'none'}); resultFormat objectArray was asked "
            "for: check the endpoint",
            url=received.url,
            scope=scope.label,
        )
    token = received.body.get("$skipToken")
    if token is None or token == "":
        return rows, None
    if not isinstance(token, str):
        raise PaginationError(
            f"Resource Graph sent a $skipToken that is not a string for {scope.label}; the pages "
            "read so far are kept, retry later",
            url=received.url,
            scope=scope.label,
        )
    if token in seen:
        raise PaginationError(
            f"Resource Graph sent the same $skipToken twice for {scope.label}: it is looping; "
            "the pages read so far are kept, retry later",
            url=received.url,
            scope=scope.label,
        )
    seen.add(token)
    return rows, token


def _page(received: ListPage, rows: list[Any]) -> Page:
    """An ARM-style page (``value``) holding ARG's rows and its other answer fields."""
    body = {k: v for k, v in received.body.items() if k != "data"}
    body["value"] = rows
    return Page(
        body,
        source=received.url,
        url=received.url,
        fetched_at=received.fetched_at,
        api_version=GRAPH_API_VERSION,
    )


_MISSING_ROWS = FetchError("", code="MissingRows")
_LIMIT_HIT = FetchError("", code="SubscriptionLimitHit")


def problems(scope: GraphScope, read: ScopeRead, allow_partial: bool) -> list[dict[str, Any]]:
    """The ``fetch_errors`` rows of one request scope: failed, else truncated, else partial.

    One row per subscription or management group of the request, as for a failure: any of
    them may be missing rows (and :func:`mlreg_frames.lake.diff` reads them so).
    """
    if read.error is not None:
        kept = len(read.pages)
        note = f" ({kept} page(s) read before the failure are kept)" if kept else ""
        return [
            error_row(path, "failed", read.error, f"{read.error}{note}") for path in scope.paths
        ]
    if read.truncated:
        message = (
            f"Resource Graph truncated the answer for {scope.label} (resultTruncated): "
            "registries are missing; pass fewer subscriptions per request or a resource "
            "group, or use source='arm' for this scope"
        )
        return [error_row(path, "truncated", None, message) for path in scope.paths]
    if read.short:
        message = (
            f"Resource Graph announced {read.total:,} registries for {scope.label} "
            f"(totalRecords) but sent {read.rows:,} and no $skipToken: registries are "
            "missing; retry later, or use source='arm' for this scope"
        )
        return [error_row(path, "truncated", _MISSING_ROWS, message) for path in scope.paths]
    if read.limit_hit:
        message = (
            f"Resource Graph answered {scope.label} for only part of its subscriptions "
            f"({LIMIT_HIT}: true; allowPartialScopes was on): the registries of the "
            "subscriptions beyond its limit are missing; pass subscription ids (sent in "
            "batches of 1,000) for a complete answer"
        )
        return [error_row(path, "partial", _LIMIT_HIT, message) for path in scope.paths]
    if allow_partial and not scope.subscriptions and read.limit_hit is None:
        message = (
            f"allowPartialScopes was on for {scope.label} and Resource Graph did not say "
            f"({LIMIT_HIT} absent) whether it left out subscriptions beyond its limit; pass "
            "subscription ids (sent in batches of 1,000) for a complete answer"
        )
        return [error_row(path, "partial", None, message) for path in scope.paths]
    return []
