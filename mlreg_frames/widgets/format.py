"""How the explorer writes values: "(not set)" for blanks, money, human headers, natural order.

Pure functions on plain values and Series, shared by the table, the detail tabs and the
filters, so every view says the same thing the same way::

    >>> natural_key("risk-assets-150") < natural_key("risk-assets-1481")
    True
    >>> money(1234.5)
    '1,234.50'
    >>> header("approved_pes")
    'approved private endpoints'
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

__all__ = [
    "HEADERS",
    "NOT_SET",
    "header",
    "is_blank",
    "money",
    "natural_key",
    "natural_order",
    "shown",
]

NOT_SET = "(not set)"
"""What a blank (null) value reads as, in every cell and filter of the explorer."""

HEADERS = {
    "name": "name",
    "worst_severity": "worst finding",
    "findings": "findings",
    "cost": "cost",
    "subscription": "subscription",
    "location": "home region",
    "regions": "regions",
    "approved_pes": "approved private endpoints",
    "public_network_access": "public network access",
    "sku_tier": "SKU tier",
    "sku_name": "SKU",
    "created_at": "created",
    "resource_group": "resource group",
    "identity_type": "identity",
}
"""The header each column of the registries table shows (others: underscores become spaces)."""

_DIGITS = re.compile(r"(\d+)")


_ACRONYMS = {"sku": "SKU", "acr": "ACR", "arm": "ARM", "id": "id", "pe": "PE", "url": "URL"}


def header(column: str) -> str:
    """The human header of ``column``: :data:`HEADERS`, else the name with spaces (acronyms
    such as SKU and ACR in capitals).

    Example::

        >>> header("sku_capacity"), header("public_network_access")
        ('SKU capacity', 'public network access')
    """
    if column in HEADERS:
        return HEADERS[column]
    return " ".join(_ACRONYMS.get(word, word) for word in column.split("_"))


def is_blank(value: Any) -> bool:
    """Whether ``value`` is null (None, NA, NaN, NaT) or an empty string."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def shown(value: Any) -> str:
    """``value`` as a cell reads it: :data:`NOT_SET` when blank, a date-time without
    microseconds, booleans as yes/no-free ``True``/``False``, anything else as ``str``."""
    if is_blank(value):
        return NOT_SET
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return str(value)


def money(value: Any, decimals: int = 2) -> str:
    """An amount with thousands separators and a fixed number of decimals (blank: not set)."""
    if is_blank(value):
        return NOT_SET
    return f"{float(value):,.{decimals}f}"


def natural_key(text: Any) -> tuple[Any, ...]:
    """Sort key reading digit runs as numbers, case-insensitively: ``a-9`` before ``a-10``."""
    if is_blank(text):
        return ((2, ""),)
    parts = _DIGITS.split(str(text).casefold())
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def natural_order(values: pd.Series, ascending: bool = True) -> list[int]:
    """Positions of ``values`` in natural order (see :func:`natural_key`); blanks last."""
    keys = [natural_key(v) for v in values]
    blank = [is_blank(v) for v in values]
    filled = sorted((i for i in range(len(keys)) if not blank[i]), key=keys.__getitem__,
                    reverse=not ascending)  # fmt: skip
    return filled + [i for i in range(len(keys)) if blank[i]]
