"""Shared test helpers: where the data lives and a cell comparison that speaks JSON."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "data" / "sample"
SPECS = ROOT.parent / "shared" / "reference" / "azure-specs"


def cell_as_json(value: Any) -> Any:
    """A DataFrame cell as the JSON value the case files use (timestamps as ISO, NA as None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value
