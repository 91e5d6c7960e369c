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
    assert ax.get_title(loc="left") == "Registries per region, home + replica"
    assert ax.get_xlabel() == "registries with the region as home or replica"
    assert legend_texts(ax) == ["home region", "replica region"]
    # westus2: b and LONG at home, a replicates there
    assert dict(zip(ytick_texts(ax), widths(ax)[:n], strict=True))["westus2"] == 2


def test_registries_by_region_top_says_so(fleet):
    ax = plots.registries_by_region(fleet, top=1)
    assert ax.get_xlabel().endswith("\n(top 1 of 3 regions)")
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
    assert legend_texts(ax) == ["home", "replica"]


def test_storage_and_acr_bars_equal_counts(fleet):
    ax = plots.storage_and_acr(fleet)
    got = dict(zip([t.strip() for t in ytick_texts(ax)], widths(ax), strict=True))
    # a has three regions, b and LONG one each: one storage account and one ACR per region
    assert got == {"Standard_LRS": 4, "Standard_GRS": 1, "Premium": 4, "Basic": 1}
    assert legend_texts(ax) == ["storage account type", "ACR SKU"]
    # the axis counts both kinds, and says so
    assert ax.get_xlabel() == "storage accounts or ACRs (one each per registry region)"


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


def drawn_texts(fig) -> list[matplotlib.text.Text]:
    """Every text the saved image shows: titles, axis labels, tick labels in view, bar labels,
    legends and the figure title."""
    FigureCanvasAgg(fig).draw()
    texts = [fig._suptitle] if fig._suptitle else []
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += ax.texts
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():  # a twin's shared axis
                continue
            low, high = sorted(axis.get_view_interval())
            locs = axis.get_majorticklocs()
            texts += [
                t for t, loc in zip(axis.get_ticklabels(), locs, strict=False)
                if low - 1e-9 <= loc <= high + 1e-9
            ]  # fmt: skip
        if legend := ax.get_legend():
            texts += [*legend.get_texts(), legend.get_title()]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def shown_px(text, fig, dpi: int, shown_width: int) -> float:
    """Height in pixels of ``text``'s font once the PNG saved at ``dpi`` is shown
    ``shown_width`` px wide (the PNG is ``width in inches x dpi`` px)."""
    png_px = text.get_fontsize() / 72 * dpi
    return png_px * shown_width / (fig.get_size_inches()[0] * dpi)


@pytest.fixture(scope="module")
def sample() -> tuple[mf.RegistryTables, pd.DataFrame]:
    if not (SAMPLE / "costs.csv").exists():
        pytest.skip("data/sample not generated")
    tables = mf.flatten(mf.read_pages(str(SAMPLE / "registries-*.json")))
    return tables, join_costs(tables, mf.read_cost_export(SAMPLE / "costs.csv"))


@pytest.mark.parametrize("with_costs", [False, True], ids=["no-costs", "costs"])
def test_overview_text_is_readable_on_a_slide(sample, with_costs):
    tables, joined = sample
    fig = plots.overview(tables, joined if with_costs else None)
    texts = drawn_texts(fig)
    assert len(texts) > 100
    dpi = plots.OVERVIEW_DPI
    assert tuple(fig.get_size_inches() * dpi) == (1920, 1080)
    # 9 pt at 1,920 px wide: the 16 in figure shows at 120 px per inch, so 9/72 in = 15 px
    smallest = min(texts, key=lambda t: t.get_fontsize())
    assert shown_px(smallest, fig, dpi, 1920) >= 15, smallest.get_text()
    assert shown_px(smallest, fig, dpi, 1400) >= 10.9, smallest.get_text()  # still readable
    assert smallest.get_fontsize() >= 9


@pytest.mark.parametrize("with_costs", [False, True], ids=["no-costs", "costs"])
def test_overview_texts_do_not_overlap(sample, with_costs):
    tables, joined = sample
    fig = plots.overview(tables, joined if with_costs else None, title="A long report title")
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    figure_box = fig.bbox
    for text, box in boxes:  # nothing cut at the edge of the image
        assert figure_box.x0 - 1 <= box.x0 and box.x1 <= figure_box.x1 + 1, text
        assert figure_box.y0 - 1 <= box.y0 and box.y1 <= figure_box.y1 + 1, text
    # a text's box spans its font's full line height, so boxes within half a pixel touch, the
    # glyphs do not
    boxes = [(text, box.expanded(1.0, 1.0).padded(-0.5)) for text, box in boxes]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


def test_overview_panels_line_up(sample):
    """Titles of panels side by side start at one height; the gaps between columns are even."""
    tables, joined = sample
    fig = plots.overview(tables, joined)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    rows: dict[float, list] = {}
    for ax in panels:
        rows.setdefault(round(ax.get_position().y1, 2), []).append(ax)
    assert [len(r) for r in rows.values()] == [3, 3]
    for row in rows.values():
        heights = {round(ax._left_title.get_window_extent(renderer).y0) for ax in row}
        assert max(heights) - min(heights) <= 1

    # the plot area and y-axis labels (of its twin too) of neighbouring panels never touch
    def extent(ax) -> tuple[float, float]:
        same = [a for a in fig.axes if a.get_position().bounds == ax.get_position().bounds]
        parts = [ax.bbox]
        for a in same:
            parts += [t.get_window_extent(renderer) for t in drawn_texts_of(a)]
        return min(b.x0 for b in parts), max(b.x1 for b in parts)

    def drawn_texts_of(ax):
        texts = [*ax.get_yticklabels(), ax.yaxis.label, *ax.texts]
        return [t for t in texts if t.get_visible() and t.get_text().strip()]

    for row in rows.values():
        row.sort(key=lambda ax: ax.get_position().x0)
        spans = [extent(ax) for ax in row]
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
        assert all(g >= 8 for g in gaps), gaps  # px at 1,920 wide


def test_overview_has_every_panel(fleet):
    fig = plots.overview(fleet)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:6] == [
        "Registries per region, home + replica", "Where registries replicate",
        "Exposure findings by severity", "Storage account types and ACR SKUs",
        "Private endpoint connections by state", "Registries created over time",
    ]  # fmt: skip
    assert fig.get_suptitle() == "Azure ML registries: 3 registries · 2 subscriptions · 3 regions"
    assert tuple(fig.get_size_inches()) == plots.OVERVIEW_SIZE == (16, 9)
    with_costs = plots.overview(fleet, cost_fixture(fleet), title="Contoso")
    titles = [ax.get_title(loc="left") for ax in with_costs.axes]
    assert titles == [
        "Registries per region, home + replica", "Where registries replicate",
        "Exposure findings by severity", "Storage account types and ACR SKUs",
        "Cost by registry", "Cost by region",
    ]  # fmt: skip
    assert with_costs.get_suptitle().startswith("Contoso: 3 registries")
    # one size with or without costs, so demo and report write the same image size
    assert tuple(with_costs.get_size_inches()) == plots.OVERVIEW_SIZE


def test_save_overview_writes_png_and_rejects_unknown_formats(fleet, tmp_path):
    out = plots.save_overview(fleet, tmp_path / "sub" / "o.png", dpi=40)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(mf.MlregFramesError, match="unknown image format 'txt'"):
        plots.save_overview(fleet, tmp_path / "o.txt")


def test_ax_is_used_when_given(fleet):
    fig, ax = plt.subplots()
    assert plots.pe_states(fleet, ax) is ax
    assert len(fig.axes) == 1


def test_report_writes_the_demo_size(fleet, tmp_path):
    from matplotlib.image import imread

    fleet.to_parquet(tmp_path / "tables")
    out = tmp_path / "o.png"
    result = CliRunner().invoke(main, ["report", "--from", str(tmp_path / "tables"), "--out",
                                       str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert imread(out).shape[:2] == (1080, 1920)  # as `demo` writes it


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
