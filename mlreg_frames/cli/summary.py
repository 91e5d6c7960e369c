"""The text summaries ``demo`` prints: registries per home region, exposure, and costs."""

from __future__ import annotations

import pandas as pd

from ..flatten.subscriptions import subscription_labels
from ..tables import RegistryTables

__all__ = ["cost_summary", "findings_summary", "summary"]


def summary(tables: RegistryTables) -> str:
    """Registries per home region and subscription, and exposure counts, as printable text.

    Subscriptions are shown by display name (``tables.subscriptions``) when listed, else by
    the start of their id.

    The region table counts each registry once, in its home region (``location``);
    replica regions are not counted there (the overview chart of regions counts both).

    Example::

        >>> print(summary(RegistryTables.empty()))
        0 registries in 0 subscriptions
    """
    regs = tables.registries
    lines = [f"{len(regs):,} registries in {regs['subscription_id'].nunique():,} subscriptions"]
    if regs.empty:
        return lines[0]
    by_region = pd.crosstab(
        regs["location"].fillna("(none)").astype(str),
        subscription_labels(tables.subscriptions, regs["subscription_id"]),
        margins=True,
        margins_name="total",
    )
    by_region.index.name, by_region.columns.name = "home region", "subscription"
    title = (
        "Registries per home region and subscription (each registry once; replicas not counted):"
    )
    lines += ["", title, by_region.to_string(), ""]
    public = int((regs["public_network_access"].str.lower() == "enabled").sum())
    with_pe = tables.pe_connections["registry_id"].nunique()
    lines.append("Exposure:")
    lines.append(f"  public network access enabled: {public:,} of {len(regs):,} registries")
    lines.append(f"  registries with no private endpoint: {len(regs) - with_pe:,}")
    states = tables.pe_connections["status"].fillna("(none)").value_counts()
    if len(states):
        text = ", ".join(f"{state} {count}" for state, count in states.items())
        lines.append(f"  private endpoint connections by state: {text}")
    return "\n".join(lines)


def cost_summary(joined: pd.DataFrame, *, source: str = "the cost export") -> str:
    """Totals of a :func:`~mlreg_frames.analysis.join_costs` frame as printable text.

    Per currency: the total, what was attributed to registries (split into home and replica
    regions: what replication costs), what matched no registry, and the registries that
    cost most. Amounts are in whole units of the currency; a total is rounded once and its
    parts are derived from rounded figures, so the parts shown always add up to it.

    Example::

        >>> print(cost_summary(pd.DataFrame(columns=["currency", "cost"])))
        Cost: nothing in the cost export
    """
    if joined.empty:
        return f"Cost: nothing in {source}"
    months = joined["month"].dropna().astype(str)
    span = f", {months.min()} to {months.max()}" if len(months) else ""
    lines = []
    for currency, rows in joined.groupby(joined["currency"].fillna("?").astype(str)):
        matched = rows[rows["matched"].astype("boolean").fillna(False)]
        total, attributed = round(rows["cost"].sum()), round(matched["cost"].sum())
        home = round(
            matched.loc[matched["is_primary"].astype("boolean").fillna(False), "cost"].sum()
        )
        top = matched.groupby(matched["name"].astype(str))["cost"].sum().nlargest(3)

        def amount(value: float, unit: str = str(currency)) -> str:
            return f"{value:,.0f} {unit}"

        lines += [
            f"Cost ({source}{span}), in whole {currency}:",
            f"  total {amount(total)}",
            f"  attributed to {matched['registry_id'].nunique():,} registries: "
            f"{amount(attributed)} "
            f"= home regions {amount(home)} + replica regions {amount(attributed - home)}",
            f"  matched no registry: {amount(total - attributed)}",
        ]
        if len(top):
            text = ", ".join(f"{name} {amount(round(cost))}" for name, cost in top.items())
            lines.append(f"  most expensive registries: {text}")
    return "\n".join(lines)


def findings_summary(findings: pd.DataFrame, *, top: int = 10) -> str:
    """Findings per severity and the ``top`` worst ones, one line each (for the terminal)."""
    if findings.empty:
        return "no exposure findings"
    counts = findings["severity"].value_counts().reindex(["high", "medium", "low", "info"])
    lines = ["exposure findings: " + ", ".join(f"{int(n)} {s}" for s, n in counts.items() if n)]
    accounts = findings[findings["resource_id"].notna()]
    for row in accounts.head(top).itertuples(index=False):
        lines.append(f"  {row.severity:<6} {row.finding}  {row.name}  {row.detail}")
    if len(accounts) > top:
        lines.append(f"  ... and {len(accounts) - top:,} more account findings")
    return "\n".join(lines)
