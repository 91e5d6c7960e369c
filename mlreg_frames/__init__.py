"""mlreg_frames: Azure Machine Learning registries as tidy pandas tables and Parquet.

Example::

    import mlreg_frames as mf
    tables = mf.flatten(mf.read_pages("data/sample"))   # offline, from saved ARM pages
    tables = mf.fetch_registries()                       # live, every subscription you see
    tables.registries.head()
    tables.to_parquet("out/")

Everything but the exceptions loads on first use (``mf.flatten`` imports pandas then), so
``import mlreg_frames`` and ``mlreg-frames --help`` stay quick.
"""

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

from .errors import (
    ArmError,
    CostExportError,
    FetchError,
    FlattenError,
    InsecureEndpointError,
    InvalidArgumentError,
    LakeError,
    LimitExceededError,
    MlregFramesError,
    PagesError,
    PaginationError,
    ParquetFileError,
    ParquetSetError,
    SchemaError,
)

__version__ = "0.1.0"

_LAZY = {
    "AssetTables": "mlreg_frames.assettables",
    "read_assets": "mlreg_frames.assettables",
    "flatten": "mlreg_frames.flatten",
    "flatten_assets": "mlreg_frames.flatten",
    "read_pages": "mlreg_frames.pages",
    "RegistryTables": "mlreg_frames.tables",
    "read_parquet": "mlreg_frames.tables",
    "changes": "mlreg_frames.lake.changelog",
    "fetch_backing": "mlreg_frames.sources.backing",
    "fetch_changes": "mlreg_frames.sources.graphchanges",
    "fetch_assets": "mlreg_frames.sources.assets",
    "fetch_registries": "mlreg_frames.sources.fetch",
    "read_cost_export": "mlreg_frames.analysis.costs.read",
    "explore": "mlreg_frames.widgets",
}

__all__ = [
    "ArmError",
    "AssetTables",
    "CostExportError",
    "FetchError",
    "FlattenError",
    "InsecureEndpointError",
    "InvalidArgumentError",
    "LakeError",
    "LimitExceededError",
    "MlregFramesError",
    "PagesError",
    "PaginationError",
    "ParquetFileError",
    "ParquetSetError",
    "RegistryTables",
    "SchemaError",
    "__version__",
    "changes",
    "explore",
    "fetch_assets",
    "fetch_backing",
    "fetch_changes",
    "fetch_registries",
    "flatten",
    "flatten_assets",
    "read_assets",
    "read_cost_export",
    "read_pages",
    "read_parquet",
]

if _typing.TYPE_CHECKING:
    from .analysis.costs import read_cost_export
    from .assettables import AssetTables, read_assets
    from .flatten import flatten, flatten_assets
    from .lake.changelog import changes
    from .pages import read_pages
    from .sources.assets import fetch_assets
    from .sources.backing import fetch_backing
    from .sources.fetch import fetch_registries
    from .sources.graphchanges import fetch_changes
    from .tables import RegistryTables, read_parquet
    from .widgets import explore


def __getattr__(name: str) -> object:
    """Import a public name (:data:`_LAZY`), or a submodule (``mf.lake``), on first use."""
    module = _LAZY.get(name)
    if module is None:
        if not name.startswith("_"):
            try:
                return _importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
        raise AttributeError(f"module 'mlreg_frames' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names only (``__all__``): what tab completion and ``dir()`` show."""
    return sorted(__all__)


class _Package(_types.ModuleType):
    """This package, whose public ``flatten`` function shares its name with the subpackage
    ``mlreg_frames.flatten``: importing the subpackage (which Python records as an attribute
    of the parent) must not replace the function."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, _types.ModuleType):
            return  # the subpackage stays in sys.modules; the attribute stays the function
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
