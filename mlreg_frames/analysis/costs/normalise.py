"""The columns of one export (either format) -> the normalised cost frame.

One frame shape for every export: :data:`COST_COLUMNS`. The ARM id goes through
:func:`~..ids.norm_resource_id` (the registry side uses the same function), the region through
:func:`~..regionnames.region_id` (``US West 2`` is ``westus2``), the service through
:func:`~..services.service_name` (FOCUS names); the raw region and service are kept beside.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..ids import norm_resource_id
from ..regions import norm_region
from ..services import service_name
from .formats import detect
from .readfile import FileTable
from .values import DATE_DTYPE, parse_costs, parse_days, text_values

__all__ = ["COST_COLUMNS", "DATE_DTYPE", "from_file_table", "normalise_costs"]

COST_COLUMNS = (
    "resource_id",
    "date",
    "month",
    "cost",
    "currency",
    "resource_location",
    "service",
    "resource_location_raw",
    "service_raw",
)
"""Columns of a normalised cost frame, in order.

``date`` is the charge day as midnight UTC, dtype ``datetime64[us, UTC]``, like every other
time in mlreg_frames: compare it with ``pd.Timestamp("2026-01-31", tz="UTC")`` and take
calendar days with ``.dt.date``. ``resource_location`` is the ARM region id
(``resource_location_raw`` as the export wrote it); ``service`` the FOCUS service name
(``service_raw`` as written).
"""

_STRING = "string[pyarrow]"


def _text(table: pa.Table, role: str, n: int) -> pd.Series:
    if role not in table.column_names:
        return pd.Series(pd.NA, index=range(n), dtype=_STRING)
    values = text_values(table.column(role))
    series = pd.Series(values.to_pandas(types_mapper=pd.ArrowDtype), copy=False)
    series = series.astype(_STRING)
    return series.mask(series.str.lower().isin(("null", "none")))


def _months(date: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(date, use_na_sentinel=True)
    labels = pd.DatetimeIndex(uniques).strftime("%Y-%m").to_numpy(dtype=object)
    out = labels.take(codes.clip(min=0)) if len(labels) else np.array([], dtype=object)
    return pd.Series(out, index=date.index, dtype=_STRING)


def from_file_table(
    ft: FileTable, *, source: str, dayfirst: bool | None = None, date_format: str | None = None
) -> pd.DataFrame:
    """One file's role columns -> the normalised frame (``attrs`` say how it was read)."""
    table, layout = ft.table, ft.layout
    n = table.num_rows
    cost = parse_costs(
        table.column("cost"),
        name=layout.columns["cost"],
        source=source,
        decimal_comma=ft.decimal_comma,
    )
    days, order = parse_days(
        table.column("date"),
        name=layout.columns["date"],
        source=source,
        dayfirst=dayfirst,
        date_format=date_format,
    )
    if layout.currency == "USD":
        currency = pd.Series("USD", index=range(n), dtype=_STRING)
    else:
        role = "pricing_currency" if layout.currency == "pricing" else "currency"
        currency = _text(table, role, n).str.upper()
    location_raw = _text(table, "resource_location", n)
    service_raw = _text(table, "service", n)
    rid = norm_resource_id(_text(table, "resource_id", n))
    out = pd.DataFrame(
        {
            "resource_id": rid,
            "date": days,
            "month": _months(days),
            "cost": cost,
            "currency": currency,
            "resource_location": norm_region(location_raw),
            "service": service_name(rid, service_raw),
            "resource_location_raw": location_raw,
            "service_raw": service_raw,
        }
    )
    out.attrs.update(
        {
            "format": layout.format,
            "cost_column": layout.columns["cost"],
            "currency_from": layout.columns.get(
                {"column": "currency", "pricing": "pricing_currency"}.get(layout.currency, ""),
                layout.currency,
            ),
            "date_order": order,
        }
    )
    return out


def _as_text(value: Any) -> str | None:
    """A cell of a raw frame as the text a CSV would hold (None for a missing value)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, str) else str(value)


def normalise_costs(
    frame: pd.DataFrame,
    *,
    cost_column: str | None = None,
    source: str = "cost export",
    format: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """A raw export frame (either format) -> the normalised cost frame of :data:`COST_COLUMNS`.

    The same rules as :func:`~.read_cost_export` (which reads files and then calls the same
    code): ARM ids normalised one way, regions as ARM ids, services as FOCUS names, costs
    finite numbers, days UTC; ``attrs`` record the format, the cost column, where the
    currency came from and how dates were read.

    Raises:
        CostExportError: the columns match neither format (or collide), or a cost or a day
            does not parse.

    Example::

        >>> raw = pd.DataFrame({"ResourceId": ["/subscriptions/S/x"], "Cost": ["1.5"],
        ...                     "Date": ["01/31/2025"], "Currency": ["usd"]})
        >>> normalise_costs(raw)[["resource_id", "cost", "currency"]].values.tolist()
        [['/subscriptions/s/x', 1.5, 'USD']]
    """
    options: dict[str, Any] = {"cost_column": cost_column, "format": format}
    layout = detect([str(c) for c in frame.columns], source, **options)
    columns = {}
    for role, header in layout.columns.items():
        values = frame[header]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if role == "cost" and numeric:
            columns[role] = pa.chunked_array([pa.array(values.to_numpy(dtype="float64"))])
        elif role == "date" and pd.api.types.is_datetime64_any_dtype(values):
            columns[role] = pa.chunked_array([pa.array(values)])
        else:
            text = [_as_text(v) for v in values.tolist()]
            columns[role] = pa.chunked_array([pa.array(text, type=pa.string())])
    ft = FileTable(pa.table(columns), layout)
    out = from_file_table(ft, source=source, dayfirst=dayfirst, date_format=date_format)
    return out.set_axis(range(len(out)))
