"""The change timeline and the explorer's Changes tab, on the sample's emulated change records."""

from __future__ import annotations

from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mlreg_frames import analysis, plots, schema
from mlreg_frames.emulator.armsim import ArmModel
from mlreg_frames.emulator.changesim import ChangeModel
from mlreg_frames.flatten.changes import explode_changes
from mlreg_frames.widgets.changes_tab import CHANGE_COLUMNS, changes_tab

NOW = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def changes() -> pd.DataFrame:
    model = ArmModel()
    return explode_changes(ChangeModel(model, now=NOW).records)


def _busiest(changes: pd.DataFrame) -> str:
    regs = changes[changes["resource_type"] == "microsoft.machinelearningservices/registries"]
    return str(regs["registry_id"].value_counts().index[0])


def test_kinds_and_days_count_every_row(changes: pd.DataFrame) -> None:
    kinds = analysis.change_kinds(changes)
    assert set(kinds) == set(analysis.CHANGE_KINDS)
    assert (kinds[changes["property"] == "properties.networkAcls.defaultAction"] == "network").all()
    by_day = analysis.changes_by_day(changes)
    assert int(by_day.to_numpy().sum()) == len(changes)
    assert (by_day.index.to_series().diff().dropna() == pd.Timedelta(days=1)).all()
    one = analysis.changes_by_day(changes, _busiest(changes).upper())
    assert 0 < int(one.to_numpy().sum()) < len(changes)


def test_the_timeline_stacks_kinds_with_their_colours(changes: pd.DataFrame) -> None:
    rid = _busiest(changes)
    ax = plots.change_timeline(changes, rid)
    counts = analysis.changes_by_day(changes, rid)
    bars = [p for p in ax.patches]
    assert sum(p.get_height() for p in bars) == counts.to_numpy().sum()
    colours = {mcolors.to_hex(p.get_facecolor()) for p in bars if p.get_height()}
    used = [k for k in analysis.CHANGE_KINDS if counts[k].sum()]
    assert colours == {plots.CHANGE_COLORS[k] for k in used}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == used
    assert rid.rsplit("/", 1)[-1] in ax.get_title(loc="left")
    plt.close("all")
    empty = plots.change_timeline(schema.empty_frame("changes"), "x")
    assert "no changes" in empty.texts[0].get_text()
    plt.close("all")


def test_the_changes_tab_is_compact_and_newest_first(changes: pd.DataFrame) -> None:
    rid = _busiest(changes)
    tab = changes_tab(changes, rid)
    assert isinstance(tab, widgets.Widget)
    summary, table, image = tab.children
    mine = changes[changes["registry_id"] == rid]
    assert f"<b>{len(mine)}</b> changed properties" in summary.value
    assert all(f"<th>{c}</th>" in table.value for c in CHANGE_COLUMNS)
    stamps = [t.strftime("%Y-%m-%d %H:%M") for t in mine["time"].sort_values(ascending=False)]
    positions = [table.value.index(s) for s in dict.fromkeys(stamps)]
    assert positions == sorted(positions)
    assert image.value[:4] == b"\x89PNG"
    nothing = changes_tab(changes, "/subscriptions/x/no-such-registry")
    assert "no changes recorded" in nothing.children[1].value


def test_the_explorer_shows_a_registry_s_changes_in_its_changes_tab(
    changes: pd.DataFrame,
) -> None:
    import base64

    import mlreg_frames as mf

    from .helpers import SAMPLE

    tables = mf.flatten(mf.read_pages(SAMPLE))
    rid = _busiest(changes)
    ex = mf.explore(tables, changes=changes)
    assert "changes" in ex.detail_views
    ex.show_registry(rid)
    view = ex.detail_views["changes"].value
    mine = changes[changes["registry_id"] == rid]
    assert f"<b>{len(mine)}</b> changed properties" in view
    png = view.split("data:image/png;base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(png)[:4] == b"\x89PNG"
    assert "changes" not in mf.explore(tables).detail_views  # only with a change log
