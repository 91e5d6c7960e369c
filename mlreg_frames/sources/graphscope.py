"""What a Resource Graph fetch asks: the query, and the request scopes it is sent for.

A *request scope* is one paged query: the whole tenant (no subscriptions, no management
groups), the management groups given (all in one request), or a batch of at most 1,000
subscriptions. :class:`GraphScope` builds its ``QueryRequest`` body and names it for
``fetch_errors`` and the raw archive. Pure: no I/O.

Example::

    >>> print(registry_query("rg-ml").replace(" | ", "\\n| "))
    resources
    | where type =~ 'microsoft.machinelearningservices/registries'
    | where resourceGroup =~ 'rg-ml'
    >>> [len(b) for b in batches([f"s{i}" for i in range(2500)])]
    [1000, 1000, 500]
    >>> [scope.label for scope in graph_scopes(None, ["Prod"])]
    ['/providers/Microsoft.Management/managementGroups/Prod']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import FetchError, InvalidArgumentError

__all__ = [
    "MAX_SUBSCRIPTIONS_PER_REQUEST",
    "MAX_TOP",
    "GraphScope",
    "batches",
    "graph_scopes",
    "registry_query",
]

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
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(
                f"every management group or subscription id must be a non-empty str, got {value!r}",
                argument="management_groups" if not lower else "subscription_ids",
            )
        text = value.strip()
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
    if management_groups is not None and not groups:
        # an empty name must not widen the query to the whole tenant
        raise InvalidArgumentError(
            f"management_groups must name at least one management group, got {management_groups!r}",
            argument="management_groups",
        )
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
