"""The backing accounts from Azure Resource Graph: one query per batch of account ids.

``resources | where type in~ (storage accounts, registries) | where tolower(id) in (...)``,
scoped to the subscriptions of the batch and paged with ``$skipToken`` like the registry query
(the same client, quota pacing, page and byte limits). ARG returns the providers' ``properties``
bag, so the rows flatten exactly as ARM GET bodies do; the difference is what ARG says about an
account it does not return: nothing. An account asked for and not returned (deleted, or in a
resource group you cannot read) is a ``fetch_errors`` row with code ``NotReturned``, and stays
*unknown*.
"""

from __future__ import annotations

import re
from typing import Any

from ..flatten.walk import parse_arm_id
from .graphclient import GraphClient
from .graphread import problems, read_scope
from .graphscope import MAX_TOP, GraphScope

__all__ = ["IDS_PER_QUERY", "backing_query", "backing_scope_rows", "read_backing_graph"]

IDS_PER_QUERY = 200
"""Account ids per query: the KQL stays far below ARG's query-length limit."""

_SAFE_ID = re.compile(r"^[a-z0-9/._()\-]+$")
_TYPES = "'microsoft.storage/storageaccounts', 'microsoft.containerregistry/registries'"


def backing_scope_rows(ids: list[str], code: str, message: str) -> list[dict[str, Any]]:
    """One ``fetch_errors`` row per account id, all with the same code and message."""
    rows = []
    for rid in ids:
        sub, group = parse_arm_id(rid)
        rows.append({"scope": rid, "subscription_id": sub, "resource_group": group,
                     "outcome": "failed", "http_status": None, "error_code": code,
                     "message": message, "request_id": None})  # fmt: skip
    return rows


def backing_query(ids: list[str]) -> str:
    """The KQL selecting these accounts (ids lower-case, each a safe KQL literal).

    >>> print(backing_query(["/subscriptions/s/resourcegroups/g/providers/x/y/z"])[:40])
    resources | where type in~ ('microsoft.s
    """
    listed = ", ".join(f"'{rid}'" for rid in ids)
    return (
        f"resources | where type in~ ({_TYPES}) | where tolower(id) in ({listed}) "
        "| project id, name, type, location, kind, sku, properties | order by id asc"
    )


def read_backing_graph(
    client: GraphClient, ids: list[str]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """(rows, fetch_errors rows) for the accounts ``ids`` (lower-case ARM ids)."""
    rows: list[Any] = []
    errors: list[dict[str, Any]] = []
    safe = [rid for rid in ids if _SAFE_ID.match(rid)]
    for rid in sorted(set(ids) - set(safe)):
        errors += backing_scope_rows([rid], "UnqueryableId",
                                     f"{rid!r} holds characters a Resource Graph query cannot "
                                     "carry safely; it was not queried")  # fmt: skip
    for start in range(0, len(safe), IDS_PER_QUERY):
        batch = safe[start : start + IDS_PER_QUERY]
        subs = tuple(sorted({rid.split("/")[2] for rid in batch}))
        scope = GraphScope(subscriptions=subs, index=start // IDS_PER_QUERY)
        read = read_scope(client, scope, backing_query(batch), MAX_TOP, False, None, None)
        trouble = problems(scope, read, False)
        got = [row for _, page in read.pages for row in page.registries]
        returned = {str(r.get("id", "")).rstrip("/").lower() for r in got if isinstance(r, dict)}
        rows += got
        if read.error is not None or trouble:
            why = str(read.error) if read.error is not None else trouble[0]["message"]
            code = (
                getattr(read.error, "code", None) or type(read.error).__name__
                if read.error is not None
                else str(trouble[0]["error_code"] or "Truncated")
            )
            unread = [r for r in batch if r not in returned]
            errors += backing_scope_rows(unread, str(code), f"its batch's query failed: {why}")
            continue
        missing = [rid for rid in batch if rid not in returned]
        errors += backing_scope_rows(missing, "NotReturned",
                                     "not returned by Resource Graph: deleted, or in a resource "
                                     "group you cannot read (ARG does not say which)")  # fmt: skip
    return rows, errors
