"""``mlreg-frames assets`` and ``fetch --assets`` against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mlreg_frames as mf
from mlreg_frames.cli import main
from mlreg_frames.emulator import ArmEmulator

ENV = {"MLREG_TEST_TOKEN": "cli-token"}


@pytest.fixture
def arm() -> Iterator[ArmEmulator]:
    assets = {"containers": 3, "seed": 2}
    with ArmEmulator.from_fleet(4, 2, seed=5, token="cli-token", assets=assets) as emulator:
        yield emulator


def _run(arm: ArmEmulator, *args: str) -> Result:
    common = ["--endpoint", arm.endpoint, "--token-env", "MLREG_TEST_TOKEN", "--no-progress"]
    return CliRunner().invoke(main, [*args, *common], env=ENV)


def test_fetch_with_assets_writes_both_sets_and_a_summary(arm: ArmEmulator, tmp_path: Path) -> None:
    out, raw = tmp_path / "out", tmp_path / "raw"
    result = _run(arm, "fetch", "--assets", "--out", str(out), "--raw", str(raw))
    assert result.exit_code == 0, result.output
    assets = mf.read_assets(out)
    assert len(mf.read_parquet(out).registries) == 4 and len(assets.assets) == 12
    assert "12 containers and" in result.stdout and "in 4 registries" in result.stdout
    run = next(raw.iterdir())
    assert mf.flatten_assets(run / "_assets") == mf.flatten_assets(mf.read_pages(run / "_assets"))
    assert mf.flatten_assets(run / "_assets").assets.equals(assets.assets)
    assert len(mf.flatten(mf.read_pages(run)).registries) == 4  # asset pages stay apart
    assert result.stderr == ""


def test_assets_from_an_earlier_fetch_and_a_failure_exit_2(
    arm: ArmEmulator, tmp_path: Path
) -> None:
    assert _run(arm, "fetch", "--out", str(tmp_path)).exit_code == 0
    victim = arm.registries[0]["id"]
    arm.assets.forbidden = {victim.lower()}
    result = _run(arm, "assets", "--from", str(tmp_path), "--out", str(tmp_path / "a"),
                  "--type", "models", "--no-versions")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "failed 403 UnAuthorizedRegistryAccess" in result.stderr
    assert "Traceback" not in result.output
    assets = mf.read_assets(tmp_path / "a")
    assert set(assets.assets["asset_type"]) <= {"models"} and assets.asset_versions.empty


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["assets", "--from", "nowhere", "--out", "o"], "is not a folder of Parquet tables"),
        (["assets", "--from", ".", "-s", "x", "--out", "o"], "not both"),
        (["assets", "--out", "o", "--type", "notebooks"], "Invalid value for '--type'"),
    ],
)
def test_assets_errors_are_one_clean_line(
    arm: ArmEmulator, args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run(arm, *args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_fetch_assets_into_the_lake_keeps_one_snapshot(arm: ArmEmulator, tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    root = tmp_path / "lake"
    result = _run(arm, "fetch", "--assets", "--out", str(tmp_path / "out"), "--lake", str(root))
    assert result.exit_code == 0, result.output
    assert "with their assets" in result.stdout
    (sid,) = mf.lake.snapshots(root)["snapshot"]
    assert mf.lake.read_assets(root, sid) == mf.read_assets(tmp_path / "out")
    assert mf.lake.read(root, sid) == mf.read_parquet(tmp_path / "out")
    # `assets` fetching the registries itself appends both as the next snapshot
    result = _run(arm, "assets", "--out", str(tmp_path / "again"), "--lake", str(root))
    assert result.exit_code == 0, result.output
    assert "with the registries and their assets" in result.stdout
    assert len(mf.lake.snapshots(root)) == 2
    assert mf.lake.diff_snapshots(root).attrs["assets"] == "compared"


def test_assets_from_a_folder_refuses_the_lake(arm: ArmEmulator, tmp_path: Path) -> None:
    result = _run(arm, "assets", "--from", str(tmp_path), "--out", str(tmp_path / "a"),
                  "--lake", str(tmp_path / "lake"))  # fmt: skip
    assert result.exit_code == 2 and "--lake needs the registries fetched in this run" in (
        result.output
    )
    assert "Traceback" not in result.output and not (tmp_path / "lake").exists()
