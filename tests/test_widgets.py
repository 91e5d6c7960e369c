"""The explorer, driven the way a user clicks: set a control's value, read what it shows."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

import mlreg_frames as mf
from mlreg_frames import analysis
from mlreg_frames import widgets as mw
from mlreg_frames.analysis.costs import join_costs
from mlreg_frames.widgets.explorer import _subscription_labels

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
    assert ex.plot.value == b""  # drawn when its tab is shown
    ex.views.selected_index = 1
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
    assert "max-height:380px" in ex.table.value
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


def header(value: str) -> list[str]:
    """Column names of the first HTML table in ``value``."""
    head = value.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [cell.split("</th>", 1)[0] for cell in head.split("<th>")[1:]]


def first_row(value: str) -> list[str]:
    row = value.split("<tbody><tr>", 1)[1].split("</tr>", 1)[0]
    return [cell.split("</td>", 1)[0].split(">", 1)[-1] for cell in row.split("<td")[1:]]


def test_table_puts_what_an_analyst_looks_for_first(fleet):
    assert header(mf.explore(fleet).table.value) == [c for c in mw.TABLE_COLUMNS if c != "cost"]
    costs = pd.DataFrame({"ResourceId": [storage_id("alpha", "eastus")],
                          "CostInBillingCurrency": [1.0], "BillingCurrency": "USD",
                          "Date": ["2025-01-01"]})  # fmt: skip
    ex = mf.explore(fleet, costs, subscription_names={SUB1: "Prod", SUB2: "Dev"})
    assert header(ex.table.value)[:4] == ["name", "worst_severity", "findings", "cost"]
    assert SUB1 not in ex.table.value  # the display name instead of a 36-character GUID
    assert first_row(ex.table.value)[:5] == ["alpha", "none", "0", "1.0", "Prod"]


def test_subscriptions_without_a_name_show_a_short_id():
    a, b = "6bad6be2-8e7a-46e9-9f19-950499dd251d", "e5121482-3929-4d22-a255-accb1a466884"
    assert _subscription_labels(pd.Series([a, b, a]), None) == {a: "6bad6be2…", b: "e5121482…"}
    alike = [a, a[:9] + "ffff" + a[13:]]  # same first 8 characters: longer prefixes
    assert _subscription_labels(pd.Series(alike), None) == {
        alike[0]: "6bad6be2-8e7a…", alike[1]: "6bad6be2-ffff…"
    }  # fmt: skip
    twice = _subscription_labels(pd.Series([a, b]), {a: "ML", b.upper(): "ML"})
    assert twice == {a: "ML (6bad6be2…)", b: "ML (e5121482…)"}


def test_subscriptions_show_their_display_names(fleet):
    ex = mf.explore(fleet, subscription_names={SUB1.upper(): "Production"})
    assert ex.subscription.options == ((mw.ALL, mw.ALL), ("Production", SUB1), (SUB2, SUB2))
    assert "<td>Production</td>" in ex.table.value
    ex.subscription.value = SUB2
    assert names(ex) == ["beta"]


def test_missing_sku_tier_reads_as_the_filter_says(ex):
    ex.search.value = "gamma"
    assert first_row(ex.table.value)[header(ex.table.value).index("sku_tier")] == mw.NOT_SET
    assert (mw.NOT_SET, mw.NOT_SET) in ex.sku_tier.options


def test_sorting_ignores_case():
    t = mf.flatten([make_registry(n, location=loc) for n, loc in
                    [("Zeta", "westus"), ("alpha", "EastUS2"), ("Beta", "eastus"), ("beta2", "b")]])  # fmt: skip
    ex = mf.explore(t)
    assert names(ex) == ["alpha", "Beta", "beta2", "Zeta"]
    assert [label for label, _ in ex.registry.options] == ["alpha", "Beta", "beta2", "Zeta"]
    locations = [v for _, v in ex.region.options][1:]
    assert locations == sorted(locations, key=str.casefold)


def test_region_filter_says_home_or_replica_and_offers_home_only(ex):
    assert dict(ex.region_scope.options) == {
        "home or replica region": mw.HOME_OR_REPLICA, "home region": mw.HOME_ONLY
    }  # fmt: skip
    ex.region.value = "westeurope"
    assert names(ex) == ["alpha", "beta"]
    ex.region_scope.value = mw.HOME_ONLY
    assert names(ex) == ["beta"]  # alpha only replicates there
    assert ex.selected["location"].tolist() == ["westeurope"]


def test_name_search_is_case_insensitive(ex):
    ex.search.value = "  ALP "
    assert names(ex) == ["alpha"]
    ex.search.value = "zzz"
    assert names(ex) == [] and ex.registry.value is None


def test_detail_tabs_stack_key_value_pairs(ex):
    """Every field of a wide child row is a line of its own, long values wrap: nothing is cut."""
    ex.registry.value = registry_id("delta").lower()
    storage = ex.detail_views["storage"].value
    assert "<th>allow_blob_public_access</th><td>True</td>" in storage
    assert "<th>resource_id</th>" in storage and "mlreg-kv" in storage
    assert "overflow-wrap:anywhere" in storage
    summary = ex.detail_views["summary"].value
    assert f"<th>arm_id</th><td>{registry_id('delta')}</td>" in summary
    assert "<th>created_by</th>" in summary
    alpha = registry_id("alpha").lower()
    ex.registry.value = alpha
    regions = ex.detail_views["regions"].value
    assert "1 of 2: eastus" in regions and "2 of 2: westeurope" in regions


@pytest.mark.parametrize("dtype", ["datetime64", "date", "joined, date but no month"])
def test_costs_tab_takes_either_date_dtype(fleet, tmp_path, dtype):
    """The cost export's ``date`` may be a timestamp or a plain date: the tab reads either."""
    (tmp_path / "c.csv").write_text(
        "ResourceId,CostInBillingCurrency,BillingCurrency,Date\n"
        f"{storage_id('alpha', 'eastus')},3.0,USD,2025-03-04\n"
    )
    export = mf.read_cost_export(tmp_path / "c.csv")
    as_dates = pd.to_datetime(export["date"]).dt.date
    if dtype == "date":
        export["date"] = as_dates
    costs = export
    if dtype.startswith("joined"):
        costs = join_costs(fleet, export).drop(columns="month").assign(date=as_dates.iloc[0])
    ex = mf.explore(fleet, costs)
    ex.registry.value = registry_id("alpha").lower()
    assert "<th>2025-03</th>" in ex.detail_views["costs"].value
    assert ex.selected.set_index("name").loc["alpha", "cost"] == 3.0


def test_picker_searches_500_registries():
    from mlreg_frames.synth.fleet import generate_fleet

    tables = mf.flatten(generate_fleet(500, 6, seed=3))
    ex = mf.explore(tables)
    assert len(ex.registry.options) == 500  # every registry is in the list, not 40 or 200
    assert "first 200 of 500 shown" in ex.table.value
    wanted = tables.registries["name"].iloc[417]
    ex.search.value = wanted.upper()
    assert wanted in [label for label, _ in ex.registry.options]
    assert len(ex.registry.options) < 10
    picked = dict(ex.registry.options)[wanted]
    ex.registry.value = picked
    assert f"<td>{wanted}</td>" in ex.detail_views["summary"].value
    assert ex.summary.value.startswith(f"<b>{len(ex.registry.options)}</b> of 500")


def test_the_explorer_shows_declared_beside_actual_accounts() -> None:
    from mlreg_frames.flatten.backing import backing_tables
    from mlreg_frames.synth.backing import backing_accounts

    from .registry_factory import make_registry

    fleet = [make_registry("locked", public="Disabled", pe_states=["Approved"]),
             make_registry("open")]  # fmt: skip
    tables = mf.flatten(fleet)
    bodies = [b for b in backing_accounts(fleet) if "stlocked" in b["id"].lower()]
    for body in bodies:  # the locked registry's storage was opened again
        body["properties"].update(publicNetworkAccess="Enabled")
        body["properties"]["networkAcls"]["defaultAction"] = "Allow"
    ex = mf.explore(tables, backing=backing_tables(bodies))
    assert "accounts" in ex.detail_views
    assert "registry_private_storage_public" in set(ex.findings["finding"])
    ex.show_registry(
        tables.registries.loc[tables.registries["name"] == "locked", "registry_id"].iloc[0]
    )
    html = ex.detail_views["accounts"].value
    assert "all_networks" in html and "unknown" in html  # its ACR was not returned
    assert "stlockedeastus" in html
