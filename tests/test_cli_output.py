"""What the commands print tells the truth at a glance: names as ARM spells them, precise titles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mlreg_frames as mf
from mlreg_frames.cli import main
from mlreg_frames.cli.fetch_cmd import summary

from .helpers import ROOT, SAMPLE


@pytest.fixture(scope="module")
def sample() -> mf.RegistryTables:
    return mf.flatten(mf.read_pages(SAMPLE))


def test_diff_names_registries_as_arm_returned_them(
    sample: mf.RegistryTables, tmp_path: Path
) -> None:
    from mlreg_frames import lake

    changed = mf.RegistryTables(**dict(sample.items(include_errors=True)))
    changed.registries = sample.registries.copy()
    row = changed.registries.index[changed.registries["name"] == "OcrAssets002"][0]
    old = changed.registries.at[row, "public_network_access"]
    changed.registries.at[row, "public_network_access"] = (
        "Disabled" if old == "Enabled" else "Enabled"
    )
    root = tmp_path / "lake"
    lake.append(sample, root)
    lake.append(changed, root)

    frame = lake.diff_snapshots(root)
    assert frame["name"].tolist() == ["OcrAssets002"]
    assert frame["registry_id"].str.endswith("/ocrassets002").all()

    shown = CliRunner().invoke(main, ["diff", str(root)])
    assert shown.exit_code == 0, shown.output
    table = shown.stdout.splitlines()[1:]
    assert table[0].split()[0] == "registry"
    assert table[1].split()[0] == "OcrAssets002"


def test_diff_name_falls_back_to_the_arm_id() -> None:
    from mlreg_frames.lake import diff

    rid = "/subscriptions/s/resourceGroups/g/providers/P/registries/CamelCase"
    old = mf.flatten([{"id": rid, "properties": {"publicNetworkAccess": "Enabled"}}])
    new = mf.flatten([{"id": rid, "properties": {"publicNetworkAccess": "Disabled"}}])
    assert diff(old, new)["name"].tolist() == ["CamelCase"]


def test_region_table_says_it_counts_home_regions(sample: mf.RegistryTables) -> None:
    text = summary(sample)
    assert "Registries per home region and subscription" in text
    assert "replicas not counted" in text
    lines = text.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("home region")))
    total = next(line for line in lines[header:] if line.startswith("total"))
    # the table counts each registry once: its total is the number of registries
    assert int(total.split()[-1]) == len(sample.registries)
    homes = sample.registries["location"].value_counts()
    northeurope = next(line for line in lines[header:] if line.startswith("northeurope"))
    assert int(northeurope.split()[-1]) == homes["northeurope"]
    replicas = sample.regions.groupby("location")["registry_id"].nunique()
    assert replicas["northeurope"] > homes["northeurope"]  # why the title must say "home"


def test_flatten_lists_every_table_it_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["flatten", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    *rows, last = result.stdout.splitlines()
    written = sorted(p.stem for p in tmp_path.glob("*.parquet"))
    assert sorted(row.split()[0] for row in rows) == written
    assert last == f"wrote {len(written)} tables to {tmp_path}"
    assert pd.Series([int(row.split()[1]) for row in rows]).ge(0).all()


def test_the_readme_report_command_runs_as_written(tmp_path: Path) -> None:
    """The README's ``report ... --costs data/sample/costs.csv`` names a file that exists."""
    pytest.importorskip("matplotlib")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if "mlreg-frames report --from out/" in x)
    command = line.split("`mlreg-frames ", 1)[1].split("`", 1)[0].split()
    assert command[-2:] == ["--costs", "data/sample/costs.csv"]
    assert (ROOT / command[-1]).is_file()
    out = tmp_path / "out"
    mf.flatten(mf.read_pages(SAMPLE)).to_parquet(out)
    args = ["report", "--from", str(out), "--out", str(tmp_path / "o.png")]
    result = CliRunner().invoke(main, [*args, "--costs", str(ROOT / command[-1]), "--dpi", "20"])
    assert result.exit_code == 0, result.output


def test_report_reads_one_format_of_a_folder_holding_both(tmp_path: Path) -> None:
    """``report --costs DIR --cost-format focus --cost-column EffectiveCost`` joins that one."""
    out = tmp_path / "tables"
    mf.flatten(mf.read_pages(SAMPLE)).to_parquet(out)
    both = tmp_path / "both"
    both.mkdir()
    for name in ("costs.csv", "costs-focus.csv"):
        shutil.copy(SAMPLE / name, both / name)
    args = ["report", "--from", str(out), "--out", str(tmp_path / "o.png"), "--costs", str(both)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "count them twice" in refused.output
    chosen = [*args, "--cost-format", "focus", "--cost-column", "EffectiveCost"]
    result = CliRunner().invoke(main, chosen)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").stat().st_size > 10_000
