"""The explorer's filter options and matching, and the labels subscriptions are shown by."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..tables import RegistryTables
from .format import NOT_SET

__all__ = ["ALL"]

ALL = "(all)"
"""The option of every filter that does not filter."""


def _options(values: pd.Series, labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Dropdown options: (all), each value sorted case-insensitively, (not set) for nulls."""
    present = sorted({str(v) for v in values.dropna()}, key=lambda v: (v.casefold(), v))
    extra = [(NOT_SET, NOT_SET)] if values.isna().any() else []
    shown = labels or {}
    return [(ALL, ALL), *[(shown.get(v, v), v) for v in present], *extra]


def _matches(values: pd.Series, choice: str) -> pd.Series:
    if choice == ALL:
        return pd.Series(True, index=values.index)
    if choice == NOT_SET:
        return values.isna()
    return (values.astype("string") == choice).fillna(False)


def _subscription_labels(ids: pd.Series, names: Mapping[str, str] | None) -> dict[str, str]:
    """Each subscription id's label: its display name when known, else a short id (``1b2c3d4e…``,
    longer where two ids start alike); a display name used twice gets the short id added."""
    known = {k.lower(): v for k, v in (names or {}).items() if isinstance(v, str) and v.strip()}
    unique = sorted({str(i) for i in ids.dropna()})
    width = next((n for n in (8, 13, 18, 23) if len({i[:n] for i in unique}) == len(unique)), None)
    short = {i: i if width is None or len(i) <= width else f"{i[:width]}…" for i in unique}
    labels = {i: known.get(i.lower(), short[i]) for i in unique}
    counts = pd.Series(list(labels.values()), dtype=object).value_counts()
    return {i: (f"{v} ({short[i]})" if counts[v] > 1 else v) for i, v in labels.items()}


def _known_names(tables: RegistryTables) -> dict[str, str]:
    """Display names from the ``subscriptions`` table (ids without one are left out)."""
    subs = tables.subscriptions
    if subs.empty:
        return {}
    named = subs[subs["display_name"].notna()]
    return dict(zip(named["subscription_id"].astype(str), named["display_name"].astype(str),
                    strict=True))  # fmt: skip
