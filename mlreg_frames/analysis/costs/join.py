"""Cost rows attributed to registries and regions: every row accounted for, none dropped.

A registry is billed through ARM resources: its storage accounts, container registries,
private endpoints and whatever runs in its managed resource group
(:func:`~..regions.cost_drivers`). Both sides' ids go through the same
:func:`~..ids.norm_resource_id`; ids that are not ARM ids (an AWS ARN) never match.
"""

from __future__ import annotations

import os

import pandas as pd

from ...tables import RegistryTables
from ..ids import is_arm_id
from ..regions import cost_drivers, norm_region, registry_regions
from .normalise import COST_COLUMNS, normalise_costs

__all__ = ["join_costs", "match_costs"]


def _as_costs(costs: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(costs, (str, os.PathLike)):
        from .read import read_cost_export

        return read_cost_export(costs)
    if set(COST_COLUMNS) <= set(costs.columns):
        return costs
    return normalise_costs(costs)


def _prefix(ids: pd.Series, parts: int) -> pd.Series:
    """The first ``parts`` path segments of ids (``/subscriptions/s/resourcegroups/g`` = 5)."""
    # exports repeat a few thousand ids over millions of rows: split each distinct id once
    codes, uniques = pd.factorize(ids.astype("string"), use_na_sentinel=True)
    heads = pd.Series(uniques, dtype="string").str.split("/", n=parts, regex=False)
    heads = heads.str[:parts].str.join("/").astype("string")
    if heads.empty:  # no id at all (every row null, or not an ARM id)
        return pd.Series(pd.NA, index=ids.index, dtype="string")
    out = heads.take(codes.clip(min=0)).set_axis(ids.index)
    return out.mask(codes < 0)


def match_costs(
    tables: RegistryTables, costs: pd.DataFrame | str | os.PathLike[str]
) -> pd.DataFrame:
    """Every cost row with the registry and region it is billed to (or none): nothing dropped.

    Matching, case-insensitively on ARM ids:

    1. a row whose resource is one of a registry's storage accounts, container registries or
       private endpoints (or a sub-resource of one, ``.../storageAccounts/x/blobServices/
       default``) goes to that registry and that resource's region;
    2. otherwise a row whose resource lives in a registry's managed resource group goes to
       that registry, in the row's own region when the registry is there, else its primary;
    3. anything else keeps ``registry_id`` null (``matched_via`` null): it is reported, not
       dropped.

    A resource shared by several registries (one bring-your-own ACR behind two registries)
    has its cost split evenly between them, so totals always equal the export's.

    Returns the cost columns plus ``registry_id, name, location, matched_via`` (``storage``,
    ``acr``, ``private_endpoint``, ``managed_resource_group`` or null) and ``share`` (1, or
    1/n when split).
    """
    frame = _as_costs(costs).reset_index(drop=True)
    frame = frame.assign(_row=range(len(frame)))
    # only ARM ids take part: an ARN or a literal id of another cloud never matches
    rid = frame["resource_id"].astype("string").where(is_arm_id(frame["resource_id"]))
    drivers = cost_drivers(tables)
    direct = drivers[drivers["resource_kind"] != "managed_resource_group"].dropna(
        subset=["resource_id"]
    )
    direct = direct[["registry_id", "name", "location", "resource_kind", "resource_id"]].rename(
        columns={"resource_id": "_key", "resource_kind": "matched_via"}
    )
    m1 = frame.assign(_key=_prefix(rid, 9)).merge(direct, on="_key", how="inner")
    rest = frame[~frame["_row"].isin(m1["_row"])]

    mrg = drivers[drivers["resource_kind"] == "managed_resource_group"].dropna(
        subset=["resource_id"]
    )
    mrg = mrg[["registry_id", "name", "location", "resource_id"]].rename(
        columns={"resource_id": "_key", "location": "_primary"}
    )
    m2 = rest.assign(_key=_prefix(rid[rest.index], 5)).merge(mrg, on="_key", how="inner")
    present = registry_regions(tables)[["registry_id", "location"]].assign(_there=True)
    m2 = m2.merge(
        present.rename(columns={"location": "resource_location"}),
        on=["registry_id", "resource_location"],
        how="left",
    )
    m2["location"] = m2["resource_location"].where(m2["_there"].notna(), m2["_primary"])
    m2["matched_via"] = "managed_resource_group"
    unmatched = rest[~rest["_row"].isin(m2["_row"])]

    columns = [*frame.columns, "registry_id", "name", "location", "matched_via"]
    parts = [m1[columns], m2[columns]]
    if not unmatched.empty:
        parts.append(unmatched.assign(registry_id=pd.NA, name=pd.NA, location=pd.NA,
                                      matched_via=pd.NA)[columns])  # fmt: skip
    # typed before stacking: an all-null part must not decide a dtype (pandas 2.x warns)
    as_strings = {c: "string" for c in ["registry_id", "name", "location", "matched_via"]}
    parts = [p.astype(as_strings) for p in parts if not p.empty] or [parts[0].astype(as_strings)]
    out = pd.concat(parts, ignore_index=True)
    share = 1.0 / out.groupby("_row")["_row"].transform("size")
    out["share"] = share.astype("float64")
    out["cost"] = out["cost"] * out["share"]
    out = out.sort_values(["_row", "registry_id"]).drop(columns="_row").reset_index(drop=True)
    out.attrs = {}
    return out


def join_costs(
    tables: RegistryTables, costs: pd.DataFrame | str | os.PathLike[str]
) -> pd.DataFrame:
    """Cost per registry, region and month, with what could not be attributed kept visible.

    Args:
        tables: the registry tables.
        costs: a frame from :func:`read_cost_export` (or a raw export frame), or a path.

    Returns:
        Columns ``registry_id, name, subscription_id, location, is_primary, month,
        currency, cost, matched``; ``is_primary`` tells the registry's home region from its
        replicas (what replication costs). Attributed rows have ``matched=True``; cost rows
        that belong to no registry are summed per month and currency into rows with
        ``matched=False`` and a null ``registry_id``, so ``result.cost.sum()`` equals the
        export's total. Row-level detail, including which rows did not match, is
        :func:`match_costs`.

    Example::

        >>> joined = join_costs(tables, "data/sample/costs.csv")        # doctest: +SKIP
        >>> joined[joined.matched].pivot_table(index="name", columns="month",
        ...                                    values="cost", aggfunc="sum")  # doctest: +SKIP
    """
    matched = match_costs(tables, costs)
    reg = tables.registries
    home = pd.DataFrame(
        {
            "registry_id": reg["registry_id"],
            "subscription_id": reg["subscription_id"],
            "_home": norm_region(reg["location"]),
        }
    )
    matched = matched.merge(home, on="registry_id", how="left")
    keys = ["registry_id", "name", "subscription_id", "location", "month", "currency"]
    out = matched.groupby([*keys, "_home"], dropna=False, sort=False)["cost"].sum()
    out = out.reset_index()
    out["is_primary"] = (out["location"] == out["_home"]).astype("boolean")
    out["matched"] = out["registry_id"].notna().astype("boolean")
    out = out.astype({k: "string" for k in keys})
    keys.insert(4, "is_primary")
    out = out.sort_values(
        ["matched", "name", "registry_id", "location", "month"],
        ascending=[False, True, True, True, True],
    )
    return out[[*keys, "cost", "matched"]].reset_index(drop=True)
