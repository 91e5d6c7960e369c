"""Charts draw what the tables say: bar sizes equal counts, labels and legends are there."""

from __future__ import annotations

import itertools

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg

import mlreg_frames as mf
from mlreg_frames import analysis, plots
from mlreg_frames.analysis.costs import join_costs
from mlreg_frames.cli import main

from .helpers import SAMPLE
from .registry_factory import SUB2, acr_id, make_registry, storage_id

LONG = "a-registry-with-a-really-very-extremely-long-name-indeed"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fleet() -> mf.RegistryTables:
    return mf.flatten(
        [
            make_registry("a", location="eastus", replicas=["westus2", "uksouth"],
                          pe_states=["Approved", "Pending"], created="2024-01-10T00:00:00Z"),
            make_registry("b", location="westus2", storage_type="Standard_GRS", acr_sku="Basic",
                          public="Disabled", created="2024-03-02T00:00:00Z", sub=SUB2),
            make_registry(LONG, location="westus2", identity="None", blob_public=True,
                          pe_states=["Rejected"], created="2024-03-20T00:00:00Z"),
        ]
    )  # fmt: skip


def widths(ax, color=None) -> list[float]:
    return [p.get_width() for p in ax.patches if color is None or p.get_facecolor() == color]


def ytick_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def assert_no_overlap(labels) -> None:
    if not labels:
        return
    fig = labels[0].figure
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels if t.get_text()]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), "tick labels overlap"


def test_registries_by_region_bars_equal_counts(fleet):
    ax = plots.registries_by_region(fleet)
    summary = analysis.region_summary(fleet).iloc[::-1]  # drawn bottom-up
    assert ytick_texts(ax) == summary["location"].tolist()
    n = len(summary)
    assert widths(ax)[:n] == summary["primary"].tolist()
    assert widths(ax)[n:] == summary["replica"].tolist()
    assert [p.get_x() for p in ax.patches[n:]] == summary["primary"].tolist()
    assert ax.get_title(loc="left") == "Registries by region"
    assert ax.get_xlabel() == "registries"
    assert legend_texts(ax) == ["primary (home) region", "replica"]
    # westus2: b and LONG at home, a replicates there
    assert dict(zip(ytick_texts(ax), widths(ax)[:n], strict=True))["westus2"] == 2


def test_registries_by_region_top_says_so(fleet):
    ax = plots.registries_by_region(fleet, top=1)
    assert ax.get_title(loc="left") == "Registries by region (top 1 of 3)"
    assert ytick_texts(ax) == ["westus2"]


def test_replication_matrix_draws_the_matrix(fleet):
    ax = plots.replication_matrix(fleet)
    matrix = analysis.replication_matrix(fleet)
    image = ax.get_images()[0].get_array()
    assert image.tolist() == matrix.to_numpy().tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(matrix.columns)
    labels = ytick_texts(ax)
    assert labels[0] == "a"  # most regions first
    assert all(len(t) <= 30 for t in labels)
    assert any(
        t.startswith("a-registry-with") and "…" in t and t.endswith("indeed") for t in labels
    )
    assert legend_texts(ax) == ["primary", "replica"]


def test_storage_and_acr_bars_equal_counts(fleet):
    ax = plots.storage_and_acr(fleet)
    got = dict(zip([t.strip() for t in ytick_texts(ax)], widths(ax), strict=True))
    # a has three regions, b and LONG one each: one storage account and one ACR per region
    assert got == {"Standard_LRS": 4, "Standard_GRS": 1, "Premium": 4, "Basic": 1}
    assert legend_texts(ax) == ["storage\naccount type", "ACR SKU"]


def test_exposure_by_severity_bars_equal_registries_per_finding(fleet):
    ax = plots.exposure_by_severity(fleet)
    findings = analysis.exposure(fleet)
    expected = findings.groupby("finding")["registry_id"].nunique()
    got = dict(zip(ytick_texts(ax), widths(ax), strict=True))
    assert got == {plots.FINDING_LABELS[f]: n for f, n in expected.items()}
    high = matplotlib.colors.to_rgba(plots.SEVERITY_COLORS["high"])
    assert set(ytick_texts(ax)[-2:]) == {  # high on top
        "public access, no approved PE", "blob public access allowed"
    }  # fmt: skip
    assert [p.get_facecolor() for p in ax.patches[-2:]] == [high, high]
    assert legend_texts(ax) == ["high", "medium"]


def test_pe_states_bar_widths(fleet):
    ax = plots.pe_states(fleet)
    assert ytick_texts(ax) == ["Rejected", "Pending", "Approved"]  # Approved on top
    assert widths(ax) == [1, 1, 1]
    pending = matplotlib.colors.to_rgba(plots.PE_COLORS["Pending"])
    assert ax.patches[1].get_facecolor() == pending
    assert ax.get_xlabel() == "connections (2 registries have connections)"


def test_created_over_time_counts_per_month(fleet):
    ax = plots.created_over_time(fleet)
    assert [p.get_height() for p in ax.patches] == [1, 0, 2]  # Jan, Feb, Mar 2024
    assert ax.get_ylabel() == "registries per month"
    twin = next(a for a in ax.figure.axes if a is not ax)
    assert list(twin.get_lines()[0].get_ydata()) == [0, 1, 1, 3]


def test_empty_tables_draw_a_message_not_an_error():
    empty = mf.RegistryTables.empty()
    for draw in (plots.registries_by_region, plots.replication_matrix, plots.storage_and_acr,
                 plots.exposure_by_severity, plots.pe_states, plots.created_over_time):  # fmt: skip
        ax = draw(empty)
        assert ax.texts, draw.__name__
        assert not ax.patches


def cost_fixture(fleet) -> pd.DataFrame:
    costs = pd.DataFrame(
        {
            "ResourceId": [storage_id("a", "eastus"), acr_id("a", "westus2"),
                           acr_id("b", "westus2", sub=SUB2), "/subscriptions/x/y"],
            "CostInBillingCurrency": [10.0, 5.0, 7.0, 100.0],
            "BillingCurrency": "USD",
            "Date": ["2025-01-01", "2025-01-01", "2025-02-01", "2025-01-01"],
        }
    )  # fmt: skip
    return join_costs(fleet, costs)


def test_cost_by_registry_splits_home_and_replica(fleet):
    ax = plots.cost_by_registry(cost_fixture(fleet))
    assert ytick_texts(ax) == ["b", "a"]  # most expensive on top
    n = 2
    assert widths(ax)[:n] == [7.0, 10.0]  # home region
    assert widths(ax)[n:] == [0.0, 5.0]  # replicas
    assert "cost (USD), 2025-01 to 2025-02" in ax.get_xlabel()
    assert "100 USD matched no registry" in ax.get_xlabel()
    assert legend_texts(ax) == ["home region", "replica regions"]


def test_cost_by_region(fleet):
    ax = plots.cost_by_region(cost_fixture(fleet))
    got = dict(zip(ytick_texts(ax), zip(widths(ax)[:2], widths(ax)[2:], strict=True), strict=True))
    assert got == {"westus2": (7.0, 5.0), "eastus": (10.0, 0.0)}
    assert legend_texts(ax) == ["as home region", "as replica region"]


def test_long_names_are_ellipsized_and_do_not_overlap(fleet):
    many = mf.flatten([make_registry(f"{LONG}-{i}", location=f"region{i}") for i in range(25)])
    fig = plots.overview(many)
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        assert_no_overlap(ax.get_yticklabels())
        assert_no_overlap(ax.get_xticklabels())
        assert all(len(t.get_text()) <= 30 for t in ax.get_yticklabels())


def test_overview_has_every_panel(fleet):
    fig = plots.overview(fleet)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:6] == [
        "Registries by region", "Where registries replicate", "Exposure findings by severity",
        "Storage account types and ACR SKUs", "Private endpoint connections by state",
        "Registries created over time",
    ]  # fmt: skip
    assert fig.get_suptitle() == "Azure ML registries: 3 registries · 2 subscriptions · 3 regions"
    assert tuple(fig.get_size_inches()) == (16, 9)
    with_costs = plots.overview(fleet, cost_fixture(fleet), title="Contoso")
    titles = [ax.get_title(loc="left") for ax in with_costs.axes]
    assert {"Cost by registry", "Cost by region"} <= set(titles)
    assert with_costs.get_suptitle().startswith("Contoso: 3 registries")


def test_save_overview_writes_png_and_rejects_unknown_formats(fleet, tmp_path):
    out = plots.save_overview(fleet, tmp_path / "sub" / "o.png", dpi=40)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(mf.MlregFramesError, match="unknown image format 'txt'"):
        plots.save_overview(fleet, tmp_path / "o.txt")


def test_ax_is_used_when_given(fleet):
    fig, ax = plt.subplots()
    assert plots.pe_states(fleet, ax) is ax
    assert len(fig.axes) == 1


def test_report_command(fleet, tmp_path):
    fleet.to_parquet(tmp_path / "tables")
    runner = CliRunner()
    result = runner.invoke(
        main, ["report", "--from", str(tmp_path / "tables"), "--out", str(tmp_path / "o.png"),
               "--dpi", "40"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(3 registries)" in result.output
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"
    bad = runner.invoke(
        main, ["report", "--from", str(tmp_path / "tables"), "--out", str(tmp_path / "o.xyz")]
    )
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: cannot save o.xyz")
    assert "Traceback" not in bad.output
    (tmp_path / "a-file").touch()  # a folder that cannot be created: a clean error too
    blocked = runner.invoke(
        main,
        ["report", "--from", str(tmp_path / "tables"), "--out", str(tmp_path / "a-file/o.png")],
    )
    assert blocked.exit_code == 1
    assert blocked.output.startswith("Error: cannot write ") and "Traceback" not in blocked.output


def test_report_command_with_sample_costs(tmp_path):
    if not (SAMPLE / "costs.csv").exists():
        pytest.skip("data/sample not generated")
    mf.flatten(mf.read_pages(str(SAMPLE / "registries-*.json"))).to_parquet(tmp_path / "t")
    result = CliRunner().invoke(
        main, ["report", "--from", str(tmp_path / "t"), "--out", str(tmp_path / "o.png"),
               "--costs", str(SAMPLE / "costs.csv"), "--dpi", "30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").stat().st_size > 10_000
