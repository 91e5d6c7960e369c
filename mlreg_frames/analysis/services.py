"""One service vocabulary for both export formats: FOCUS ``ServiceName`` is the standard.

Cost details name the service by meter (``MeterCategory``: ``Storage``, ``Virtual Network``),
FOCUS by service (``ServiceName``: ``Storage Accounts``, ``Private Link``), so the same charge
reads differently in the two. :func:`service_name` decides from the resource's ARM type first
(a storage account is ``Storage Accounts`` whichever meter billed it), then from a meter
category that names one service only, and otherwise keeps the raw value: ``Storage`` without a
resource type could be an account or a disk, so it is not guessed.

Example::

    >>> import pandas as pd
    >>> ids = pd.Series(["/subscriptions/s/resourcegroups/g/providers/microsoft.network/"
    ...                  "privateendpoints/pe", None])
    >>> service_name(ids, pd.Series(["Virtual Network", "Key Vault"])).tolist()
    ['Private Link', 'Key Vault']
"""

from __future__ import annotations

import pandas as pd

__all__ = ["SERVICE_BY_CATEGORY", "SERVICE_BY_TYPE", "resource_type", "service_name"]

SERVICE_BY_TYPE: dict[str, str] = {
    "microsoft.storage/storageaccounts": "Storage Accounts",
    "microsoft.containerregistry/registries": "Container Registry",
    "microsoft.network/privateendpoints": "Private Link",
    "microsoft.network/privatelinkservices": "Private Link",
    "microsoft.network/privatednszones": "Azure DNS",
    "microsoft.keyvault/vaults": "Key Vault",
    "microsoft.compute/virtualmachines": "Virtual Machines",
    "microsoft.compute/virtualmachinescalesets": "Virtual Machine Scale Sets",
    "microsoft.compute/disks": "Managed Disks",
    "microsoft.machinelearningservices/workspaces": "Azure Machine Learning",
    "microsoft.machinelearningservices/registries": "Azure Machine Learning",
    "microsoft.insights/components": "Application Insights",
    "microsoft.operationalinsights/workspaces": "Log Analytics",
    "microsoft.network/publicipaddresses": "Public IP Addresses",
    "microsoft.network/loadbalancers": "Load Balancer",
    "microsoft.network/virtualnetworks": "Virtual Network",
    "microsoft.capacity/reservationorders": "Azure Reservations",
}
"""ARM resource type (lower-case) -> FOCUS service name."""

SERVICE_BY_CATEGORY: dict[str, str] = {
    "container registry": "Container Registry",
    "key vault": "Key Vault",
    "virtual machines": "Virtual Machines",
    "azure machine learning": "Azure Machine Learning",
    "machine learning": "Azure Machine Learning",
    "log analytics": "Log Analytics",
    "application insights": "Application Insights",
    "load balancer": "Load Balancer",
}
"""Meter categories that name exactly one service (lower-case) -> FOCUS service name."""


def resource_type(ids: pd.Series) -> pd.Series:
    """``provider/type`` of normalised ARM ids (the last provider segment), else null.

    >>> resource_type(pd.Series(["/subscriptions/s/resourcegroups/g/providers/"
    ...     "microsoft.storage/storageaccounts/a/blobservices/default"])).tolist()
    ['microsoft.storage/storageaccounts']
    """
    text = ids.astype("string[pyarrow]")
    tail = text.str.extract(r"/providers/([^/]+/[^/]+)/[^/]+(?:/|$)", expand=False)
    return tail.astype("string[pyarrow]")


def service_name(ids: pd.Series, raw: pd.Series) -> pd.Series:
    """The FOCUS service of each row: by resource type, then by meter category, else raw."""
    codes, uniques = pd.factorize(ids.astype("string[pyarrow]"), use_na_sentinel=True)
    types = resource_type(pd.Series(uniques, dtype="string[pyarrow]"))
    by_type = types.map(SERVICE_BY_TYPE).astype("string[pyarrow]")
    if by_type.empty:
        typed = pd.Series(pd.NA, index=ids.index, dtype="string[pyarrow]")
    else:
        typed = by_type.take(codes.clip(min=0)).set_axis(ids.index).mask(codes < 0)
    raw_text = raw.astype("string[pyarrow]").set_axis(ids.index)
    by_category = raw_text.str.lower().map(SERVICE_BY_CATEGORY).astype("string[pyarrow]")
    return typed.fillna(by_category).fillna(raw_text).astype("string[pyarrow]")
