"""One registry object -> its row tuples for the seven tables. Pure: no I/O.

The walk is written for real payloads, which are messy:

* property names match case-insensitively (``Value``, ``Properties``, ``RegionDetails``):
  each object is normalised once, so the common camelCase case costs one subset test;
* renamed fields are read under either name (``registryPrivateEndpointConnections`` /
  ``privateEndpointConnections``, ``registryPrivateLinkServiceConnectionState`` /
  ``privateLinkServiceConnectionState``, ``systemCreated*`` / ``userCreated*`` accounts);
* null or missing objects and lists give nulls or no child rows;
* keys this version does not model are kept in the row's ``extra`` dict as
  ``{"dotted.path": value}``, so nothing is dropped; of two keys differing only in case
  (``location`` and ``Location``), the documented spelling fills the column and the other
  goes to ``extra``;
* an item whose ``id`` or ``type`` names another resource type (a subscription, a
  workspace) is not a registry: the walk returns None and the caller skips it.

A value of the wrong *shape* (a list where an object belongs, ...) raises
:class:`~mlreg_frames.errors.FlattenError` naming the page, the registry and the field path.
Row tuples follow the column order declared in :mod:`mlreg_frames.schema`;
:mod:`mlreg_frames.flatten.frames` turns them into typed columns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import FlattenError
from .graphrow import from_graph_row
from .text import find_bad_value, short_path

__all__ = ["REGISTRY_TYPE", "Ctx", "Rows", "parse_arm_id", "resource_type", "walk_registry"]

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


class Ctx:
    """Where the walk is, for error messages; ``strict`` refuses items that are not registries."""

    __slots__ = ("page", "registry", "strict")

    def __init__(self, page: str, registry: str, *, strict: bool = False):
        self.page = page
        self.registry = registry
        self.strict = strict

    def fail(self, message: str, field: str) -> FlattenError:
        return FlattenError(message, page=self.page, registry=self.registry, field=field)


class _Keys:
    """The keys modelled at one level of the payload, in ARM's own (camelCase) spelling."""

    __slots__ = ("canon", "exact")

    def __init__(self, *names: str):
        self.exact = frozenset(names)
        self.canon = {n.lower(): n for n in names}


def _norm(obj: dict[str, Any], keys: _Keys, prefix: str, extra: dict[str, Any], ctx: Ctx,
          field: str) -> dict[str, Any]:  # fmt: skip
    """``obj`` with its modelled keys in canonical spelling; the others go to ``extra``.

    The common case (every key already spelled as ARM documents it) returns ``obj`` itself
    after one subset test, so the walk can use plain ``dict.get`` everywhere. Two keys that
    differ only in case (``location`` and ``Location``) fill one column: the one spelled as
    ARM documents it wins (else the first), and the other is kept in ``extra`` under its own
    spelling, so nothing is lost. ``field`` is the object's JSON path, for errors.
    """
    if obj.keys() <= keys.exact:
        return obj
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    canon = keys.canon
    for key, value in obj.items():
        if type(key) is not str:
            raise ctx.fail(
                f"has a key {key!r} of type {type(key).__name__}; JSON object keys are strings "
                "(convert the keys with str())",
                field or "(root)",
            )
        name = canon.get(key.lower())
        if name is None:
            extra[prefix + key] = value
        elif name not in out:
            out[name] = value
            spelled[name] = key
        elif key == name:  # the documented spelling wins; the earlier variant goes to extra
            extra[prefix + spelled[name]] = out[name]
            out[name] = value
            spelled[name] = key
        else:
            extra[prefix + key] = value
    return out


_K_REGISTRY = _Keys(
    "id", "name", "type", "location", "kind", "tags", "identity", "sku", "properties", "systemData"
)
_K_PROPS = _Keys(
    "regionDetails", "intellectualPropertyPublisher", "publicNetworkAccess", "discoveryUrl",
    "managedResourceGroup", "managedResourceGroupSettings", "mlFlowRegistryUri",
    "registryPrivateEndpointConnections", "privateEndpointConnections", "description", "tags",
    "privateLinkCount",
)  # fmt: skip
_K_SKU = _Keys("name", "tier", "size", "family", "capacity")
_K_IDENTITY = _Keys("type", "principalId", "tenantId", "userAssignedIdentities")
_K_SYSDATA = _Keys(
    "createdAt", "createdBy", "createdByType", "lastModifiedAt", "lastModifiedBy",
    "lastModifiedByType",
)  # fmt: skip
_K_RESOURCE_ID = _Keys("resourceId")
_K_MRG_SETTINGS = _Keys("assignedIdentities")
_K_PRINCIPAL = _Keys("principalId")
_K_UAI = _Keys("principalId", "clientId")
_K_REGION = _Keys("location", "storageAccountDetails", "acrDetails")
_K_STORAGE_ENTRY = _Keys("systemCreatedStorageAccount", "userCreatedStorageAccount")
_K_STORAGE = _Keys(
    "storageAccountName", "storageAccountType", "storageAccountHnsEnabled", "armResourceId",
    "allowBlobPublicAccess",
)  # fmt: skip
_K_ACR_ENTRY = _Keys("systemCreatedAcrAccount", "userCreatedAcrAccount")
_K_ACR = _Keys("acrAccountName", "acrAccountSku", "armResourceId")
_K_PE = _Keys("id", "location", "properties")
_K_PE_PROPS = _Keys(
    "provisioningState", "privateEndpoint", "registryPrivateLinkServiceConnectionState",
    "privateLinkServiceConnectionState", "groupIds",
)  # fmt: skip
_K_PE_ENDPOINT = _Keys("id", "subnetArmId")
_K_PE_STATE = _Keys("status", "description", "actionsRequired")
_K_PAGE = _Keys("value", "nextLink", "id")


def _obj(value: Any, ctx: Ctx, field: str) -> dict[str, Any] | None:
    """``value`` if it is an object, None if null; anything else is a shape error."""
    if value is None or isinstance(value, dict):
        return value
    raise ctx.fail(
        f"expected an object or null, got {type(value).__name__}; the payload is not a "
        "registry shape this version reads (check the api-version)",
        field,
    )


def _list(value: Any, ctx: Ctx, field: str) -> list[Any]:
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


def _sub(obj: dict[str, Any], key: str, ctx: Ctx, field: str, keys: _Keys,
         extra: dict[str, Any], prefix: str) -> dict[str, Any]:  # fmt: skip
    """The child object ``obj[key]`` normalised (``{}`` when absent or null).

    ``field`` is its full JSON path (for errors), ``prefix`` its path relative to the row
    (for the ``extra`` column).
    """
    child = obj.get(key)
    if child is None:
        return {}
    if type(child) is dict and child.keys() <= keys.exact:
        return child
    if not isinstance(child, dict):
        _obj(child, ctx, field)
    return _norm(child, keys, prefix + ".", extra, ctx, field)


class Rows:
    """Row tuples of one registry, per table, in schema column order (``extra`` as a dict)."""

    __slots__ = (
        "acr", "identities", "page", "pe_connections", "regions", "registries", "storage", "tags"
    )  # fmt: skip

    def __init__(self, page: str = "") -> None:
        self.page = page
        self.registries: list[tuple[Any, ...]] = []
        self.regions: list[tuple[Any, ...]] = []
        self.storage: list[tuple[Any, ...]] = []
        self.acr: list[tuple[Any, ...]] = []
        self.identities: list[tuple[Any, ...]] = []
        self.pe_connections: list[tuple[Any, ...]] = []
        self.tags: list[tuple[Any, ...]] = []


def _norm_region(value: Any) -> str | None:
    return value.replace(" ", "").lower() if isinstance(value, str) else None


def _tags(rows: Rows, rid: str, tags: Any, source: str, ctx: Ctx, field: str) -> None:
    tags = _obj(tags, ctx, field)
    if not tags:
        return
    for key, value in tags.items():
        if type(key) is not str:
            raise ctx.fail(
                f"has a tag name {key!r} of type {type(key).__name__}; tag names are strings",
                field,
            )
        if value is not None and not isinstance(value, str):
            bad = find_bad_value(value, f"{field}.{key}")
            if bad is not None:
                raise ctx.fail(f"a value {bad.reason}", short_path(bad.path))
            # Lone surrogates stay raw here: the string column escapes them (see .text).
            value = json.dumps(value, ensure_ascii=False, default=str)
        rows.tags.append((rid, source, key, value))


def _regions(rows: Rows, rid: str, location: Any, regions: list[Any], ctx: Ctx) -> None:
    primary = _norm_region(location)
    for r_index, region in enumerate(regions):
        if region is None:
            continue
        field = f"properties.regionDetails[{r_index}]"
        if type(region) is not dict:
            _obj(region, ctx, field)
        extra: dict[str, Any] = {}
        if not region.keys() <= _K_REGION.exact:
            region = _norm(region, _K_REGION, "", extra, ctx, field)
        r_loc = region.get("location")
        norm = _norm_region(r_loc)
        is_primary = None if norm is None or primary is None else norm == primary
        rows.regions.append((rid, r_loc, is_primary, r_index, extra))
        for name, storage, out in (
            ("storageAccountDetails", True, rows.storage),
            ("acrDetails", False, rows.acr),
        ):
            entries = region.get(name)
            if entries is None:
                continue
            for index, entry in enumerate(_list(entries, ctx, f"{field}.{name}")):
                if entry is not None:
                    e_field = f"{field}.{name}[{index}]"
                    out.append(
                        _account(rid, r_loc, r_index, index, entry, ctx, e_field, storage=storage)
                    )


_ACCOUNT_KINDS = {
    True: (
        _K_STORAGE_ENTRY,
        _K_STORAGE,
        "systemCreatedStorageAccount",
        "userCreatedStorageAccount",
    ),
    False: (_K_ACR_ENTRY, _K_ACR, "systemCreatedAcrAccount", "userCreatedAcrAccount"),
}


def _account(rid: str, r_loc: Any, r_index: int, index: int, entry: Any, ctx: Ctx, field: str,
             *, storage: bool) -> tuple[Any, ...]:  # fmt: skip
    """One storage or ACR row from a ``{system|user}Created*Account`` entry."""
    if not isinstance(entry, dict):
        _obj(entry, ctx, field)
    entry_keys, keys, system_name, user_name = _ACCOUNT_KINDS[storage]
    extra: dict[str, Any] = {}
    if not entry.keys() <= entry_keys.exact:
        entry = _norm(entry, entry_keys, "", extra, ctx, field)
    origin = None
    account: dict[str, Any] = {}
    for prefix, name in (("system", system_name), ("user", user_name)):
        found = entry.get(name)
        if found is None:
            continue
        if type(found) is not dict:
            _obj(found, ctx, f"{field}.{name}")
        if origin is None:
            origin = prefix
            account = (
                found
                if found.keys() <= keys.exact
                else _norm(found, keys, "", extra, ctx, f"{field}.{name}")
            )
        else:  # both kinds in one entry: keep the second whole rather than drop it
            extra[name] = found
    arm = account.get("armResourceId")
    if arm is None:
        res_id = None
    elif type(arm) is dict and arm.keys() <= _K_RESOURCE_ID.exact:
        res_id = arm.get("resourceId")
    else:
        arm = _sub(account, "armResourceId", ctx, f"{field}.{origin}.armResourceId",
                   _K_RESOURCE_ID, extra, "armResourceId")  # fmt: skip
        res_id = arm.get("resourceId")
    if storage:
        return (
            rid, r_loc, r_index, index, origin,
            account.get("storageAccountName"), account.get("storageAccountType"),
            account.get("storageAccountHnsEnabled"), account.get("allowBlobPublicAccess"),
            res_id, extra,
        )  # fmt: skip
    return (
        rid, r_loc, r_index, index, origin,
        account.get("acrAccountName"), account.get("acrAccountSku"), res_id, extra,
    )  # fmt: skip


def _identities(rows: Rows, rid: str, identity: dict[str, Any], props: dict[str, Any],
                ctx: Ctx, reg_extra: dict[str, Any]) -> None:  # fmt: skip
    principal = identity.get("principalId")
    tenant = identity.get("tenantId")
    if principal is not None or tenant is not None:
        rows.identities.append((rid, "system", 0, principal, None, tenant, None, {}))
    uais = _obj(identity.get("userAssignedIdentities"), ctx, "identity.userAssignedIdentities")
    if uais:
        for index, (res_id, uai) in enumerate(uais.items()):
            u_field = f"identity.userAssignedIdentities.{res_id}"
            if type(res_id) is not str:
                raise ctx.fail(
                    f"has a key {res_id!r} of type {type(res_id).__name__}; JSON object keys "
                    "are strings (convert the keys with str())",
                    "identity.userAssignedIdentities",
                )
            uai = _obj(uai, ctx, u_field) or {}
            extra: dict[str, Any] = {}
            uai = _norm(uai, _K_UAI, "", extra, ctx, u_field)
            rows.identities.append(
                (rid, "user", index, uai.get("principalId"), uai.get("clientId"), None, res_id,
                 extra)
            )  # fmt: skip
    field = "properties.managedResourceGroupSettings"
    settings = _obj(props.get("managedResourceGroupSettings"), ctx, field)
    if not settings:
        return
    settings = _norm(settings, _K_MRG_SETTINGS, field + ".", reg_extra, ctx, field)
    field += ".assignedIdentities"
    for index, assigned in enumerate(_list(settings.get("assignedIdentities"), ctx, field)):
        assigned = _obj(assigned, ctx, f"{field}[{index}]")
        if assigned is None:
            continue
        extra = {}
        assigned = _norm(assigned, _K_PRINCIPAL, "", extra, ctx, f"{field}[{index}]")
        rows.identities.append(
            (rid, "managed_resource_group", index, assigned.get("principalId"), None, None, None,
             extra)
        )  # fmt: skip


def _pe_connections(rows: Rows, rid: str, props: dict[str, Any], ctx: Ctx) -> None:
    name = "registryPrivateEndpointConnections"
    conns = props.get(name)
    if conns is None:
        name = "privateEndpointConnections"
        conns = props.get(name)
        if conns is None:
            return
    for index, conn in enumerate(_list(conns, ctx, f"properties.{name}")):
        field = f"properties.{name}[{index}]"
        conn = _obj(conn, ctx, field)
        if conn is None:
            continue
        extra: dict[str, Any] = {}
        conn = _norm(conn, _K_PE, "", extra, ctx, field)
        cprops = _sub(conn, "properties", ctx, f"{field}.properties", _K_PE_PROPS, extra,
                      "properties")  # fmt: skip
        endpoint = _sub(cprops, "privateEndpoint", ctx, f"{field}.properties.privateEndpoint",
                        _K_PE_ENDPOINT, extra, "properties.privateEndpoint")  # fmt: skip
        state_name = "registryPrivateLinkServiceConnectionState"
        if cprops.get(state_name) is None:
            state_name = "privateLinkServiceConnectionState"
        state = _sub(cprops, state_name, ctx, f"{field}.properties.{state_name}", _K_PE_STATE,
                     extra, f"properties.{state_name}")  # fmt: skip
        group_ids = cprops.get("groupIds")
        if group_ids is not None:
            _list(group_ids, ctx, f"{field}.properties.groupIds")
        rows.pe_connections.append(
            (
                rid, index, conn.get("id"), conn.get("location"),
                cprops.get("provisioningState"), endpoint.get("id"),
                endpoint.get("subnetArmId"), state.get("status"), state.get("description"),
                state.get("actionsRequired"), group_ids, extra,
            )
        )  # fmt: skip


REGISTRY_TYPE = "Microsoft.MachineLearningServices/registries"
"""The ARM resource type of a registry (compared case-insensitively)."""
_REGISTRY_TYPE_LOWER = REGISTRY_TYPE.lower()

_NAMESPACE = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_ARM_ID = re.compile(
    r"^(?:/subscriptions/(?P<sub>[^/]+)(?P<rg>/resourceGroups/[^/]+)?)?"
    rf"(?:/providers/(?P<ns>{_NAMESPACE})(?P<rest>(?:/[^/]+/[^/]+)+))?/?$",
    re.IGNORECASE,
)
_ARM_TYPE = re.compile(rf"^{_NAMESPACE}(?:/[A-Za-z0-9-]+)+$")


def resource_type(arm_id: str) -> str | None:
    """The resource type a well-formed ARM id names; None when it is not an ARM id at all.

    Example::

        >>> resource_type("/subscriptions/0000/resourceGroups/rg")
        'Microsoft.Resources/resourceGroups'
        >>> resource_type("/subscriptions/0/resourceGroups/rg/providers/Microsoft.Web/sites/a")
        'Microsoft.Web/sites'
        >>> resource_type("string") is None
        True
    """
    match = _ARM_ID.match(arm_id)
    if match is None or not (match.group("sub") or match.group("ns")):
        return None
    if match.group("ns") is None:
        return "Microsoft.Resources/" + ("resourceGroups" if match.group("rg") else "subscriptions")
    names = match.group("rest").split("/")[1::2]
    return "/".join([match.group("ns"), *names])


_REGISTRY_SEGMENT = "/providers/microsoft.machinelearningservices/registries/"


def _foreign(arm_id: str, rid: str, rtype: Any) -> tuple[str, str] | None:
    """(field, resource type) when an item is plainly another kind of resource, else None.

    Only well-formed ARM ids and ``Namespace/type`` strings count: the spec examples'
    placeholders (``"string"``) are not evidence of anything. ``rid`` is the id lower-cased.
    """
    if (
        isinstance(rtype, str)
        and rtype.lower() != _REGISTRY_TYPE_LOWER
        and _ARM_TYPE.match(rtype) is not None
    ):
        return "type", rtype
    at = rid.find(_REGISTRY_SEGMENT)
    if at >= 0 and "/" not in rid[at + len(_REGISTRY_SEGMENT) :] and rid.count("/providers/") == 1:
        return None  # the common case: plainly a registry id, no need to parse it
    found = resource_type(arm_id)
    if found is not None and found.lower() != _REGISTRY_TYPE_LOWER:
        return "id", found
    return None


def walk_registry(reg: Any, ctx: Ctx, index: int) -> tuple[str, Rows] | None:
    """Walk one registry object into its rows; returns (registry_id, rows).

    Returns None for an item that is plainly not a registry (its ``id`` or ``type`` names
    another resource type), which the caller counts and skips; with ``ctx.strict`` that is
    a :class:`~mlreg_frames.errors.FlattenError` instead.
    """
    if not isinstance(reg, dict):
        raise ctx.fail(
            f"a registry must be a JSON object, got {type(reg).__name__}; remove the entry "
            "or pass the registries list response",
            f"value[{index}]",
        )
    extra: dict[str, Any] = {}
    reg, tenant = from_graph_row(reg, extra)  # Resource Graph rows: ARG's additions
    if not reg.keys() <= _K_REGISTRY.exact:
        reg = _norm(reg, _K_REGISTRY, "", extra, ctx, f"value[{index}]")
    arm_id = reg.get("id")
    if not isinstance(arm_id, str) or not arm_id:
        raise ctx.fail(
            "a registry has no string `id`, so its rows cannot be keyed; pass registries "
            "as ARM returns them",
            f"value[{index}].id",
        )
    ctx.registry = arm_id
    rtype = reg.get("type")
    if isinstance(rtype, str) and rtype.lower().endswith("privateendpointconnections"):
        raise ctx.fail(
            f"this is a private endpoint connection ({rtype}), not a registry; flatten the "
            "registries list instead (its registryPrivateEndpointConnections are read from it)",
            "type",
        )
    rid = arm_id.lower()
    foreign = _foreign(arm_id, rid, rtype)
    if foreign is not None:
        if ctx.strict:
            raise ctx.fail(
                f"this is a {foreign[1]}, not a registry ({REGISTRY_TYPE}); pass registries "
                "list responses, or flatten without strict=True to skip such items",
                foreign[0],
            )
        return None
    sub, rg = parse_arm_id(arm_id)
    props = _sub(reg, "properties", ctx, "properties", _K_PROPS, extra, "properties")
    sku = _sub(reg, "sku", ctx, "sku", _K_SKU, extra, "sku")
    identity = _sub(reg, "identity", ctx, "identity", _K_IDENTITY, extra, "identity")
    sysdata = _sub(reg, "systemData", ctx, "systemData", _K_SYSDATA, extra, "systemData")
    mrg = _sub(props, "managedResourceGroup", ctx, "properties.managedResourceGroup",
               _K_RESOURCE_ID, extra, "properties.managedResourceGroup")  # fmt: skip
    region_list = props.get("regionDetails")
    regions = _list(region_list, ctx, "properties.regionDetails")
    location = reg.get("location")

    rows = Rows(ctx.page)
    rows.registries.append(
        (
            rid, arm_id, reg.get("name"), sub, rg, location, reg.get("kind") or None,
            rtype, sku.get("name"), sku.get("tier"), sku.get("size"),
            sku.get("family"), sku.get("capacity"), identity.get("type"),
            props.get("publicNetworkAccess"), props.get("intellectualPropertyPublisher"),
            props.get("discoveryUrl"), props.get("mlFlowRegistryUri"),
            mrg.get("resourceId"), props.get("description"), props.get("privateLinkCount"),
            None if region_list is None else len(regions),
            sysdata.get("createdAt"), sysdata.get("createdBy"),
            sysdata.get("createdByType"), sysdata.get("lastModifiedAt"),
            sysdata.get("lastModifiedBy"), sysdata.get("lastModifiedByType"), tenant, extra,
        )
    )  # fmt: skip
    _regions(rows, rid, location, regions, ctx)
    _identities(rows, rid, identity, props, ctx, extra)
    _pe_connections(rows, rid, props, ctx)
    _tags(rows, rid, reg.get("tags"), "resource", ctx, "tags")
    _tags(rows, rid, props.get("tags"), "properties", ctx, "properties.tags")
    return rid, rows
