"""The ``mlreg-frames`` command line: a thin layer over the public functions.

Each command lives in its own module and registers itself on :data:`main`; library errors
become one clean line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from importlib import import_module

from ._base import main

__all__ = ["main"]

# Each module adds its commands to `main` on import.
for _module in (
    "flatten_cmd",
    "fetch_cmd",
    "backing_cmd",
    "assets_cmd",
    "emulator_cmd",
    "report_cmd",
    "lake_cmd",
    "changes_cmd",
):
    try:
        import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as _exc:  # a command module not written yet
        if _exc.name != f"{__name__}.{_module}":
            raise
