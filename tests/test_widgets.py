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
    tab = tables_in(ex.detail_views["costs"].value)[0]
    assert tab["head"] == ["month", "eastus", "westeurope", "total"]
    assert tab["rows"] == [["2025-01", "10.00", "2.50", "12.50"]]
    assert tab["total"] == ["total", "10.00", "2.50", "12.50"]
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


class _Tables(HTMLParser):
    """The text of every <table> in some HTML: caption, header cells, body rows, totals row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._text: list[str] | None = None  # the open cell or caption
        self._row: list[str] = []
        self._in_head = self._total = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "rows": [], "total": None})
        elif tag in ("thead", "tbody"):
            self._in_head = tag == "thead"
        elif tag == "tr":
            self._row, self._total = [], ("class", "mlreg-total") in attrs
        elif tag in ("th", "td", "caption"):
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        table = self.tables[-1] if self.tables else {}
        if tag in ("th", "td") and self._text is not None:
            self._row.append("".join(self._text))
            self._text = None
        elif tag == "caption" and self._text is not None:
            table["caption"], self._text = "".join(self._text), None
        elif tag == "tr":
            if self._in_head:
                table["head"] = self._row
            elif self._total:
                table["total"] = self._row
            else:
                table["rows"].append(self._row)


def tables_in(value: str) -> list[dict]:
    parser = _Tables()
    parser.feed(value)
    return parser.tables


def header(value: str) -> list[str]:
    """Column headers of the first HTML table in ``value``."""
    return tables_in(value)[0]["head"]


def first_row(value: str) -> list[str]:
    return tables_in(value)[0]["rows"][0]


def column(value: str, name: str) -> list[str]:
    """The body cells of one column of the first table (the totals row left out)."""
    table = tables_in(value)[0]
    at = next(i for i, h in enumerate(table["head"]) if h.startswith(name))
    return [row[at] for row in table["rows"]]


def test_table_puts_what_an_analyst_looks_for_first(fleet):
    shown = header(mf.explore(fleet).table.value)
    assert shown == [
        "name", "worst finding", "findings", "subscription", "home region",
        "public network access", "SKU tier", "approved private endpoints", "regions",
    ]  # fmt: skip
    costs = pd.DataFrame({"ResourceId": [storage_id("alpha", "eastus")],
                          "CostInBillingCurrency": [1.0], "BillingCurrency": "USD",
                          "Date": ["2025-01-01"]})  # fmt: skip
    ex = mf.explore(fleet, costs, subscription_names={SUB1: "Prod", SUB2: "Dev"})
    assert header(ex.table.value)[:4] == ["name", "worst finding", "findings", "cost (USD)"]
    assert SUB1 not in ex.table.value  # the display name instead of a 36-character GUID
    assert first_row(ex.table.value)[:5] == ["alpha", "none", "0", "1.00", "Prod"]


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
    assert "Production" in column(ex.table.value, "subscription")
    ex.subscription.value = SUB2
    assert names(ex) == ["beta"]


def test_missing_sku_tier_reads_as_the_filter_says(ex):
    ex.search.value = "gamma"
    assert first_row(ex.table.value)[header(ex.table.value).index("SKU tier")] == mw.NOT_SET
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


def test_detail_tabs_are_compact_tables_with_short_ids(ex):
    """A child table is one row per entry; a long id shows its tail, whole on hover and copy."""
    ex.registry.value = registry_id("delta").lower()
    storage = tables_in(ex.detail_views["storage"].value)[0]
    assert storage["head"][:2] == ["account", "region"]
    assert storage["rows"][0][:2] == ["stdeltaeastus", "eastus"]
    assert storage["rows"][0][storage["head"].index("blob public access")] == "True"
    full = storage_id("delta", "eastus")
    assert f"class='mlreg-id' title='{full}'" in ex.detail_views["storage"].value
    ex.registry.value = registry_id("alpha").lower()
    regions = tables_in(ex.detail_views["regions"].value)[0]
    assert regions["rows"] == [["eastus", "True"], ["westeurope", "False"]]


def test_summary_leads_with_exposure_regions_and_sku(ex):
    ex.registry.value = registry_id("gamma").lower()
    blocks = tables_in(ex.detail_views["summary"].value)
    assert [b["caption"] for b in blocks] == [
        "exposure", "regions", "SKU", "where", "everything else"
    ]  # fmt: skip
    exposure = dict(row for row in blocks[0]["rows"])
    assert exposure["public network access"] == "Disabled"
    assert exposure["worst finding"] == "none"
    sku = dict(row for row in blocks[2]["rows"])
    assert sku["SKU tier"] == mw.NOT_SET  # blank: said, not dropped
    rest = dict(row for row in blocks[-1]["rows"])
    assert rest["ARM id"] == registry_id("gamma")
    assert "registry id" not in rest  # the same id twice: shown once
    fields = [k for b in blocks for k, _ in b["rows"]]
    assert len(fields) == len(set(fields))


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
    costs = tables_in(ex.detail_views["costs"].value)[0]
    assert costs["caption"] == "cost in USD"
    assert costs["head"] == ["month", "eastus", "total"]
    assert costs["rows"] == [["2025-03", "3.00", "3.00"]]
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
    assert ex.registry.rows == 16  # the list grows with the fleet
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


# --- sorting, formatting, columns, names, tabs ------------------------------------------------


def test_names_sort_naturally_and_blanks_sort_last():
    from mlreg_frames.widgets.format import natural_key

    names_ = ["risk-assets-1481", "risk-assets-150", "Risk-assets-1548", "risk-assets-9"]
    assert sorted(names_, key=natural_key) == [
        "risk-assets-9", "risk-assets-150", "risk-assets-1481", "Risk-assets-1548"
    ]  # fmt: skip
    t = mf.flatten([make_registry(n, sku_tier=tier) for n, tier in
                    [("risk-assets-1481", "Basic"), ("risk-assets-150", None),
                     ("risk-assets-1548", "Premium")]])  # fmt: skip
    ex = mf.explore(t)
    assert names(ex) == ["risk-assets-150", "risk-assets-1481", "risk-assets-1548"]
    assert column(ex.table.value, "name") == names(ex)
    ex.sort_by.value = "sku_tier"
    assert names(ex) == ["risk-assets-1481", "risk-assets-1548", "risk-assets-150"]
    ex.sort_order.value = "descending"  # blanks stay last either way
    assert names(ex) == ["risk-assets-1548", "risk-assets-1481", "risk-assets-150"]
    assert column(ex.table.value, "SKU tier") == ["Premium", "Basic", mw.NOT_SET]


def test_sort_by_severity_findings_and_cost(fleet):
    costs = pd.DataFrame({"ResourceId": [storage_id("gamma", "japaneast"), storage_id("alpha", "eastus"),
                                         storage_id("delta", "eastus")],
                          "CostInBillingCurrency": [1234.5, 20.0, 3.0], "BillingCurrency": "EUR",
                          "Date": ["2025-01-01"] * 3})  # fmt: skip
    ex = mf.explore(fleet, costs)
    ex.sort_by.value, ex.sort_order.value = "worst_severity", "descending"
    worst = ex.selected["worst_severity"].astype("string").fillna("none").tolist()
    assert worst == ["high", "medium", "none", "none"]  # delta, beta, then the clean ones
    assert names(ex)[:2] == ["delta", "beta"] and names(ex)[2:] == ["alpha", "gamma"]
    ex.sort_by.value = "cost"
    assert names(ex) == ["gamma", "alpha", "delta", "beta"]
    assert column(ex.table.value, "cost") == ["1,234.50", "20.00", "3.00", "0.00"]
    ex.sort_order.value = "ascending"
    assert names(ex) == ["beta", "delta", "alpha", "gamma"]
    ex.sort_by.value = "findings"
    assert ex.selected["findings"].is_monotonic_increasing


def test_money_is_right_aligned_with_currency_and_totals_equal_pandas(fleet):
    from mlreg_frames.widgets.format import money

    assert money(495) == "495.00" and money(50.375) == "50.38" and money(None) == mw.NOT_SET
    assert money(1234567.891) == "1,234,567.89"
    costs = pd.DataFrame({"ResourceId": [storage_id("alpha", "eastus"), storage_id("beta", "westeurope", SUB2)],
                          "CostInBillingCurrency": [1000.25, 0.5], "BillingCurrency": "USD",
                          "Date": ["2025-01-01", "2025-02-01"]})  # fmt: skip
    ex = mf.explore(fleet, costs, max_rows=2)  # totals count every match, not the rows shown
    table = tables_in(ex.table.value)[0]
    assert len(table["rows"]) == 2
    total = dict(zip(table["head"], table["total"], strict=True))
    sel = ex.selected
    assert total["name"] == "total of 4"
    assert total["cost (USD)"] == f"{sel['cost'].sum():,.2f}" == "1,000.75"
    assert total["findings"] == str(sel["findings"].sum())
    assert total["regions"] == str(sel["regions"].sum())
    assert total["approved private endpoints"] == str(sel["approved_pes"].sum())
    assert "<td class='mlreg-num'>1,000.25</td>" in ex.table.value
    assert ".mlreg-num{text-align:right" in ex.table.value


def test_the_column_picker_chooses_the_columns(fleet):
    ex = mf.explore(fleet)
    assert "created" not in header(ex.table.value)
    ex.columns.value = ["SKU tier", "name", "created"]
    assert ex.shown_columns == ["name", "sku_tier", "created_at"]  # the table's own order
    assert header(ex.table.value) == ["name", "SKU tier", "created"]
    assert column(ex.table.value, "created") == ["2024-01-15"] * 4
    assert set(ex.columns.allowed_tags) >= {"home region", "worst finding", "resource group"}


def test_subscription_names_come_from_the_subscriptions_table(fleet):
    subs = pd.DataFrame({"subscription_id": [SUB1], "display_name": ["Contoso Prod"]})
    named = mf.RegistryTables.from_frames(
        {**dict(fleet.items()), "subscriptions": subs}, allow_missing=True
    )
    ex = mf.explore(named)
    assert dict(ex.subscription.options)["Contoso Prod"] == SUB1
    assert (SUB2, SUB2) in ex.subscription.options  # no name: the id (short when long)
    assert set(column(ex.table.value, "subscription")) == {"Contoso Prod", SUB2}
    ex.registry.value = registry_id("alpha").lower()
    where = tables_in(ex.detail_views["summary"].value)[3]
    assert dict(r for r in where["rows"])["subscription"] == "Contoso Prod"
    # an explicit mapping wins over the table
    ex = mf.explore(named, subscription_names={SUB1: "Production"})
    assert "Production" in column(ex.table.value, "subscription")


def test_the_picker_has_its_own_search_and_grows_with_the_fleet(ex):
    from mlreg_frames.widgets.picker import picker_rows

    assert [picker_rows(n) for n in (1, 6, 10, 16, 5000)] == [6, 6, 10, 16, 16]
    ex.picker.search.value = "ELT"
    assert [label for label, _ in ex.registry.options] == ["delta"]
    assert ex.registry.value == registry_id("delta").lower()
    assert len(ex.selected) == 4  # the table's filters are untouched
    ex.picker.search.value = ""
    assert len(ex.registry.options) == 4


def test_the_chart_is_drawn_for_its_shown_size(ex):
    import struct

    from mlreg_frames.plots._style import SMALL_PT
    from mlreg_frames.widgets.explorer import CHART_DPI, CHART_SIZE

    ex.views.selected_index = 1
    width, height = struct.unpack(">II", ex.plot.value[16:24])  # the PNG's IHDR
    assert (width, height) == CHART_SIZE
    assert ex.plot.layout.width == f"{CHART_SIZE[0]}px"  # shown 1:1, never scaled down
    assert SMALL_PT * CHART_DPI / 72 >= 12  # value labels are at least 12 px


def test_every_control_is_guarded_against_notebook_shortcuts(ex):
    from mlreg_frames.widgets._html import KEY_GUARD

    guard = ex.children[0].value
    assert KEY_GUARD in guard and "mlreg-explorer" in ex._dom_classes
    assert "lmSuppressShortcuts" in KEY_GUARD and "stopPropagation" in KEY_GUARD
    assert "{" not in KEY_GUARD.split("onload=")[0]  # constant: no data is formatted into it


def test_more_tabs_are_title_and_builder_pairs(fleet):
    seen = []

    def changes(explorer, registry_id):
        seen.append(registry_id)
        return f"<i>changes of {len(explorer.registries)} registries</i>"

    ex = mf.explore(fleet, tabs=[("changes", changes)])
    assert ex.detail.titles == (*mw.DETAIL_TABS, "changes")
    ex.registry.value = registry_id("beta", SUB2).lower()
    assert seen[-1] == registry_id("beta", SUB2).lower()
    assert ex.detail_views["changes"].value == "<i>changes of 4 registries</i>"


def test_the_assets_tab_counts_what_the_registry_holds():
    if not (SAMPLE / "_assets.ndjson").exists():
        pytest.skip("data/sample not generated")
    tables = mf.flatten(mf.read_pages(str(SAMPLE)))
    assets = mf.flatten_assets(SAMPLE / "_assets.ndjson")
    ex = mf.explore(tables, assets=assets)
    assert ex.detail.titles[-1] == "assets"
    rid = ex.registry.value
    per_type, listing = tables_in(ex.detail_views["assets"].value)
    held = analysis.contents(tables, assets).query("registry_id == @rid")
    assert per_type["head"][:4] == ["type", "containers", "versions", "archived"]
    assert [r[0] for r in per_type["rows"]] == held["asset_type"].tolist()
    assert per_type["total"][1] == str(held["containers"].sum())
    assert per_type["total"][2] == str(held["versions"].sum())
    mine = assets.assets[assets.assets["registry_id"] == rid]
    assert listing["caption"].startswith(f"{len(mine)} asset") and len(listing["rows"]) == len(mine)
