"""Registry JSON -> the seven tidy tables (pure: no I/O, no HTTP).

:mod:`.walk` turns one registry object into row tuples, :mod:`.frames` builds the typed Arrow
columns, :mod:`.text` keeps odd text storable (lone surrogates, depth) and :mod:`.engine`
drives it all: bounded runs, the last-seen merge of duplicates, and worker processes for
large inputs. The entry point is :func:`flatten`.
"""

from __future__ import annotations

from .assets import flatten_assets
from .engine import CHUNK_BYTES, CHUNK_ITEMS, PARALLEL_MIN_BYTES, flatten
from .walk import parse_arm_id

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_ITEMS",
    "PARALLEL_MIN_BYTES",
    "flatten",
    "flatten_assets",
    "parse_arm_id",
]
