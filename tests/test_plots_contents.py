"""The contents chart draws what ``analysis.contents`` says: stacked widths equal the counts."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import mlreg_frames as mf
from mlreg_frames import analysis, plots

from .helpers import SAMPLE


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_assets_by_registry_stacks_the_versions_by_type() -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE))
    held = analysis.contents(tables, mf.flatten_assets(SAMPLE / "_assets.ndjson"))
    ax = plots.assets_by_registry(held, top=10)
    widths = sum(p.get_width() for p in ax.patches)
    top10 = held.groupby("name")["versions"].sum().sort_values().iloc[-10:]
    assert widths == pytest.approx(float(top10.sum()))
    assert "top 10 of" in ax.get_title(loc="left")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(mf.schema.ASSET_TYPES)


def test_nothing_known_draws_a_message() -> None:
    tables = mf.flatten(mf.read_pages(SAMPLE))
    ax = plots.assets_by_registry(analysis.contents(tables, mf.AssetTables.empty()))
    assert ax.texts and not ax.patches


def _bar_totals(ax) -> list[float]:
    totals: dict[float, float] = {}
    for patch in ax.patches:
        x = round(patch.get_x(), 6)
        totals[x] = totals.get(x, 0.0) + patch.get_height()
    return [totals[x] for x in sorted(totals)]


def test_asset_age_buckets_every_version_once() -> None:
    assets = mf.flatten_assets(SAMPLE / "_assets.ndjson")
    versions = assets.asset_versions
    ax = plots.asset_age(assets, as_of="2026-01-31")
    totals = _bar_totals(ax)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [name for name, _ in plots.AGE_BUCKETS] + ["unknown"]
    assert sum(totals) == len(versions)
    assert totals[-1] == versions["created_at"].isna().sum()  # no time: never given an age
    days = (pd.Timestamp("2026-01-31", tz="UTC") - versions["created_at"]).dt.days
    assert totals[0] == (days < 30).sum() and totals[-2] == (days >= 730).sum()
    assert [t.get_text() for t in ax.texts if t.get_text()] == [f"{int(v):,}" for v in totals]
    assert "on 2026-01-31" in ax.get_title(loc="left")


def test_asset_age_by_month_keeps_empty_months() -> None:
    versions = mf.flatten_assets(SAMPLE / "_assets.ndjson").asset_versions
    ax = plots.asset_age(versions.dropna(subset=["created_at"]), by="month")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    months = versions["created_at"].dropna().dt.strftime("%Y-%m")
    span = pd.period_range(months.min(), months.max(), freq="M").astype(str).tolist()
    assert labels == span and sum(_bar_totals(ax)) == versions["created_at"].notna().sum()


def test_asset_age_without_versions_and_a_wrong_option() -> None:
    ax = plots.asset_age(mf.AssetTables.empty())
    assert ax.texts and not ax.patches
    with pytest.raises(mf.InvalidArgumentError, match="by must be"):
        plots.asset_age(mf.AssetTables.empty(), by="year")
