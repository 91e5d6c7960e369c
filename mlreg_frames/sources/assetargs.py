"""The argument checks of :func:`~mlreg_frames.sources.assets.fetch_assets`: which registries,
which asset types. Every bad value is an :class:`~mlreg_frames.errors.InvalidArgumentError`
naming the argument, raised before any request.

Example::

    >>> asset_types_argument(["codes", "models"])
    ('models', 'codes')
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from .. import schema
from ..errors import InvalidArgumentError
from ..tables import RegistryTables

__all__ = ["asset_types_argument", "registry_ids_argument"]

_REGISTRY_ID = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/registries/[^/]+$",
    re.I,
)


def registry_ids_argument(registries: object) -> list[str]:
    """The lower-cased registry ids of a RegistryTables, a frame or an iterable of ids."""
    if isinstance(registries, RegistryTables):
        values: Iterable[object] = registries.registries["registry_id"].dropna()
    elif isinstance(registries, pd.DataFrame):
        if "registry_id" not in registries.columns:
            raise InvalidArgumentError(
                "registries is a DataFrame without a `registry_id` column; pass "
                "RegistryTables, tables.registries or a list of registry ARM ids",
                argument="registries",
            )
        values = registries["registry_id"].dropna()
    elif isinstance(registries, (str, bytes)) or not isinstance(registries, Iterable):
        raise InvalidArgumentError(
            f"registries must be RegistryTables, a DataFrame with `registry_id` or an "
            f"iterable of registry ARM ids, got {type(registries).__name__}",
            argument="registries",
        )
    else:
        values = registries
    ids: list[str] = []
    for position, value in enumerate(values):
        if not isinstance(value, str) or _REGISTRY_ID.match(value.rstrip("/")) is None:
            raise InvalidArgumentError(
                f"registries[{position}] = {value!r} is not a registry ARM id "
                "(/subscriptions/<id>/resourceGroups/<rg>/providers/"
                "Microsoft.MachineLearningServices/registries/<name>)",
                argument="registries",
            )
        key = value.rstrip("/").lower()
        if key not in ids:
            ids.append(key)
    return ids


def asset_types_argument(asset_types: object) -> tuple[str, ...]:
    if asset_types is None:
        return schema.ASSET_TYPES
    wanted = (asset_types,) if isinstance(asset_types, str) else asset_types
    if not isinstance(wanted, Iterable):
        raise InvalidArgumentError(
            f"asset_types must be a subset of {schema.ASSET_TYPES}, got {asset_types!r}",
            argument="asset_types",
        )
    chosen = tuple(wanted)
    unknown = [t for t in chosen if t not in schema.ASSET_TYPES]
    if unknown or not chosen:
        raise InvalidArgumentError(
            f"asset_types must be a non-empty subset of {schema.ASSET_TYPES}, "
            f"got {unknown or chosen}",
            argument="asset_types",
        )
    return tuple(t for t in schema.ASSET_TYPES if t in chosen)
