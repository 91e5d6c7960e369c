"""What ``fetch``, ``emulator`` and ``report`` print keeps to 100 columns, counts in words that
agree with the number, names subscriptions, and says what to do next."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlreg_frames.cli import main
from mlreg_frames.cli._text import plural, wrap
from mlreg_frames.emulator import ArmEmulator

from .helpers import ROOT


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


@pytest.fixture(scope="module")
def sample_fetch(tmp_path_factory: pytest.TempPathFactory):
    """``fetch --progress`` of the bundled sample (one subscription Disabled) into ``out/``."""
    work = tmp_path_factory.mktemp("fetch")
    with ArmEmulator(token="t") as arm, pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        args = ["fetch", "--endpoint", arm.endpoint, "--token-env", "TOKEN", "--out", "out"]
        return CliRunner().invoke(main, [*args, "--progress"], env={"TOKEN": "t"})


def test_fetch_lines_fit_100_columns_and_name_subscriptions(sample_fetch) -> None:
    assert sample_fetch.exit_code == 0, sample_fetch.output
    assert widest(sample_fetch.stdout) <= 100, sample_fetch.stdout
    said = " ".join(sample_fetch.stdout.split())
    assert "fetched 40 registries from 3 of 3 scopes (subscriptions: Contoso" in said
    assert "skipped: Contoso Legacy (disabled))" in said
    assert "wrote 9 tables to out (7 + fetch_errors with 1 row + subscriptions with 4 rows)" in said


def test_the_disabled_subscription_line_fits_and_says_what_to_do(sample_fetch) -> None:
    skipped = sample_fetch.stderr.split("skipped /subscriptions/", 1)[1]
    entry = skipped.split("\n  ")[0:2]  # the entry and its wrapped continuation
    assert all(len(line) <= 100 for line in entry), entry
    text = " ".join(" ".join(entry).split())
    assert "Contoso Legacy (disabled) is Disabled" in text and "re-enable it" in text
    assert "row" not in text  # fetch_errors rows are not what the user sees here


def test_the_progress_bar_knows_its_total_from_the_start(sample_fetch) -> None:
    counts = re.findall(r"\b(\d+)/(\d+) \[", sample_fetch.stderr)
    assert counts, sample_fetch.stderr
    assert {total for _, total in counts} == {"3"}, counts


def test_the_emulator_says_how_to_fetch_from_it_without_sign_in(monkeypatch) -> None:
    from mlreg_frames.cli import emulator_cmd

    class Emulator:  # stands in for the server: the test needs its start-up lines only
        endpoint, registries, subscriptions = "http://127.0.0.1:8080", [1, 2], [1]

        def __init__(self, **options: object) -> None:
            pass

        def serve_forever(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(emulator_cmd, "ArmEmulator", Emulator)
    shown = CliRunner().invoke(main, ["emulator", "--port", "0"])
    assert shown.exit_code == 0
    assert widest(shown.stdout) <= 100, shown.stdout
    assert "without Azure sign-in" in shown.stdout
    assert (
        "TOKEN=x mlreg-frames fetch --endpoint http://127.0.0.1:8080 --token-env TOKEN"
        in shown.stdout
    )
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "emulator without Azure sign-in" in readme  # where a user reads about the emulator
    assert "mlreg-frames fetch --endpoint http://127.0.0.1:8080 --token-env TOKEN" in readme


def test_report_from_a_folder_of_pages_suggests_flatten(tmp_path: Path) -> None:
    shown = CliRunner().invoke(
        main, ["report", "--from", str(ROOT / "data" / "sample"), "--out", str(tmp_path / "r.png")]
    )
    assert shown.exit_code == 1
    assert "holds saved ARM pages, not tables" in shown.output
    assert "mlreg-frames flatten" in shown.output and len(shown.output.splitlines()) == 1


def test_plural_and_wrap() -> None:
    assert [plural(n, "snapshot") for n in (0, 1, 2)] == [
        "0 snapshots",
        "1 snapshot",
        "2 snapshots",
    ]
    long = "skipped /subscriptions/" + "a" * 36 + ": " + "word " * 40
    lines = wrap(long).splitlines()
    assert max(len(line) for line in lines) <= 100
    assert all(line.startswith("  ") for line in lines[1:])
    assert wrap("short") == "short"


def test_a_failed_subscription_is_named(tmp_path: Path) -> None:
    from mlreg_frames.emulator import Fault

    dev = "e5121482-3929-4d22-a255-accb1a466884"  # "Contoso ML Development" in the sample
    with ArmEmulator(token="t") as arm:
        arm.add_fault(Fault("forbidden", match=f"/subscriptions/{dev}/"))
        args = ["fetch", "--endpoint", arm.endpoint, "--token-env", "TOKEN", "--no-progress"]
        shown = CliRunner().invoke(
            main, [*args, "--out", str(tmp_path), "--max-attempts", "1"], env={"TOKEN": "t"}
        )
    assert shown.exit_code == 2, shown.output
    said = " ".join(shown.stderr.split())
    assert f"failed 403 AuthorizationFailed /subscriptions/{dev} (Contoso ML Development):" in said
    # within 100 columns, but an id or URL longer than a line is never split
    assert all(len(line) <= 100 or " " not in line.strip() for line in shown.stderr.splitlines())
    assert widest(shown.stdout) <= 100
    assert "failed: Contoso ML Development" in " ".join(shown.stdout.split())
