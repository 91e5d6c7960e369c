"""Questions about registries answered as tidy DataFrames: regions, exposure, cost drivers.

Pure pandas on a :class:`~mlreg_frames.tables.RegistryTables`; no I/O, no plotting. Regions
are compared the way ARM compares them (case and spaces ignored), so every ``location``
these functions return is normalised: ``"East US"`` becomes ``"eastus"``.

This module holds the exposure findings (:func:`exposure`, :data:`FINDINGS`, :data:`SEVERITY`);
the region and cost-driver summaries live in :mod:`mlreg_frames.analysis.regions`, and
:mod:`mlreg_frames.analysis` is the public face of both.

Example::

    >>> import mlreg_frames as mf
    >>> from mlreg_frames import analysis
    >>> tables = mf.flatten(mf.read_pages("data/sample"))      # doctest: +SKIP
    >>> analysis.region_summary(tables).head()                  # doctest: +SKIP
    >>> analysis.exposure(tables).query("severity == 'high'")   # doctest: +SKIP

Cost exports are read and joined in :mod:`mlreg_frames.analysis.costs` (``join_costs``), which uses
:func:`cost_drivers` to know which ARM resources belong to which registry and region.
"""

from __future__ import annotations

import pandas as pd

from ..flatten.backing import BackingTables
from ..tables import RegistryTables
from .backing import BACKING_FINDINGS, backing_findings
from .regions import norm_region, registry_info

__all__ = ["FINDINGS", "SEVERITY", "exposure"]

SEVERITY = pd.CategoricalDtype(["info", "low", "medium", "high"], ordered=True)
"""Ordered severities, least to most severe: ``findings.severity >= "medium"`` works."""

FINDINGS: dict[str, tuple[str, str]] = {
    "public_network_access_without_approved_private_endpoint": (
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
    "resource_id",
]
_PE_FINDING = {
    "pending": "private_endpoint_pending",
    "rejected": "private_endpoint_rejected",
    "disconnected": "private_endpoint_disconnected",
    "timeout": "private_endpoint_timeout",
}


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


def exposure(tables: RegistryTables, backing: BackingTables | None = None) -> pd.DataFrame:
    """Network and identity exposure: one row per registry and finding, worst first.

    With ``backing`` (:func:`mlreg_frames.fetch_backing`), the storage accounts and container
    registries behind each registry are judged as Azure returns them today, and compared with
    what the registry payload declares (:data:`~.backing.BACKING_FINDINGS`, one row per
    account and finding, ``resource_id`` naming the account): then
    ``storage_blob_public_access`` comes from the accounts themselves, and an account that was
    not returned is ``backing_not_visible``, never compliant.

    Findings (see :data:`FINDINGS` for the full list and ``docs/analysis.md`` for why):

    - ``public_network_access_without_approved_private_endpoint`` (high): public network access is
      Enabled and no private endpoint connection is Approved;
    - ``storage_blob_public_access`` (high): a storage account allows blob public access;
    - ``private_endpoint_pending|rejected|disconnected|timeout`` (medium);
    - ``no_managed_identity`` (medium);
    - ``user_storage_without_hns`` (low): bring-your-own storage without hierarchical
      namespace; system-created storage is Azure ML's to manage and is not flagged;
    - ``user_created_storage`` / ``user_created_acr`` (info): bring-your-own accounts.

    Returns columns ``registry_id, name, subscription_id, resource_group, location, finding,
    severity, detail, resource_id`` (the account of an account-level finding, else null);
    ``severity`` is the ordered categorical :data:`SEVERITY`.

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
            "public_network_access_without_approved_private_endpoint",
            "publicNetworkAccess=Enabled; "
            + n_pe.astype(str).reset_index(drop=True)
            + " private endpoint connection(s), none Approved",
        )
    )

    if backing is None:  # else the accounts themselves say (backing_findings)
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

    found = pd.concat(parts, ignore_index=True).assign(resource_id=pd.NA)
    info = registry_info(tables)
    found = found.merge(info, on="registry_id", how="left")
    if backing is not None:
        accounts = backing_findings(tables, backing)
        found = pd.concat([found.astype("string"), accounts.astype("string")], ignore_index=True)
    severities = {**FINDINGS, **BACKING_FINDINGS}
    found["severity"] = pd.Categorical(
        found["finding"].map(lambda f: severities[f][0]), dtype=SEVERITY
    )
    out = found[_FINDING_COLUMNS]
    out = out.astype({c: "string" for c in _FINDING_COLUMNS if c != "severity"})
    out = out.sort_values(
        ["severity", "finding", "name", "registry_id", "resource_id"],
        ascending=[False, True, True, True, True],
        na_position="first",
    )
    return out.reset_index(drop=True)
