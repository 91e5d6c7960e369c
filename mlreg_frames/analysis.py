"""Questions about registries answered as tidy DataFrames: regions, exposure, cost drivers.

Pure pandas on a :class:`~mlreg_frames.tables.RegistryTables`; no I/O, no plotting. Regions
are compared the way ARM compares them (case and spaces ignored), so every ``location``
these functions return is normalised: ``"East US"`` becomes ``"eastus"``.

Example::

    >>> import mlreg_frames as mf
    >>> from mlreg_frames import analysis
    >>> tables = mf.flatten(mf.read_pages("data/sample"))      # doctest: +SKIP
    >>> analysis.region_summary(tables).head()                  # doctest: +SKIP
    >>> analysis.exposure(tables).query("severity == 'high'")   # doctest: +SKIP

Cost exports are read and joined in :mod:`mlreg_frames.costs` (``join_costs``), which uses
:func:`cost_drivers` to know which ARM resources belong to which registry and region.
"""

from __future__ import annotations

import pandas as pd

from .tables import RegistryTables

__all__ = [
    "FINDINGS",
    "SEVERITY",
    "cost_drivers",
    "exposure",
    "norm_region",
    "region_summary",
    "registry_regions",
    "replicas",
    "replication_matrix",
]

SEVERITY = pd.CategoricalDtype(["info", "low", "medium", "high"], ordered=True)
"""Ordered severities, least to most severe: ``findings.severity >= "medium"`` works."""

FINDINGS: dict[str, tuple[str, str]] = {
    "public_network_access_without_private_endpoint": (
        "high",
        "Public network access is Enabled and no private endpoint is Approved: the registry "
        "is reachable from the internet only.",
    ),
    "storage_blob_public_access": (
        "high",
        "A storage account behind the registry allows anonymous blob public access.",
    ),
    "private_endpoint_pending": ("medium", "A private endpoint connection waits for approval."),
    "private_endpoint_rejected": ("medium", "A private endpoint connection was rejected."),
    "private_endpoint_disconnected": ("medium", "A private endpoint connection is disconnected."),
    "private_endpoint_timeout": ("medium", "A private endpoint connection timed out."),
    "no_managed_identity": (
        "medium",
        "The registry has no managed identity (identity type None or absent).",
    ),
    "user_storage_without_hns": (
        "low",
        "A bring-your-own storage account has no hierarchical namespace (no directory ACLs).",
    ),
    "user_created_storage": (
        "info",
        "A bring-your-own storage account: its network and access settings are yours to keep.",
    ),
    "user_created_acr": (
        "info",
        "A bring-your-own container registry: its network and access settings are yours to keep.",
    ),
}
"""Every finding :func:`exposure` can report: name -> (severity, meaning)."""

_FINDING_COLUMNS = [
    "registry_id",
    "name",
    "subscription_id",
    "resource_group",
    "location",
    "finding",
    "severity",
    "detail",
]
_PE_FINDING = {
    "pending": "private_endpoint_pending",
    "rejected": "private_endpoint_rejected",
    "disconnected": "private_endpoint_disconnected",
    "timeout": "private_endpoint_timeout",
}


def norm_region(values: pd.Series) -> pd.Series:
    """Regions as ARM compares them: lower-case, spaces removed (``East US`` -> ``eastus``)."""
    return values.astype("string").str.replace(" ", "", regex=False).str.lower()


def _registry_info(tables: RegistryTables) -> pd.DataFrame:
    reg = tables.registries
    return pd.DataFrame(
        {
            "registry_id": reg["registry_id"],
            "name": reg["name"],
            "subscription_id": reg["subscription_id"],
            "resource_group": reg["resource_group"],
            "primary_location": norm_region(reg["location"]),
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
    info = _registry_info(tables)
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

    Columns: ``registry_id, name, subscription_id, primary_location, region_count,
    replica_count, replica_locations`` (a comma-separated, sorted string).

    Example::

        >>> replicas(tables).sort_values("replica_count").tail(3)   # doctest: +SKIP
    """
    rr = registry_regions(tables)
    reps = rr[~rr["is_primary"]]
    agg = pd.DataFrame(
        {
            "region_count": rr.groupby("registry_id").size(),
            "replica_count": reps.groupby("registry_id").size(),
            "replica_locations": reps.groupby("registry_id")["location"].agg(
                lambda s: ", ".join(sorted(s))
            ),
        }
    )
    out = _registry_info(tables).drop(columns="resource_group")
    out = out.merge(agg, left_on="registry_id", right_index=True, how="left")
    out["region_count"] = out["region_count"].fillna(0).astype("int64")
    out["replica_count"] = out["replica_count"].fillna(0).astype("int64")
    out["replica_locations"] = out["replica_locations"].astype("string").fillna("")
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


def _findings(rows: pd.DataFrame, finding: str, detail: pd.Series) -> pd.DataFrame:
    """Finding rows for the registry ids in ``rows`` with one detail text each."""
    return pd.DataFrame(
        {
            "registry_id": rows["registry_id"].to_numpy(),
            "finding": finding,
            "detail": detail.astype(str).to_numpy(),
        }
    )


def _per_registry(frame: pd.DataFrame, label: pd.Series, finding: str) -> pd.DataFrame:
    """One finding per registry in ``frame``, listing every ``label`` that triggered it."""
    if frame.empty:
        return _findings(frame, finding, pd.Series([], dtype=str))
    grouped = label.groupby(frame["registry_id"]).agg(lambda s: ", ".join(s.astype(str)))
    return _findings(grouped.reset_index(), finding, grouped)


def _account_label(frame: pd.DataFrame, name_column: str) -> pd.Series:
    name = frame[name_column].astype("string").fillna("(unnamed)")
    return name + " (" + norm_region(frame["location"]).fillna("?") + ")"


def exposure(tables: RegistryTables) -> pd.DataFrame:
    """Network and identity exposure: one row per registry and finding, worst first.

    Findings (see :data:`FINDINGS` for the full list and ``docs/analysis.md`` for why):

    - ``public_network_access_without_private_endpoint`` (high): public network access is
      Enabled and no private endpoint connection is Approved;
    - ``storage_blob_public_access`` (high): a storage account allows blob public access;
    - ``private_endpoint_pending|rejected|disconnected|timeout`` (medium);
    - ``no_managed_identity`` (medium);
    - ``user_storage_without_hns`` (low): bring-your-own storage without hierarchical
      namespace; system-created storage is Azure ML's to manage and is not flagged;
    - ``user_created_storage`` / ``user_created_acr`` (info): bring-your-own accounts.

    Returns columns ``registry_id, name, subscription_id, resource_group, location, finding,
    severity, detail``; ``severity`` is the ordered categorical :data:`SEVERITY`.

    Example::

        >>> f = exposure(tables)                                   # doctest: +SKIP
        >>> f[f["severity"] >= "medium"].groupby("finding").size()  # doctest: +SKIP
    """
    reg, pe, storage, acr = tables.registries, tables.pe_connections, tables.storage, tables.acr
    parts: list[pd.DataFrame] = []

    status = pe["status"].astype("string").str.lower()
    approved = set(pe.loc[status == "approved", "registry_id"])
    public = reg["public_network_access"].astype("string").str.lower() == "enabled"
    open_regs = reg[public.fillna(False) & ~reg["registry_id"].isin(approved)]
    n_pe = pe.groupby("registry_id").size().reindex(open_regs["registry_id"], fill_value=0)
    parts.append(
        _findings(
            open_regs,
            "public_network_access_without_private_endpoint",
            "publicNetworkAccess=Enabled; "
            + n_pe.astype(str).reset_index(drop=True)
            + " private endpoint connection(s), none Approved",
        )
    )

    blob_public = storage[storage["allow_blob_public_access"].fillna(False).astype(bool)]
    label = _account_label(blob_public, "storage_account_name") + " allowBlobPublicAccess=true"
    parts.append(_per_registry(blob_public, label, "storage_blob_public_access"))

    for state, finding in _PE_FINDING.items():
        rows = pe[(status == state).fillna(False)]
        label = (
            rows["private_endpoint_id"].astype("string").str.rsplit("/", n=1).str[-1]
            .fillna(rows["connection_id"].astype("string").str.rsplit("/", n=1).str[-1])
            .fillna("(unnamed)")
            + ": "
            + rows["status"].astype("string")
        )  # fmt: skip
        parts.append(_per_registry(rows, label, finding))

    kinds = tables.identities.loc[tables.identities["kind"].isin(["system", "user"]), "registry_id"]
    id_type = reg["identity_type"].astype("string").str.lower()
    no_identity = reg[(id_type.isna() | (id_type == "none")) & ~reg["registry_id"].isin(kinds)]
    parts.append(
        _findings(
            no_identity,
            "no_managed_identity",
            "identity.type=" + no_identity["identity_type"].astype("string").fillna("(absent)"),
        )
    )

    user_storage = storage[storage["origin"] == "user"]
    no_hns = user_storage[~user_storage["hns_enabled"].fillna(False).astype(bool)]
    label = (
        _account_label(no_hns, "storage_account_name")
        + " storageAccountHnsEnabled="
        + (no_hns["hns_enabled"].astype("string").str.lower().fillna("(absent)"))
    )
    parts.append(_per_registry(no_hns, label, "user_storage_without_hns"))
    label = _account_label(user_storage, "storage_account_name")
    parts.append(_per_registry(user_storage, label, "user_created_storage"))
    user_acr = acr[acr["origin"] == "user"]
    parts.append(_per_registry(user_acr, _account_label(user_acr, "acr_name"), "user_created_acr"))

    found = pd.concat(parts, ignore_index=True)
    found["severity"] = pd.Categorical(
        found["finding"].map(lambda f: FINDINGS[f][0]), dtype=SEVERITY
    )
    info = _registry_info(tables).rename(columns={"primary_location": "location"})
    out = found.merge(info, on="registry_id", how="left")[_FINDING_COLUMNS]
    out = out.astype({c: "string" for c in _FINDING_COLUMNS if c != "severity"})
    out = out.sort_values(
        ["severity", "finding", "name", "registry_id"], ascending=[False, True, True, True]
    )
    return out.reset_index(drop=True)


def cost_drivers(tables: RegistryTables) -> pd.DataFrame:
    """What a registry is billed for, per region: one row per billed ARM resource.

    A registry's cost comes from its regions: each region adds a storage account (whose
    ``sku`` is the redundancy, e.g. ``Standard_LRS`` / ``Standard_GRS``) and a container
    registry (``sku`` Basic / Standard / Premium), plus whatever runs in the managed
    resource group, plus the private endpoints that connect to it (billed per hour in the
    network's subscription; ``sku`` holds the connection state). Costs are billed to these
    resource ids, which is how :func:`mlreg_frames.costs.join_costs` attributes a cost export.

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
    accounts = pd.concat(
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
        ],
        ignore_index=True,
    )
    pe = tables.pe_connections
    pe_id = pe["private_endpoint_id"].astype("string")
    endpoints = pd.DataFrame(
        {
            "registry_id": pe["registry_id"],
            "location": norm_region(pe["location"]),
            "resource_kind": "private_endpoint",
            "origin": "user",
            "sku": pe["status"],
            "resource_name": pe_id.str.rsplit("/", n=1).str[-1],
            "resource_id": pe_id,
        }
    )[pe_id.notna().to_numpy()]
    reg = tables.registries
    mrg_id = reg["managed_resource_group_id"].astype("string").str.rstrip("/")
    mrg = pd.DataFrame(
        {
            "registry_id": reg["registry_id"],
            "location": norm_region(reg["location"]),
            "resource_kind": "managed_resource_group",
            "origin": "system",
            "sku": pd.NA,
            "resource_name": mrg_id.str.rsplit("/", n=1).str[-1],
            "resource_id": mrg_id,
        }
    )[mrg_id.notna().to_numpy()]
    out = pd.concat([accounts, endpoints, mrg], ignore_index=True)
    out["resource_id"] = out["resource_id"].astype("string").str.lower()
    info = replicas(tables)[
        ["registry_id", "name", "subscription_id", "primary_location", "replica_count"]
    ]
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
