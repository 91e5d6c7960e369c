"""Fetch registries with Azure Resource Graph: one paged query per tenant, group or batch.

``fetch_registries(source="graph")`` lands here. Instead of listing subscriptions and asking
each one, it POSTs one KQL query to ``{endpoint}/providers/Microsoft.ResourceGraph/resources``
(api-version 2024-04-01) per *request scope*:

* the whole tenant (no subscriptions, no management groups; no ``Subscriptions - List``);
* the management groups given (one request for all of them; ARG answers each row once);
* explicit subscriptions, in batches of at most 1,000 per request.

Each request scope is paged to its end with ``$skipToken`` (the same query and scopes sent
again), ``$top`` rows at a time (at most 1,000). Answers that may lack rows are recorded,
never silent: ``resultTruncated`` gives a ``truncated`` row of ``fetch_errors``, and a tenant
or management-group query sent with ``allowPartialScopes`` a ``partial`` row (ARG does not
say whether it cut the scope). A request scope that fails gives ``failed`` rows (one per
subscription or management group in it). Retries, the token guard, quota pacing and error
bodies live in :mod:`mlreg_frames.sources.graphclient`, the query and request scopes in
:mod:`mlreg_frames.sources.graphscope`; ARG's row shape is read by
:mod:`mlreg_frames.flatten.graphrow`.

Example::

    >>> tables = fetch_graph(management_groups=["Prod"])   # doctest: +SKIP
    >>> tables.fetch_errors[["scope", "outcome"]]           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from .. import schema
from ..errors import FetchError, FlattenError, LimitExceededError, PaginationError
from ..flatten.engine import flatten
from ..pages import Page, write_page
from ..tables import RegistryTables
from .arguments import CommonArguments
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .client import ListPage, RetryPolicy, make_session
from .graphclient import LIMIT_HIT, GraphClient, limit_hit
from .graphscope import (
    MAX_SUBSCRIPTIONS_PER_REQUEST,
    MAX_TOP,
    GraphScope,
    graph_scopes,
    registry_query,
)
from .limits import FetchLimits

__all__ = ["GRAPH_API_VERSION", "GRAPH_PATH", "fetch_graph"]

log = logging.getLogger(__name__)

GRAPH_API_VERSION = "2024-04-01"
"""The ``Microsoft.ResourceGraph`` api-version of the ``Resources`` query."""

GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
"""Where Resource Graph queries are POSTed, under the ARM endpoint."""


def _row(path: str, outcome: str, exc: BaseException | None, message: str) -> dict[str, Any]:
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
class _Read:
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


def _read_scope(
    client: GraphClient,
    scope: GraphScope,
    query: str,
    top: int,
    allow_partial: bool,
    raw_dir: Path | None,
    bar: Any,
) -> _Read:
    """Every page of one request scope, following ``$skipToken`` until it is absent."""
    url = client.url(GRAPH_PATH, GRAPH_API_VERSION)
    first = scope.body(query, top, allow_partial)
    read = _Read([])
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


def _problems(scope: GraphScope, read: _Read, allow_partial: bool) -> list[dict[str, Any]]:
    """The ``fetch_errors`` rows of one request scope: failed, else truncated, else partial.

    One row per subscription or management group of the request, as for a failure: any of
    them may be missing rows (and :func:`mlreg_frames.lake.diff` reads them so).
    """
    if read.error is not None:
        kept = len(read.pages)
        note = f" ({kept} page(s) read before the failure are kept)" if kept else ""
        return [_row(path, "failed", read.error, f"{read.error}{note}") for path in scope.paths]
    if read.truncated:
        message = (
            f"Resource Graph truncated the answer for {scope.label} (resultTruncated): "
            "registries are missing; pass fewer subscriptions per request or a resource "
            "group, or use source='arm' for this scope"
        )
        return [_row(path, "truncated", None, message) for path in scope.paths]
    if read.short:
        message = (
            f"Resource Graph announced {read.total:,} registries for {scope.label} "
            f"(totalRecords) but sent {read.rows:,} and no $skipToken: registries are "
            "missing; retry later, or use source='arm' for this scope"
        )
        return [_row(path, "truncated", _MISSING_ROWS, message) for path in scope.paths]
    if read.limit_hit:
        message = (
            f"Resource Graph answered {scope.label} for only part of its subscriptions "
            f"({LIMIT_HIT}: true; allowPartialScopes was on): the registries of the "
            "subscriptions beyond its limit are missing; pass subscription ids (sent in "
            "batches of 1,000) for a complete answer"
        )
        return [_row(path, "partial", _LIMIT_HIT, message) for path in scope.paths]
    if allow_partial and not scope.subscriptions and read.limit_hit is None:
        message = (
            f"allowPartialScopes was on for {scope.label} and Resource Graph did not say "
            f"({LIMIT_HIT} absent) whether it left out subscriptions beyond its limit; pass "
            "subscription ids (sent in batches of 1,000) for a complete answer"
        )
        return [_row(path, "partial", None, message) for path in scope.paths]
    return []


def _flatten(
    reads: dict[GraphScope, _Read], provenance: dict[str, Any], rows: list[dict[str, Any]]
) -> RegistryTables:
    """Flatten all pages in archive order; a request scope with a broken row is left out."""

    def ordered(scopes: Iterable[GraphScope]) -> list[Page]:
        named = [item for scope in scopes for item in reads[scope].pages]
        return [page for _, page in sorted(named, key=lambda item: item[0])]

    try:
        return flatten(ordered(reads), provenance=provenance)
    except FlattenError:
        good = []
        for scope, read in reads.items():
            try:
                flatten(ordered([scope]))
                good.append(scope)
            except FlattenError as exc:
                read.pages.clear()
                rows += [
                    _row(p, "failed", exc, f"{exc}; the scope was left out") for p in scope.paths
                ]
        return flatten(ordered(good), provenance=provenance)


class _PageBar:
    """A tqdm bar over pages that appears with the first page, so a query that fails at once
    prints only its one-line error."""

    def __init__(self) -> None:
        self._bar: Any = None

    def update(self, pages: int) -> None:
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc="graph pages", unit="page", file=sys.stderr)
        self._bar.update(pages)

    def set_postfix(self, **values: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(**values)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def fetch_graph(
    subscription_ids: str | Iterable[str] | None = None,
    resource_group: str | None = None,
    *,
    management_groups: str | Iterable[str] | None = None,
    credential: TokenCredential | None = None,
    endpoint: str = "https://management.azure.com",
    cloud: str | None = None,
    timeout: float | tuple[float, float] = (5, 60),
    max_attempts: int = 6,
    max_retry_after: float = 60.0,
    backoff_base: float = 0.5,
    top: int = MAX_TOP,
    batch_size: int = MAX_SUBSCRIPTIONS_PER_REQUEST,
    allow_partial_scopes: bool = False,
    progress: bool = False,
    raw_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
    limits: FetchLimits | None = None,
) -> RegistryTables:
    """Read registries with Azure Resource Graph (``fetch_registries(source="graph")``).

    Args:
        subscription_ids: a subscription id or a list (sent in batches of ``batch_size``);
            None with no ``management_groups``: the whole tenant, in one paged query.
        resource_group: only registries in resource groups of this name.
        management_groups: management group names or ids: every subscription under them.
        credential, endpoint, cloud, timeout, max_attempts, max_retry_after, backoff_base,
            progress, raw_dir, session: as for :func:`~mlreg_frames.fetch_registries`.
        limits: the :class:`~mlreg_frames.sources.limits.FetchLimits` (pages per query, bytes
            per page, total time per request); the defaults when None.
        top: rows per page (``$top``, 1 to 1,000).
        batch_size: subscriptions per request (1 to 1,000).
        allow_partial_scopes: let a tenant or management-group query answer for part of the
            subscriptions when there are more than ARG allows (recorded as a ``partial``
            row of ``fetch_errors``); otherwise such a query fails.

    Returns:
        RegistryTables; ``tenant_id`` is filled, ``created_*``/``last_modified_*`` are null
        (ARG has no ``systemData``); ``fetch_errors`` holds failed, truncated and partial
        scopes; ``provenance`` the endpoint, api version, query, time and scopes.

    Raises:
        FetchError: every request scope failed (an ArmError when there was one), the
            arguments conflict, or the endpoint is not safe for a token.

    Example::

        >>> tables = fetch_graph(management_groups=["Prod"])   # doctest: +SKIP
    """
    common = CommonArguments.checked(
        subscription_ids, resource_group, endpoint, timeout, max_attempts, max_retry_after,
        backoff_base, credential, raw_dir,
    )  # fmt: skip
    subscription_ids, resource_group = common.subscription_ids, common.resource_group
    timeout = common.timeout
    if not 1 <= top <= MAX_TOP:
        raise FetchError(
            f"top={top} is out of range; Resource Graph pages hold 1 to {MAX_TOP} rows"
        )
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    query = registry_query(resource_group)
    scopes = graph_scopes(subscription_ids, management_groups, batch_size)
    if credential is None:
        credential = default_credential(endpoint)
    own_session = session is None
    if session is None:
        session = make_session(2, loopback=is_loopback(origin(endpoint)[1]))
    policy = RetryPolicy(max_attempts, max_retry_after, backoff_base)
    client = GraphClient(
        endpoint, credential, session=session, timeout=timeout, retry=policy, limits=limits
    )
    raw = Path(raw_dir) if raw_dir is not None else None
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    bar = _PageBar() if progress else None
    reads: dict[GraphScope, _Read] = {}
    try:
        for scope in scopes:  # one at a time: ARG's quota is per user, not per scope
            reads[scope] = _read_scope(client, scope, query, top, allow_partial_scopes, raw, bar)
            if reads[scope].error is not None:
                log.info("querying %s failed: %s", scope.label, reads[scope].error)
    finally:
        if bar is not None:
            bar.close()
        if own_session:
            session.close()
    failures = [read.error for read in reads.values() if read.error is not None]
    if failures and len(failures) == len(reads):
        if len(failures) == 1:
            raise failures[0]
        raise FetchError(
            f"all {len(reads)} Resource Graph requests failed; the first: {failures[0]}",
            scope=failures[0].scope,
        )
    rows = [
        row for scope, read in reads.items() for row in _problems(scope, read, allow_partial_scopes)
    ]
    provenance = {
        "source": "graph",
        "endpoint": endpoint,
        "api_version": GRAPH_API_VERSION,
        "query": query,
        "fetched_at": fetched_at,
        "scopes": [path for scope in scopes for path in scope.paths],
        "quota_waited_s": round(client.pacer.waited, 3),
    }
    tables = _flatten(reads, provenance, rows)
    frame = pd.DataFrame(rows, columns=list(schema.FETCH_ERRORS.column_names))
    tables.fetch_errors = schema.conform("fetch_errors", frame).sort_values(
        "scope", ignore_index=True
    )
    return tables
