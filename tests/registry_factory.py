"""Hand-built registries (2025-09-01 shape) with exactly the traits a test asks for.

Analysis, plot and widget tests need small fleets with known answers; this builds the ARM
JSON for them, so tables go through the real ``mf.flatten`` instead of being faked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SUB1 = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"


def registry_id(name: str, sub: str = SUB1, rg: str = "rg-ml") -> str:
    return (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
        f"Microsoft.MachineLearningServices/registries/{name}"
    )


def mrg_id(name: str, sub: str = SUB1) -> str:
    return f"/subscriptions/{sub}/resourceGroups/azureml-rg-{name}_0000"


def storage_id(name: str, region: str, sub: str = SUB1) -> str:
    return f"{mrg_id(name, sub)}/providers/Microsoft.Storage/storageAccounts/st{name}{region}"


def acr_id(name: str, region: str, sub: str = SUB1) -> str:
    return f"{mrg_id(name, sub)}/providers/Microsoft.ContainerRegistry/registries/cr{name}{region}"


def pe_id(name: str, index: int, sub: str = SUB1) -> str:
    return (
        f"/subscriptions/{sub}/resourceGroups/rg-net/providers/Microsoft.Network/"
        f"privateEndpoints/pe-{name}-{index}"
    )


def make_registry(
    name: str,
    *,
    sub: str = SUB1,
    location: str = "eastus",
    replicas: Sequence[str] = (),
    public: str | None = "Enabled",
    pe_states: Sequence[str] = (),
    identity: str | None = "SystemAssigned",
    sku_tier: str | None = "Standard",
    storage_type: str | None = "Standard_LRS",
    acr_sku: str | None = "Premium",
    blob_public: bool = False,
    hns: bool | None = False,
    user_storage: bool = False,
    user_acr: bool = False,
    created: str | None = "2024-01-15T10:00:00Z",
    tags: dict[str, str] | None = None,
    region_details: bool = True,
) -> dict[str, Any]:
    """One registry JSON object; every region gets one storage account and one ACR."""
    regions = []
    for region in [location, *replicas]:
        storage = {
            "storageAccountName": f"st{name}{region}",
            "storageAccountType": storage_type,
            "storageAccountHnsEnabled": hns,
            "allowBlobPublicAccess": blob_public,
            "armResourceId": {"resourceId": storage_id(name, region, sub)},
        }
        acr = {
            "acrAccountName": f"cr{name}{region}",
            "acrAccountSku": acr_sku,
            "armResourceId": {"resourceId": acr_id(name, region, sub)},
        }
        s_key = "userCreatedStorageAccount" if user_storage else "systemCreatedStorageAccount"
        a_key = "userCreatedAcrAccount" if user_acr else "systemCreatedAcrAccount"
        regions.append(
            {"location": region, "storageAccountDetails": [{s_key: storage}],
             "acrDetails": [{a_key: acr}]}
        )  # fmt: skip
    pes = [
        {
            "id": f"{registry_id(name, sub)}/privateEndpointConnections/pe{i}",
            "location": location,
            "properties": {
                "provisioningState": "Succeeded",
                "privateEndpoint": {"id": pe_id(name, i, sub), "subnetArmId": "subnet"},
                "registryPrivateLinkServiceConnectionState": {
                    "status": status,
                    "description": f"{status} by test",
                    "actionsRequired": "None",
                },
                "groupIds": ["amlregistry"],
            },
        }
        for i, status in enumerate(pe_states)
    ]
    reg: dict[str, Any] = {
        "id": registry_id(name, sub),
        "name": name,
        "type": "Microsoft.MachineLearningServices/registries",
        "location": location,
        "kind": "Registry",
        "tags": tags or {},
        "sku": {"name": "P1", "tier": sku_tier},
        "properties": {
            "publicNetworkAccess": public,
            "managedResourceGroup": {"resourceId": mrg_id(name, sub)},
            "registryPrivateEndpointConnections": pes,
        },
        "systemData": {"createdAt": created, "createdBy": "test@contoso.com"},
    }
    if region_details:
        reg["properties"]["regionDetails"] = regions
    if identity is not None:
        reg["identity"] = {"type": identity}
        if "SystemAssigned" in identity:
            reg["identity"]["principalId"] = f"{name}-principal"
            reg["identity"]["tenantId"] = "tenant"
    return reg
