"""Declared vs actual exposure: each registry beside the storage accounts and ACRs behind it.

The registry payload says which accounts back it (and a little of how they were created);
:class:`~mlreg_frames.flatten.backing.BackingTables` says how Azure sees them today.
:func:`backing_exposure` lines the two up, one row per registry and account; an account that
was not returned (deleted, unreadable, malformed) is ``unknown``, never compliant.
:func:`backing_findings` turns that into finding rows (:data:`BACKING_FINDINGS`), each naming
the account and the evidence: ``field=value`` and whether the value was explicit or the
documented default.

Example::

    >>> rows = backing_exposure(tables, backing)                         # doctest: +SKIP
    >>> rows.query("network_exposure == 'all_networks'")[["name", "account_name"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..flatten.backing import BackingTables
from ..tables import RegistryTables
from .ids import norm_resource_id
from .regions import norm_region

__all__ = ["BACKING_FINDINGS", "backing_exposure", "backing_findings"]

BACKING_FINDINGS: dict[str, tuple[str, str]] = {
    "registry_private_storage_public": (
        "high",
        "The registry's public network access is Disabled, but a storage account behind it "
        "still has a public endpoint (all networks or selected networks).",
    ),
    "registry_private_acr_public": (
        "high",
        "The registry's public network access is Disabled, but a container registry behind it "
        "still has a public endpoint.",
    ),
    "storage_blob_public_access": (
        "high",
        "A storage account behind the registry allows anonymous blob public access.",
    ),
    "acr_anonymous_pull": ("high", "A container registry allows unauthenticated pulls."),
    "registry_pe_backing_no_pe": (
        "medium",
        "The registry has an Approved private endpoint, but an account behind it has none.",
    ),
    "declared_blob_public_access_differs": (
        "medium",
        "The registry payload's allowBlobPublicAccess for an account differs from the account.",
    ),
    "backing_not_visible": (
        "medium",
        "An account behind the registry was not returned (deleted, not readable, malformed): "
        "its settings are unknown.",
    ),
    "storage_all_networks": ("medium", "A storage account accepts traffic from all networks."),
    "storage_tls_below_1_2": ("medium", "A storage account accepts TLS below 1.2."),
    "storage_https_not_required": ("medium", "A storage account accepts plain HTTP."),
    "acr_all_networks": ("medium", "A container registry accepts traffic from all networks."),
    "acr_admin_user": ("medium", "A container registry's admin user (a shared password) is on."),
    "storage_shared_key_access": (
        "low",
        "A storage account accepts account keys and SAS tokens signed with them.",
    ),
    "storage_cross_tenant_replication": (
        "low",
        "A storage account allows object replication to other Entra tenants.",
    ),
    "storage_no_private_endpoint": (
        "low",
        "A storage account has no Approved private endpoint of its own.",
    ),
    "acr_export_allowed": ("low", "A container registry allows exporting its images."),
    "acr_not_premium": (
        "low",
        "A container registry below Premium: no private endpoint or firewall is possible.",
    ),
    "storage_sku_differs": (
        "low",
        "The registry payload's storage account type differs from the account's SKU.",
    ),
    "acr_sku_differs": ("low", "The registry payload's ACR SKU differs from the registry's SKU."),
    "account_not_in_region": (
        "low",
        "An account listed for a registry region lives in another region.",
    ),
}
"""Every finding :func:`backing_findings` can report: id -> (severity, meaning)."""

_LINK_COLUMNS = [
    "registry_id", "account_kind", "resource_id", "account_name", "origin", "region",
    "declared_sku", "declared_blob_public_access",
]  # fmt: skip


def _links(tables: RegistryTables) -> pd.DataFrame:
    """One row per registry and account it names (storage and ACR), ids normalised."""
    st, acr = tables.storage, tables.acr
    parts = [
        pd.DataFrame({
            "registry_id": st["registry_id"], "account_kind": "storage",
            "resource_id": norm_resource_id(st["resource_id"]),
            "account_name": st["storage_account_name"], "origin": st["origin"],
            "region": norm_region(st["location"]), "declared_sku": st["storage_account_type"],
            "declared_blob_public_access": st["allow_blob_public_access"],
        }),
        pd.DataFrame({
            "registry_id": acr["registry_id"], "account_kind": "acr",
            "resource_id": norm_resource_id(acr["resource_id"]),
            "account_name": acr["acr_name"], "origin": acr["origin"],
            "region": norm_region(acr["location"]), "declared_sku": acr["acr_sku"],
            "declared_blob_public_access": pd.array([pd.NA] * len(acr), dtype="boolean"),
        }),
    ]  # fmt: skip
    links = pd.concat([p.astype({"declared_blob_public_access": "boolean"}) for p in parts])
    links = links.dropna(subset=["resource_id"]).drop_duplicates(
        ["registry_id", "account_kind", "resource_id"]
    )
    return links[_LINK_COLUMNS].reset_index(drop=True)


def _actual(backing: BackingTables) -> pd.DataFrame:
    """The accounts' actual settings in one frame (storage and ACR columns side by side)."""
    common = [
        "resource_id", "location", "sku", "network_exposure", "private_path",
        "public_network_access_effective", "default_action_effective", "defaults_applied",
    ]  # fmt: skip
    st = backing.storage_accounts[
        [*common, "ip_rules", "vnet_rules", "allow_blob_public_access_effective",
         "allow_shared_key_access_effective", "minimum_tls_version_effective",
         "https_only_effective", "allow_cross_tenant_replication_effective"]
    ].assign(account_kind="storage")  # fmt: skip
    acr = backing.container_registries[
        [*common, "ip_rules", "admin_user_enabled_effective", "anonymous_pull_enabled_effective",
         "export_policy_effective"]
    ].assign(account_kind="acr")  # fmt: skip
    return pd.concat([st, acr], ignore_index=True)


def backing_exposure(tables: RegistryTables, backing: BackingTables) -> pd.DataFrame:
    """One row per registry and backing account: what the registry says beside what Azure says.

    Columns: the registry (``registry_id, name, registry_public_network_access,
    registry_private_path``), the account as the registry names it (``account_kind``
    ``storage``/``acr``, ``resource_id, account_name, origin, region, declared_sku,
    declared_blob_public_access``), and as Azure returns it: ``state`` (``known`` /
    ``unknown``), ``unknown_reason``, ``location, sku, network_exposure`` (``unknown`` when not
    known), ``private_path`` and the data-access flags (``*_effective``), null when unknown.
    """
    links = _links(tables)
    actual = _actual(backing).drop_duplicates(["resource_id"], keep="last")
    out = links.merge(actual, on=["resource_id", "account_kind"], how="left")
    known = out["network_exposure"].notna()
    out.insert(len(_LINK_COLUMNS), "state", known.map({True: "known", False: "unknown"}))
    errors = backing.fetch_errors.assign(
        resource_id=norm_resource_id(backing.fetch_errors["scope"])
    )
    reasons = errors.drop_duplicates("resource_id", keep="last").set_index("resource_id")
    reason = (reasons["error_code"].astype("string").fillna("error") + ": "
              + reasons["message"].astype("string").fillna(""))  # fmt: skip
    out["unknown_reason"] = out["resource_id"].map(reason).astype("string")
    out.loc[known, "unknown_reason"] = pd.NA
    out["unknown_reason"] = out["unknown_reason"].mask(
        ~known & out["unknown_reason"].isna(), "not returned by the source"
    )
    out["network_exposure"] = out["network_exposure"].astype("string").fillna("unknown")
    reg = tables.registries
    pe = tables.pe_connections
    approved = set(pe.loc[pe["status"].astype("string").str.lower() == "approved", "registry_id"])
    head = pd.DataFrame({
        "registry_id": reg["registry_id"], "name": reg["name"],
        "subscription_id": reg["subscription_id"], "resource_group": reg["resource_group"],
        "registry_location": norm_region(reg["location"]),
        "registry_public_network_access": reg["public_network_access"],
        "registry_private_path": reg["registry_id"].isin(approved).astype("boolean"),
    })  # fmt: skip
    out = head.merge(out, on="registry_id", how="inner")
    out["location"] = norm_region(out["location"])
    return out.sort_values(["name", "registry_id", "account_kind", "resource_id"]).reset_index(
        drop=True
    )


def _how(row: pd.Series, field: str) -> str:
    applied = row["defaults_applied"]
    is_default = applied is not None and not isinstance(applied, float) and field in list(applied)
    return "default" if is_default else "explicit"


Rule = tuple[str, str, Callable[[pd.DataFrame], pd.Series], Callable[[pd.Series], str]]


def _rules() -> list[Rule]:
    """(finding, account kind or '*', rows it applies to, the evidence text of one row)."""

    def flag(column: str, field: str) -> Callable[[pd.Series], str]:
        return lambda r: f"{field}={str(r[column]).lower()} ({_how(r, field)})"

    def exposure(r: pd.Series) -> str:
        return (
            f"network_exposure={r['network_exposure']} (publicNetworkAccess="
            f"{r['public_network_access_effective']} ({_how(r, 'publicNetworkAccess')}), "
            f"defaultAction={r['default_action_effective']})"
        )

    def is_true(column: str) -> Callable[[pd.DataFrame], pd.Series]:
        return lambda f: f[column].astype("boolean").fillna(False).astype(bool)

    public = ("all_networks", "selected_networks")
    private_reg = lambda f: (  # noqa: E731
        f["registry_public_network_access"].astype("string").str.lower() == "disabled"
    ).fillna(False)
    return [
        ("registry_private_storage_public", "storage",
         lambda f: private_reg(f) & f["network_exposure"].isin(public), exposure),
        ("registry_private_acr_public", "acr",
         lambda f: private_reg(f) & f["network_exposure"].isin(public), exposure),
        ("storage_blob_public_access", "storage", is_true("allow_blob_public_access_effective"),
         flag("allow_blob_public_access_effective", "allowBlobPublicAccess")),
        ("acr_anonymous_pull", "acr", is_true("anonymous_pull_enabled_effective"),
         flag("anonymous_pull_enabled_effective", "anonymousPullEnabled")),
        ("registry_pe_backing_no_pe", "*",
         lambda f: f["registry_private_path"].fillna(False).astype(bool)
         & ~f["private_path"].astype("boolean").fillna(False).astype(bool),
         lambda r: "registry: an Approved private endpoint; account: none Approved"),
        ("declared_blob_public_access_differs", "storage",
         lambda f: (f["declared_blob_public_access"].astype("boolean")
                    != f["allow_blob_public_access_effective"].astype("boolean")).fillna(False),
         lambda r: "registry says allowBlobPublicAccess="
                   f"{str(r['declared_blob_public_access']).lower()}, the account "
                   f"{str(r['allow_blob_public_access_effective']).lower()} "
                   f"({_how(r, 'allowBlobPublicAccess')})"),
        ("storage_all_networks", "storage", lambda f: f["network_exposure"] == "all_networks",
         exposure),
        ("storage_tls_below_1_2", "storage",
         lambda f: f["minimum_tls_version_effective"].isin(["TLS1_0", "TLS1_1"]),
         flag("minimum_tls_version_effective", "minimumTlsVersion")),
        ("storage_https_not_required", "storage",
         lambda f: ~f["https_only_effective"].astype("boolean").fillna(True).astype(bool),
         flag("https_only_effective", "supportsHttpsTrafficOnly")),
        ("acr_all_networks", "acr", lambda f: f["network_exposure"] == "all_networks", exposure),
        ("acr_admin_user", "acr", is_true("admin_user_enabled_effective"),
         flag("admin_user_enabled_effective", "adminUserEnabled")),
        ("storage_shared_key_access", "storage", is_true("allow_shared_key_access_effective"),
         flag("allow_shared_key_access_effective", "allowSharedKeyAccess")),
        ("storage_cross_tenant_replication", "storage",
         is_true("allow_cross_tenant_replication_effective"),
         flag("allow_cross_tenant_replication_effective", "allowCrossTenantReplication")),
        ("storage_no_private_endpoint", "storage",
         lambda f: ~f["private_path"].astype("boolean").fillna(False).astype(bool),
         lambda r: "privateEndpointConnections: none Approved"),
        ("acr_export_allowed", "acr",
         lambda f: f["export_policy_effective"].astype("string").str.lower().eq("enabled")
         .fillna(False),
         lambda r: f"policies.exportPolicy.status={r['export_policy_effective']} "
                   f"({_how(r, 'policies.exportPolicy')})"),
        ("acr_not_premium", "acr",
         lambda f: ~f["sku"].astype("string").str.lower().eq("premium").fillna(False),
         lambda r: f"sku={r['sku']}"),
        ("storage_sku_differs", "storage",
         lambda f: _differs(f["declared_sku"], f["sku"]),
         lambda r: f"registry says {r['declared_sku']}, the account is {r['sku']}"),
        ("acr_sku_differs", "acr", lambda f: _differs(f["declared_sku"], f["sku"]),
         lambda r: f"registry says {r['declared_sku']}, the registry is {r['sku']}"),
        ("account_not_in_region", "*", lambda f: _differs(f["region"], f["location"]),
         lambda r: f"listed for {r['region']}, lives in {r['location']}"),
    ]  # fmt: skip


def _differs(declared: pd.Series, actual: pd.Series) -> pd.Series:
    a = declared.astype("string").str.lower()
    b = actual.astype("string").str.lower()
    return (a.notna() & b.notna() & (a != b)).fillna(False).astype(bool)


def backing_findings(tables: RegistryTables, backing: BackingTables) -> pd.DataFrame:
    """Finding rows of :data:`BACKING_FINDINGS`, one per registry, account and finding.

    Columns: ``registry_id, name, subscription_id, resource_group, location, finding,
    severity, detail, resource_id``; ``detail`` is ``<account>: <evidence>``. An unknown
    account gets ``backing_not_visible`` (with the reason) and no other finding: nothing is
    concluded from settings that were not seen.
    """
    rows = backing_exposure(tables, backing)
    known = rows[rows["state"] == "known"]
    parts = []
    for finding, kind, select, evidence in _rules():
        scope = known if kind == "*" else known[known["account_kind"] == kind]
        if scope.empty:
            continue
        hit = scope[select(scope).to_numpy(dtype=bool)]
        if hit.empty:
            continue
        detail = hit.apply(lambda r, e=evidence: f"{r['account_name']}: {e(r)}", axis=1)
        parts.append(hit.assign(finding=finding, detail=detail))
    unknown = rows[rows["state"] == "unknown"]
    if not unknown.empty:
        detail = (
            unknown["account_name"].astype("string").fillna("(unnamed)")
            + ": "
            + (unknown["unknown_reason"].astype("string"))
        )
        parts.append(unknown.assign(finding="backing_not_visible", detail=detail))
    columns = [
        "registry_id", "name", "subscription_id", "resource_group", "registry_location",
        "finding", "detail", "resource_id",
    ]  # fmt: skip
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns}).rename(
            columns={"registry_location": "location"}
        )
    out = pd.concat([p[columns] for p in parts], ignore_index=True)
    return out.rename(columns={"registry_location": "location"}).astype("string")
