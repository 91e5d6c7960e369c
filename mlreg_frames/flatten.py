"""Registry JSON -> the seven tidy tables. Pure: no I/O, no HTTP.

The walk is written for real payloads, which are messy:

* property names match case-insensitively (``Value``, ``Properties``, ``RegionDetails``);
* renamed fields are read under either name (``registryPrivateEndpointConnections`` /
  ``privateEndpointConnections``, ``registryPrivateLinkServiceConnectionState`` /
  ``privateLinkServiceConnectionState``, ``systemCreated*`` / ``userCreated*`` accounts);
* null or missing objects and lists give nulls or no child rows;
* keys this version does not model are kept in each table's ``extra`` column as
  ``{"dotted.path": value}``, so nothing is dropped;
* a registry seen twice (two pages, two runs) gives one row, the last one seen.

Structurally broken input (a page ``value`` that is not a list, a registry that is not an
object or has no string ``id``, a list or object of the wrong shape) raises
:class:`~mlreg_frames.errors.FlattenError` naming the page, the registry and the field path.

Example::

    >>> from mlreg_frames import flatten
    >>> t = flatten([{"id": "/subscriptions/S/resourceGroups/rg/providers/"
    ...               "Microsoft.MachineLearningServices/registries/r1", "location": "eastus",
    ...               "properties": {"regionDetails": [{"location": "eastus"}]}}])
    >>> t.regions[["location", "is_primary"]].values.tolist()
    [['eastus', True]]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import frames
from .errors import FlattenError
from .pages import Page
from .tables import RegistryTables

__all__ = ["flatten", "parse_arm_id"]

_MISSING = object()

_ID_RE = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.IGNORECASE)


def parse_arm_id(arm_id: str) -> tuple[str | None, str | None]:
    """(subscription id lower-cased, resource group) of an ARM id; (None, None) if it doesn't parse.

    Example::

        >>> parse_arm_id("/subscriptions/AB-1/resourceGroups/rg-x/providers/P/t/n")
        ('ab-1', 'rg-x')
    """
    match = _ID_RE.match(arm_id)
    if not match:
        return None, None
    return match.group(1).lower(), match.group(2)


class _Ctx:
    """Where the walk is, for error messages and for the ``extra`` column."""

    __slots__ = ("page", "registry")

    def __init__(self, page: str, registry: str):
        self.page = page
        self.registry = registry

    def fail(self, message: str, field: str) -> FlattenError:
        return FlattenError(message, page=self.page, registry=self.registry, field=field)


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """``obj[key]`` matched case-insensitively (the exact spelling tried first, for speed)."""
    value = obj.get(key, _MISSING)
    if value is not _MISSING:
        return value
    lower = key.lower()
    for k, v in obj.items():
        if k.lower() == lower:
            return v
    return None


def _extras(
    obj: Mapping[str, Any], known: frozenset[str], prefix: str, into: dict[str, Any]
) -> None:
    """Copy the keys of ``obj`` that are not modelled into ``into`` under ``prefix.key``."""
    for key, value in obj.items():
        if key not in known and key.lower() not in known:
            into[prefix + key] = value


def _known(*names: str) -> frozenset[str]:
    """The modelled keys, as spelled (the fast subset test) and lower-cased (the fallback)."""
    return frozenset(names) | frozenset(n.lower() for n in names)


_K_REGISTRY = _known(
    "id", "name", "type", "location", "kind", "tags", "identity", "sku", "properties", "systemData"
)
_K_PROPS = _known(
    "regionDetails", "intellectualPropertyPublisher", "publicNetworkAccess", "discoveryUrl",
    "managedResourceGroup", "managedResourceGroupSettings", "mlFlowRegistryUri",
    "registryPrivateEndpointConnections", "privateEndpointConnections", "description", "tags",
    "privateLinkCount",
)  # fmt: skip
_K_SKU = _known("name", "tier", "size", "family", "capacity")
_K_IDENTITY = _known("type", "principalId", "tenantId", "userAssignedIdentities")
_K_SYSDATA = _known(
    "createdAt", "createdBy", "createdByType", "lastModifiedAt", "lastModifiedBy",
    "lastModifiedByType",
)  # fmt: skip
_K_RESOURCE_ID = _known("resourceId")
_K_MRG_SETTINGS = _known("assignedIdentities")
_K_PRINCIPAL = _known("principalId")
_K_UAI = _known("principalId", "clientId")
_K_REGION = _known("location", "storageAccountDetails", "acrDetails")
_K_STORAGE_ENTRY = _known("systemCreatedStorageAccount", "userCreatedStorageAccount")
_K_STORAGE = _known(
    "storageAccountName", "storageAccountType", "storageAccountHnsEnabled", "armResourceId",
    "allowBlobPublicAccess",
)  # fmt: skip
_K_ACR_ENTRY = _known("systemCreatedAcrAccount", "userCreatedAcrAccount")
_K_ACR = _known("acrAccountName", "acrAccountSku", "armResourceId")
_K_PE = _known("id", "location", "properties")
_K_PE_PROPS = _known(
    "provisioningState", "privateEndpoint", "registryPrivateLinkServiceConnectionState",
    "privateLinkServiceConnectionState", "groupIds",
)  # fmt: skip
_K_PE_ENDPOINT = _known("id", "subnetArmId")
_K_PE_STATE = _known("status", "description", "actionsRequired")


def _obj(value: Any, ctx: _Ctx, field: str) -> dict[str, Any] | None:
    """``value`` if it is an object, None if null; anything else is a shape error."""
    if value is None or isinstance(value, dict):
        return value
    raise ctx.fail(
        f"expected an object or null, got {type(value).__name__}; the payload is not a "
        "registry shape this version reads (check the api-version)",
        field,
    )


def _list(value: Any, ctx: _Ctx, field: str) -> list[Any]:
    """``value`` if it is a list, [] if null; anything else is a shape error."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ctx.fail(
        f"expected a list or null, got {type(value).__name__}; the payload is not a "
        "registry shape this version reads (check the api-version)",
        field,
    )


def _sub(obj: dict[str, Any] | None, key: str, ctx: _Ctx, field: str, known: frozenset[str],
         extra: dict[str, Any], prefix: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The child object ``obj.key`` (``{}`` when absent), its unknown keys into ``extra``.

    ``field`` is the full JSON path (for errors); ``prefix`` the path relative to the row
    (for ``extra``), the same as ``field`` unless given.
    """
    if obj is None:
        return {}
    child = _obj(_get(obj, key), ctx, field)
    if not child:
        return {}
    if not child.keys() <= known:
        _extras(child, known, (field if prefix is None else prefix) + ".", extra)
    return child


def _resource_id(obj: dict[str, Any], ctx: _Ctx, field: str, extra: dict[str, Any]) -> Any:
    arm = _sub(obj, "armResourceId", ctx, field + ".armResourceId", _K_RESOURCE_ID, extra,
               "armResourceId")  # fmt: skip
    return _get(arm, "resourceId") if arm else None


class _Rows:
    """Row tuples of one registry, per table, in schema column order (``extra`` as a dict)."""

    __slots__ = ("acr", "identities", "pe_connections", "regions", "registries", "storage", "tags")

    def __init__(self) -> None:
        self.registries: list[tuple[Any, ...]] = []
        self.regions: list[tuple[Any, ...]] = []
        self.storage: list[tuple[Any, ...]] = []
        self.acr: list[tuple[Any, ...]] = []
        self.identities: list[tuple[Any, ...]] = []
        self.pe_connections: list[tuple[Any, ...]] = []
        self.tags: list[tuple[Any, ...]] = []


def _norm_region(value: Any) -> str | None:
    return value.replace(" ", "").lower() if isinstance(value, str) else None


def _tags(rows: _Rows, rid: str, tags: Any, source: str, ctx: _Ctx, field: str) -> None:
    tags = _obj(tags, ctx, field)
    if not tags:
        return
    for key, value in tags.items():
        if value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        rows.tags.append((rid, source, key, value))


def _regions(rows: _Rows, rid: str, location: Any, regions: list[Any], ctx: _Ctx) -> None:
    primary = _norm_region(location)
    for r_index, region in enumerate(regions):
        field = f"properties.regionDetails[{r_index}]"
        region = _obj(region, ctx, field)
        if region is None:
            continue
        extra: dict[str, Any] = {}
        if not region.keys() <= _K_REGION:
            _extras(region, _K_REGION, "", extra)
        r_loc = _get(region, "location")
        norm = _norm_region(r_loc)
        is_primary = None if norm is None or primary is None else norm == primary
        rows.regions.append((rid, r_loc, is_primary, r_index, extra))
        for s_index, entry in enumerate(
            _list(_get(region, "storageAccountDetails"), ctx, field + ".storageAccountDetails")
        ):
            if entry is not None:
                s_field = f"{field}.storageAccountDetails[{s_index}]"
                rows.storage.append(
                    _account(rid, r_loc, r_index, s_index, entry, ctx, s_field, storage=True)
                )
        for a_index, entry in enumerate(
            _list(_get(region, "acrDetails"), ctx, field + ".acrDetails")
        ):
            if entry is not None:
                a_field = f"{field}.acrDetails[{a_index}]"
                rows.acr.append(
                    _account(rid, r_loc, r_index, a_index, entry, ctx, a_field, storage=False)
                )


def _account(rid: str, r_loc: Any, r_index: int, index: int, entry: Any, ctx: _Ctx, field: str,
             *, storage: bool) -> tuple[Any, ...]:  # fmt: skip
    """One storage or ACR row from a ``{system|user}Created*Account`` entry."""
    entry = _obj(entry, ctx, field) or {}
    extra: dict[str, Any] = {}
    entry_known, known = (_K_STORAGE_ENTRY, _K_STORAGE) if storage else (_K_ACR_ENTRY, _K_ACR)
    kind = "StorageAccount" if storage else "AcrAccount"
    if not entry.keys() <= entry_known:
        _extras(entry, entry_known, "", extra)
    origin = None
    account: dict[str, Any] = {}
    for prefix, name in (("system", f"systemCreated{kind}"), ("user", f"userCreated{kind}")):
        found = _obj(_get(entry, name), ctx, f"{field}.{name}")
        if found is None:
            continue
        if origin is None:
            origin, account = prefix, found
            if not found.keys() <= known:
                _extras(found, known, "", extra)
        else:  # both kinds in one entry: keep the second whole rather than drop it
            extra[name] = found
    res_id = _resource_id(account, ctx, field, extra) if account else None
    if storage:
        return (
            rid, r_loc, r_index, index, origin,
            _get(account, "storageAccountName"), _get(account, "storageAccountType"),
            _get(account, "storageAccountHnsEnabled"), _get(account, "allowBlobPublicAccess"),
            res_id, extra,
        )  # fmt: skip
    return (
        rid, r_loc, r_index, index, origin,
        _get(account, "acrAccountName"), _get(account, "acrAccountSku"), res_id, extra,
    )  # fmt: skip


def _identities(rows: _Rows, rid: str, identity: dict[str, Any], props: dict[str, Any],
                ctx: _Ctx) -> None:  # fmt: skip
    principal = _get(identity, "principalId")
    tenant = _get(identity, "tenantId")
    if principal is not None or tenant is not None:
        rows.identities.append((rid, "system", 0, principal, None, tenant, None, {}))
    uais = _obj(_get(identity, "userAssignedIdentities"), ctx, "identity.userAssignedIdentities")
    for index, (res_id, uai) in enumerate((uais or {}).items()):
        field = f"identity.userAssignedIdentities.{res_id}"
        uai = _obj(uai, ctx, field) or {}
        extra: dict[str, Any] = {}
        if not uai.keys() <= _K_UAI:
            _extras(uai, _K_UAI, "", extra)
        rows.identities.append(
            (
                rid,
                "user",
                index,
                _get(uai, "principalId"),
                _get(uai, "clientId"),
                None,
                res_id,
                extra,
            )
        )
    settings = _obj(
        _get(props, "managedResourceGroupSettings"),
        ctx,
        "properties.managedResourceGroupSettings",
    )
    if not settings:
        return
    field = "properties.managedResourceGroupSettings.assignedIdentities"
    for index, assigned in enumerate(_list(_get(settings, "assignedIdentities"), ctx, field)):
        assigned = _obj(assigned, ctx, f"{field}[{index}]")
        if assigned is None:
            continue
        extra = {}
        if not assigned.keys() <= _K_PRINCIPAL:
            _extras(assigned, _K_PRINCIPAL, "", extra)
        rows.identities.append(
            (rid, "managed_resource_group", index, _get(assigned, "principalId"), None, None, None,
             extra)
        )  # fmt: skip


def _pe_connections(rows: _Rows, rid: str, props: dict[str, Any], ctx: _Ctx) -> None:
    name = "registryPrivateEndpointConnections"
    conns = _get(props, name)
    if conns is None:
        name = "privateEndpointConnections"
        conns = _get(props, name)
    for index, conn in enumerate(_list(conns, ctx, f"properties.{name}")):
        field = f"properties.{name}[{index}]"
        conn = _obj(conn, ctx, field)
        if conn is None:
            continue
        extra: dict[str, Any] = {}
        if not conn.keys() <= _K_PE:
            _extras(conn, _K_PE, "", extra)
        cprops = _sub(conn, "properties", ctx, f"{field}.properties", _K_PE_PROPS, extra,
                      "properties")  # fmt: skip
        endpoint = _sub(cprops, "privateEndpoint", ctx, f"{field}.properties.privateEndpoint",
                        _K_PE_ENDPOINT, extra, "properties.privateEndpoint")  # fmt: skip
        state_name = "registryPrivateLinkServiceConnectionState"
        if _get(cprops, state_name) is None:
            state_name = "privateLinkServiceConnectionState"
        state = _sub(cprops, state_name, ctx, f"{field}.properties.{state_name}", _K_PE_STATE,
                     extra, f"properties.{state_name}")  # fmt: skip
        group_ids = _list(_get(cprops, "groupIds"), ctx, f"{field}.properties.groupIds")
        rows.pe_connections.append(
            (
                rid, index, _get(conn, "id"), _get(conn, "location"),
                _get(cprops, "provisioningState"), _get(endpoint, "id"),
                _get(endpoint, "subnetArmId"), _get(state, "status"), _get(state, "description"),
                _get(state, "actionsRequired"),
                group_ids if _get(cprops, "groupIds") is not None else None, extra,
            )
        )  # fmt: skip


def _registry(reg: Any, ctx: _Ctx, index: int) -> tuple[str, _Rows]:
    """Walk one registry object into its rows; returns (registry_id, rows)."""
    if not isinstance(reg, dict):
        raise ctx.fail(
            f"a registry must be a JSON object, got {type(reg).__name__}; remove the entry "
            "or pass the registries list response",
            f"value[{index}]",
        )
    arm_id = _get(reg, "id")
    if not isinstance(arm_id, str) or not arm_id:
        raise ctx.fail(
            "a registry has no string `id`, so its rows cannot be keyed; pass registries "
            "as ARM returns them",
            f"value[{index}].id",
        )
    ctx.registry = arm_id
    rtype = _get(reg, "type")
    if isinstance(rtype, str) and rtype.lower().endswith("privateendpointconnections"):
        raise ctx.fail(
            f"this is a private endpoint connection ({rtype}), not a registry; flatten the "
            "registries list instead (its registryPrivateEndpointConnections are read from it)",
            "type",
        )
    rid = arm_id.lower()
    sub, rg = parse_arm_id(arm_id)
    extra: dict[str, Any] = {}
    if not reg.keys() <= _K_REGISTRY:
        _extras(reg, _K_REGISTRY, "", extra)
    props = _sub(reg, "properties", ctx, "properties", _K_PROPS, extra)
    sku = _sub(reg, "sku", ctx, "sku", _K_SKU, extra)
    identity = _sub(reg, "identity", ctx, "identity", _K_IDENTITY, extra)
    sysdata = _sub(reg, "systemData", ctx, "systemData", _K_SYSDATA, extra)
    mrg = _sub(props, "managedResourceGroup", ctx, "properties.managedResourceGroup",
               _K_RESOURCE_ID, extra)  # fmt: skip
    region_list = _get(props, "regionDetails")
    regions = _list(region_list, ctx, "properties.regionDetails")
    location = _get(reg, "location")

    rows = _Rows()
    rows.registries.append(
        (
            rid, arm_id, _get(reg, "name"), sub, rg, location, _get(reg, "kind"),
            rtype, _get(sku, "name"), _get(sku, "tier"), _get(sku, "size"),
            _get(sku, "family"), _get(sku, "capacity"), _get(identity, "type"),
            _get(props, "publicNetworkAccess"), _get(props, "intellectualPropertyPublisher"),
            _get(props, "discoveryUrl"), _get(props, "mlFlowRegistryUri"),
            _get(mrg, "resourceId"), _get(props, "description"), _get(props, "privateLinkCount"),
            None if region_list is None else len(regions),
            _get(sysdata, "createdAt"), _get(sysdata, "createdBy"),
            _get(sysdata, "createdByType"), _get(sysdata, "lastModifiedAt"),
            _get(sysdata, "lastModifiedBy"), _get(sysdata, "lastModifiedByType"), extra,
        )
    )  # fmt: skip
    _regions(rows, rid, location, regions, ctx)
    _identities(rows, rid, identity, props, ctx)
    _pe_connections(rows, rid, props, ctx)
    _tags(rows, rid, _get(reg, "tags"), "resource", ctx, "tags")
    _tags(rows, rid, _get(props, "tags"), "properties", ctx, "properties.tags")
    return rid, rows


def _registries_of(item: Any, position: int) -> tuple[str, list[Any]]:
    """(page label, registry list) of one input item: a Page, a page dict or a registry."""
    if isinstance(item, Page):
        label = item.source
        body: Any = item.body
    else:
        label = f"input item {position}"
        body = item
    if not isinstance(body, dict):
        raise FlattenError(
            f"expected a page or a registry object, got {type(body).__name__}",
            page=label,
            field="(root)",
        )
    if _get(body, "id") is not None and _get(body, "value") is None:
        return label, [body]
    for key in body:
        if key.lower() == "value":
            value = body[key]
            if value is None:
                return label, []
            if not isinstance(value, list):
                raise FlattenError(
                    f"a page's `{key}` must be a list of registries, got {type(value).__name__}",
                    page=label,
                    field=key,
                )
            return label, value
    raise FlattenError(
        "neither a page (no `value`) nor a registry (no `id`)", page=label, field="(root)"
    )


def flatten(items: Iterable[Any], *, provenance: Mapping[str, Any] | None = None) -> RegistryTables:
    """Turn ARM registry pages (or registry dicts) into the seven tidy tables.

    Args:
        items: an iterable of :class:`~mlreg_frames.pages.Page` (from ``read_pages``), page
            dicts (``{"value": [...], "nextLink": ...}``), registry dicts, or a mix.
        provenance: merged into the returned tables' ``provenance``.

    Returns:
        RegistryTables with every column declared in :mod:`mlreg_frames.schema`, the same
        dtypes for empty and non-empty input; a registry seen twice is kept once (the last).

    Raises:
        FlattenError: structurally broken input, naming page, registry and field path.

    Example::

        >>> import mlreg_frames as mf
        >>> tables = mf.flatten(mf.read_pages("data/sample"))   # doctest: +SKIP
        >>> tables.storage.groupby("origin").size()             # doctest: +SKIP
    """
    if isinstance(items, (dict, Page)):
        items = [items]
    seen: dict[str, _Rows] = {}
    n_pages = 0
    api_versions: set[str] = set()
    for position, item in enumerate(items):
        label, registries = _registries_of(item, position)
        n_pages += 1
        if isinstance(item, Page) and item.api_version:
            api_versions.add(item.api_version)
        for index, reg in enumerate(registries):
            ctx = _Ctx(label, f"#{index}")
            rid, rows = _registry(reg, ctx, index)
            seen.pop(rid, None)  # the last one seen wins, and moves to the end
            seen[rid] = rows
    prov: dict[str, Any] = {"inputs": n_pages, "registries": len(seen)}
    if api_versions:
        prov["api_versions"] = sorted(api_versions)
    prov.update(provenance or {})
    return frames.build(seen.values(), prov)
