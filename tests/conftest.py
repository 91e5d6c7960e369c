"""Shared pytest set-up: the Azurite plugin and a headless matplotlib backend."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

pytest_plugins = ["tests.azurite"]
