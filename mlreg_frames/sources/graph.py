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
bodies live in :mod:`mlreg_frames.sources.graphclient`; ARG's row shape is read by
:mod:`mlreg_frames.flatten.graphrow`.

Example::

    >>> print(registry_query("rg-ml").replace(" | ", "\\n| "))
    resources
    | where type =~ 'microsoft.machinelearningservices/registries'
    | where resourceGroup =~ 'rg-ml'
    >>> [len(b) for b in batches([f"s{i}" for i in range(2500)])]
    [1000, 1000, 500]
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from .. import schema
from ..errors import FetchError, FlattenError, PaginationError
from ..flatten.engine import flatten
from ..pages import Page, write_page
from ..tables import RegistryTables
from .auth import (
    TokenCredential,
    check_endpoint,
    default_credential,
    is_loopback,
    origin,
    resolve_endpoint,
)
from .client import ListPage, RetryPolicy, make_session
from .graphclient import GraphClient

__all__ = [
    "GRAPH_API_VERSION",
    "GRAPH_PATH",
    "MAX_SUBSCRIPTIONS_PER_REQUEST",
    "MAX_TOP",
    "GraphScope",
    "batches",
    "fetch_graph",
    "registry_query",
]

log = logging.getLogger(__name__)

GRAPH_API_VERSION = "2024-04-01"
"""The ``Microsoft.ResourceGraph`` api-version of the ``Resources`` query."""

GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
"""Where Resource Graph queries are POSTed, under the ARM endpoint."""

MAX_TOP = 1000
"""The largest ``$top`` (rows per page) Resource Graph accepts."""

MAX_SUBSCRIPTIONS_PER_REQUEST = 1000
"""The most subscriptions sent in one query; longer lists are split into batches."""

_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")
_MG_PATH = "/providers/Microsoft.Management/managementGroups/"


def registry_query(resource_group: str | None = None) -> str:
    """The KQL selecting registries (in one resource group, by name, when given).

    Raises:
        FetchError: ``resource_group`` is not a valid resource group name (so it cannot
            change the query).
    """
    query = "resources | where type =~ 'microsoft.machinelearningservices/registries'"
    if resource_group is None:
        return query
    if not _RG_NAME.match(resource_group) or resource_group.endswith("."):
        raise FetchError(
            f"{resource_group!r} is not a resource group name (letters, digits, -_.() up to "
            "90 characters, not ending in '.'); check --resource-group"
        )
    return query + f" | where resourceGroup =~ '{resource_group}'"


def batches(items: list[str], size: int = MAX_SUBSCRIPTIONS_PER_REQUEST) -> list[list[str]]:
    """``items`` cut into lists of at most ``size`` (in order)."""
    size = max(1, min(size, MAX_SUBSCRIPTIONS_PER_REQUEST))
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class GraphScope:
    """One request scope: the tenant, some management groups, or a batch of subscriptions.

    Example::

        >>> GraphScope(subscriptions=("a", "b"), index=1).label
        '/subscriptions (batch 2: a .. b)'
        >>> GraphScope(management_groups=("Prod",)).paths
        ['/providers/Microsoft.Management/managementGroups/Prod']
    """

    subscriptions: tuple[str, ...] = ()
    management_groups: tuple[str, ...] = ()
    index: int = 0

    @property
    def is_tenant(self) -> bool:
        return not self.subscriptions and not self.management_groups

    @property
    def paths(self) -> list[str]:
        """The ARM scopes inside this request (``/`` for the tenant)."""
        if self.subscriptions:
            return [f"/subscriptions/{sub}" for sub in self.subscriptions]
        if self.management_groups:
            return [_MG_PATH + mg for mg in self.management_groups]
        return ["/"]

    @property
    def label(self) -> str:
        """The scope as ``fetch_errors.scope`` and messages show it."""
        paths = self.paths
        if len(paths) == 1:
            return paths[0]
        if self.subscriptions:
            return f"/subscriptions (batch {self.index + 1}: {paths[0][15:]} .. {paths[-1][15:]})"
        return f"{_MG_PATH}{{{','.join(self.management_groups)}}}"

    @property
    def slug(self) -> str:
        """A file-name-safe prefix for this request's pages in a raw archive."""
        if self.subscriptions:
            return f"graph-subscriptions-{self.index:04d}"
        if self.management_groups:
            name = re.sub(r"[^A-Za-z0-9._-]", "_", "+".join(self.management_groups))[:80]
            return f"graph-mg-{name}"
        return "graph-tenant"

    def body(self, query: str, top: int, allow_partial: bool) -> dict[str, Any]:
        """The ``QueryRequest`` of this scope's first page."""
        options: dict[str, Any] = {"$top": top, "resultFormat": "objectArray"}
        if allow_partial and not self.subscriptions:
            options["allowPartialScopes"] = True
        body: dict[str, Any] = {"query": query, "options": options}
        if self.subscriptions:
            body["subscriptions"] = list(self.subscriptions)
        if self.management_groups:
            body["managementGroups"] = list(self.management_groups)
        return body


def _unique(values: str | Iterable[str] | None, *, lower: bool) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: dict[str, None] = {}
    for value in values:
        text = str(value).strip()
        if text:
            out.setdefault(text.lower() if lower else text)
    return list(out)


def graph_scopes(
    subscription_ids: str | Iterable[str] | None,
    management_groups: str | Iterable[str] | None,
    batch_size: int = MAX_SUBSCRIPTIONS_PER_REQUEST,
) -> list[GraphScope]:
    """The request scopes for the arguments of :func:`fetch_graph`.

    Raises:
        FetchError: both subscriptions and management groups were given.
    """
    subs = _unique(subscription_ids, lower=True)
    groups = _unique(management_groups, lower=False)
    if subs and groups:
        raise FetchError(
            "pass subscription ids or management groups, not both: Resource Graph reads "
            "every subscription under a management group already"
        )
    if groups:
        return [GraphScope(management_groups=tuple(groups))]
    if subscription_ids is not None and not subs:
        raise FetchError("subscription_ids is empty; pass at least one id, or None for all")
    return [
        GraphScope(subscriptions=tuple(b), index=i) for i, b in enumerate(batches(subs, batch_size))
    ] or [GraphScope()]


def _row(path: str, outcome: str, exc: BaseException | None, message: str) -> dict[str, Any]:
    sub = path[15:] if path.startswith("/subscriptions/") else None
    code = getattr(exc, "code", None) or (None if exc is None else type(exc).__name__)
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
    """What one request scope gave: named pages, and what was wrong with the answer."""

    pages: list[tuple[str, Page]]
    error: FetchError | None = None
    truncated: bool = False
    rows: int = 0


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
            received = client.post_json(url, body, scope=scope.label)
            rows, token = _check_page(received, scope, seen)
        except FetchError as exc:
            read.error = exc
            return read
        read.truncated |= _is_true(received.body.get("resultTruncated"))
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


def _problems(scope: GraphScope, read: _Read, allow_partial: bool) -> list[dict[str, Any]]:
    """The ``fetch_errors`` rows of one request scope: failed, else truncated, else partial.

    One row per subscription or management group of the request, as for a failure: any of
    them may be missing rows (and :func:`mlreg_frames.lake.diff` reads them so).
    """
    partial = allow_partial and not scope.subscriptions
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
    if partial:
        message = (
            f"allowPartialScopes was on for {scope.label}: Resource Graph may have left out "
            "subscriptions beyond its limit without saying so; pass subscription ids (sent "
            "in batches of 1,000) for a complete answer"
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
) -> RegistryTables:
    """Read registries with Azure Resource Graph (``fetch_registries(source="graph")``).

    Args:
        subscription_ids: a subscription id or a list (sent in batches of ``batch_size``);
            None with no ``management_groups``: the whole tenant, in one paged query.
        resource_group: only registries in resource groups of this name.
        management_groups: management group names or ids: every subscription under them.
        credential, endpoint, cloud, timeout, max_attempts, max_retry_after, backoff_base,
            progress, raw_dir, session: as for :func:`~mlreg_frames.fetch_registries`.
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
    client = GraphClient(endpoint, credential, session=session, timeout=timeout, retry=policy)
    raw = Path(raw_dir) if raw_dir is not None else None
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="graph pages", unit="page", file=sys.stderr)
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
