"""Azure Cost Management exports: read them (two formats, every real shape) and attribute them.

Two export formats are understood, detected from the header (case-insensitively; localised
headers by the English name in parentheses):

- **cost details** (Cost Management "Cost and usage details", actual or amortized, and the
  older "usage details"): ``ResourceId`` / ``InstanceId`` / ``InstanceName``,
  ``CostInBillingCurrency`` / ``Cost`` / ``PreTaxCost`` / ``CostInUsd``, ``BillingCurrency`` /
  ``BillingCurrencyCode`` / ``Currency``, ``Date`` / ``UsageDate`` / ``UsageDateTime``, and
  optionally ``ResourceLocation``, ``MeterCategory``;
- **FOCUS** (FinOps Open Cost and Usage Specification): ``ResourceId``, ``BilledCost`` (or
  ``EffectiveCost``, or any cost column), ``BillingCurrency``, ``ChargePeriodStart``, and
  optionally ``RegionId`` / ``RegionName``, ``ServiceName``.

CSV (UTF-8, UTF-16, comma or semicolon separated, gzip) and Parquet; one file, a folder of
parts, or an export root with dated run folders. Whatever would be read wrong is refused with
the file, row and column (:mod:`.readfile`, :mod:`.values`, :mod:`.formats`,
:mod:`.discover`).

:func:`read_cost_export` returns one normalised frame for both; :func:`join_costs` adds it
up per registry, region and month through the resources each registry is billed for.

Example::

    >>> import mlreg_frames as mf
    >>> costs = mf.read_cost_export("data/sample/costs.csv")      # doctest: +SKIP
    >>> join_costs(tables, costs).groupby("name")["cost"].sum()   # doctest: +SKIP
"""

from __future__ import annotations

from .formats import FORMATS
from .join import join_costs, match_costs
from .normalise import COST_COLUMNS, normalise_costs
from .read import read_cost_export
from .values import DATE_DTYPE

__all__ = [
    "COST_COLUMNS",
    "DATE_DTYPE",
    "FORMATS",
    "join_costs",
    "match_costs",
    "normalise_costs",
    "read_cost_export",
]
