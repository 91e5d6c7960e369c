"""The diff of two committed snapshots: registry changes, and asset version changes when known.

:func:`diff_snapshots` reads two snapshots, compares their registry tables with
:func:`~mlreg_frames.lake.diff` and, when both were written with their assets, their asset
versions with :func:`~mlreg_frames.lake.assetdiff.diff_assets`, in one frame. When either
was written without assets the asset versions are not compared, and ``attrs["assets"]``
says so (``mlreg-frames diff`` prints it): a snapshot without assets is not a registry that
holds nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .. import schema
from ..errors import LakeError
from ..flatten.changes import sort_changes
from ..tables import RegistryTables
from .assetdiff import diff_assets
from .changelog import lake_rows
from .diff import diff
from .layout import SNAPSHOT_COLUMN
from .read import committed, read, read_assets, resolve
from .store import LakeStore

__all__ = ["diff_snapshots"]


def _names(*sides: RegistryTables) -> dict[str, str]:
    names: dict[str, str] = {}
    for tables in sides:
        regs = tables.registries.dropna(subset=["registry_id", "name"])
        for rid, name in zip(regs["registry_id"], regs["name"], strict=True):
            names.setdefault(str(rid), str(name))
    return names


def diff_snapshots(
    root: str | os.PathLike[str],
    old: Any = None,
    new: Any = "latest",
    *,
    assets: bool = True,
    as_changes: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """What changed between two snapshots (default: the latest and the one before it).

    ``old`` and ``new`` take what :func:`read` takes for one snapshot. The result is
    :func:`~mlreg_frames.lake.diff`'s frame, with ``attrs["from"]`` and ``attrs["to"]``;
    with ``assets`` (the default) and both snapshots written with their assets, the asset
    version changes follow each registry's rows (table ``asset_versions``, changes
    ``added``, ``removed``, ``archived``, ``unarchived``, ``unknown``: see
    :data:`~mlreg_frames.lake.ASSET_CHANGES`). ``attrs["assets"]`` is ``"compared"``, or a
    sentence saying why the assets were not compared.

    With ``as_changes``, the registry changes come in the shape of the ``changes`` table
    instead (``source = "lake"``, ``time`` the ``new`` snapshot's time, no author; see
    :func:`mlreg_frames.lake.changes` for the whole log), and assets are not compared.

    Example::

        >>> diff_snapshots("out/lake")                              # doctest: +SKIP
        >>> diff_snapshots("out/lake", "2025-06-01", "2025-06-08")  # doctest: +SKIP
    """
    for side, value in (("old", old), ("new", new)):
        if isinstance(value, str) and value == "all":
            raise LakeError(
                f"a diff compares two single snapshots, so {side}= cannot be 'all'; pass an id, "
                "a unique prefix, a time, a position (-2) or 'latest'",
                snapshot=value,
            )
    store = LakeStore(root, storage_options)
    ids = committed(store)[SNAPSHOT_COLUMN].tolist()
    to_id = resolve(store, ids, new)
    if old is None:
        earlier = [i for i in ids if i < to_id]
        if not earlier:
            raise LakeError(
                f"snapshot {to_id} has no earlier snapshot to compare with; append another "
                "run, or pass old= / --from",
                root=store.root,
                snapshot=to_id,
            )
        old = earlier[-1]
    from_id = resolve(store, ids, old)
    before = read(root, from_id, storage_options=storage_options)
    after = read(root, to_id, storage_options=storage_options)
    changes = diff(before, after)
    if as_changes:
        rows = sort_changes(schema.conform("changes", pd.DataFrame(
            [{k: v for k, v in r.items() if k != "_from"}
             for r in lake_rows(changes, to_id, from_id)],
            columns=list(schema.CHANGES.column_names))))  # fmt: skip
        rows.attrs.update({"from": from_id, "to": to_id})
        return rows
    note = "not asked for (assets=False)"
    if assets:
        held_old = read_assets(root, from_id, storage_options=storage_options)
        held_new = read_assets(root, to_id, storage_options=storage_options)
        if held_old is None or held_new is None:
            without = [sid for sid, held in ((from_id, held_old), (to_id, held_new))
                       if held is None]  # fmt: skip
            note = (
                f"not compared: snapshot {' and '.join(without)} was written without assets "
                "(append them with lake.append(..., assets=) or `fetch --assets --lake`)"
            )
        else:
            unfetched = changes[changes["change"] == "unfetched"]
            gone = set(unfetched.loc[unfetched["after"].notna(), "registry_id"])
            came = set(unfetched.loc[unfetched["before"].notna(), "registry_id"])
            found = diff_assets(held_old, held_new, unread_old=came, unread_new=gone,
                                names=_names(after, before))  # fmt: skip
            note = "compared"
            if not found.empty:
                changes = pd.concat([changes, found], ignore_index=True)
                changes = changes.sort_values("registry_id", kind="stable", ignore_index=True)
    changes.attrs.update({"from": from_id, "to": to_id, "assets": note})
    return changes
