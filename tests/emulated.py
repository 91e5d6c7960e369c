"""Shared helpers for tests that fetch from the local ARM emulator: its subscriptions, the
registry ids it serves, and a fetch with quick retries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mlreg_frames as mf
from mlreg_frames.emulator import ArmEmulator
from mlreg_frames.flatten import parse_arm_id
from mlreg_frames.sources.fetch import fetch_registries

QUICK_RETRIES: dict[str, Any] = {"max_attempts": 3, "backoff_base": 0.01, "max_retry_after": 0.05}
"""Retry settings that keep fault tests fast (``max_attempts`` requests per page)."""


def subscriptions_of(arm: ArmEmulator) -> list[str]:
    """The subscriptions that hold the emulator's registries, sorted."""
    return sorted({parse_arm_id(r["id"])[0] or "" for r in arm.registries})


def registry_ids(
    arm: ArmEmulator, subs: str | Iterable[str] | None = None, group: str | None = None
) -> set[str]:
    """Lower-cased ids of the emulator's registries, of one or some subscriptions and of a
    resource group when given."""
    wanted = {subs} if isinstance(subs, str) else None if subs is None else set(subs)
    ids = set()
    for registry in arm.registries:
        sub, rg = parse_arm_id(registry["id"])[:2]
        if wanted is not None and sub not in wanted:
            continue
        if group is not None and str(rg).lower() != group.lower():
            continue
        ids.add(registry["id"].lower())
    return ids


def fetch_from(arm: ArmEmulator, *args: Any, **kwargs: Any) -> mf.RegistryTables:
    """``fetch_registries`` against the emulator, with :data:`QUICK_RETRIES` unless given."""
    options = {"endpoint": arm.endpoint, "credential": arm.credential(), **QUICK_RETRIES}
    return fetch_registries(*args, **{**options, **kwargs})
