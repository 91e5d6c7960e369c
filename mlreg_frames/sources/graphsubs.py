"""The subscriptions of a Resource Graph fetch: ``resourcecontainers``, one query per scope.

After the registry query, each request scope is asked once more for its subscriptions
(``resourcecontainers | where type == 'microsoft.resources/subscriptions'``): their display
names, states and tenants. The answer is best effort: a query that fails leaves the
subscriptions it covered by id only (``listed`` false); it never fails the fetch.

Example::

    >>> print(SUBSCRIPTIONS_QUERY.split("|")[0].strip())
    resourcecontainers
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..flatten.subscriptions import from_graph_row, is_subscription_id, subscriptions_frame
from .graphclient import GraphClient
from .graphread import ScopeRead, read_scope
from .graphscope import MAX_TOP, GraphScope

__all__ = ["SUBSCRIPTIONS_QUERY", "graph_subscriptions"]

log = logging.getLogger(__name__)

SUBSCRIPTIONS_QUERY = (
    "resourcecontainers | where type == 'microsoft.resources/subscriptions' "
    "| project id, name, type, tenantId, subscriptionId, properties"
)
"""The KQL of the subscriptions of a request scope."""


def graph_subscriptions(
    client: GraphClient,
    reads: Mapping[GraphScope, ScopeRead],
    rows: list[dict[str, Any]],
) -> pd.DataFrame:
    """The ``subscriptions`` table of a graph fetch: names from ARG, outcomes from the fetch.

    Outcome per subscription: the ``fetch_errors`` row naming it (``failed``,
    ``truncated``, ``partial``), else the outcome of a row for its whole request scope (a
    tenant or management group), else ``fetched``.
    """
    entries: list[dict[str, Any]] = []
    outcomes: dict[str, str | None] = {}
    by_sub = {r["subscription_id"]: r["outcome"] for r in rows if r.get("subscription_id")}
    by_scope = {r["scope"]: r["outcome"] for r in rows}
    for scope, read in reads.items():
        found: list[dict[str, Any]] = []
        answer = read_scope(client, scope, SUBSCRIPTIONS_QUERY, MAX_TOP, True, None, None)
        if answer.error is not None:
            log.info("the subscriptions of %s could not be read: %s", scope.label, answer.error)
        for _, page in answer.pages:
            found += [
                from_graph_row(row)
                for row in page.registries
                if isinstance(row, dict) and is_subscription_id(row.get("subscriptionId"))
            ]
        entries += found
        whole = next((by_scope[p] for p in scope.paths if p in by_scope), None)
        subs = {str(e["subscriptionId"]).lower() for e in found} | set(scope.subscriptions)
        for sub in subs:
            outcomes[sub] = by_sub.get(sub) or whole or "fetched"
        if read.error is not None:
            for sub in scope.subscriptions:
                outcomes[sub] = "failed"
    return subscriptions_frame(entries, outcomes, source="Resource Graph resourcecontainers")
