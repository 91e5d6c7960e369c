"""Declared vs actual: a registry x check matrix of the registry and the accounts behind it.

One row per registry (worst first), one column per check: the registry's own public network
access as declared, then for its storage accounts and its container registries the network
exposure, a private path and anonymous or shared-secret data access (anonymous blob reads for
storage, the admin user or anonymous pull for ACR), as Azure returns them today. A cell is
*ok*, *exposed* or *unknown* (an account that was not returned), the worst of the registry's
accounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .. import analysis
from ..flatten.backing import BackingTables
from ..tables import RegistryTables
from ._style import axes_or_new, draw_empty, ellipsize, finish, legend_above

__all__ = ["CHECKS", "declared_vs_actual", "declared_vs_actual_matrix"]

CHECKS = (
    "registry public access",
    "storage network",
    "storage private endpoint",
    "storage data access",
    "ACR network",
    "ACR private endpoint",
    "ACR data access",
)
"""The matrix's columns, in order."""

_OK, _EXPOSED, _UNKNOWN = 0, 2, 1
_COLORS = ListedColormap(["#7fbf7b", "#bdbdbd", "#d7301f"])


def _bool(series: pd.Series) -> pd.Series:
    return series.astype("boolean").fillna(False).astype(bool)


def declared_vs_actual_matrix(tables: RegistryTables, backing: BackingTables) -> pd.DataFrame:
    """Registry name x :data:`CHECKS`: 0 ok, 1 unknown, 2 exposed (the worst account counts).

    Rows are ordered worst first (most exposed cells, then most unknown), then by name.
    """
    rows = analysis.backing_exposure(tables, backing)
    if rows.empty:
        return pd.DataFrame(columns=list(CHECKS), dtype="int64")
    unknown = (rows["state"] == "unknown").to_numpy(dtype=bool)
    network = rows["network_exposure"].isin(["all_networks", "selected_networks"]).to_numpy(bool)
    storage = (rows["account_kind"] == "storage").to_numpy(dtype=bool)
    # anonymous reads only for storage: shared keys are hardening (a low finding), not an open door
    blob = _bool(rows["allow_blob_public_access_effective"]).to_numpy()
    secrets = (_bool(rows["admin_user_enabled_effective"])
               | _bool(rows["anonymous_pull_enabled_effective"])).to_numpy()  # fmt: skip
    data = np.where(storage, blob, secrets)

    def state(bad: np.ndarray) -> np.ndarray:
        return np.where(unknown, _UNKNOWN, np.where(bad, _EXPOSED, _OK))

    cells = pd.DataFrame(
        {
            "name": rows["name"].astype(str),
            "kind": rows["account_kind"],
            "network": state(network),
            "private endpoint": state(~_bool(rows["private_path"]).to_numpy()),
            "data access": state(data),
        }
    )
    worst = cells.groupby(["name", "kind"])[["network", "private endpoint", "data access"]].max()
    wide = worst.unstack("kind")
    out = pd.DataFrame(index=wide.index)
    for kind, label in (("storage", "storage"), ("acr", "ACR")):
        for check in ("network", "private endpoint", "data access"):
            key = (check, kind)
            out[f"{label} {check}"] = wide.get(key, _UNKNOWN)
    public = rows.drop_duplicates("name").set_index("name")["registry_public_network_access"]
    declared = public.astype("string").str.lower().map({"disabled": _OK}).fillna(_EXPOSED)
    out.insert(0, "registry public access", declared.reindex(out.index).fillna(_EXPOSED))
    out = out.fillna(_UNKNOWN).astype("int64")[list(CHECKS)]
    order = pd.DataFrame(
        {"exposed": (out == _EXPOSED).sum(axis=1), "unknown": (out == _UNKNOWN).sum(axis=1)}
    )
    order["_name"] = [str(n).lower() for n in order.index]
    ranked = order.sort_values(["exposed", "unknown", "_name"], ascending=[False, False, True])
    return out.loc[ranked.index]


def declared_vs_actual(
    tables: RegistryTables,
    backing: BackingTables,
    ax: Axes | None = None,
    *,
    max_registries: int | None = 30,
) -> Axes:
    """Draw :func:`declared_vs_actual_matrix` (green ok, red exposed, grey unknown).

    Args:
        max_registries: the worst registries only (the title says how many of how many).
    """
    matrix = declared_vs_actual_matrix(tables, backing)
    title = "Registry and the accounts behind it: declared vs actual"
    if matrix.empty:
        return draw_empty(axes_or_new(ax, (7, 3)), title, "no registries with accounts")
    total = len(matrix)
    if max_registries is not None and total > max_registries:
        matrix = matrix.head(max_registries)
        title += f" (worst {max_registries} of {total})"
    ax = axes_or_new(ax, (7.5, max(3.0, 0.3 * len(matrix) + 2.2)))
    ax.imshow(matrix.to_numpy(), cmap=_COLORS, vmin=0, vmax=2, aspect="auto", interpolation="none")
    ax.set_xticks(range(len(CHECKS)), list(CHECKS))
    ax.tick_params(axis="x", labelrotation=35)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_yticks(range(len(matrix)), [ellipsize(n, 26) for n in matrix.index])
    ax.set_xticks([x - 0.5 for x in range(1, len(CHECKS))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(matrix))], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    handles = [Patch(color="#7fbf7b", label="ok"), Patch(color="#d7301f", label="exposed"),
               Patch(color="#bdbdbd", label="unknown (not returned)")]  # fmt: skip
    legend_above(ax, handles=handles)
    finish(ax, title)
    return ax
