"""The ``subscriptions`` table: the subscriptions a fetch (or saved pages) covered, by name.

``Subscriptions - List`` (and Resource Graph's ``resourcecontainers``) give each
subscription's display name, state and tenant; this table keeps them so every view can show
"Contoso ML Production" instead of ``f3f49249-...``, and records what the fetch did with the
subscription (``outcome``), in the vocabulary of ``fetch_errors.outcome``.
"""

from __future__ import annotations

from .coltypes import Column, Table

__all__ = ["OUTCOMES", "SUBSCRIPTIONS"]

OUTCOMES = ("fetched", "failed", "skipped", "truncated", "partial")
"""The values of ``subscriptions.outcome`` (null: no fetch recorded one, e.g. saved pages)."""

SUBSCRIPTIONS = Table(
    "subscriptions",
    "One row per subscription the fetch covered or the pages list (the last entry seen when a "
    "subscription is listed twice), with its display name and the fetch's outcome for it.",
    ("subscription_id",),
    (
        Column(
            "subscription_id",
            "string",
            "The subscription id, lower-cased: joins "
            "`registries.subscription_id` and `fetch_errors.subscription_id`.",
        ),
        Column(
            "display_name",
            "string",
            "`displayName` from Subscriptions - List (`name` from Resource Graph); null when "
            "the subscription was not listed (ids given that the identity cannot list).",
        ),
        Column("state", "string", "`state` as listed: Enabled, Disabled, Warned, PastDue, ..."),
        Column("tenant_id", "string", "`tenantId`: the tenant the subscription belongs to."),
        Column(
            "outcome",
            "string",
            "What the fetch did with the subscription: `fetched` (every scope read), `failed` "
            "(a scope failed: see `fetch_errors`), `skipped` (Disabled or Deleted: not read), or "
            "from Resource Graph `truncated` / `partial` as in `fetch_errors`; null when unknown "
            "(tables flattened from pages that recorded no fetch outcome).",
        ),
        Column(
            "listed",
            "bool",
            "Whether Subscriptions - List (or Resource Graph) returned the subscription; false "
            "for an id that was asked for but not listed (then the name, state and tenant are "
            "null).",
        ),
        Column("authorization_source", "string", "`authorizationSource`, e.g. RoleBased."),
        Column("spending_limit", "string", "`subscriptionPolicies.spendingLimit`: On, Off, ..."),
        Column("quota_id", "string", "`subscriptionPolicies.quotaId`, e.g. the offer type."),
        Column(
            "location_placement_id",
            "string",
            "`subscriptionPolicies.locationPlacementId`: the regions the subscription may use.",
        ),
        Column(
            "extra",
            "json",
            "Entry keys this version does not model (managedByTenants, tags, ...), as a JSON "
            "object {dotted.path: value}; null when there are none.",
        ),
    ),
)
"""The declared ``subscriptions`` table."""
