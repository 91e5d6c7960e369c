"""The asset tables: what a registry holds (models, environments, components, data, code).

Declared like the registry tables in :mod:`.declared` and read through the same helpers
(:func:`~mlreg_frames.schema.columns`, :func:`~mlreg_frames.schema.conform`, ...). An asset
*container* (``GET {registry}/models``) is a row of ``assets``; each of its versions
(``GET {registry}/models/{name}/versions``) a row of ``asset_versions``; their ``tags`` and
``properties`` maps are long rows of ``asset_tags``. A fetch's failures go to the shared
``fetch_errors`` table, one row per registry and asset type (or container) it could not read.

Example::

    >>> from mlreg_frames import schema
    >>> schema.key("asset_versions")
    ('registry_id', 'asset_type', 'name', 'version')
"""

from __future__ import annotations

from .coltypes import Column, Kind, Table

__all__ = ["ASSETS", "ASSET_TABLES", "ASSET_TAGS", "ASSET_TYPES", "ASSET_VERSIONS"]

ASSET_TYPES: tuple[str, ...] = ("models", "environments", "components", "data", "codes")
"""The asset types, as ARM names their collections under a registry."""


def _c(name: str, kind: Kind, doc: str) -> Column:
    return Column(name, kind, doc)


_KEYS = (
    _c("registry_id", "string", "The registry's ARM id, lower-cased: joins `registries`."),
    _c("asset_type", "string", "`models`, `environments`, `components`, `data` or `codes`."),
    _c("name", "string", "The container name (the asset's name), as returned."),
)
_SYSTEM = (
    _c("created_at", "timestamp", "`systemData.createdAt`, UTC."),
    _c("created_by", "string", "`systemData.createdBy`: who published it."),
    _c(
        "created_by_type",
        "string",
        "`systemData.createdByType` (User, Application, ManagedIdentity, Key).",
    ),
    _c("last_modified_at", "timestamp", "`systemData.lastModifiedAt`, UTC."),
    _c("last_modified_by", "string", "`systemData.lastModifiedBy`."),
    _c("last_modified_by_type", "string", "`systemData.lastModifiedByType`."),
)
_EXTRA = _c(
    "extra",
    "json",
    "Payload keys this version does not model, as a JSON object {dotted.path: value}; "
    "null when there are none (nothing is dropped).",
)
_COMMON = (
    _c("arm_id", "string", "`id` exactly as returned (examples give a placeholder)."),
    _c("description", "string", "`properties.description`."),
    _c(
        "is_archived",
        "bool",
        "`properties.isArchived`; null when the payload does not say (not False).",
    ),
    _c("provisioning_state", "string", "`properties.provisioningState`."),
)

ASSETS = Table(
    "assets",
    "One row per asset container of a registry (the last one seen when listed twice).",
    ("registry_id", "asset_type", "name"),
    (
        *_KEYS,
        *_COMMON,
        _c("latest_version", "string", "`properties.latestVersion`."),
        _c("next_version", "string", "`properties.nextVersion`."),
        _c("data_type", "string", "`properties.dataType` of a data container (uri_folder, ...)."),
        *_SYSTEM,
        _EXTRA,
    ),
)

ASSET_VERSIONS = Table(
    "asset_versions",
    "One row per version of an asset container.",
    ("registry_id", "asset_type", "name", "version"),
    (
        *_KEYS,
        _c("version", "string", "The version (the item's `name`; the container is in the URL)."),
        *_COMMON,
        _c("is_anonymous", "bool", "`properties.isAnonymous`."),
        _c("stage", "string", "`properties.stage` (e.g. Development, Production)."),
        _c(
            "uri",
            "string",
            "Where the content is: `modelUri`, data `dataUri`, `codeUri`; for an environment "
            "its `image`, else `build.contextUri`.",
        ),
        _c("model_type", "string", "`properties.modelType` (CustomModel, MLFlowModel, ...)."),
        _c("job_name", "string", "`properties.jobName`: the job that produced the model."),
        _c("flavors", "json", "`properties.flavors` of a model, as JSON text."),
        _c("data_type", "string", "`properties.dataType` (uri_file, uri_folder, mltable)."),
        _c("referenced_uris", "string_list", "`properties.referencedUris` of mltable data."),
        _c(
            "environment_type",
            "string",
            "`properties.environmentType` (Curated, UserCreated).",
        ),
        _c("os_type", "string", "`properties.osType` (Linux, Windows)."),
        _c("image", "string", "`properties.image`: the environment's Docker image."),
        _c("build_context_uri", "string", "`properties.build.contextUri`."),
        _c("dockerfile_path", "string", "`properties.build.dockerfilePath`."),
        _c(
            "auto_rebuild",
            "string",
            "`properties.autoRebuild` (Disabled, OnBaseImageUpdate).",
        ),
        _c("conda_file", "string", "`properties.condaFile`, the text as returned."),
        _c("component_spec", "json", "`properties.componentSpec`, as JSON text."),
        *_SYSTEM,
        _EXTRA,
    ),
)

ASSET_TAGS = Table(
    "asset_tags",
    "One row per tag or property of an asset container or version.",
    ("registry_id", "asset_type", "name", "version", "source", "key"),
    (
        *_KEYS,
        _c("version", "string", "The version; null for the container's own tags."),
        _c("source", "string", "`tags` (properties.tags) or `properties` (properties.properties)."),
        _c("key", "string", "Tag or property name."),
        _c("value", "string", "Its value (non-string values as JSON text)."),
    ),
)

ASSET_TABLES: dict[str, Table] = {t.name: t for t in (ASSETS, ASSET_VERSIONS, ASSET_TAGS)}
"""The three asset tables, in their canonical order (an AssetTables adds ``fetch_errors``)."""
