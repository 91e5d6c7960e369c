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
    assert "Registries per region and subscription:" in text
    assert "public network access enabled:" in text
    assert "private endpoint connections by state:" in text
    assert "skipped /subscriptions/" in text  # the sample's Disabled subscription
    tables = mf.read_parquet(out)
    assert len(tables.registries) >= 30
    # the bundled cost export is joined in: totals add up to the export's
    costs = mf.read_cost_export(ROOT / "data" / "sample" / "costs.csv")
    assert "Cost (data/sample/costs.csv, " in text
    assert f"total {costs['cost'].sum():,.0f};" in text
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
        "Cost (x.csv, 2026-01 to 2026-02), EUR:",
        "  total 2; 0 matched no registry",
        "  attributed to 1 registries: 2 (home regions 2, replica regions 0)",
        "  most expensive registries: c 2",
        "Cost (x.csv, 2026-01 to 2026-02), USD:",
        "  total 52; 7 matched no registry",
        "  attributed to 2 registries: 45 (home regions 15, replica regions 30)",
        "  most expensive registries: a 40, b 5",
    ]


def test_every_command_has_help_and_is_documented() -> None:
    docs = "\n".join(
        path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    )
    for name, command in sorted(main.commands.items()):
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
