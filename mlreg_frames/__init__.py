"""mlreg_frames: Azure Machine Learning registries as tidy pandas tables and Parquet.

Example::

    import mlreg_frames as mf
    tables = mf.flatten(mf.read_pages("data/sample"))   # offline, from saved ARM pages
    tables = mf.fetch_registries()                       # live, every subscription you see
    tables.registries.head()
    tables.to_parquet("out/")

The heavy or optional parts (fetching, plots, widgets, the lake) load on first use.
"""

import importlib as _importlib
import typing as _typing

from .assettables import AssetTables, read_assets
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
from .flatten import flatten, flatten_assets
from .pages import read_pages
from .tables import RegistryTables, read_parquet

__version__ = "0.1.0"

_LAZY = {
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
    from .lake.changelog import changes
    from .sources.assets import fetch_assets
    from .sources.backing import fetch_backing
    from .sources.fetch import fetch_registries
    from .sources.graphchanges import fetch_changes
    from .widgets import explore


def __getattr__(name: str) -> object:
    """Import ``fetch_registries``, ``fetch_backing``, ``fetch_assets``, ``fetch_changes``,
    ``changes``, ``read_cost_export`` and ``explore`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlreg_frames' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names only (``__all__``): what tab completion and ``dir()`` show."""
    return sorted(__all__)
