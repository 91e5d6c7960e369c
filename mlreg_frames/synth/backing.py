"""The storage accounts and container registries behind a fleet, with realistic drift.

For every account a registry names, :func:`backing_accounts` writes the body ARM ``GET``
returns for it (storage 2025-08-01, ACR 2025-11-01 shapes), mostly as Azure ML creates them,
with the drift real estates have, chosen by a seeded random generator:

- a registry whose public access is Disabled but whose storage (or ACR) was opened again;
- an ACR with the admin user on, or anonymous pull; a Basic ACR;
- storage accepting TLS 1.0, plain HTTP, blob public access, or with a pending private endpoint;
- fields left out (so the documented defaults apply), as older accounts return them;
- a SKU or region that differs from what the registry payload says.

:func:`missing_accounts` names the ones to leave out (deleted: 404) and
:func:`unreadable_groups` the managed resource groups to answer 403 for, so a fetch meets every
state. Deterministic for a seed.

Example::

    >>> from mlreg_frames.synth import generate_fleet
    >>> bodies = backing_accounts(generate_fleet(3, 1))
    >>> sorted({b["type"] for b in bodies})
    ['Microsoft.ContainerRegistry/registries', 'Microsoft.Storage/storageAccounts']
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["backing_accounts", "missing_accounts", "unreadable_groups"]

Account = dict[str, Any]


def _accounts(fleet: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, dict[str, Any], str]]:
    """(registry, kind, account entry, region) for every account a registry names."""
    out = []
    for reg in fleet:  # hostile test fleets hold any JSON: take only what has the right shape
        props = reg.get("properties") if isinstance(reg, dict) else None
        regions = props.get("regionDetails") if isinstance(props, dict) else None
        for region in regions if isinstance(regions, list) else []:
            if not isinstance(region, dict):
                continue
            for field, kind, system, user in (
                ("storageAccountDetails", "storage", "systemCreatedStorageAccount",
                 "userCreatedStorageAccount"),
                ("acrDetails", "acr", "systemCreatedAcrAccount", "userCreatedAcrAccount"),
            ):  # fmt: skip
                entries = region.get(field)
                for entry in entries if isinstance(entries, list) else []:
                    if not isinstance(entry, dict):
                        continue
                    account = entry.get(system) or entry.get(user)
                    arm = account.get("armResourceId") if isinstance(account, dict) else None
                    rid = arm.get("resourceId") if isinstance(arm, dict) else None
                    if isinstance(rid, str) and isinstance(account, dict):
                        out.append((reg, kind, account, str(region.get("location") or "")))
    return out


def _pe(rid: str, status: str, spelling: str) -> dict[str, Any]:
    name = f"pe-{rid.rsplit('/', 1)[-1]}"
    return {
        "id": f"{rid}/privateEndpointConnections/{name}",
        "name": name,
        "properties": {
            "privateEndpoint": {"id": f"/subscriptions/0/resourceGroups/net/providers/"
                                      f"Microsoft.Network/privateEndpoints/{name}"},
            "privateLinkServiceConnectionState": {"status": status, "description": "",
                                                  spelling: "None"},
            "provisioningState": "Succeeded",
        },
    }  # fmt: skip


def _storage(
    reg: dict[str, Any], account: dict[str, Any], location: str, rng: random.Random
) -> dict:
    rid = account["armResourceId"]["resourceId"]
    private = str(reg["properties"].get("publicNetworkAccess") or "").lower() == "disabled"
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "publicNetworkAccess": "Disabled" if private else "Enabled",
        "allowBlobPublicAccess": bool(account.get("allowBlobPublicAccess")),
        "allowSharedKeyAccess": rng.random() < 0.5,
        "minimumTlsVersion": "TLS1_2",
        "supportsHttpsTrafficOnly": True,
        "allowCrossTenantReplication": False,
        "isHnsEnabled": bool(account.get("storageAccountHnsEnabled")),
        "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True}}},
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny" if private else "Allow",
                        "ipRules": [], "virtualNetworkRules": []},
        "privateEndpointConnections": [_pe(rid, "Approved", "actionRequired")] if private else [],
    }  # fmt: skip
    roll = rng.random()
    if private and roll < 0.25:  # opened again after the registry was locked down
        props["publicNetworkAccess"] = "Enabled"
        props["networkAcls"]["defaultAction"] = "Allow"
    elif roll < 0.35:
        props["minimumTlsVersion"] = "TLS1_0"
    elif roll < 0.42:
        props["supportsHttpsTrafficOnly"] = False
    elif roll < 0.55:  # an older account: the fields are absent, the defaults apply
        for key in ("publicNetworkAccess", "allowSharedKeyAccess", "minimumTlsVersion",
                    "allowCrossTenantReplication", "allowBlobPublicAccess"):  # fmt: skip
            props.pop(key, None)
    elif roll < 0.62:
        props["privateEndpointConnections"].append(_pe(rid, "Pending", "actionRequired"))
    sku = str(account.get("storageAccountType") or "Standard_LRS")
    if rng.random() < 0.05:
        sku = "Standard_GRS" if sku != "Standard_GRS" else "Standard_LRS"
    return {
        "id": rid, "name": rid.rsplit("/", 1)[-1], "type": "Microsoft.Storage/storageAccounts",
        "location": location if rng.random() > 0.03 else "westeurope", "kind": "StorageV2",
        "sku": {"name": sku, "tier": "Standard"}, "tags": {}, "properties": props,
    }  # fmt: skip


def _acr(reg: Account, account: Account, location: str, rng: random.Random) -> Account:
    rid = account["armResourceId"]["resourceId"]
    private = str(reg["properties"].get("publicNetworkAccess") or "").lower() == "disabled"
    sku = str(account.get("acrAccountSku") or "Premium")
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "loginServer": f"{rid.rsplit('/', 1)[-1]}.azurecr.io",
        "adminUserEnabled": False,
        "anonymousPullEnabled": False,
        "dataEndpointEnabled": False,
        "publicNetworkAccess": "Disabled" if private else "Enabled",
        "networkRuleSet": {"defaultAction": "Deny" if private else "Allow", "ipRules": []},
        "networkRuleBypassOptions": "AzureServices",
        "policies": {"exportPolicy": {"status": "disabled" if private else "enabled"},
                     "azureADAuthenticationAsArmPolicy": {"status": "enabled"}},
        "encryption": {"status": "disabled"},
        "zoneRedundancy": "Disabled",
        "status": None,
        "privateEndpointConnections": [_pe(rid, "Approved", "actionsRequired")] if private else [],
    }  # fmt: skip
    roll = rng.random()
    if roll < 0.12:
        props["adminUserEnabled"] = True
    elif roll < 0.16:
        props["anonymousPullEnabled"] = True
    elif private and roll < 0.3:
        props["publicNetworkAccess"] = "Enabled"
        props["networkRuleSet"]["defaultAction"] = "Allow"
    elif roll < 0.38:
        del props["networkRuleSet"], props["policies"]  # absent: defaults apply
    return {
        "id": rid, "name": rid.rsplit("/", 1)[-1], "type": "Microsoft.ContainerRegistry/registries",
        "location": location, "sku": {"name": sku, "tier": sku}, "properties": props,
    }  # fmt: skip


def backing_accounts(fleet: list[dict[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """The ARM GET body of every account the fleet names (one each), with drift."""
    rng = random.Random(f"backing-{seed}")
    bodies: dict[str, dict[str, Any]] = {}
    for reg, kind, account, location in _accounts(fleet):
        rid = account["armResourceId"]["resourceId"].lower()
        if rid not in bodies:
            make = _storage if kind == "storage" else _acr
            bodies[rid] = make(reg, account, location, rng)
    return list(bodies.values())


def missing_accounts(fleet: list[dict[str, Any]], *, seed: int = 0) -> set[str]:
    """Account ids (lower-case) to leave out, as if deleted: about one in forty."""
    rng = random.Random(f"missing-{seed}")
    ids = sorted({a["armResourceId"]["resourceId"].lower() for _, _, a, _ in _accounts(fleet)})
    return {rid for rid in ids if rng.random() < 0.025}


def unreadable_groups(fleet: list[dict[str, Any]], *, seed: int = 0) -> set[str]:
    """Managed resource groups (``/subscriptions/<s>/resourcegroups/<g>``, lower-case) to
    answer 403 for: about one registry in twenty."""
    rng = random.Random(f"forbidden-{seed}")
    groups = sorted({"/".join(a["armResourceId"]["resourceId"].lower().split("/")[:5])
                     for _, _, a, _ in _accounts(fleet)})  # fmt: skip
    return {g for g in groups if rng.random() < 0.05}
