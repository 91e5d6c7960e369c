"""The backing tables: the storage accounts and container registries behind the registries.

A registry names the accounts it created (or was given) in its own payload; these tables hold
how Azure sees those accounts *today*, read from the storage and ACR resource providers (ARM GET)
or Azure Resource Graph. One row per account, keyed by its ARM id lower-cased
(``resource_id``), which is also the ``resource_id`` of the registry tables ``storage`` and
``acr``: that is the join.

**Three states, never two.** A setting the provider returned is kept in its raw column as
returned; a setting it left out is null there, and its ``*_effective`` column holds what Azure
does then (the documented default, e.g. ``allowSharedKeyAccess`` absent means shared keys are
allowed); ``defaults_applied`` lists the fields that got a default. An account that was not
returned at all (deleted, unreadable, not in the results) has no row here: analyses treat it as
**unknown**, never as compliant.
"""

from __future__ import annotations

from .coltypes import Column, Kind, Table

__all__ = ["BACKING_PE_CONNECTIONS", "BACKING_TABLES", "CONTAINER_REGISTRIES", "STORAGE_ACCOUNTS"]


def _c(name: str, kind: Kind, doc: str) -> Column:
    return Column(name, kind, doc)


_COMMON_HEAD = (
    _c("resource_id", "string", "The account's ARM id, lower-cased: joins `storage` / `acr`."),
    _c("arm_id", "string", "The ARM id exactly as returned."),
    _c("name", "string", "The account name."),
    _c("subscription_id", "string", "Subscription parsed from the id (lower-case)."),
    _c("resource_group", "string", "Resource group parsed from the id."),
    _c("location", "string", "The account's region as returned (analyses compare ARM ids)."),
    _c("sku", "string", "`sku.name` (`Standard_LRS`, `Premium`...)."),
    _c(
        "public_network_access",
        "string",
        "`publicNetworkAccess` as returned (`Enabled`, `Disabled`, `SecuredByPerimeter`); null "
        "when absent.",
    ),
    _c(
        "public_network_access_effective",
        "string",
        "What applies: the raw value, or `Enabled` when absent (the provider's default).",
    ),
    _c(
        "default_action",
        "string",
        "The firewall's default action as returned (`Allow` / `Deny`); null when absent.",
    ),
    _c(
        "default_action_effective",
        "string",
        "What applies: the raw value, or `Allow` when absent.",
    ),
)
_EXPOSURE = (
    _c(
        "network_exposure",
        "string",
        "Who can reach the account's public endpoint, decided in this order: "
        "`publicNetworkAccess` Disabled -> `private` (rules no longer matter); "
        "`SecuredByPerimeter` -> `perimeter`; else default action Allow -> `all_networks`, "
        "Deny -> `selected_networks` (see the rule counts).",
    ),
    _c(
        "private_path",
        "bool",
        "True when the account has an Approved private-endpoint connection of its own.",
    ),
)
_COMMON_TAIL = (
    _c(
        "defaults_applied",
        "string_list",
        "The fields whose effective value is the documented default (they were absent).",
    ),
    _c("provisioning_state", "string", "`provisioningState`."),
    _c("source", "string", "`arm` (resource GET) or `graph` (Resource Graph `resources`)."),
    _c("api_version", "string", "The api-version of the read (null for Resource Graph)."),
    _c(
        "extra",
        "json",
        "Properties this version does not model, as a JSON object {dotted.path: value}.",
    ),
)

STORAGE_ACCOUNTS = Table(
    "storage_accounts",
    "One row per storage account behind a registry, as the storage provider returns it today.",
    ("resource_id",),
    (
        *_COMMON_HEAD,
        _c("kind", "string", "`kind` (`StorageV2`, `BlobStorage`...)."),
        _c("bypass", "string", "`networkAcls.bypass` (`AzureServices`, `None`...)."),
        _c("ip_rules", "int", "How many IPv4 rules `networkAcls.ipRules` holds (0 when absent)."),
        _c("ipv6_rules", "int", "How many IPv6 rules `networkAcls.ipv6Rules` holds."),
        _c("vnet_rules", "int", "How many `networkAcls.virtualNetworkRules`."),
        _c("resource_access_rules", "int", "How many `networkAcls.resourceAccessRules`."),
        *_EXPOSURE,
        _c("allow_blob_public_access", "bool", "`allowBlobPublicAccess` as returned."),
        _c(
            "allow_blob_public_access_effective",
            "bool",
            "Anonymous blob reads possible: the raw value, or false when absent (the default "
            "interpretation since api-version 2019-04-01).",
        ),
        _c("allow_shared_key_access", "bool", "`allowSharedKeyAccess` as returned."),
        _c(
            "allow_shared_key_access_effective",
            "bool",
            "Account keys and SAS accepted: the raw value, or true when null or absent.",
        ),
        _c("minimum_tls_version", "string", "`minimumTlsVersion` as returned (`TLS1_2`...)."),
        _c(
            "minimum_tls_version_effective",
            "string",
            "The raw value, or `TLS1_0` when absent (the service's interpretation).",
        ),
        _c("https_only", "bool", "`supportsHttpsTrafficOnly` as returned."),
        _c(
            "https_only_effective",
            "bool",
            "The raw value, or true when absent (the default since api-version 2019-04-01).",
        ),
        _c(
            "allow_cross_tenant_replication",
            "bool",
            "`allowCrossTenantReplication` as returned.",
        ),
        _c(
            "allow_cross_tenant_replication_effective",
            "bool",
            "The raw value, or false when absent (the default for accounts created since "
            "December 2023).",
        ),
        _c(
            "key_source",
            "string",
            "`encryption.keySource` (`Microsoft.Storage` / `Microsoft.Keyvault`).",
        ),
        _c(
            "infrastructure_encryption",
            "bool",
            "`encryption.requireInfrastructureEncryption`; false when absent.",
        ),
        _c("is_hns_enabled", "bool", "`isHnsEnabled` (hierarchical namespace); false when absent."),
        *_COMMON_TAIL,
    ),
)

CONTAINER_REGISTRIES = Table(
    "container_registries",
    "One row per container registry behind a registry, as the ACR provider returns it today.",
    ("resource_id",),
    (
        *_COMMON_HEAD,
        _c("ip_rules", "int", "How many `networkRuleSet.ipRules` (0 when absent)."),
        *_EXPOSURE,
        _c("admin_user_enabled", "bool", "`adminUserEnabled` as returned."),
        _c(
            "admin_user_enabled_effective",
            "bool",
            "The admin user can sign in: the raw value, or false when absent.",
        ),
        _c("anonymous_pull_enabled", "bool", "`anonymousPullEnabled` as returned."),
        _c(
            "anonymous_pull_enabled_effective",
            "bool",
            "Unauthenticated pulls: the raw value, or false when absent.",
        ),
        _c("data_endpoint_enabled", "bool", "`dataEndpointEnabled`; false when absent."),
        _c(
            "export_policy",
            "string",
            "`policies.exportPolicy.status` as returned (`enabled` / `disabled`).",
        ),
        _c(
            "export_policy_effective",
            "string",
            "The raw value, or `enabled` when absent (images can be exported).",
        ),
        _c(
            "aad_auth_as_arm_policy",
            "string",
            "`policies.azureADAuthenticationAsArmPolicy.status`; `enabled` when absent.",
        ),
        _c(
            "network_rule_bypass",
            "string",
            "`networkRuleBypassOptions`; `AzureServices` when absent.",
        ),
        _c("zone_redundancy", "string", "`zoneRedundancy` (`Enabled` / `Disabled`)."),
        _c("encryption", "string", "`encryption.status` (customer-managed key `enabled` or not)."),
        *_COMMON_TAIL,
    ),
)

BACKING_PE_CONNECTIONS = Table(
    "backing_pe_connections",
    "One row per private-endpoint connection of a backing account (its own, not the registry's).",
    ("resource_id", "pe_index"),
    (
        _c("resource_id", "string", "The account's ARM id, lower-cased."),
        _c("resource_type", "string", "`storage` or `acr`."),
        _c("pe_index", "int", "Position in the account's `privateEndpointConnections`."),
        _c("connection_id", "string", "The connection's ARM id."),
        _c("private_endpoint_id", "string", "`privateEndpoint.id`."),
        _c(
            "status",
            "string",
            "`privateLinkServiceConnectionState.status` (`Approved`, `Pending`, `Rejected`...).",
        ),
        _c("description", "string", "`privateLinkServiceConnectionState.description`."),
        _c(
            "actions_required",
            "string",
            "`actionRequired` (storage) or `actionsRequired` (ACR): one column for both spellings.",
        ),
        _c("provisioning_state", "string", "`provisioningState` of the connection."),
    ),
)

BACKING_TABLES: dict[str, Table] = {
    t.name: t for t in (STORAGE_ACCOUNTS, CONTAINER_REGISTRIES, BACKING_PE_CONNECTIONS)
}
"""The three backing tables (a ``BackingTables`` also holds ``fetch_errors``)."""
