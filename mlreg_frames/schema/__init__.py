"""The declared schema: the seven registry tables, ``fetch_errors``, ``subscriptions``, assets.

Declared once here (:mod:`.declared`, the asset tables in :mod:`.assets`), with the column
kinds and their Arrow/pandas types in :mod:`.coltypes` and the Markdown data dictionary
generated from it in :mod:`.dictionary`.
Everything else in the package (flatten, tables, the lake, the CLI) reads the schema from here,
and this subpackage imports nothing of the package but :mod:`mlreg_frames.errors`.
"""

from __future__ import annotations

from .assets import ASSET_TABLES, ASSET_TAGS, ASSET_TYPES, ASSET_VERSIONS, ASSETS
from .changes import CHANGE_TYPES, CHANGES
from .coltypes import Column, Kind, Table, arrow_type, pandas_dtype
from .declared import (
    ACR,
    ALL_TABLES,
    ASSET_SET,
    FETCH_ERRORS,
    IDENTITIES,
    PE_CONNECTIONS,
    REGIONS,
    REGISTRIES,
    SNAPSHOT,
    STORAGE,
    SUBSCRIPTIONS,
    TABLE_NAMES,
    TABLES,
    TAGS,
    arrow_schema,
    columns,
    conform,
    empty_frame,
    is_stacked,
    key,
    table,
)
from .dictionary import data_dictionary_markdown
from .subscriptions import OUTCOMES

__all__ = [
    "ACR",
    "ALL_TABLES",
    "ASSETS",
    "ASSET_SET",
    "ASSET_TABLES",
    "ASSET_TAGS",
    "ASSET_TYPES",
    "ASSET_VERSIONS",
    "CHANGES",
    "CHANGE_TYPES",
    "FETCH_ERRORS",
    "IDENTITIES",
    "OUTCOMES",
    "PE_CONNECTIONS",
    "REGIONS",
    "REGISTRIES",
    "SNAPSHOT",
    "STORAGE",
    "SUBSCRIPTIONS",
    "TABLES",
    "TABLE_NAMES",
    "TAGS",
    "Column",
    "Kind",
    "Table",
    "arrow_schema",
    "arrow_type",
    "columns",
    "conform",
    "data_dictionary_markdown",
    "empty_frame",
    "is_stacked",
    "key",
    "pandas_dtype",
    "table",
]
