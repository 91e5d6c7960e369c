"""Fetch registries with Azure Resource Graph: one paged query per tenant, group or batch.

``fetch_registries(source="graph")`` lands here. Instead of listing subscriptions and asking
each one, it POSTs one KQL query to ``{endpoint}/providers/Microsoft.ResourceGraph/resources``
(api-version 2024-04-01) per *request scope*:

* the whole tenant (no subscriptions, no management groups; no ``Subscriptions - List``);
* the management groups given (one request for all of them; ARG answers each row once);
* explicit subscriptions, in batches of at most 1,000 per request.

Each request scope is paged to its end with ``$skipToken`` (the same query and scopes sent
again), ``$top`` rows at a time (at most 1,000), ``max_pages`` pages at most. Answers that may
lack rows are recorded, never silent (:mod:`mlreg_frames.sources.graphread`): a
``truncated`` row of ``fetch_errors`` for ``resultTruncated`` or fewer rows than
``totalRecords``, a ``partial`` row when ARG says it cut a tenant or management-group scope
(``x-ms-tenant-subscription-limit-hit``), and ``failed`` rows for a request scope that fails
(one per subscription or management group in it). Retries, the token guard, quota pacing and
error bodies live in :mod:`mlreg_frames.sources.graphclient`, the query and request scopes in
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from .. import schema
from ..errors import FetchError, FlattenError
from ..flatten.engine import flatten
from ..pages import Page
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
from .client import RetryPolicy, make_session
from .graphclient import GraphClient
from .graphread import GRAPH_API_VERSION, GRAPH_PATH, ScopeRead, error_row, problems, read_scope
from .graphscope import (
    MAX_SUBSCRIPTIONS_PER_REQUEST,
    MAX_TOP,
    GraphScope,
    graph_scopes,
    registry_query,
)
from .graphsubs import graph_subscriptions
from .limits import FetchLimits

__all__ = ["GRAPH_API_VERSION", "GRAPH_PATH", "fetch_graph"]

log = logging.getLogger(__name__)


def _flatten(
    reads: dict[GraphScope, ScopeRead], provenance: dict[str, Any], rows: list[dict[str, Any]]
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
                    error_row(p, "failed", exc, f"{exc}; the scope was left out")
                    for p in scope.paths
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
    reads: dict[GraphScope, ScopeRead] = {}
    try:
        for scope in scopes:  # one at a time: ARG's quota is per user, not per scope
            reads[scope] = read_scope(client, scope, query, top, allow_partial_scopes, raw, bar)
            if reads[scope].error is not None:
                log.info("querying %s failed: %s", scope.label, reads[scope].error)
    except BaseException:
        if own_session:
            session.close()
        raise
    finally:
        if bar is not None:
            bar.close()
    failures = [read.error for read in reads.values() if read.error is not None]
    if failures and len(failures) == len(reads):
        if own_session:
            session.close()
        if len(failures) == 1:
            raise failures[0]
        raise FetchError(
            f"all {len(reads)} Resource Graph requests failed; the first: {failures[0]}",
            scope=failures[0].scope,
        )
    rows = [
        row for scope, read in reads.items() for row in problems(scope, read, allow_partial_scopes)
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
    try:
        tables.subscriptions = graph_subscriptions(client, reads, rows)
    finally:
        if own_session:
            session.close()
    return tables
