"""A context manager that pauses Python's cyclic garbage collector during bulk JSON work.

Parsing and walking tens of thousands of registries creates millions of dicts and lists
that all stay alive. Each automatic collection then re-scans every one of them, which made
loading pages several times slower than the JSON parse itself. Nothing built here forms
reference cycles, so pausing collection is safe; it is restored (not forced on) afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause automatic garbage collection inside the block, restoring the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
