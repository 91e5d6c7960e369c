"""The ``fetch``, ``demo`` and ``emulator`` commands, against the emulator over real HTTP."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import mlreg_frames as mf
from mlreg_frames.cli import main
from mlreg_frames.emulator import ArmEmulator, Fault
from mlreg_frames.flatten import parse_arm_id

from .helpers import ROOT

ENV = {"MLREG_TEST_TOKEN": "cli-token"}


@pytest.fixture
def arm() -> Iterator[ArmEmulator]:
    with ArmEmulator.from_fleet(20, 4, seed=5, page_size=4, token="cli-token") as emulator:
        yield emulator


def _subs(arm: ArmEmulator) -> list[str]:
    return sorted({parse_arm_id(r["id"])[0] or "" for r in arm.registries})


def _fetch(arm: ArmEmulator, out: Path, *extra: str) -> Result:
    args = ["fetch", "--endpoint", arm.endpoint, "--token-env", "MLREG_TEST_TOKEN"]
    args += ["--out", str(out), "--no-progress", "--max-attempts", "2", *extra]
    return CliRunner().invoke(main, args, env=ENV)


def test_fetch_all_scopes_exit_0(arm: ArmEmulator, tmp_path: Path) -> None:
    result = _fetch(arm, tmp_path / "out", "--raw", str(tmp_path / "raw"))
    assert result.exit_code == 0, result.output
    assert "fetched 20 registries from 4 of 4 scopes" in result.stdout
    tables = mf.read_parquet(tmp_path / "out")
    assert len(tables.registries) == 20 and tables.fetch_errors.empty
    assert len(mf.flatten(mf.read_pages(tmp_path / "raw")).registries) == 20
    assert result.stderr == ""


def test_fetch_some_scopes_failed_exit_2(arm: ArmEmulator, tmp_path: Path) -> None:
    victim = _subs(arm)[1]
    arm.add_fault(Fault("forbidden", match=victim))
    result = _fetch(arm, tmp_path)
    assert result.exit_code == 2, result.output
    assert "from 3 of 4 scopes" in result.stdout
    assert f"failed 403 AuthorizationFailed /subscriptions/{victim}" in result.stderr
    tables = mf.read_parquet(tmp_path)
    assert tables.fetch_errors["scope"].tolist() == [f"/subscriptions/{victim}"]
    assert len(tables.registries) == 20 - sum(victim in r["id"] for r in arm.registries)


def test_fetch_nothing_read_exit_1(arm: ArmEmulator, tmp_path: Path) -> None:
    arm.add_fault(Fault("forbidden", match="/providers/"))
    result = _fetch(arm, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: all 4 scopes failed")
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_folder_is_a_clean_error(arm: ArmEmulator, tmp_path: Path) -> None:
    (tmp_path / "a-file").touch()
    result = _fetch(arm, tmp_path / "a-file" / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write the tables to ")
    assert "Traceback" not in result.output


def test_a_lake_root_the_lake_refuses_fails_before_the_fetch(
    arm: ArmEmulator, tmp_path: Path
) -> None:
    result = _fetch(arm, tmp_path / "out", "--lake", str(tmp_path / "a%20b"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: lake ") and "percent escape" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert arm.count() == 0  # refused before a single request


def test_an_emulator_port_in_use_is_a_clean_error(arm: ArmEmulator) -> None:
    port = int(arm.endpoint.rsplit(":", 1)[1])
    result = CliRunner().invoke(main, ["emulator", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_fetch_one_subscription_and_resource_group(arm: ArmEmulator, tmp_path: Path) -> None:
    sub, group = parse_arm_id(arm.registries[0]["id"])
    result = _fetch(arm, tmp_path, "-s", str(sub), "-g", str(group))
    assert result.exit_code == 0, result.output
    ids = set(mf.read_parquet(tmp_path).registries["registry_id"])
    assert arm.registries[0]["id"].lower() in ids
    assert {str(parse_arm_id(i)[1]).lower() for i in ids} == {str(group).lower()}


def test_fetch_appends_a_lake_snapshot(arm: ArmEmulator, tmp_path: Path) -> None:
    pytest.importorskip("mlreg_frames.lake")
    from mlreg_frames import lake

    result = _fetch(arm, tmp_path / "out", "--lake", str(tmp_path / "lake"))
    assert result.exit_code == 0, result.output
    assert "appended snapshot" in result.stdout
    assert len(lake.snapshots(str(tmp_path / "lake"))) == 1


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--endpoint", "http://example.com"], ENV, "plain http"),
        (["--endpoint", "https://x.example", "--cloud", "china"], ENV, "not both"),
        ([], {"MLREG_TEST_TOKEN": ""}, "MLREG_TEST_TOKEN is empty"),
        (["--cloud", "mars"], ENV, "Invalid value for '--cloud'"),
    ],
)
def test_fetch_refuses_bad_options(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    base = ["fetch", "--token-env", "MLREG_TEST_TOKEN", "--out", str(tmp_path), "--no-progress"]
    result = CliRunner().invoke(main, base + args, env=env)
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_demo_works_without_azure(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "ARM emulator serving the bundled sample on http://127.0.0.1:" in text
    assert "registries in 3 subscriptions" in text
    assert "Registries per home region and subscription" in text
    assert "public network access enabled:" in text
    assert "private endpoint connections by state:" in text
    assert "skipped /subscriptions/" in text  # the sample's Disabled subscription
    assert "exposure findings: 40 high, 263 medium, 224 low, 5 info" in text  # data/sample/README
    assert (out / "storage_accounts.parquet").is_file()
    tables = mf.read_parquet(out)
    assert len(tables.registries) >= 30
    # the bundled cost export is joined in: totals add up to the export's
    costs = mf.read_cost_export(ROOT / "data" / "sample" / "costs.csv")
    assert "Cost (data/sample/costs.csv, " in text
    assert f"total {costs['cost'].sum():,.0f} USD" in text
    assert f"attributed to {len(tables.registries)} registries" in text
    assert str(ROOT) not in text  # only relative paths are printed
    if importlib.util.find_spec("matplotlib") and importlib.util.find_spec("mlreg_frames.plots"):
        from matplotlib.image import imread

        png = imread(out / "overview.png")
        # one size for demo and report: 16 x 9 in at 120 dpi, with or without cost panels
        assert png.shape[:2] == (1080, 1920)


def test_cost_summary_per_currency() -> None:
    from mlreg_frames.cli.fetch_cmd import cost_summary

    joined = pd.DataFrame(
        {
            "registry_id": ["/r/a", "/r/a", "/r/b", None, "/r/c"],
            "name": ["a", "a", "b", None, "c"],
            "is_primary": [True, False, True, None, True],
            "month": ["2026-01", "2026-02", "2026-02", "2026-01", "2026-01"],
            "currency": ["USD", "USD", "USD", "USD", "EUR"],
            "cost": [10.0, 30.0, 5.0, 7.0, 2.0],
            "matched": [True, True, True, False, True],
        }
    )
    assert cost_summary(joined, source="x.csv").splitlines() == [
        "Cost (x.csv, 2026-01 to 2026-02), in whole EUR:",
        "  total 2 EUR",
        "  attributed to 1 registries: 2 EUR = home regions 2 EUR + replica regions 0 EUR",
        "  matched no registry: 0 EUR",
        "  most expensive registries: c 2 EUR",
        "Cost (x.csv, 2026-01 to 2026-02), in whole USD:",
        "  total 52 USD",
        "  attributed to 2 registries: 45 USD = home regions 15 USD + replica regions 30 USD",
        "  matched no registry: 7 USD",
        "  most expensive registries: a 40 USD, b 5 USD",
    ]


def test_cost_summary_parts_add_up_to_the_rounded_total() -> None:
    from mlreg_frames.cli.fetch_cmd import cost_summary

    # exact: total 15306.6 = home 5955.3 + replica 9351.3 (+ 0); each rounded alone: 5955 + 9351
    # = 15306, not the 15307 the total rounds to
    joined = pd.DataFrame(
        {
            "registry_id": ["/r/a", "/r/a"],
            "name": ["a", "a"],
            "is_primary": [True, False],
            "month": ["2026-01", "2026-01"],
            "currency": ["USD", "USD"],
            "cost": [5955.3, 9351.3],
            "matched": [True, True],
        }
    )
    lines = cost_summary(joined).splitlines()
    assert lines[1] == "  total 15,307 USD"
    assert lines[2].endswith("15,307 USD = home regions 5,955 USD + replica regions 9,352 USD")
    assert lines[3] == "  matched no registry: 0 USD"


def test_every_command_has_help_and_is_documented() -> None:
    docs = "\n".join(
        path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    )
    for name in main.list_commands(None):  # every command, each module imported on demand
        command = main.get_command(None, name)
        assert command is not None, name
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage:" in result.stdout and command.help, name
        bare = [
            p.name for p in command.params if isinstance(p, click.Option) and not p.help
        ]  # fmt: skip
        assert not bare, f"{name}: options without help: {bare}"
        assert f"mlreg-frames {name}" in docs, f"`mlreg-frames {name}` is in no doc"
    helptext = CliRunner().invoke(main, ["emulator", "--help"]).stdout
    for option in ("--port", "--latency-ms", "--fleet", "--pages-per-scope"):
        assert option in helptext


def test_fetch_from_resource_graph_by_management_group(arm: ArmEmulator, tmp_path: Path) -> None:
    subs = _subs(arm)
    arm.graph.management_groups = {"prod": subs[:2]}
    result = _fetch(arm, tmp_path / "out", "--source", "graph", "-m", "prod")
    assert result.exit_code == 0, result.output
    assert "from 1 of 1 scope " in result.stdout
    tables = mf.read_parquet(tmp_path / "out")
    assert set(tables.registries["subscription_id"]) == set(subs[:2])
    assert tables.registries["tenant_id"].notna().all()
    # the registries, then the subscriptions' names (resourcecontainers)
    assert [(r.method, r.status) for r in arm.requests] == [("POST", 200)] * 2
    assert "resourcecontainers" in arm.graph.queries[-1]["query"]


def test_a_truncated_graph_answer_exits_2(arm: ArmEmulator, tmp_path: Path) -> None:
    arm.add_fault(Fault("truncate", match="resourcegraph"))
    result = _fetch(arm, tmp_path / "out", "--source", "graph")
    assert result.exit_code == 2, result.output
    assert "truncated /: Resource Graph truncated the answer" in result.stderr


def test_a_management_group_needs_the_graph_source(tmp_path: Path) -> None:
    result = _fetch_args(tmp_path, "-m", "prod")
    assert result.exit_code == 2 and "--management-group needs --source graph" in result.stderr


def _fetch_args(tmp_path: Path, *args: str) -> Result:
    base = ["fetch", "--token-env", "MLREG_TEST_TOKEN", "--out", str(tmp_path), "--no-progress"]
    return CliRunner().invoke(main, [*base, *args], env=ENV)


def test_demo_from_resource_graph(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--source", "graph", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "fetched from Resource Graph over HTTP in 2 requests" in result.stdout
    tables = mf.read_parquet(tmp_path)
    assert len(tables.registries) >= 30 and tables.registries["tenant_id"].notna().all()


def test_each_raw_run_gets_its_own_folder(arm: ArmEmulator, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    first = _fetch(arm, tmp_path / "one", "--raw", str(raw))
    second = _fetch(arm, tmp_path / "two", "--raw", str(raw))
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    runs = sorted(p for p in raw.iterdir())
    assert len(runs) == 2 and all(p.is_dir() for p in runs)
    assert f"saved the raw pages to {runs[0]}" in first.stdout
    assert f"saved the raw pages to {runs[1]}" in second.stdout
    # each run's folder rebuilds that run's tables (fetch_errors excepted): nothing mixed in
    fetched = mf.read_parquet(tmp_path / "two")
    rebuilt = mf.flatten(mf.read_pages(runs[1]))
    for name, frame in fetched.items():
        pd.testing.assert_frame_equal(rebuilt[name], frame, check_like=False)


def test_fetch_reports_the_tables_it_wrote(arm: ArmEmulator, tmp_path: Path) -> None:
    result = _fetch(arm, tmp_path / "out")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())  # long paths wrap the line
    assert (
        f"wrote 9 tables to {tmp_path / 'out'} (7 + fetch_errors with 0 rows + subscriptions "
        "with 4 rows)"
    ) in said


def test_chart_and_summary_give_one_number_for_unmatched_cost() -> None:
    """The overview's caption and the terminal summary derive "matched no registry" alike."""
    import matplotlib

    matplotlib.use("Agg")
    from mlreg_frames import plots
    from mlreg_frames.analysis import join_costs
    from mlreg_frames.cli.fetch_cmd import cost_summary

    tables = mf.flatten(mf.read_pages(ROOT / "data" / "sample"))
    joined = join_costs(tables, mf.read_cost_export(ROOT / "data" / "sample" / "costs.csv"))
    line = next(x for x in cost_summary(joined).splitlines() if "matched no registry" in x)
    figure = plots.overview(tables, joined)
    captions = [ax.get_xlabel() for ax in figure.axes]
    figure.clf()
    amount = line.split(": ", 1)[1]  # e.g. "474 USD"
    assert any(f"{amount} matched no registry" in caption for caption in captions), (line, captions)


@pytest.mark.parametrize("source", ["arm", "graph"])
def test_a_fetch_that_fails_at_once_prints_one_line_and_no_progress_bar(
    tmp_path: Path, source: str
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["fetch", "--endpoint", f"http://127.0.0.1:{port}", "--token-env", "MLREG_TEST_TOKEN"]
    args += ["--out", str(tmp_path), "--max-attempts", "1", "--source", source]
    result = CliRunner().invoke(
        main, [*args, "-s", "00000000-0000-0000-0000-000000000001"], env=ENV
    )
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output and "cli-token" not in result.output


def test_the_progress_bar_appears_once_pages_arrive(arm: ArmEmulator, tmp_path: Path) -> None:
    args = ["fetch", "--endpoint", arm.endpoint, "--token-env", "MLREG_TEST_TOKEN"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "scopes:" in result.stderr and "registries=" in result.stderr


@pytest.mark.parametrize("groups", [[""], ["  "], "", [None]])
def test_an_empty_management_group_never_widens_the_query(arm: ArmEmulator, groups: object) -> None:
    from mlreg_frames.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="management"):
        mf.fetch_registries(
            source="graph", management_groups=groups, endpoint=arm.endpoint,
            credential=arm.credential(),
        )  # fmt: skip
    assert arm.count() == 0
    result = CliRunner().invoke(
        main, ["fetch", "--source", "graph", "-m", "", "--token-env", "MLREG_TEST_TOKEN"], env=ENV
    )
    assert result.exit_code == 2 and "must not be empty" in result.stderr, result.output


@pytest.mark.parametrize("source", ["arm", "graph"])
def test_fetch_with_backing_writes_the_accounts_and_their_findings(
    arm: ArmEmulator, tmp_path: Path, source: str
) -> None:
    from mlreg_frames.backingfiles import read_backing
    from mlreg_frames.synth.backing import missing_accounts, unreadable_groups

    result = _fetch(arm, tmp_path, "--backing", "--source", source)
    unknown = missing_accounts(arm.registries) | {
        rid
        for rid in arm.resources
        if "/".join(rid.split("/")[:5]) in unreadable_groups(arm.registries)
    }
    assert result.exit_code == (2 if unknown else 0), result.output
    assert "exposure findings:" in result.stdout and "Traceback" not in result.output
    backing = read_backing(tmp_path)
    assert len(backing.storage_accounts) + len(backing.container_registries) > 0
    assert set(backing.storage_accounts["source"]) == {source}


def test_fetch_backing_into_the_lake_keeps_one_snapshot(arm: ArmEmulator, tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    from mlreg_frames import lake

    result = _fetch(arm, tmp_path / "out", "--backing", "--lake", str(tmp_path / "lake"))
    assert "with the accounts behind them" in result.stdout, result.output
    backing = lake.read_backing(tmp_path / "lake")
    assert backing is not None and len(backing.container_registries) > 0
    assert len(lake.read(tmp_path / "lake").registries) == 20
