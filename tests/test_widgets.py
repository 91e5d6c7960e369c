"""The explorer, driven the way a user clicks: set a control's value, read what it shows."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames import widgets as mw
from mlreg_frames.analysis.costs import join_costs

from .helpers import SAMPLE
from .registry_factory import SUB1, SUB2, acr_id, make_registry, registry_id, storage_id


@pytest.fixture(scope="module")
def fleet() -> mf.RegistryTables:
    return mf.flatten(
        [
            make_registry("alpha", location="eastus", replicas=["westeurope"],
                          pe_states=["Approved"], tags={"owner": "ana"}, sku_tier="Premium"),
            make_registry("beta", location="westeurope", public="Disabled", sub=SUB2,
                          pe_states=["Pending"], identity="None"),
            make_registry("gamma", location="japaneast", public="Disabled", sku_tier=None),
            make_registry("delta", location="eastus", blob_public=True),
        ]
    )  # fmt: skip


@pytest.fixture
def ex(fleet) -> mw.Explorer:
    return mf.explore(fleet)


def names(explorer: mw.Explorer) -> list[str]:
    return explorer.selected["name"].tolist()


def test_explore_is_a_widget_with_every_control(ex):
    import ipywidgets

    assert isinstance(ex, ipywidgets.VBox)
    assert names(ex) == ["alpha", "beta", "delta", "gamma"]
    assert ex.summary.value == "<b>4</b> of 4 registries match the filters"
    assert ex.plot.value[:4] == b"\x89PNG"
    assert ex.detail.titles == mw.DETAIL_TABS
    assert ex.subscription.options[0] == (mw.ALL, mw.ALL)
    assert [v for _, v in ex.subscription.options] == [mw.ALL, SUB1, SUB2]
    assert [v for _, v in ex.sku_tier.options] == [mw.ALL, "Premium", "Standard", mw.NOT_SET]


def test_region_filter_includes_replicas(ex):
    ex.region.value = "westeurope"
    assert names(ex) == ["alpha", "beta"]  # alpha replicates there, beta lives there
    assert "alpha" in ex.table.value and "beta" in ex.table.value
    assert "gamma" not in ex.table.value
    assert [label for label, _ in ex.registry.options] == ["alpha", "beta"]


def test_filters_combine(ex):
    ex.subscription.value = SUB1
    assert names(ex) == ["alpha", "delta", "gamma"]
    ex.public_access.value = "Disabled"
    assert names(ex) == ["gamma"]
    ex.sku_tier.value = mw.NOT_SET
    assert names(ex) == ["gamma"]
    ex.sku_tier.value = "Premium"
    assert names(ex) == []
    assert "no registry matches" in ex.table.value
    assert ex.registry.value is None
    assert ex.detail_views["regions"].value == "<i>no registry selected</i>"


def test_severity_filter(ex):
    ex.severity.value = "high"  # delta: public, no PE, blob public; alpha has approved PE
    assert names(ex) == ["delta"]
    ex.severity.value = "medium"  # + beta: pending PE, no identity
    assert names(ex) == ["beta", "delta"]
    ex.severity.value = "none"
    assert names(ex) == ["alpha", "gamma"]
    assert ex.selected["findings"].tolist() == [0, 0]


def test_plot_follows_the_filters(ex):
    ex.region.value = "japaneast"
    by_region = ex.figure.axes[0]
    assert [t.get_text() for t in by_region.get_yticklabels()] == ["japaneast"]
    assert ex.figure.axes[1].texts[0].get_text() == "no findings"  # gamma is clean


def test_picking_a_registry_fills_the_detail_tabs(ex):
    ex.registry.value = registry_id("alpha").lower()
    views = ex.detail_views
    assert "westeurope" in views["regions"].value
    assert "stalphawesteurope" in views["storage"].value
    assert "cralphaeastus" in views["acr"].value
    assert "alpha-principal" in views["identities"].value
    assert "Approved" in views["private endpoints"].value
    assert "owner" in views["tags"].value and "ana" in views["tags"].value
    assert views["findings"].value == "<i>no findings</i>"
    assert "Premium" in views["summary"].value
    ex.registry.value = registry_id("beta", SUB2).lower()
    assert "private_endpoint_pending" in views["findings"].value
    assert "no_managed_identity" in views["findings"].value
    assert views["identities"].value == "<i>no identities</i>"
    assert views["tags"].value == "<i>no tags</i>"


def test_filtering_keeps_the_picked_registry_when_it_still_matches(ex):
    ex.registry.value = registry_id("delta").lower()
    ex.subscription.value = SUB1
    assert ex.registry.value == registry_id("delta").lower()
    ex.region.value = "japaneast"
    assert ex.registry.value == registry_id("gamma").lower()
    assert "japaneast" in ex.detail_views["regions"].value


def test_html_is_escaped():
    t = mf.flatten([make_registry("x", tags={"note": "<script>alert(1)</script>"})])
    ex = mf.explore(t)
    assert "<script>" not in ex.detail_views["tags"].value
    assert "&lt;script&gt;" in ex.detail_views["tags"].value


class _TableParents(HTMLParser):
    """Records, for each <table>, the tag and attributes of the element it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.parents: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.parents.append(self.stack[-1] if self.stack else ("", {}))
        self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass


def test_every_table_scrolls_in_its_own_box(fleet):
    # In a browser a wide table used to widen the whole explorer, so scrolling sideways to
    # reach the last columns moved the filters, chart and tabs out of view too.
    ex = mf.explore(fleet)
    views = [ex.table.value, *(v.value for v in ex.detail_views.values())]
    checked = 0
    for value in views:
        parser = _TableParents()
        parser.feed(value)
        for tag, attrs in parser.parents:
            assert tag == "div" and attrs["class"] == "mlreg-scroll"
            assert "width:0;min-width:100%;overflow:auto" in (attrs["style"] or "")
            checked += 1
    assert checked >= 6  # the registries table and the non-empty detail tabs
    assert "max-height:420px" in ex.table.value
    # scoped under the box so pandas' global ".dataframe thead th {text-align:right}" loses
    assert ".mlreg-scroll .mlreg-t th" in ex.table.value


def test_costs_add_a_column_and_a_tab(fleet):
    costs = pd.DataFrame(
        {
            "ResourceId": [storage_id("alpha", "eastus"), acr_id("alpha", "westeurope"),
                           storage_id("beta", "westeurope", SUB2)],
            "CostInBillingCurrency": [10.0, 2.5, 4.0],
            "BillingCurrency": "USD",
            "Date": ["2025-01-01", "2025-01-01", "2025-02-01"],
        }
    )  # fmt: skip
    ex = mf.explore(fleet, costs)
    assert ex.selected.set_index("name")["cost"].to_dict() == {
        "alpha": 12.5, "beta": 4.0, "delta": 0.0, "gamma": 0.0
    }  # fmt: skip
    assert ex.detail.titles[-1] == "costs"
    ex.registry.value = registry_id("alpha").lower()
    tab = ex.detail_views["costs"].value
    assert "2025-01" in tab and "10.0" in tab and "2.5" in tab
    assert mf.explore(fleet, join_costs(fleet, costs)).selected["cost"].sum() == 16.5


def test_max_rows_limits_the_table(fleet):
    ex = mf.explore(fleet, max_rows=2)
    assert "first 2 of 4 shown" in ex.table.value
    assert len(ex.registry.options) == 4  # the picker still offers every match


def test_explore_on_the_sample():
    if not (SAMPLE / "costs.csv").exists():
        pytest.skip("data/sample not generated")
    tables = mf.flatten(mf.read_pages(str(SAMPLE / "registries-*.json")))
    ex = mf.explore(tables, SAMPLE / "costs.csv")
    assert len(ex.selected) == len(tables.registries)
    ex.severity.value = "high"
    high = analysis.exposure(tables).query("severity == 'high'")["registry_id"].nunique()
    assert len(ex.selected) == high
