"""``analysis.contents``: what each registry holds, and unknown never reported as zero."""

from __future__ import annotations

import pandas as pd

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames.emulator import ArmEmulator

from .helpers import ROOT

SAMPLE = ROOT / "data" / "sample"


def test_the_sample_contents_add_up() -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE))
    assets = mf.flatten_assets(SAMPLE / "_assets.ndjson")
    held = analysis.contents(tables, assets)
    assert list(held.columns) == list(analysis.CONTENTS_COLUMNS)
    assert len(held) == 40 * 5 and held["containers"].notna().all()
    assert held["containers"].sum() == len(assets.assets)
    assert held["versions"].sum() == len(assets.asset_versions)
    assert (held["replicated_versions"] == held["versions"] * held["regions"]).all()
    one = held[held["versions"] > 0].iloc[0]
    mine = assets.asset_versions.query(
        "registry_id == @one.registry_id and asset_type == @one.asset_type"
    )
    assert one["newest_version_at"] == mine["created_at"].max()
    assert one["archived_versions"] == mine["is_archived"].sum()
    empty = held[held["versions"] == 0]
    assert not empty.empty and empty["archived_share"].isna().all()  # 0 of 0 is no share


def test_a_failed_list_is_unknown_not_zero() -> None:
    with ArmEmulator.from_fleet(4, 2, seed=5, assets={"containers": 3, "seed": 2}) as arm:
        tables = mf.fetch_registries(endpoint=arm.endpoint, credential=arm.credential())
        victim = tables.registries["registry_id"].iloc[0]
        arm.assets.forbidden = {victim}
        assets = mf.fetch_assets(
            tables, asset_types=["models", "codes"], endpoint=arm.endpoint,
            credential=arm.credential(),
        )  # fmt: skip
    held = analysis.contents(tables, assets).set_index(["registry_id", "asset_type"])
    assert set(held.index.get_level_values("asset_type")) == {"models", "codes"}
    assert held.loc[victim, "containers"].isna().all() and held.loc[victim, "versions"].isna().all()
    others = held.drop(index=victim, level="registry_id")
    assert others["containers"].notna().all()
    assert others["containers"].sum() == len(assets.assets)


def test_nothing_read_is_unknown_everywhere() -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE))
    held = analysis.contents(tables, mf.AssetTables.empty())
    assert held["containers"].isna().all() and len(held) == 40 * 5
    assert str(held["versions"].dtype) == "Int64"
    assert isinstance(held["newest_version_at"].dtype, pd.DatetimeTZDtype)
