"""``analysis.contents_cost``: cost per stored version, unknown never reported as zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis, schema

from .helpers import ROOT

SAMPLE = ROOT / "data" / "sample"
COSTS = SAMPLE / "costs.csv"


@pytest.fixture(scope="module")
def sample() -> tuple[mf.RegistryTables, mf.AssetTables]:
    return mf.flatten(mf.read_pages(SAMPLE)), mf.flatten_assets(SAMPLE / "_assets.ndjson")


def test_the_sample_cost_per_version_adds_up(sample) -> None:
    tables, assets = sample
    held = analysis.contents_cost(tables, assets, COSTS)
    assert list(held.columns) == list(analysis.CONTENTS_COST_COLUMNS)
    assert not held.duplicated(["registry_id", "location", "currency"]).any()
    matched = analysis.match_costs(tables, COSTS)
    billed = matched[matched["matched_via"].isin(["storage", "acr"])]
    assert held["cost"].sum() == pytest.approx(billed["cost"].sum())
    per_registry = held.groupby("registry_id")["versions"].first()
    assert per_registry.sum() == len(assets.asset_versions)
    known = held["cost_per_version"].notna()
    assert np.allclose(held.loc[known, "cost_per_version"] * held.loc[known, "versions"],
                       held.loc[known, "cost"])  # fmt: skip
    assert not np.isinf(held["cost_per_version"].astype(float).fillna(0)).any()
    # the registry with no version: null per version, flagged, its cost kept
    empty = held[held["versions"] == 0]
    assert not empty.empty and empty["cost_per_version"].isna().all()
    assert (empty["flag"] == "no versions").all() and empty["cost"].notna().all()
    # regions come from the registry tables: primary first, every region once
    assert len(held) == len(analysis.registry_regions(tables))
    assert held.groupby("registry_id")["is_primary"].first().all()
    assert str(held["cost"].dtype) == "Float64" and str(held["versions"].dtype) == "Int64"
    assert held["flag"].dtype == schema.pandas_dtype("string")


def test_flags_follow_their_thresholds(sample) -> None:
    tables, assets = sample
    held = analysis.contents_cost(tables, assets, COSTS, as_of="2025-07-01")
    wide = held[held["flag"].str.contains("many regions", na=False)]
    assert not wide.empty and (wide["regions"] >= analysis.contentcost.MANY_REGIONS).all()
    few = held[held["flag"].str.contains("few versions", na=False)]
    assert (few["versions"] < analysis.contentcost.FEW_VERSIONS).all()
    stale = held[held["flag"].str.contains("stale", na=False)]
    assert (stale["newest_version_at"] < pd.Timestamp("2025-07-01", tz="UTC")
            - pd.Timedelta(days=180)).all()  # fmt: skip
    assert held.attrs["as_of"].startswith("2025-07-01")
    calm = analysis.contents_cost(tables, assets, COSTS, many_regions=100)
    assert not calm["flag"].str.contains("many regions", na=False).any()
    flags = {f for text in held["flag"].dropna() for f in str(text).split("; ")}
    assert flags <= set(analysis.CONTENTS_COST_FLAGS)
    with pytest.raises(mf.InvalidArgumentError, match="few_versions must be"):
        analysis.contents_cost(tables, assets, COSTS, few_versions=-1)


def test_unknown_versions_and_unknown_costs_stay_null(sample) -> None:
    tables, assets = sample
    victim = assets.asset_versions["registry_id"].iloc[0]
    errors = schema.conform(
        "fetch_errors",
        pd.DataFrame({"scope": [f"{victim}/models"], "outcome": ["failed"]}),
        allow_missing=True,
    )
    failing = mf.AssetTables.from_frames(
        {**dict(assets.items()), "fetch_errors": errors}, provenance=assets.provenance
    )
    costs = analysis.read_cost_export(COSTS)
    matched = analysis.match_costs(tables, costs)
    unbilled = matched["registry_id"].dropna().iloc[-1]
    dropped = set(matched.loc[matched["registry_id"] == unbilled, "resource_id"])
    held = analysis.contents_cost(tables, failing, costs[~costs["resource_id"].isin(dropped)])
    mine = held[held["registry_id"] == victim]
    assert mine["versions"].isna().all() and mine["cost_per_version"].isna().all()
    assert mine["flag"].str.contains("versions unknown").all()
    assert mine["cost"].notna().any()
    theirs = held[held["registry_id"] == unbilled]
    assert not theirs.empty and theirs[["storage_cost", "acr_cost", "cost"]].isna().all().all()
    assert theirs["cost_per_version"].isna().all() and theirs["versions"].notna().all()


def test_months_narrow_the_costs(sample) -> None:
    tables, assets = sample
    whole = analysis.contents_cost(tables, assets, COSTS)
    one = analysis.contents_cost(tables, assets, COSTS, months=["2026-08"])
    assert 0 < one["cost"].sum() < whole["cost"].sum()
