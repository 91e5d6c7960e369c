"""The data model, declared once: tables, columns, types, keys and a line of meaning each.

Everything else derives from here: the empty frames the flattener starts from, the pandas
dtypes, the Arrow schemas written to Parquet, the lake's partition layout and the data
dictionary in ``docs/data-dictionary.md`` (``python -m mlreg_frames dictionary``).

Every table carries ``registry_id``, the registry's ARM id lower-cased: ARM ids are
case-insensitive, so lower-casing makes joins with cost exports and other tables safe.

Example::

    >>> from mlreg_frames import schema
    >>> schema.TABLES["regions"].column_names
    ('registry_id', 'location', 'is_primary', 'region_index', 'extra')
    >>> str(schema.empty_frame("tags").dtypes["key"]), schema.empty_frame("tags")["key"].dtype.storage
    ('string', 'pyarrow')
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..errors import SchemaError
from .assets import ASSET_TABLES
from .changes import CHANGES
from .coltypes import Column, Kind, Table, arrow_type, pandas_dtype
from .subscriptions import SUBSCRIPTIONS

__all__ = [
    "ALL_TABLES",
    "ASSET_SET",
    "FETCH_ERRORS",
    "SNAPSHOT",
    "SUBSCRIPTIONS",
    "TABLES",
    "TABLE_NAMES",
    "Column",
    "Kind",
    "Table",
    "arrow_schema",
    "arrow_type",
    "columns",
    "conform",
    "empty_frame",
    "is_stacked",
    "key",
    "pandas_dtype",
    "table",
]


def _c(name: str, kind: Kind, doc: str) -> Column:
    return Column(name, kind, doc)


_REGISTRY_ID = _c("registry_id", "string", "The registry's ARM id, lower-cased: the join key.")
_EXTRA = _c(
    "extra",
    "json",
    "Payload keys this version does not model, as a JSON object {dotted.path: value}; "
    "null when there are none (nothing is dropped).",
)

REGISTRIES = Table(
    "registries",
    "One row per registry (the last one seen when a registry appears twice).",
    ("registry_id",),
    (
        _REGISTRY_ID,
        _c("arm_id", "string", "The ARM id exactly as returned."),
        _c("name", "string", "The registry name."),
        _c(
            "subscription_id",
            "string",
            "Subscription parsed from the id (lower-case); null if the id does not parse.",
        ),
        _c(
            "resource_group",
            "string",
            "Resource group parsed from the id; null if the id does not parse.",
        ),
        _c("location", "string", "The primary Azure region."),
        _c("kind", "string", "ARM `kind`; null when absent or empty."),
        _c(
            "type",
            "string",
            "ARM resource type, e.g. Microsoft.MachineLearningServices/registries (Resource "
            "Graph's lower-cased type is given ARM's spelling).",
        ),
        _c("sku_name", "string", "`sku.name`."),
        _c("sku_tier", "string", "`sku.tier` (Free, Basic, Standard, Premium)."),
        _c("sku_size", "string", "`sku.size`."),
        _c("sku_family", "string", "`sku.family`."),
        _c("sku_capacity", "int", "`sku.capacity`."),
        _c(
            "identity_type", "string", "`identity.type` (SystemAssigned, UserAssigned, both, None)."
        ),
        _c(
            "public_network_access",
            "string",
            "`properties.publicNetworkAccess` (Enabled / Disabled).",
        ),
        _c(
            "intellectual_property_publisher",
            "string",
            "`properties.intellectualPropertyPublisher`.",
        ),
        _c("discovery_url", "string", "`properties.discoveryUrl`."),
        _c("mlflow_registry_uri", "string", "`properties.mlFlowRegistryUri`."),
        _c("managed_resource_group_id", "string", "`properties.managedResourceGroup.resourceId`."),
        _c("description", "string", "`properties.description` (older api versions only)."),
        _c("private_link_count", "int", "`properties.privateLinkCount` (older api versions only)."),
        _c(
            "region_count",
            "int",
            "Number of `regionDetails` entries (replication regions, primary included).",
        ),
        _c("created_at", "timestamp", "`systemData.createdAt`, UTC."),
        _c("created_by", "string", "`systemData.createdBy`."),
        _c(
            "created_by_type",
            "string",
            "`systemData.createdByType` (User, Application, ManagedIdentity, Key).",
        ),
        _c("last_modified_at", "timestamp", "`systemData.lastModifiedAt`, UTC."),
        _c("last_modified_by", "string", "`systemData.lastModifiedBy`."),
        _c("last_modified_by_type", "string", "`systemData.lastModifiedByType`."),
        _c(
            "tenant_id",
            "string",
            "`tenantId` of a Resource Graph row (source=graph); null from ARM, which does not "
            "return it.",
        ),
        _EXTRA,
    ),
)

REGIONS = Table(
    "regions",
    "One row per `properties.regionDetails` entry: where a registry replicates.",
    ("registry_id", "region_index"),
    (
        _REGISTRY_ID,
        _c("location", "string", "The region, as returned."),
        _c(
            "is_primary",
            "bool",
            "True when the region is the registry's own `location` (compared without case or spaces).",
        ),
        _c(
            "region_index",
            "int",
            "Position in `regionDetails` (0-based): ARM gives no other unique key.",
        ),
        _EXTRA,
    ),
)

STORAGE = Table(
    "storage",
    "One row per `storageAccountDetails` entry of a region.",
    ("registry_id", "region_index", "storage_index"),
    (
        _REGISTRY_ID,
        _c("location", "string", "The region the account serves."),
        _c("region_index", "int", "Position of the region in `regionDetails`: joins to `regions`."),
        _c("storage_index", "int", "Position in the region's `storageAccountDetails`."),
        _c(
            "origin",
            "string",
            "`system` (systemCreatedStorageAccount) or `user` (bring-your-own userCreatedStorageAccount).",
        ),
        _c("storage_account_name", "string", "`storageAccountName`."),
        _c(
            "storage_account_type",
            "string",
            "`storageAccountType`: the SKU / redundancy, e.g. Standard_LRS.",
        ),
        _c(
            "hns_enabled", "bool", "`storageAccountHnsEnabled`: hierarchical namespace (ADLS Gen2)."
        ),
        _c("allow_blob_public_access", "bool", "`allowBlobPublicAccess`."),
        _c(
            "resource_id",
            "string",
            "`armResourceId.resourceId` of the storage account (as returned).",
        ),
        _EXTRA,
    ),
)

ACR = Table(
    "acr",
    "One row per `acrDetails` entry of a region: the container registries behind it.",
    ("registry_id", "region_index", "acr_index"),
    (
        _REGISTRY_ID,
        _c("location", "string", "The region the container registry serves."),
        _c("region_index", "int", "Position of the region in `regionDetails`: joins to `regions`."),
        _c("acr_index", "int", "Position in the region's `acrDetails`."),
        _c(
            "origin",
            "string",
            "`system` (systemCreatedAcrAccount) or `user` (userCreatedAcrAccount).",
        ),
        _c("acr_name", "string", "`acrAccountName`."),
        _c("acr_sku", "string", "`acrAccountSku` (Basic, Standard, Premium)."),
        _c(
            "resource_id",
            "string",
            "`armResourceId.resourceId` of the container registry (as returned).",
        ),
        _EXTRA,
    ),
)

IDENTITIES = Table(
    "identities",
    "One row per principal the payload names: the system identity, each user-assigned "
    "identity and each identity assigned in the managed resource group.",
    ("registry_id", "kind", "identity_index"),
    (
        _REGISTRY_ID,
        _c(
            "kind",
            "string",
            "`system` (identity.principalId), `user` (userAssignedIdentities) or `managed_resource_group`.",
        ),
        _c("identity_index", "int", "Position within its kind (0 for the system identity)."),
        _c("principal_id", "string", "The principal (object) id."),
        _c("client_id", "string", "The client (application) id, for user-assigned identities."),
        _c("tenant_id", "string", "The tenant id, for the system identity."),
        _c(
            "resource_id",
            "string",
            "The user-assigned identity's ARM id (the key of userAssignedIdentities).",
        ),
        _EXTRA,
    ),
)

PE_CONNECTIONS = Table(
    "pe_connections",
    "One row per private-endpoint connection "
    "(`registryPrivateEndpointConnections` or the older `privateEndpointConnections`).",
    ("registry_id", "pe_index"),
    (
        _REGISTRY_ID,
        _c("pe_index", "int", "Position in the connection list."),
        _c("connection_id", "string", "The connection's ARM id."),
        _c("location", "string", "The connection's location."),
        _c("provisioning_state", "string", "`properties.provisioningState`."),
        _c("private_endpoint_id", "string", "`properties.privateEndpoint.id`."),
        _c("subnet_id", "string", "`properties.privateEndpoint.subnetArmId`."),
        _c(
            "status",
            "string",
            "Connection state status: Approved, Pending, Rejected, Disconnected, Timeout.",
        ),
        _c("description", "string", "Connection state description."),
        _c("actions_required", "string", "Connection state `actionsRequired`."),
        _c("group_ids", "string_list", "`properties.groupIds` as a list."),
        _EXTRA,
    ),
)

TAGS = Table(
    "tags",
    "One row per tag.",
    ("registry_id", "source", "key"),
    (
        _REGISTRY_ID,
        _c(
            "source",
            "string",
            "`resource` (top-level `tags`) or `properties` (the older `properties.tags`).",
        ),
        _c("key", "string", "Tag name."),
        _c("value", "string", "Tag value (non-string values as JSON text)."),
    ),
)

FETCH_ERRORS = Table(
    "fetch_errors",
    "One row per scope a fetch could not read (failed) or chose not to (skipped).",
    ("scope",),
    (
        _c("scope", "string", "The ARM scope, e.g. /subscriptions/<id>/resourceGroups/<rg>."),
        _c("subscription_id", "string", "The subscription of the scope."),
        _c("resource_group", "string", "The resource group of the scope, if any."),
        _c(
            "outcome",
            "string",
            "`failed`, `skipped` (e.g. a Disabled subscription), or from Resource Graph "
            "`truncated` (resultTruncated, or fewer rows than totalRecords: rows are missing) "
            "or `partial` (allowPartialScopes was on: subscriptions beyond ARG's limit are "
            "missing, or may be when ARG did not say).",
        ),
        _c("http_status", "int", "The HTTP status of the last answer, if there was one."),
        _c("error_code", "string", "ARM error code, or the client-side failure class."),
        _c("message", "string", "What went wrong and what to do."),
        _c("request_id", "string", "`x-ms-request-id` of the failing answer, for Azure support."),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (REGISTRIES, REGIONS, STORAGE, ACR, IDENTITIES, PE_CONNECTIONS, TAGS)
}
"""The seven registry tables, in their canonical order."""

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

ALL_TABLES: dict[str, Table] = {
    **TABLES,
    FETCH_ERRORS.name: FETCH_ERRORS,
    SUBSCRIPTIONS.name: SUBSCRIPTIONS,
}
"""The seven tables plus ``fetch_errors`` and ``subscriptions``: everything a RegistryTables
holds (the two last are keyed by scope and subscription, not by registry)."""


ASSET_SET: dict[str, Table] = {**ASSET_TABLES, FETCH_ERRORS.name: FETCH_ERRORS}
"""The asset tables plus ``fetch_errors``: everything an AssetTables holds."""

_EVERY_TABLE: dict[str, Table] = {**ALL_TABLES, **ASSET_TABLES, CHANGES.name: CHANGES}


def table(name: str) -> Table:
    """The declared table ``name`` (a registry table, ``fetch_errors`` or an asset table)."""
    try:
        return _EVERY_TABLE[name]
    except KeyError:
        raise SchemaError(
            f"unknown table {name!r}; the tables are {', '.join(_EVERY_TABLE)}", table=name
        ) from None


_table = table


SNAPSHOT = Column(
    "snapshot",
    "string",
    "The lake snapshot a row belongs to: a plain column of every Delta table in the lake; "
    "in pandas a leading column only when several snapshots are read together "
    "(`lake.read(root, 'all')`), and then part of every key.",
)
"""The snapshot column: in every lake table, and leading stacked snapshots in pandas."""


def columns(name: str, *, stacked: bool = False) -> tuple[Column, ...]:
    """The columns of table ``name``, with the leading ``snapshot`` column when ``stacked``."""
    table = _table(name)
    return (SNAPSHOT, *table.columns) if stacked else table.columns


def key(name: str, *, stacked: bool = False) -> tuple[str, ...]:
    """The columns identifying a row of table ``name`` (``snapshot`` first when stacked)."""
    table = _table(name)
    return (SNAPSHOT.name, *table.key) if stacked else table.key


def empty_frame(name: str, *, stacked: bool = False) -> pd.DataFrame:
    """An empty DataFrame with every column of ``name`` and its declared dtype."""
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=pandas_dtype(c.kind)) for c in columns(name, stacked=stacked)}
    )


def arrow_schema(name: str, *, stacked: bool = False) -> pa.Schema:
    """The Arrow schema of table ``name`` (what Parquet files hold)."""
    return pa.schema([pa.field(c.name, arrow_type(c.kind)) for c in columns(name, stacked=stacked)])


def is_stacked(frame: pd.DataFrame) -> bool:
    """Whether a frame carries the leading ``snapshot`` column of stacked snapshots."""
    return SNAPSHOT.name in frame.columns


def conform(name: str, frame: pd.DataFrame, *, allow_missing: bool = False) -> pd.DataFrame:
    """Return ``frame`` with exactly the declared columns, in order, cast to their dtypes.

    A ``snapshot`` column (stacked snapshots) is kept, first.

    Args:
        name: the table name.
        frame: a frame holding the table's columns (extra columns raise).
        allow_missing: fill absent columns with nulls (reading data written by an older
            schema) instead of raising.

    Raises:
        SchemaError: a column is missing (unless allowed), unknown, or cannot be cast.
    """
    declared = columns(name, stacked=is_stacked(frame))
    names = {c.name for c in declared}
    unknown = [c for c in frame.columns if c not in names]
    if unknown:
        raise SchemaError(
            f"table {name!r} has columns the schema does not declare: {unknown}; "
            "drop them or add them to mlreg_frames.schema",
            table=name,
            column=str(unknown[0]),
        )
    out: dict[str, pd.Series] = {}
    for col in declared:
        dtype = pandas_dtype(col.kind)
        if col.name not in frame.columns:
            if not allow_missing:
                raise SchemaError(
                    f"table {name!r} lacks column {col.name!r}", table=name, column=col.name
                )
            out[col.name] = pd.Series([None] * len(frame), index=frame.index, dtype=dtype)
            continue
        series = frame[col.name]
        if series.dtype != dtype:
            try:
                series = series.astype(dtype)  # type: ignore[call-overload]
            except (TypeError, ValueError, pa.ArrowException) as exc:
                raise SchemaError(
                    f"column {name}.{col.name} cannot be cast to {dtype}: {exc}",
                    table=name,
                    column=col.name,
                ) from exc
        out[col.name] = series
    return pd.DataFrame(out, index=frame.index)
