"""The declared schema: the seven registry tables plus ``fetch_errors``, column by column.

Declared once here (:mod:`.declared`), with the column kinds and their Arrow/pandas types in
:mod:`.coltypes` and the Markdown data dictionary generated from it in :mod:`.dictionary`.
Everything else in the package (flatten, tables, the lake, the CLI) reads the schema from here,
and this subpackage imports nothing of the package but :mod:`mlreg_frames.errors`.
"""

from __future__ import annotations

from .coltypes import Column, Kind, Table, arrow_type, pandas_dtype
from .declared import (
    ACR,
    ALL_TABLES,
    FETCH_ERRORS,
    IDENTITIES,
    PE_CONNECTIONS,
    REGIONS,
    REGISTRIES,
    SNAPSHOT,
    STORAGE,
    TABLE_NAMES,
    TABLES,
    TAGS,
    arrow_schema,
    columns,
    conform,
    empty_frame,
    is_stacked,
    key,
)
from .dictionary import data_dictionary_markdown

__all__ = [
    "ACR",
    "ALL_TABLES",
    "FETCH_ERRORS",
    "IDENTITIES",
    "PE_CONNECTIONS",
    "REGIONS",
    "REGISTRIES",
    "SNAPSHOT",
    "STORAGE",
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
]
