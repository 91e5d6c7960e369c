"""``read_cost_export``: a file, a folder or an export root -> one normalised cost frame.

The files come from :func:`~.discover.export_files` (the latest run of each period, checked
against its manifest), each is read by :func:`~.readfile.read_file` and normalised by
:func:`~.normalise.from_file_table`. A folder that holds both formats (or a cost-details and
a FOCUS dataset) holds the same charges twice: it is refused unless ``format=`` says which to
read.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ...errors import CostExportError
from .discover import ExportFile, export_files
from .formats import OtherFormatError
from .normalise import from_file_table
from .readfile import read_file

__all__ = ["read_cost_export"]

_FORMAT_NAMES = {"focus": "FOCUS", "cost-details": "cost details"}


def _check_rows(file: ExportFile, rows: int) -> None:
    if file.rows is not None and file.rows != rows:
        raise CostExportError(
            f"{file.name} holds {rows:,} data rows where its run's manifest says "
            f"{file.rows:,} (an interrupted download or an edited file); download the run "
            "again",
            path=file.name,
        )


def _refuse_mixed(formats: dict[str, list[str]]) -> None:
    described = "; ".join(
        f"{_FORMAT_NAMES.get(fmt, fmt)}: {', '.join(names[:3])}"
        + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        for fmt, names in sorted(formats.items())
    )
    raise CostExportError(
        f"the folder holds more than one kind of export ({described}); they describe the same "
        "charges, so stacking them would count them twice: pass format='cost-details' or "
        "format='focus' (or one folder per export)",
        path=None,
    )


def read_cost_export(
    path: str | os.PathLike[str],
    *,
    cost_column: str | None = None,
    format: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Read a Cost Management export (cost details or FOCUS) into a normalised frame.

    Args:
        path: a ``.csv``, ``.csv.gz`` or ``.parquet`` file; a folder of part files; or an
            export root with dated run folders
            (``<root>/<export>/<YYYYMMDD-YYYYMMDD>/<run>/part_0_0001.csv``), of which the
            latest run of each period is read (by its ``manifest.json``).
        cost_column: the column to read as the cost, any numeric column of the export
            (``EffectiveCost``, ``ListCost``, ``ContractedCost``, ``CostInUsd``,
            ``PayGPrice``...). The defaults are ``CostInBillingCurrency`` (then ``Cost``,
            ``PreTaxCost``, ``CostInUsd``) and, for FOCUS, ``BilledCost`` (what the invoice
            shows); ``"EffectiveCost"`` gives amortized cost. A cost in US dollars
            (``CostInUsd``) gets the currency ``USD``, not the billing currency.
        format: ``"cost-details"`` or ``"focus"``: read only files of that format from a
            folder that holds both (which is otherwise refused).
        dayfirst: read slashed dates as ``DD/MM/YYYY`` (True) or ``MM/DD/YYYY`` (False)
            instead of detecting the order (see :mod:`.values`).
        date_format: a ``strftime`` format for the date column, when it is neither ISO 8601
            nor slashed.

    Returns:
        One row per export row, columns :data:`~.normalise.COST_COLUMNS`. ``attrs`` hold
        ``format``, ``cost_column``, ``currency_from``, ``date_order`` and ``files``.

    Raises:
        CostExportError: the path is missing; a file is unreadable, not an export, or has a
            row that would be read wrong (wrong field count, an empty, NaN or infinite cost,
            an empty or ambiguous date); two columns collide; the folder holds the same
            charges twice. The message names the file, the row and the column.

    Example::

        >>> costs = read_cost_export("data/sample/costs.csv")        # doctest: +SKIP
        >>> costs.groupby("month")["cost"].sum()                     # doctest: +SKIP
    """
    files = export_files(path)
    options: dict[str, Any] = {"cost_column": cost_column, "format": format}
    frames: dict[str, list[pd.DataFrame]] = {}
    read: dict[str, list[str]] = {}
    skipped: list[str] = []
    attrs: dict[str, set[Any]] = {}
    for file in files:
        try:
            # one file is read as the format asked for; a folder's files of the other are left out
            ft = read_file(file.path, **options, skip_other=len(files) > 1)
        except OtherFormatError:
            skipped.append(file.name)
            continue
        fmt = ft.layout.format
        frame = from_file_table(ft, source=file.name, dayfirst=dayfirst, date_format=date_format)
        _check_rows(file, len(frame))
        frames.setdefault(fmt, []).append(frame)
        read.setdefault(fmt, []).append(file.name)
        for key, value in frame.attrs.items():
            attrs.setdefault(key, set()).add(value)
    if len(read) > 1:
        _refuse_mixed(read)
    if not frames:
        raise CostExportError(
            f"{path} holds no {_FORMAT_NAMES.get(format or '', 'cost')} export files",
            path=str(path),
        )
    ((fmt, parts),) = frames.items()
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out.attrs = {
        key: (next(iter(values)) if len(values) == 1 else sorted(map(str, values)))
        for key, values in attrs.items()
    }
    out.attrs["format"] = fmt
    out.attrs["files"] = read[fmt]
    out.attrs["skipped_files"] = skipped
    return out
