"""Compatibility path: cost exports now live in :mod:`mlreg_frames.analysis` (``.costs``).

``from mlreg_frames.costs import join_costs`` keeps working for code written before the
package was grouped into stages; new code imports from :mod:`mlreg_frames.analysis`.
"""

from __future__ import annotations

from .analysis.costs import (
    COST_COLUMNS,
    join_costs,
    match_costs,
    normalise_costs,
    read_cost_export,
)

__all__ = ["COST_COLUMNS", "join_costs", "match_costs", "normalise_costs", "read_cost_export"]
