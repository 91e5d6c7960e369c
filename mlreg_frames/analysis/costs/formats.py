"""Which columns of an export fill which role: the two formats, their aliases, the refusals.

A cost export is recognised from its header alone. Each *role* (the resource, the cost, the
currency, the day, the region, the service) lists the header names that fill it, best first,
matched case-insensitively; a localised header that carries the English name in parentheses
(``Kategorie der Verbrauchseinheit (MeterCategory)``) matches by that name.

Refused, never guessed:

- two headers that are the same name but for case (``Cost`` and ``cost``), or the same name
  twice: which one is the cost? (pandas and pyarrow would silently keep one);
- a header that has none of a role's names: the message names what is missing, what would do,
  and the columns that are there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ...errors import CostExportError

__all__ = ["FORMATS", "REQUIRED", "Layout", "OtherFormatError", "column_key", "detect"]

FORMATS: dict[str, dict[str, tuple[str, ...]]] = {
    "focus": {
        "resource_id": ("ResourceId",),
        "cost": ("BilledCost", "EffectiveCost"),
        "currency": ("BillingCurrency",),
        "pricing_currency": ("PricingCurrency",),
        "date": ("ChargePeriodStart",),
        "resource_location": ("RegionId", "RegionName"),
        "service": ("ServiceName",),
    },
    "cost-details": {
        "resource_id": ("ResourceId", "InstanceId", "InstanceName"),
        "cost": ("CostInBillingCurrency", "Cost", "PreTaxCost", "CostInUsd"),
        "currency": ("BillingCurrency", "BillingCurrencyCode", "Currency"),
        "pricing_currency": ("PricingCurrency", "PricingCurrencyCode"),
        "date": ("Date", "UsageDate", "UsageDateTime"),
        "resource_location": ("ResourceLocation", "Location"),
        "service": ("MeterCategory", "ServiceName", "ConsumedService"),
    },
}
"""Format name -> role -> the header names that fill it, best first (case-insensitive)."""

REQUIRED = ("resource_id", "cost", "date")
"""The roles an export must fill; the others are read when present."""

# a FOCUS header is told from a cost-details one by these (ChargePeriodStart and a FOCUS cost)
_FOCUS_MARKS = ("chargeperiodstart",)

_LOCALISED = re.compile(r"^.*\(\s*([A-Za-z][A-Za-z0-9]*)\s*\)\s*$")


def column_key(name: str) -> str:
    """The name a header is matched by: lower-case, the English name of a localised one.

    >>> column_key(" CostInBillingCurrency "), column_key("Kosten (PreTaxCost)")
    ('costinbillingcurrency', 'pretaxcost')
    """
    text = str(name).strip().lstrip("\ufeff")
    localised = _LOCALISED.match(text)
    return (localised.group(1) if localised else text).lower()


@dataclass(frozen=True)
class Layout:
    """What a header means: its format, the column of each role, how the currency is known.

    Attributes:
        format: ``"cost-details"`` or ``"focus"``.
        columns: role -> the header name (as written) that fills it.
        currency: ``"column"`` (the ``currency`` role's column), ``"pricing"`` (the pricing
            currency column, for a cost in the pricing currency) or ``"USD"`` (a cost column in
            US dollars, such as ``CostInUsd``, whatever the billing currency is).
    """

    format: str
    columns: dict[str, str] = field(default_factory=dict)
    currency: str = "column"


class OtherFormatError(CostExportError):
    """The file is an export of the other format than the one asked for (it is skipped)."""

    def __init__(self, message: str, *, path: str | None = None, detected: str = ""):
        super().__init__(message, path=path)
        self.detected = detected


def _listing(header: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(header[:limit])
    more = len(header) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _collisions(header: Sequence[str], wanted: set[str], source: str) -> None:
    by_key: dict[str, list[str]] = {}
    for name in header:
        by_key.setdefault(column_key(name), []).append(name)
    for key, names in by_key.items():
        if len(names) > 1 and key in wanted:
            shown = " and ".join(repr(n) for n in names)
            raise CostExportError(
                f"{source} has the columns {shown}, which differ only in case (or are the same "
                f"name twice): it is not clear which one to read; rename or drop one and "
                "read it again",
                path=source,
            )


def _currency_rule(cost_header: str) -> str:
    key = column_key(cost_header)
    if key.endswith(("inusd", "usd")):
        return "USD"
    if key.endswith("inpricingcurrency"):
        return "pricing"
    return "column"


def detect(
    header: Iterable[str],
    source: str,
    *,
    cost_column: str | None = None,
    format: str | None = None,
    skip_other: bool = False,
) -> Layout:
    """The :class:`Layout` of a header, or :class:`CostExportError` saying what is wrong.

    Args:
        header: the column names as the file writes them.
        source: the file name, for messages.
        cost_column: read this column as the cost instead of the format's default.
        format: ``"cost-details"`` or ``"focus"`` to insist on one; None detects.
        skip_other: with ``format``, a header of the other format raises
            :class:`OtherFormatError` (the caller skips the file) instead of being read as
            ``format``.

        >>> detect(["Date", "CostInUsd", "ResourceId"], "x.csv").columns["cost"]
        'CostInUsd'
        >>> detect(["Date", "CostInUsd", "ResourceId"], "x.csv").currency
        'USD'
    """
    names = [str(h).strip().lstrip("\ufeff") for h in header]
    keys = {column_key(n): n for n in names}
    detected = "focus" if any(m in keys for m in _FOCUS_MARKS) else "cost-details"
    if skip_other and format is not None and detected != format:
        raise OtherFormatError(f"{source} is a {detected} export", path=source, detected=detected)
    wanted = {column_key(a) for roles in FORMATS.values() for al in roles.values() for a in al}
    if cost_column is not None:
        wanted.add(column_key(cost_column))
    _collisions(names, wanted, source)
    if cost_column is not None and column_key(cost_column) not in keys:
        raise CostExportError(
            f"{source} has no column {cost_column!r}; pick one of: {_listing(names)}",
            path=source,
        )
    if format is not None and format not in FORMATS:
        raise CostExportError(
            f"unknown cost export format {format!r}; pass 'cost-details' or 'focus'",
            path=source,
        )
    fmt = format or detected
    roles = FORMATS[fmt]
    found = {
        role: keys[column_key(alias)]
        for role, aliases in roles.items()
        for alias in reversed(aliases)  # the best alias is written last, so it wins
        if column_key(alias) in keys
    }
    if cost_column is not None:
        found["cost"] = keys[column_key(cost_column)]
    missing = [role for role in REQUIRED if role not in found]
    if missing:
        wants = "; ".join(f"{role}: one of {', '.join(roles[role])}" for role in missing)
        what = (
            f"not a {'FOCUS' if fmt == 'focus' else 'cost-details'} export"
            if format is not None or len(missing) < len(REQUIRED)
            else "neither a cost-details nor a FOCUS export"
        )
        raise CostExportError(
            f"{source} is {what} that mlreg_frames can read: no column for {wants} (its "
            f"{len(names)} columns: "
            f"{_listing(names)}); export 'Cost and usage details' or FOCUS from Cost "
            "Management, or name the cost column with cost_column=",
            path=source,
        )
    currency = _currency_rule(found["cost"])
    if currency == "pricing" and "pricing_currency" not in found:
        raise CostExportError(
            f"{source}: the cost column {found['cost']!r} is in the pricing currency, but the "
            f"export has no {' / '.join(roles['pricing_currency'])} column to say which",
            path=source,
        )
    return Layout(format=fmt, columns=found, currency=currency)
