"""One storage account's or container registry's payload -> its row (pure; used by .backing).

Every setting is read with its type checked (a flag must be true/false, rules a list): a value
of another type raises :class:`Malformed` naming the field, and the account is left *unknown*
rather than guessed. Effective values take the documented default where the provider left a
field out, and remember which fields took one (``defaults_applied``).
"""

from __future__ import annotations

from typing import Any

from .text import encode_json, escape_surrogates
from .walk import parse_arm_id

__all__ = ["Malformed", "acr_row", "get", "network_exposure", "obj", "pe_rows", "storage_row"]

_STORAGE_MODELLED = {
    "publicnetworkaccess", "networkacls", "allowblobpublicaccess", "allowsharedkeyaccess",
    "minimumtlsversion", "supportshttpstrafficonly", "allowcrosstenantreplication",
    "encryption", "ishnsenabled", "privateendpointconnections", "provisioningstate",
}  # fmt: skip
_ACR_MODELLED = {
    "publicnetworkaccess", "networkruleset", "adminuserenabled", "anonymouspullenabled",
    "dataendpointenabled", "policies", "networkrulebypassoptions", "zoneredundancy",
    "encryption", "privateendpointconnections", "provisioningstate",
}  # fmt: skip


class Malformed(Exception):
    """A payload field of the wrong type: the account's settings are unknown."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def get(obj: dict[str, Any] | None, key: str) -> Any:
    """``obj[key]``, matching the key case-insensitively when the exact one is absent."""
    if not obj:
        return None
    if key in obj:
        return obj[key]
    lowered = key.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lowered), None)


def obj(value: Any, field: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise Malformed(field, f"{field} is {type(value).__name__}, not an object")


def _text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else escape_surrogates(value)
    raise Malformed(field, f"{field} is {type(value).__name__} {value!r:.40}, not a string")


def _flag(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise Malformed(field, f"{field} is {type(value).__name__} {value!r:.40}, not true/false")


def _count(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, list):
        return len(value)
    raise Malformed(field, f"{field} is {type(value).__name__}, not a list")


def network_exposure(public_network_access: str | None, default_action: str | None) -> str:
    """Who reaches the public endpoint, from the *effective* values, in the documented order.

    >>> network_exposure("Disabled", "Allow"), network_exposure("Enabled", "Deny")
    ('private', 'selected_networks')
    >>> network_exposure("Enabled", "Allow"), network_exposure("Sometimes", "Allow")
    ('all_networks', 'unknown')
    """
    pna = (public_network_access or "").lower()
    if pna == "disabled":
        return "private"
    if pna == "securedbyperimeter":
        return "perimeter"
    if pna != "enabled":
        return "unknown"  # a value this version does not know: never read as safe
    action = (default_action or "").lower()
    return {"allow": "all_networks", "deny": "selected_networks"}.get(action, "unknown")


class _Defaults:
    """Effective values: the raw value, or the default, remembering which fields took it."""

    def __init__(self) -> None:
        self.applied: list[str] = []

    def __call__(self, raw: Any, default: Any, field: str) -> Any:
        if raw is None:
            self.applied.append(field)
            return default
        return raw


def _head(body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    arm_id = body["id"]
    sub, group = parse_arm_id(arm_id)
    location = _text(get(body, "location"), "location")
    sku = obj(get(body, "sku"), "sku")
    return {
        "resource_id": arm_id.strip().rstrip("/").lower(),
        "arm_id": escape_surrogates(arm_id),
        "name": _text(get(body, "name"), "name") or arm_id.rstrip("/").rsplit("/", 1)[-1],
        "subscription_id": sub,
        "resource_group": group,
        "location": location,
        "sku": _text(get(sku, "name"), "sku.name"),
        "provisioning_state": _text(
            get(props, "provisioningState"), "properties.provisioningState"
        ),
    }


def pe_rows(resource_id: str, kind: str, props: dict[str, Any]) -> list[dict[str, Any]]:
    entries = get(props, "privateEndpointConnections")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise Malformed("properties.privateEndpointConnections", "it is not a list")
    rows = []
    for index, entry in enumerate(entries):
        field = f"properties.privateEndpointConnections[{index}]"
        entry = obj(entry, field)
        if entry is None:
            continue
        eprops = obj(get(entry, "properties"), f"{field}.properties") or {}
        state = obj(get(eprops, "privateLinkServiceConnectionState"), f"{field}.state") or {}
        endpoint = obj(get(eprops, "privateEndpoint"), f"{field}.privateEndpoint") or {}
        actions = get(state, "actionRequired")
        if actions is None:
            actions = get(state, "actionsRequired")
        rows.append(
            {
                "resource_id": resource_id,
                "resource_type": kind,
                "pe_index": index,
                "connection_id": _text(get(entry, "id"), f"{field}.id"),
                "private_endpoint_id": _text(get(endpoint, "id"), f"{field}.privateEndpoint.id"),
                "status": _text(get(state, "status"), f"{field}.status"),
                "description": _text(get(state, "description"), f"{field}.description"),
                "actions_required": _text(actions, f"{field}.actionsRequired"),
                "provisioning_state": _text(
                    get(eprops, "provisioningState"), f"{field}.provisioningState"
                ),
            }
        )
    return rows


def _extra(props: dict[str, Any], modelled: set[str]) -> str | None:
    rest = {f"properties.{k}": v for k, v in props.items() if str(k).lower() not in modelled}
    return encode_json(rest, sort_keys=True) if rest else None


def storage_row(body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    d = _Defaults()
    acls = obj(get(props, "networkAcls"), "properties.networkAcls")
    enc = obj(get(props, "encryption"), "properties.encryption")
    pna = _text(get(props, "publicNetworkAccess"), "properties.publicNetworkAccess")
    action = _text(get(acls, "defaultAction"), "properties.networkAcls.defaultAction")
    blob = _flag(get(props, "allowBlobPublicAccess"), "properties.allowBlobPublicAccess")
    shared = _flag(get(props, "allowSharedKeyAccess"), "properties.allowSharedKeyAccess")
    tls = _text(get(props, "minimumTlsVersion"), "properties.minimumTlsVersion")
    https = _flag(get(props, "supportsHttpsTrafficOnly"), "properties.supportsHttpsTrafficOnly")
    cross = _flag(
        get(props, "allowCrossTenantReplication"), "properties.allowCrossTenantReplication"
    )
    infra = _flag(
        get(enc, "requireInfrastructureEncryption"),
        "properties.encryption.requireInfrastructureEncryption",
    )
    pna_eff = d(pna, "Enabled", "publicNetworkAccess")
    action_eff = d(action, "Allow", "networkAcls.defaultAction")
    row = {
        **_head(body, props),
        "kind": _text(get(body, "kind"), "kind"),
        "public_network_access": pna,
        "public_network_access_effective": pna_eff,
        "default_action": action,
        "default_action_effective": action_eff,
        "bypass": _text(get(acls, "bypass"), "properties.networkAcls.bypass"),
        "ip_rules": _count(get(acls, "ipRules"), "properties.networkAcls.ipRules"),
        "ipv6_rules": _count(get(acls, "ipv6Rules"), "properties.networkAcls.ipv6Rules"),
        "vnet_rules": _count(
            get(acls, "virtualNetworkRules"), "properties.networkAcls.virtualNetworkRules"
        ),
        "resource_access_rules": _count(
            get(acls, "resourceAccessRules"), "properties.networkAcls.resourceAccessRules"
        ),
        "network_exposure": network_exposure(pna_eff, action_eff),
        "allow_blob_public_access": blob,
        "allow_blob_public_access_effective": d(blob, False, "allowBlobPublicAccess"),
        "allow_shared_key_access": shared,
        "allow_shared_key_access_effective": d(shared, True, "allowSharedKeyAccess"),
        "minimum_tls_version": tls,
        "minimum_tls_version_effective": d(tls, "TLS1_0", "minimumTlsVersion"),
        "https_only": https,
        "https_only_effective": d(https, True, "supportsHttpsTrafficOnly"),
        "allow_cross_tenant_replication": cross,
        "allow_cross_tenant_replication_effective": d(cross, False, "allowCrossTenantReplication"),
        "key_source": _text(get(enc, "keySource"), "properties.encryption.keySource"),
        "infrastructure_encryption": bool(infra),
        "is_hns_enabled": bool(_flag(get(props, "isHnsEnabled"), "properties.isHnsEnabled")),
        "extra": _extra(props, _STORAGE_MODELLED),
    }
    row["defaults_applied"] = d.applied
    return row


def _status(policies: dict[str, Any] | None, name: str) -> str | None:
    policy = obj(get(policies, name), f"properties.policies.{name}")
    return _text(get(policy, "status"), f"properties.policies.{name}.status")


def acr_row(body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    d = _Defaults()
    rules = obj(get(props, "networkRuleSet"), "properties.networkRuleSet")
    policies = obj(get(props, "policies"), "properties.policies")
    enc = obj(get(props, "encryption"), "properties.encryption")
    pna = _text(get(props, "publicNetworkAccess"), "properties.publicNetworkAccess")
    action = _text(get(rules, "defaultAction"), "properties.networkRuleSet.defaultAction")
    admin = _flag(get(props, "adminUserEnabled"), "properties.adminUserEnabled")
    anonymous = _flag(get(props, "anonymousPullEnabled"), "properties.anonymousPullEnabled")
    export = _status(policies, "exportPolicy")
    pna_eff = d(pna, "Enabled", "publicNetworkAccess")
    action_eff = d(action, "Allow", "networkRuleSet.defaultAction")
    row = {
        **_head(body, props),
        "public_network_access": pna,
        "public_network_access_effective": pna_eff,
        "default_action": action,
        "default_action_effective": action_eff,
        "ip_rules": _count(get(rules, "ipRules"), "properties.networkRuleSet.ipRules"),
        "network_exposure": network_exposure(pna_eff, action_eff),
        "admin_user_enabled": admin,
        "admin_user_enabled_effective": d(admin, False, "adminUserEnabled"),
        "anonymous_pull_enabled": anonymous,
        "anonymous_pull_enabled_effective": d(anonymous, False, "anonymousPullEnabled"),
        "data_endpoint_enabled": bool(
            _flag(get(props, "dataEndpointEnabled"), "properties.dataEndpointEnabled")
        ),
        "export_policy": export,
        "export_policy_effective": d(export, "enabled", "policies.exportPolicy"),
        "aad_auth_as_arm_policy": _status(policies, "azureADAuthenticationAsArmPolicy")
        or "enabled",
        "network_rule_bypass": _text(
            get(props, "networkRuleBypassOptions"), "properties.networkRuleBypassOptions"
        )
        or "AzureServices",
        "zone_redundancy": _text(get(props, "zoneRedundancy"), "properties.zoneRedundancy"),
        "encryption": _text(get(enc, "status"), "properties.encryption.status"),
        "extra": _extra(props, _ACR_MODELLED),
    }
    row["defaults_applied"] = d.applied
    return row
