"""Who changed what, when: Azure Resource Graph ``resourcechanges`` as the ``changes`` table.

:func:`fetch_changes` POSTs one KQL query over ARG's ``resourcechanges`` table per request
scope (the tenant, management groups, or batches of subscriptions: as :func:`fetch_graph`),
through the same :class:`~mlreg_frames.sources.graphclient.GraphClient` (token guard, retries,
quota pacing, 429 waits), paged to the end with ``$skipToken`` by
:func:`~mlreg_frames.sources.graphread.read_scope`, whose ``fetch_errors`` rules apply too
(``failed``, ``truncated``, ``partial``). The query projects ``id`` (ARG pages stably only on
it) and ``properties``; ``properties.changes`` is exploded in Python by
:func:`mlreg_frames.flatten.changes.explode_changes`.

ARG keeps change records for a limited time (14 days today). Nothing here assumes it: the
oldest change actually returned is recorded (``ChangeSet.oldest``), and when the window asked
for starts more than :data:`WINDOW_SLACK` before it, ``ChangeSet.warnings`` says so (the lake,
:func:`mlreg_frames.changes`, covers older spans).

Example::

    >>> query = changes_query(7, ["microsoft.storage/storageaccounts"])
    >>> query.split(" | ")[0], query.split(" | ")[2:]
    ('resourcechanges', ['where changeTime > ago(7d)', "where targetType in~ \
('microsoft.storage/storageaccounts')", 'project id, properties'])
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import requests

from .. import schema
from ..errors import FetchError, InvalidArgumentError
from ..flatten.changes import REGISTRY_TYPE, ChangeSet, explode_changes
from ..tables import RegistryTables
from .arguments import CommonArguments, number_argument
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
from .graphread import GRAPH_API_VERSION, problems, read_scope
from .graphscope import MAX_SUBSCRIPTIONS_PER_REQUEST, MAX_TOP, graph_scopes
from .limits import FetchLimits

__all__ = ["CHANGE_TYPES_DEFAULT", "WINDOW_SLACK", "changes_query", "fetch_changes"]

log = logging.getLogger(__name__)

CHANGE_TYPES_DEFAULT = (
    REGISTRY_TYPE,
    "microsoft.storage/storageaccounts",
    "microsoft.containerregistry/registries",
)
"""The resource types whose changes are asked for by default: registries and backing accounts."""

WINDOW_SLACK = pd.Timedelta(days=1)
"""How far the window may start before the oldest change returned without a warning (a quiet
day is not a gap in ARG's records)."""

_TYPE = re.compile(r"^[a-z0-9.]+(/[a-z0-9.]+)+$")


def changes_query(days: float, resource_types: Iterable[str]) -> str:
    """The KQL over ``resourcechanges``: changes detected in the last ``days`` of these types.

    Raises:
        InvalidArgumentError: a type is not ``namespace/type`` (so it cannot change the query).
    """
    types = []
    for value in resource_types:
        text = str(value).strip().lower()
        if not _TYPE.match(text):
            raise InvalidArgumentError(
                f"{value!r} is not a resource type (namespace/type, e.g. "
                "microsoft.storage/storageaccounts); check resource_types",
                argument="resource_types",
            )
        types.append(text)
    if not types:
        raise InvalidArgumentError("resource_types is empty; name at least one type",
                                   argument="resource_types")  # fmt: skip
    span = f"{days:g}d"
    listed = ", ".join(f"'{t}'" for t in dict.fromkeys(types))
    return (
        "resourcechanges | extend changeTime = todatetime(properties.changeAttributes.timestamp), "
        "targetType = tolower(tostring(properties.targetResourceType)) "
        f"| where changeTime > ago({span}) | where targetType in~ ({listed}) "
        "| project id, properties"
    )


def _owners(tables: RegistryTables | None) -> dict[str, str]:
    """Lower-cased resource id -> registry id: each registry, and the accounts it names."""
    if tables is None:
        return {}
    if not isinstance(tables, RegistryTables):
        raise InvalidArgumentError(
            f"tables must be RegistryTables (from fetch_registries, flatten or read_parquet), "
            f"got {type(tables).__name__}",
            argument="tables",
        )
    owners = {str(r): str(r) for r in tables.registries["registry_id"].dropna()}
    for frame in (tables.storage, tables.acr):
        pairs = frame[["resource_id", "registry_id"]].dropna()
        for rid, reg in zip(pairs["resource_id"], pairs["registry_id"], strict=True):
            owners.setdefault(str(rid).rstrip("/").lower(), str(reg))
    return owners


def _window_warnings(since: pd.Timestamp, oldest: pd.Timestamp | None, days: float) -> list[str]:
    if oldest is None:
        return [
            f"Resource Graph returned no change in the last {days:g} days; older changes (and "
            "changes ARG does not track) come from the lake: mlreg_frames.changes(lake=...)"
        ]
    if since < oldest - WINDOW_SLACK:
        return [
            f"the window asked for starts {since:%Y-%m-%d %H:%M} UTC, more than a day before "
            f"the oldest change Resource Graph returned ({oldest:%Y-%m-%d %H:%M} UTC): ARG keeps "
            "change records for a limited time (14 days today), so earlier changes may be "
            "missing; the lake (mlreg_frames.changes(lake=...)) covers older spans"
        ]
    return []


def fetch_changes(
    tables: RegistryTables | None = None,
    *,
    days: float = 14,
    resource_types: Iterable[str] | None = None,
    subscription_ids: str | Iterable[str] | None = None,
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
    session: requests.Session | None = None,
    limits: FetchLimits | None = None,
) -> ChangeSet:
    """Read the change records of Resource Graph's ``resourcechanges``, one row per property.

    Args:
        tables: registry tables (a fetch, ``flatten`` or ``read_parquet``): only changes of
            these registries and the storage accounts and ACRs they name are kept, each row's
            ``registry_id`` is filled, and their subscriptions are asked when
            ``subscription_ids`` and ``management_groups`` are None.
        days: how far back to ask (``ago(<days>d)``); ARG keeps about 14 days.
        resource_types: the types asked for (default :data:`CHANGE_TYPES_DEFAULT`).
        subscription_ids, management_groups, credential, endpoint, cloud, timeout,
            max_attempts, max_retry_after, backoff_base, top, batch_size,
            allow_partial_scopes, session, limits: as for
            :func:`~mlreg_frames.sources.graph.fetch_graph`.

    Returns:
        A :class:`~mlreg_frames.flatten.changes.ChangeSet`: ``changes`` (the ``changes``
        table, newest first), ``fetch_errors``, ``oldest``, ``since``, ``warnings``.

    Raises:
        FetchError: every request scope failed, or the arguments are wrong.

    Example::

        >>> found = fetch_changes(days=7)                     # doctest: +SKIP
        >>> found.changes[["time", "property", "old", "new", "changed_by"]].head()  # doctest: +SKIP
    """
    common = CommonArguments.checked(
        subscription_ids, None, endpoint, timeout, max_attempts, max_retry_after,
        backoff_base, credential, None,
    )  # fmt: skip
    number_argument("days", days, 0)
    if not 0 < days <= 3650:
        raise InvalidArgumentError(f"days must be above 0 and at most 3650, got {days!r}",
                                   argument="days")  # fmt: skip
    if not 1 <= top <= MAX_TOP:
        raise FetchError(f"top={top} is out of range; Resource Graph pages hold 1 to {MAX_TOP}")
    owners = _owners(tables)
    subs = common.subscription_ids
    if subs is None and management_groups is None and tables is not None:
        subs = sorted({rid.split("/")[2] for rid in owners if rid.startswith("/subscriptions/")})
        if not subs:  # no registry: nothing of theirs can have changed
            subs = None
    query = changes_query(days, resource_types or CHANGE_TYPES_DEFAULT)
    scopes = graph_scopes(subs, management_groups, batch_size)
    endpoint = check_endpoint(resolve_endpoint(endpoint, cloud))
    if credential is None:
        credential = default_credential(endpoint)
    own_session = session is None
    if session is None:
        session = make_session(2, loopback=is_loopback(origin(endpoint)[1]))
    policy = RetryPolicy(max_attempts, max_retry_after, backoff_base)
    client = GraphClient(endpoint, credential, session=session, timeout=common.timeout,
                         retry=policy, limits=limits)  # fmt: skip
    now = datetime.now(timezone.utc)
    since = pd.Timestamp(now - timedelta(days=days))
    rows: list[Any] = []
    errors: list[dict[str, Any]] = []
    failures = []
    try:
        for scope in scopes:  # one at a time: ARG's quota is per user, not per scope
            read = read_scope(client, scope, query, top, allow_partial_scopes, None, None)
            rows += [row for _, page in read.pages for row in page.registries]
            errors += problems(scope, read, allow_partial_scopes)
            if read.error is not None:
                failures.append(read.error)
    finally:
        if own_session:
            session.close()
    if failures and len(failures) == len(scopes):
        if len(failures) == 1:
            raise failures[0]
        raise FetchError(
            f"all {len(scopes)} Resource Graph change queries failed; the first: {failures[0]}",
            scope=failures[0].scope,
        )
    for row in errors:  # graphread speaks of registries; these scopes held change records
        row["message"] = str(row["message"]).replace("registries", "change records")
    changes = explode_changes(rows, owners)
    if tables is not None:
        changes = changes[changes["resource_id"].isin(list(owners))].reset_index(drop=True)
    times = changes["time"].dropna()
    oldest = times.min() if len(times) else None
    notes = _window_warnings(since, oldest, days)
    for note in notes:
        log.warning("%s", note)
    frame = pd.DataFrame(errors, columns=list(schema.FETCH_ERRORS.column_names))
    return ChangeSet(
        changes=changes,
        fetch_errors=schema.conform("fetch_errors", frame).sort_values("scope", ignore_index=True),
        oldest=oldest,
        since=since,
        warnings=notes,
        provenance={
            "source": "graph",
            "endpoint": endpoint,
            "api_version": GRAPH_API_VERSION,
            "query": query,
            "fetched_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "scopes": [path for scope in scopes for path in scope.paths],
            "quota_waited_s": round(client.pacer.waited, 3),
        },
    )
