"""Asset list pages -> the asset tables. Pure: no I/O, no HTTP.

A registry's asset lists (``GET {registry}/models``, ``.../models/{name}/versions``, and the
same for environments, components, data and codes) do not say which registry, asset type or
container they answer: the spec examples give ``"string"`` as ids and a version's ``name`` is
the version. So each page is read with the URL it answers (``Page.url``, which
:func:`~mlreg_frames.pages.write_page` and the fetch's ``raw_dir`` archive keep): the path
gives the registry, the type and, for a version list, the container.

The walk is written for real payloads: names match case-insensitively, missing or null
fields give nulls (``is_archived`` stays null, never False, when a list does not say), a
value that does not fit its column (``"now"`` as a timestamp) and keys this version does not
model go to ``extra``, ``flavors`` and ``componentSpec`` are kept as JSON text, and an item
seen twice is kept once (the last). A page of the wrong *shape* (``value`` not a list, an
item or ``properties`` not an object, nesting past the depth limit, a page without a URL of
an asset list) raises :class:`~mlreg_frames.errors.FlattenError` naming the page, the
registry and the field path.

Example::

    >>> from mlreg_frames.pages import Page
    >>> url = ("https://management.azure.com/subscriptions/S/resourceGroups/rg/providers/"
    ...        "Microsoft.MachineLearningServices/registries/r1/models?api-version=2025-09-01")
    >>> page = Page({"value": [{"name": "m", "properties": {"latestVersion": "2"}}]}, "p", url)
    >>> flatten_assets([page]).assets[["asset_type", "name", "latest_version"]].values.tolist()
    [['models', 'm', '2']]
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from .. import schema
from ..assettables import AssetTables
from ..errors import FlattenError
from ..pages import Page, read_pages
from ..tables import from_arrow
from .frames import arrow_table
from .text import encode_json, find_bad_value, short_path
from .walk import Ctx, _Keys, _norm

__all__ = ["AssetList", "asset_list_of", "container_names", "flatten_assets"]

_LIST_PATH = re.compile(
    r"^(?P<registry>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/registries/[^/]+)"
    r"/(?P<type>models|environments|components|data|codes)"
    r"(?:/(?P<container>[^/]+)/versions)?/?$",
    re.IGNORECASE,
)


class AssetList:
    """What one asset list URL answers: the registry, the asset type and (versions) container."""

    __slots__ = ("asset_type", "container", "registry_id")

    def __init__(self, registry_id: str, asset_type: str, container: str | None):
        self.registry_id = registry_id
        self.asset_type = asset_type
        self.container = container


def asset_list_of(url: str | None) -> AssetList | None:
    """The registry, type and container an asset list URL answers; None for another URL.

    Example::

        >>> a = asset_list_of("https://h/subscriptions/S/resourceGroups/g/providers/"
        ...     "Microsoft.MachineLearningServices/registries/R/models/m1/versions?$skip=x")
        >>> a.registry_id[-13:], a.asset_type, a.container
        ('/registries/r', 'models', 'm1')
    """
    if not isinstance(url, str):
        return None
    match = _LIST_PATH.match(unquote(urlsplit(url).path))
    if match is None:
        return None
    return AssetList(match["registry"].lower(), match["type"].lower(), match["container"])


_ARM_TYPE = "microsoft.machinelearningservices/registries"
_K_PAGE = _Keys("value", "nextLink")
_K_ITEM = _Keys("id", "name", "type", "properties", "systemData")
_K_SYSTEM = _Keys(
    "createdAt", "createdBy", "createdByType", "lastModifiedAt", "lastModifiedBy",
    "lastModifiedByType",
)  # fmt: skip
_COMMON = ("description", "tags", "properties", "isArchived", "provisioningState")
_K_CONTAINER = _Keys(*_COMMON, "latestVersion", "nextVersion", "dataType")
_K_VERSION = _Keys(
    *_COMMON, "isAnonymous", "stage", "modelUri", "dataUri", "codeUri", "modelType", "jobName",
    "flavors", "dataType", "referencedUris", "environmentType", "osType", "image", "build",
    "autoRebuild", "condaFile", "componentSpec",
)  # fmt: skip
_K_BUILD = _Keys("contextUri", "dockerfilePath")


def _object(value: Any, ctx: Ctx, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ctx.fail(
        f"expected an object or null, got {type(value).__name__}; the page is not an asset "
        "list this version reads (check the api-version)",
        field,
    )


def _json(value: Any) -> str | None:
    return None if value is None else encode_json(value)


class _Rows:
    """The rows of all pages, keyed so that an item seen twice keeps its last sighting, and
    the container lists read (``{registry id}/{type}``), empty ones too."""

    def __init__(self) -> None:
        self.listed: set[str] = set()
        self.assets: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = {}
        self.versions: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = {}


def _tag_rows(keys: tuple[Any, ...], props: dict[str, Any], ctx: Ctx, field: str,
              extra: dict[str, Any]) -> list[tuple[Any, ...]]:  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for source in ("tags", "properties"):
        mapping = props.get(source)
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            extra[f"properties.{source}"] = mapping  # a tag map of the wrong shape: kept
            continue
        for key, value in mapping.items():
            if value is not None and not isinstance(value, str):
                value = json.dumps(value, ensure_ascii=False, default=str)
            rows.append((*keys, source, key, value))
    return rows


def _item(rows: _Rows, where: AssetList, item: Any, ctx: Ctx, field: str) -> None:
    if not isinstance(item, dict):
        raise ctx.fail(f"expected an asset object, got {type(item).__name__}", field)
    bad = find_bad_value(item, field)
    if bad is not None:
        raise ctx.fail(f"a value {bad.reason}", short_path(bad.path))
    extra: dict[str, Any] = {}
    top = _norm(item, _K_ITEM, "", extra, ctx, field)
    is_version = where.container is not None
    props_field = f"{field}.properties"
    raw_props = _object(top.get("properties"), ctx, props_field)
    props = _norm(raw_props, _K_VERSION if is_version else _K_CONTAINER, "properties.", extra,
                  ctx, props_field)  # fmt: skip
    system = _norm(_object(top.get("systemData"), ctx, f"{field}.systemData"), _K_SYSTEM,
                   "systemData.", extra, ctx, f"{field}.systemData")  # fmt: skip
    rtype = top.get("type")
    expected = f"{_ARM_TYPE}/{where.asset_type}" + ("/versions" if is_version else "")
    if rtype is not None and (not isinstance(rtype, str) or rtype.lower() != expected):
        extra["type"] = rtype  # a placeholder or another type: kept, it says something
    arm_id = top.get("id")
    name = top.get("name")
    if not isinstance(name, str) or not name:
        tail = arm_id.rstrip("/").rsplit("/", 1)[-1] if isinstance(arm_id, str) else None
        if not tail:
            raise ctx.fail(
                "has no string `name` nor an `id` to read it from; an asset needs a name",
                f"{field}.name",
            )
        if name is not None:
            extra["name"] = name
        name = tail
    stamps = tuple(system.get(k) for k in _K_SYSTEM.canon.values())
    common = (arm_id, props.get("description"), props.get("isArchived"),
              props.get("provisioningState"))  # fmt: skip
    if not is_version:
        keys: tuple[Any, ...] = (where.registry_id, where.asset_type, name)
        tags = _tag_rows((*keys, None), props, ctx, props_field, extra)
        row = (*keys, *common, props.get("latestVersion"), props.get("nextVersion"),
               props.get("dataType"), *stamps, extra)  # fmt: skip
        rows.assets[keys] = (row, tags)
        return
    keys = (where.registry_id, where.asset_type, where.container, name)
    tags = _tag_rows(keys, props, ctx, props_field, extra)
    build = _norm(_object(props.get("build"), ctx, f"{props_field}.build"), _K_BUILD,
                  "properties.build.", extra, ctx, f"{props_field}.build")  # fmt: skip
    uri = next(
        (props.get(k) for k in ("modelUri", "dataUri", "codeUri", "image") if props.get(k)),
        build.get("contextUri"),
    )
    row = (
        *keys, *common, props.get("isAnonymous"), props.get("stage"), uri,
        props.get("modelType"), props.get("jobName"), _json(props.get("flavors")),
        props.get("dataType"), props.get("referencedUris"), props.get("environmentType"),
        props.get("osType"), props.get("image"), build.get("contextUri"),
        build.get("dockerfilePath"), props.get("autoRebuild"), props.get("condaFile"),
        _json(props.get("componentSpec")), *stamps, extra,
    )  # fmt: skip
    rows.versions[keys] = (row, tags)


def _page(rows: _Rows, page: Page) -> None:
    where = asset_list_of(page.url)
    if where is None:
        raise FlattenError(
            f"answers {page.url!r}, which is not a registry asset list URL "
            "({registry id}/{models|environments|components|data|codes}[/{name}/versions]); "
            "asset pages need the URL they answer: save them with write_page or the fetch's "
            "raw_dir",
            page=page.source,
            field="_mlreg.url",
        )
    ctx = Ctx(page.source, where.registry_id)
    if where.container is None:
        rows.listed.add(f"{where.registry_id}/{where.asset_type}")
    body = page.body
    if not isinstance(body, dict):
        raise ctx.fail(f"expected a page object, got {type(body).__name__}", "(root)")
    envelope = _norm(body, _K_PAGE, "", {}, ctx, "")
    items = envelope.get("value")
    if items is None:
        return
    if not isinstance(items, list):
        raise ctx.fail(f"expected a list of assets, got {type(items).__name__}", "value")
    for index, item in enumerate(items):
        _item(rows, where, item, ctx, f"value[{index}]")


def container_names(pages: Iterable[Page]) -> list[str]:
    """Walk pages as :func:`flatten_assets` does (raising the same errors), building no
    tables; the names of the containers they list. The fetch checks each list with it.
    """
    rows = _Rows()
    for page in pages:
        _page(rows, page)
    return [key[2] for key in rows.assets]


def _frame(name: str, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = from_arrow(name, arrow_table(name, rows), allow_missing=False)
    key = list(schema.key(name))
    return frame.sort_values(key, kind="stable", na_position="first").reset_index(drop=True)


def flatten_assets(
    pages: Iterable[Page] | str | os.PathLike[str],
) -> AssetTables:
    """Turn saved asset list pages into the asset tables (exactly what the fetch returned).

    Args:
        pages: :class:`~mlreg_frames.pages.Page` objects that know their URL (from
            ``read_pages`` over a fetch's ``raw_dir``/assets archive), or a path, folder or
            glob of such page files.

    Returns:
        AssetTables sorted by key, the declared dtypes also when empty; ``fetch_errors`` is
        empty (a flatten reads no errors); ``provenance["listed"]`` names the container lists
        read (``{registry id}/{type}``), so a registry that holds nothing of a type (an empty
        list) is told apart from one never listed.

    Raises:
        FlattenError: a page of the wrong shape, or one without an asset list URL, naming
            page, registry and field path.

    Example::

        >>> import mlreg_frames as mf
        >>> t = mf.flatten_assets("out/raw/assets")      # doctest: +SKIP
        >>> t.asset_versions.groupby("asset_type").size()  # doctest: +SKIP
    """
    if isinstance(pages, (str, os.PathLike)):
        pages = read_pages(pages)
    rows = _Rows()
    count = 0
    for position, page in enumerate(pages):
        if not isinstance(page, Page):
            raise FlattenError(
                f"expected a Page (from read_pages), got {type(page).__name__}",
                page=f"input item {position}",
                field="(root)",
            )
        _page(rows, page)
        count += 1
    tags = [t for _, ts in rows.assets.values() for t in ts]
    tags += [t for _, ts in rows.versions.values() for t in ts]
    return AssetTables(
        assets=_frame("assets", [r for r, _ in rows.assets.values()]),
        asset_versions=_frame("asset_versions", [r for r, _ in rows.versions.values()]),
        asset_tags=_frame("asset_tags", _dedupe_tags(tags)),
        provenance={"inputs": count, "listed": sorted(rows.listed)},
    )


def _dedupe_tags(tags: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per tag key (of a map listing a key twice in two spellings, the last)."""
    return list({t[:6]: t for t in tags}.values())
