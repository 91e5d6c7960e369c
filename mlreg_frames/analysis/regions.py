"""Where registries live and what they are billed for: regions, replicas, cost drivers.

Pure pandas on a :class:`~mlreg_frames.tables.RegistryTables`; no I/O, no plotting. Regions
are compared the way ARM compares them (case and spaces ignored), so every ``location``
these functions return is normalised: ``"East US"`` becomes ``"eastus"``.

The public names are re-exported by :mod:`mlreg_frames.analysis`, which adds the exposure
findings on top of :func:`registry_info`; :mod:`mlreg_frames.analysis.costs` uses
:func:`cost_drivers` to know which ARM resources belong to which registry and region.

Example::

    >>> import pandas as pd
    >>> norm_region(pd.Series(["East US", "westeurope"])).tolist()
    ['eastus', 'westeurope']
    >>> region_summary(tables).head()                          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import pandas_dtype
from ..tables import RegistryTables
from .ids import norm_resource_id
from .regionnames import region_id

__all__ = [
    "cost_drivers",
    "norm_region",
    "region_summary",
    "registry_info",
    "registry_regions",
    "replicas",
    "replication_matrix",
]


def norm_region(values: pd.Series) -> pd.Series:
    """Regions as ARM region ids: every spelling :func:`~.regionnames.region_id` knows.

    ``East US``, ``US East`` and ``eus`` are all ``eastus``; a spelling the table does not
    know is lower-cased with spaces removed, as ARM compares regions. Each distinct value is
    looked up once. Returns a ``string`` Series on the same index.

        >>> norm_region(pd.Series(["US West 2", None, "Brand New 1"])).tolist()
        ['westus2', <NA>, 'brandnew1']
    """
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    mapped = np.array([region_id(str(u)) for u in uniques] or [""], dtype=object)
    out = pd.Series(mapped.take(codes.clip(min=0)), index=values.index, dtype="string")
    return out.mask(codes < 0)


def registry_info(tables: RegistryTables) -> pd.DataFrame:
    """One row per registry: the columns that name it, and its home region normalised.

    Columns: ``registry_id, name, subscription_id, resource_group, location`` (the home
    region, named as in the registries table, so the frame joins like the tables).
    """
    reg = tables.registries
    return pd.DataFrame(
        {
            "registry_id": reg["registry_id"],
            "name": reg["name"],
            "subscription_id": reg["subscription_id"],
            "resource_group": reg["resource_group"],
            "location": norm_region(reg["location"]),
        }
    )


def registry_regions(tables: RegistryTables) -> pd.DataFrame:
    """One row per registry and region it lives in, primary first.

    A registry without ``regionDetails`` (older api versions) counts its own ``location``
    as its single, primary region, so no registry goes missing from region counts.

    Returns columns ``registry_id, location, is_primary`` (``location`` normalised).
    """
    regions = pd.DataFrame(
        {
            "registry_id": tables.regions["registry_id"],
            "location": norm_region(tables.regions["location"]),
        }
    ).dropna(subset=["location"])
    info = registry_info(tables).rename(columns={"location": "primary_location"})
    without = info[~info["registry_id"].isin(regions["registry_id"])]
    fallback = pd.DataFrame(
        {"registry_id": without["registry_id"], "location": without["primary_location"]}
    ).dropna(subset=["location"])
    both = pd.concat([regions, fallback], ignore_index=True).drop_duplicates()
    both = both.merge(info[["registry_id", "primary_location"]], on="registry_id", how="left")
    both["is_primary"] = (both["location"] == both["primary_location"]).fillna(False)
    both = both.sort_values(
        ["registry_id", "is_primary", "location"], ascending=[True, False, True]
    )
    return (
        both[["registry_id", "location", "is_primary"]]
        .astype({"is_primary": "boolean"})
        .reset_index(drop=True)
    )


def region_summary(tables: RegistryTables) -> pd.DataFrame:
    """Registries per region, split into primary and replica, with the accounts each holds.

    Returns one row per region, most registries first, with columns:

    - ``location``: the region (normalised);
    - ``registries``: registries with a presence there (``primary + replica``);
    - ``primary``: registries whose home region it is; ``replica``: those replicating into it;
    - ``subscriptions``: distinct subscriptions of those registries;
    - ``storage_accounts``, ``acrs``: storage accounts and container registries serving it.

    The replica count per registry is :func:`replicas`.

    Example::

        >>> region_summary(tables)[["location", "primary", "replica"]]   # doctest: +SKIP
    """
    rr = registry_regions(tables).merge(
        tables.registries[["registry_id", "subscription_id"]], on="registry_id", how="left"
    )
    summary = rr.groupby("location", sort=True).agg(
        registries=("registry_id", "nunique"),
        primary=("is_primary", "sum"),
        subscriptions=("subscription_id", "nunique"),
    )
    summary["primary"] = summary["primary"].astype("int64")
    summary["replica"] = summary["registries"] - summary["primary"]
    for column, frame in (("storage_accounts", tables.storage), ("acrs", tables.acr)):
        counts = norm_region(frame["location"]).value_counts()
        summary[column] = counts.reindex(summary.index, fill_value=0).astype("int64")
    summary = summary.reset_index().sort_values(["registries", "location"], ascending=[False, True])
    columns = ["location", "registries", "primary", "replica", "subscriptions"]
    return summary[[*columns, "storage_accounts", "acrs"]].reset_index(drop=True)


def replicas(tables: RegistryTables) -> pd.DataFrame:
    """One row per registry: its home region, how many regions it replicates to, and which.

    Columns: ``registry_id, name, subscription_id, location`` (the home region, as in the
    registries table), ``region_count, replica_count`` (``Int64``, like the tables' counts) and
    ``replica_locations``: the other regions, sorted, as a list column (the dtype of
    ``pe_connections.group_ids``; an empty list for none).

    Example::

        >>> replicas(tables).sort_values("replica_count").tail(3)   # doctest: +SKIP
    """
    rr = registry_regions(tables)
    reps = rr[~rr["is_primary"].fillna(False)]
    counts = pd.DataFrame(
        {
            "region_count": rr.groupby("registry_id").size(),
            "replica_count": reps.groupby("registry_id").size(),
        }
    )
    where = reps.groupby("registry_id")["location"].agg(lambda s: sorted(s.dropna()))
    out = registry_info(tables).drop(columns="resource_group")
    out = out.merge(counts, left_on="registry_id", right_index=True, how="left")
    for column in ("region_count", "replica_count"):
        out[column] = out[column].fillna(0).astype("Int64")
    lists = [where.get(rid, []) for rid in out["registry_id"]]
    out["replica_locations"] = pd.Series(lists, index=out.index, dtype=pandas_dtype("string_list"))
    return out.reset_index(drop=True)


def replication_matrix(tables: RegistryTables) -> pd.DataFrame:
    """Registry x region matrix: 2 = primary region, 1 = replica, 0 = not there.

    Rows are registry ids (ordered by region count, then name), columns regions (ordered by
    how many registries use them). It is wide on purpose: it is what a heat map draws.
    """
    rr = registry_regions(tables)
    if rr.empty:
        return pd.DataFrame(dtype="int64")
    rr = rr.assign(value=rr["is_primary"].astype("int64") + 1)
    matrix = rr.pivot_table(
        index="registry_id", columns="location", values="value", aggfunc="max", fill_value=0
    ).astype("int64")
    names = tables.registries.set_index("registry_id")["name"].reindex(matrix.index)
    order = pd.DataFrame(
        {"n": (matrix > 0).sum(axis=1), "name": names.fillna("").astype(str)}
    ).sort_values(["n", "name"], ascending=[False, True])
    columns = (matrix > 0).sum().sort_values(ascending=False, kind="stable").index
    matrix = matrix.loc[order.index, columns]
    matrix.columns.name = "location"
    return matrix


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of all-string frames, one under another, every column ``string``.

    Each part is cast first so that an empty or all-null part (no private endpoints, a
    ``sku`` that is always null) does not decide a column's dtype: pandas 2.x warns about
    exactly that (``FutureWarning`` on concat with empty or all-NA entries).

        >>> a = pd.DataFrame({"x": ["a"]})
        >>> _stack([a, pd.DataFrame({"x": [pd.NA]})])["x"].tolist()
        ['a', <NA>]
    """
    return pd.concat([p.astype("string") for p in parts], ignore_index=True)


def cost_drivers(tables: RegistryTables) -> pd.DataFrame:
    """What a registry is billed for, per region: one row per billed ARM resource.

    A registry's cost comes from its regions: each region adds a storage account (whose
    ``sku`` is the redundancy, e.g. ``Standard_LRS`` / ``Standard_GRS``) and a container
    registry (``sku`` Basic / Standard / Premium), plus whatever runs in the managed
    resource group, plus the private endpoints that connect to it (billed per hour in the
    network's subscription; ``sku`` holds the connection state). Costs are billed to these
    resource ids, which is how :func:`mlreg_frames.analysis.join_costs` attributes a cost export.

    Columns: ``registry_id, name, subscription_id, location, is_primary, replica_count,
    resource_kind`` (``managed_resource_group``, ``storage``, ``acr`` or
    ``private_endpoint``), ``origin`` (``system`` / ``user``: who created the resource),
    ``sku``, ``resource_name``, ``resource_id`` (lower-cased).

    Example::

        >>> d = cost_drivers(tables)                                          # doctest: +SKIP
        >>> d.pivot_table(index="location", columns="sku", values="resource_id",
        ...               aggfunc="count")                                     # doctest: +SKIP
    """
    st, acr = tables.storage, tables.acr
    accounts = _stack(
        [
            pd.DataFrame(
                {
                    "registry_id": st["registry_id"],
                    "location": norm_region(st["location"]),
                    "resource_kind": "storage",
                    "origin": st["origin"],
                    "sku": st["storage_account_type"],
                    "resource_name": st["storage_account_name"],
                    "resource_id": st["resource_id"],
                }
            ),
            pd.DataFrame(
                {
                    "registry_id": acr["registry_id"],
                    "location": norm_region(acr["location"]),
                    "resource_kind": "acr",
                    "origin": acr["origin"],
                    "sku": acr["acr_sku"],
                    "resource_name": acr["acr_name"],
                    "resource_id": acr["resource_id"],
                }
            ),
        ]
    )
    pe = tables.pe_connections
    pe_raw = pe["private_endpoint_id"].astype("string").str.strip().str.rstrip("/")
    pe_id = norm_resource_id(pe["private_endpoint_id"]).astype("string")
    endpoints = pd.DataFrame(
        {
            "registry_id": pe["registry_id"],
            "location": norm_region(pe["location"]),
            "resource_kind": "private_endpoint",
            "origin": "user",
            "sku": pe["status"],
            "resource_name": pe_raw.str.rsplit("/", n=1).str[-1],
            "resource_id": pe_id,
        }
    )[pe_id.notna().to_numpy()]
    reg = tables.registries
    mrg_raw = reg["managed_resource_group_id"].astype("string").str.strip().str.rstrip("/")
    mrg_id = norm_resource_id(reg["managed_resource_group_id"]).astype("string")
    mrg = pd.DataFrame(
        {
            "registry_id": reg["registry_id"],
            "location": norm_region(reg["location"]),
            "resource_kind": "managed_resource_group",
            "origin": "system",
            "sku": pd.NA,
            "resource_name": mrg_raw.str.rsplit("/", n=1).str[-1],
            "resource_id": mrg_id,
        }
    )[mrg_id.notna().to_numpy()]
    out = _stack([accounts, endpoints, mrg])
    out["resource_id"] = norm_resource_id(out["resource_id"]).astype("string")
    info = replicas(tables)[["registry_id", "name", "subscription_id", "location", "replica_count"]]
    info = info.rename(columns={"location": "primary_location"})
    out = out.merge(info, on="registry_id", how="left")
    # a private endpoint without a location of its own bills where the registry lives
    out["location"] = out["location"].fillna(out["primary_location"])
    out["is_primary"] = (out["location"] == out["primary_location"]).astype("boolean")
    columns = [
        "registry_id", "name", "subscription_id", "location", "is_primary", "replica_count",
        "resource_kind", "origin", "sku", "resource_name", "resource_id",
    ]  # fmt: skip
    out = out[columns].astype(
        {c: "string" for c in columns if c not in ("is_primary", "replica_count")}
    )
    kind_order = out["resource_kind"].map({"managed_resource_group": 0, "storage": 1, "acr": 2})
    out = out.assign(_k=kind_order).sort_values(
        ["name", "registry_id", "is_primary", "location", "_k"],
        ascending=[True, True, False, True, True],
    )
    return out.drop(columns="_k").reset_index(drop=True)
