"""An ipywidgets explorer for registry tables: filter, look, pick a registry, read its details.

``mf.explore(tables)`` returns an :class:`Explorer`, a widget made of standard ipywidgets
controls only (text, dropdowns, a list, HTML, an image, tabs), so it renders the same in
JupyterLab, Notebook 7 and VS Code. It is laid out to fit a notebook cell about 1,000 px
wide: the filters on top, and under them, side by side, the registries (as a table, or as a
chart in the next tab) and the detail of the registry picked in a searchable list.

The filters (name search, subscription, region as home or as home-or-replica, SKU tier,
public network access, finding severity) update the table, the chart and the list; the table
sorts by any column (names naturally: ``-150`` before ``-1481``), shows the columns picked,
money with its currency and a totals row; picking a registry shows its summary (exposure,
regions and SKU first), regions, storage, container registries, identities, private
endpoints, tags, findings and, with their data, accounts, assets and costs. Blank values read
"(not set)" everywhere. Keys typed in any control stay in the explorer (no notebook
shortcut fires: ``D D`` does not delete its cell).

Every control is an attribute, so code (and tests) can drive it::

    >>> import mlreg_frames as mf
    >>> ex = mf.explore(tables)                 # doctest: +SKIP
    >>> ex.region.value = "westeurope"          # doctest: +SKIP
    >>> ex.selected[["name", "worst_severity"]]  # doctest: +SKIP

Needs ipywidgets and matplotlib: ``pip install 'mlreg-frames[widgets]'``.
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without ipywidgets
    raise ModuleNotFoundError(
        "mlreg_frames.widgets needs ipywidgets; install it with "
        "pip install 'mlreg-frames[widgets]'",
        name=exc.name,
    ) from exc

from .explorer import ALL, DETAIL_TABS, HOME_ONLY, HOME_OR_REPLICA, Explorer, explore
from .format import NOT_SET
from .table import DEFAULT_COLUMNS, NO_FINDINGS, TABLE_COLUMNS

__all__ = [
    "ALL",
    "DEFAULT_COLUMNS",
    "DETAIL_TABS",
    "HOME_ONLY",
    "HOME_OR_REPLICA",
    "NOT_SET",
    "NO_FINDINGS",
    "TABLE_COLUMNS",
    "Explorer",
    "explore",
]
