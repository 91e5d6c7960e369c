"""The contents chart draws what ``analysis.contents`` says: stacked widths equal the counts."""

from __future__ import annotations

import matplotlib
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
