"""The ARM envelopes around a synthetic fleet: list pages and ``Subscriptions - List`` entries.

Pure and standard-library only. :mod:`mlreg_frames.synth` re-exports everything here, so
``from mlreg_frames.synth import paginate, subscriptions`` is the usual import.

Example::

    >>> pages = paginate([{"id": "/subscriptions/s1/x"}] * 5, 2)
    >>> [len(p["value"]) for p in pages]
    [2, 2, 1]
    >>> [s["subscriptionId"] for s in subscriptions(pages[0]["value"])]
    ['s1']
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["default_next_link", "paginate", "subscription_entry", "subscriptions"]

_PROVIDER = "Microsoft.MachineLearningServices"
_LINK_BASE = "https://management.azure.com"


def _subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def default_next_link(
    subscription_id: str, api_version: str = "2025-09-01"
) -> Callable[[int], str]:
    """A ``next_link`` factory making real-looking ``Registries - List By Subscription`` URLs."""

    def link(i: int) -> str:
        token = uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription_id}/{i}").hex
        return (
            f"{_LINK_BASE}/subscriptions/{subscription_id}/providers/{_PROVIDER}/registries"
            f"?api-version={api_version}&$skipToken={token}"
        )

    return link


def paginate(
    registries: list[dict[str, Any]],
    page_size: int,
    *,
    next_link: Callable[[int], str] | None = None,
) -> list[dict[str, Any]]:
    """Cut registries into ARM list pages ``{"value": [...], "nextLink": ...}``.

    Pages are numbered from 0; page ``i`` links to page ``i + 1`` with ``next_link(i + 1)``
    and the last page has no ``nextLink``. No registries give one empty page, as ARM does.

    Args:
        registries: the registry dicts (not copied).
        page_size: registries per page (at least 1).
        next_link: makes the URL of page ``i``; default: a ``management.azure.com`` URL with a
            ``$skipToken`` for the first registry's subscription.

    Example::

        >>> pages = paginate([{"id": "/subscriptions/s/x"}] * 3, 2, next_link=lambda i: f"p{i}")
        >>> [p.get("nextLink") for p in pages]
        ['p1', None]
    """
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    if next_link is None:
        first = _subscription_of(str(registries[0].get("id", ""))) if registries else ""
        next_link = default_next_link(first or "00000000-0000-0000-0000-000000000000")
    chunks = [registries[i : i + page_size] for i in range(0, len(registries), page_size)] or [[]]
    pages: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        page: dict[str, Any] = {"value": chunk}
        if i + 1 < len(chunks):
            page["nextLink"] = next_link(i + 1)
        pages.append(page)
    return pages


_SUB_NAMES = (
    "Contoso ML Production",
    "Contoso ML Development",
    "Contoso Shared AI",
    "Fabrikam Research",
)


def subscriptions(fleet: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``Subscriptions - List`` entries for the subscriptions a fleet uses (first-seen order).

    Example::

        >>> subs = subscriptions([{"id": "/subscriptions/a/x"}, {"id": "/subscriptions/b/y"}])
        >>> [s["state"] for s in subs]
        ['Enabled', 'Enabled']
    """
    tenant = next(
        (r["identity"]["tenantId"] for r in fleet if r.get("identity", {}).get("tenantId")), None
    )
    seen: dict[str, None] = {}
    for resource in fleet:
        sub = _subscription_of(str(resource.get("id", "")))
        if sub:
            seen.setdefault(sub, None)
    out = []
    for i, sub in enumerate(seen):
        name = _SUB_NAMES[i % len(_SUB_NAMES)] + (
            f" {i // len(_SUB_NAMES) + 1}" if i >= len(_SUB_NAMES) else ""
        )
        out.append(
            subscription_entry(sub, name, tenant or str(uuid.uuid5(uuid.NAMESPACE_URL, sub)))
        )
    return out


def subscription_entry(sub: str, display_name: str, tenant: str, state: str = "Enabled") -> dict:
    """One ``Subscriptions - List`` value entry, as ARM returns it."""
    return {
        "id": f"/subscriptions/{sub}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": tenant,
        "displayName": display_name,
        "state": state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }
