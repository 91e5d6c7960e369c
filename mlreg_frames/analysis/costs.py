"""Azure Cost Management exports: read them (two formats) and attribute them to registries.

Two export formats are understood, detected from the header (case-insensitively):

- **cost details** (Cost Management "Cost and usage details", actual or amortized):
  ``ResourceId`` (or ``InstanceId``), ``CostInBillingCurrency`` (or ``Cost`` /
  ``PreTaxCost``), ``BillingCurrency`` (or ``BillingCurrencyCode`` / ``Currency``), ``Date``
  (``MM/DD/YYYY`` or ISO), and optionally ``ResourceLocation``, ``MeterCategory``;
- **FOCUS** (FinOps Open Cost and Usage Specification): ``ResourceId``, ``BilledCost`` (or
  ``EffectiveCost``), ``BillingCurrency``, ``ChargePeriodStart``, and optionally
  ``RegionId`` / ``RegionName``, ``ServiceName``.

:func:`read_cost_export` returns one normalised frame for both; :func:`join_costs` adds it
up per registry, region and month through the resources each registry is billed for (its
storage accounts, container registries, private endpoints and everything in its managed
resource group).

Example::

    >>> import mlreg_frames as mf
    >>> from mlreg_frames.analysis.costs import join_costs
    >>> costs = mf.read_cost_export("data/sample/costs.csv")   # doctest: +SKIP
    >>> join_costs(tables, costs).groupby("name")["cost"].sum()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import CostExportError
from ..tables import RegistryTables
from .regions import cost_drivers, norm_region, registry_regions

__all__ = [
    "COST_COLUMNS",
    "DATE_DTYPE",
    "join_costs",
    "match_costs",
    "normalise_costs",
    "read_cost_export",
]

COST_COLUMNS = ("resource_id", "date", "month", "cost", "currency", "resource_location", "service")
"""Columns of a normalised cost frame, in order.

``date`` is the charge day as midnight UTC, dtype :data:`DATE_DTYPE` (``datetime64[us, UTC]``),
like every other time in mlreg_frames: compare it with ``pd.Timestamp("2026-01-31", tz="UTC")``
and take calendar days with ``.dt.date``.
"""

DATE_DTYPE = pd.DatetimeTZDtype("us", "UTC")
"""The dtype of a cost frame's ``date``: the charge day at 00:00 UTC."""

# Each role lists the header names that fill it, best first (matched case-insensitively).
_FORMATS: dict[str, dict[str, tuple[str, ...]]] = {
    "focus": {
        "resource_id": ("ResourceId",),
        "cost": ("BilledCost", "EffectiveCost"),
        "currency": ("BillingCurrency",),
        "date": ("ChargePeriodStart",),
        "resource_location": ("RegionId", "RegionName"),
        "service": ("ServiceName",),
    },
    "cost-details": {
        "resource_id": ("ResourceId", "InstanceId"),
        "cost": ("CostInBillingCurrency", "Cost", "PreTaxCost", "CostInUsd"),
        "currency": ("BillingCurrency", "BillingCurrencyCode", "Currency"),
        "date": ("Date", "UsageDate"),
        "resource_location": ("ResourceLocation",),
        "service": ("MeterCategory", "ConsumedService"),
    },
}
_REQUIRED = ("resource_id", "cost", "date")


def _detect(
    header: Iterable[str], source: str, cost_column: str | None = None
) -> tuple[str, dict[str, str]]:
    """(format name, role -> actual header name) for a header, or CostExportError."""
    by_lower = {str(h).strip().lower(): str(h) for h in header}
    if cost_column is not None and cost_column.lower() not in by_lower:
        raise CostExportError(
            f"{source} has no column {cost_column!r}; pick one of {', '.join(by_lower.values())}",
            path=source,
        )
    for fmt, roles in _FORMATS.items():
        found = {
            role: next(by_lower[n.lower()] for n in names if n.lower() in by_lower)
            for role, names in roles.items()
            if any(n.lower() in by_lower for n in names)
        }
        if all(role in found for role in _REQUIRED):
            if cost_column is not None:
                found["cost"] = by_lower[cost_column.lower()]
            return fmt, found
    raise CostExportError(
        f"{source} is neither a cost-details nor a FOCUS export (columns: "
        f"{', '.join(list(by_lower.values())[:12])}); export 'Cost and usage details' or "
        "FOCUS from Cost Management, which have ResourceId, a cost column "
        "(CostInBillingCurrency / BilledCost) and a date (Date / ChargePeriodStart)",
        path=source,
    )


def _dates(values: pd.Series, column: str, source: str) -> pd.Series:
    text = values.astype("string").str.strip()
    for fmt in ("ISO8601", "%m/%d/%Y"):
        try:
            parsed = pd.to_datetime(text, format=fmt, utc=True)
        except (ValueError, TypeError):
            continue
        # Azure bills in UTC days: keep the day, as midnight UTC like every other time here
        return parsed.dt.floor("D").astype(DATE_DTYPE)
    sample = text.dropna().iloc[0] if text.notna().any() else "(empty)"
    raise CostExportError(
        f"{source}: column {column!r} holds dates that are neither ISO 8601 nor MM/DD/YYYY "
        f"(e.g. {sample!r}); re-export with a standard date format",
        path=source,
    )


def normalise_costs(
    frame: pd.DataFrame, *, cost_column: str | None = None, source: str = "cost export"
) -> pd.DataFrame:
    """A raw export frame (either format) -> the normalised cost frame of :data:`COST_COLUMNS`.

    ``resource_id`` is lower-cased (ARM ids are case-insensitive) with a leading ``/``;
    ``date`` is the charge day at midnight UTC (:data:`DATE_DTYPE`), ``month`` its
    ``YYYY-MM``; ``resource_location`` is the region normalised like
    :func:`mlreg_frames.analysis.norm_region`. The format found is in
    ``result.attrs["format"]``; ``cost_column`` overrides which column is the cost.

    Raises:
        CostExportError: the columns match neither format, or a cost or date does not parse.
    """
    fmt, roles = _detect(frame.columns, source, cost_column)
    cost = pd.to_numeric(frame[roles["cost"]], errors="coerce")
    bad = cost.isna() & frame[roles["cost"]].notna()
    if bad.any():
        first = int(bad.to_numpy().argmax())
        raise CostExportError(
            f"{source}: {roles['cost']} is not a number on data row {first + 1} "
            f"({frame[roles['cost']].iloc[first]!r}); fix the row or re-export",
            path=source,
        )
    rid = frame[roles["resource_id"]].astype("string").str.strip().str.lower()
    rid = rid.mask(rid == "")
    rid = rid.where(rid.str.startswith("/").fillna(True), "/" + rid)
    date = _dates(frame[roles["date"]], roles["date"], source)

    def optional(role: str) -> pd.Series:
        if role in roles:
            return frame[roles[role]].astype("string").str.strip().replace("", pd.NA)
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    currency = optional("currency").str.upper()
    out = pd.DataFrame(
        {
            "resource_id": rid,
            "date": date,
            "month": date.dt.strftime("%Y-%m").astype("string"),
            "cost": cost.fillna(0.0).astype("float64"),
            "currency": currency,
            "resource_location": norm_region(optional("resource_location")),
            "service": optional("service"),
        }
    ).reset_index(drop=True)
    out.attrs["format"] = fmt
    return out


def _files(path: str | os.PathLike[str]) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f for f in p.iterdir() if f.name.lower().endswith((".csv", ".csv.gz")) and f.is_file()
        )
        if not files:
            raise CostExportError(f"{p} holds no .csv files; point at an export CSV", path=str(p))
        return files
    if not p.is_file():
        raise CostExportError(f"{p} does not exist; check the path to the cost export", path=str(p))
    return [p]


def read_cost_export(
    path: str | os.PathLike[str], *, cost_column: str | None = None
) -> pd.DataFrame:
    """Read a Cost Management export (cost details or FOCUS) into a normalised frame.

    Args:
        path: a ``.csv`` / ``.csv.gz`` file, or a folder of them (a partitioned export;
            every file is read and stacked).
        cost_column: the column to read as the cost, when the default is not the one you
            want. The defaults are ``CostInBillingCurrency`` (then ``Cost``, ``PreTaxCost``)
            and, for FOCUS, ``BilledCost`` (what the invoice shows); pass
            ``"EffectiveCost"`` for amortized cost (reservations spread over their usage).

    Returns:
        One row per export row, columns :data:`COST_COLUMNS`: ``resource_id`` (lower-cased),
        ``date`` (the charge day at 00:00 UTC, ``datetime64[us, UTC]``), ``month``
        (``YYYY-MM``), ``cost`` (float, billing currency), ``currency``,
        ``resource_location``, ``service``. ``attrs["format"]`` is ``"cost-details"`` or
        ``"focus"``.

    Raises:
        CostExportError: the file is missing, unreadable, or not one of the two formats.

    Example::

        >>> costs = read_cost_export("data/sample/costs.csv")        # doctest: +SKIP
        >>> costs.groupby("month")["cost"].sum()                     # doctest: +SKIP
    """
    frames = []
    formats = set()
    for file in _files(path):
        try:
            header = pd.read_csv(file, nrows=0, encoding="utf-8-sig").columns
            fmt, roles = _detect(header, file.name, cost_column)
            raw = pd.read_csv(
                file, usecols=list(roles.values()), dtype=str, encoding="utf-8-sig",
                keep_default_na=False, na_values=[""],
            )  # fmt: skip
        except pd.errors.EmptyDataError as exc:
            raise CostExportError(
                f"{file.name} is empty; export at least the header row", path=str(file)
            ) from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # ParserError is a ValueError
            raise CostExportError(
                f"cannot read {file.name} as CSV ({exc}); check it is an uncorrupted export",
                path=str(file),
            ) from exc
        frames.append(normalise_costs(raw, cost_column=cost_column, source=file.name))
        formats.add(fmt)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["format"] = formats.pop() if len(formats) == 1 else "mixed"
    return out


def _as_costs(costs: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(costs, (str, os.PathLike)):
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
    rid = frame["resource_id"].astype("string")
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
    m2 = rest.assign(_key=_prefix(rest["resource_id"].astype("string"), 5)).merge(
        mrg, on="_key", how="inner"
    )
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
