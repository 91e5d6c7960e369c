"""Synthetic registry fleets: realistic ARM JSON for tests, demos and benchmarks.

:mod:`.fleet` generates registries (:func:`generate_fleet`), :mod:`.assets` what they hold
(:func:`generate_assets`), :mod:`.pages` cuts them into
``nextLink`` pages and ``Subscriptions - List`` entries, and :mod:`.sample` writes the bundled
sample in ``data/sample/`` (``python -m mlreg_frames.synth --sample data/sample``).
Deterministic for a given seed and standard-library only.
"""

from __future__ import annotations

from .assets import ASSET_TYPES, generate_assets
from .fleet import API_SHAPES, IDENTITY_KINDS, PE_STATES, REGIONS, generate_fleet
from .pages import default_next_link, paginate, subscription_entry, subscriptions

__all__ = [
    "API_SHAPES",
    "ASSET_TYPES",
    "IDENTITY_KINDS",
    "PE_STATES",
    "REGIONS",
    "default_next_link",
    "generate_assets",
    "generate_fleet",
    "paginate",
    "subscription_entry",
    "subscriptions",
]
