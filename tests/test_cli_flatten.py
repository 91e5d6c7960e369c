"""``mlreg-frames flatten`` and ``dictionary``: exact output, exit codes, clean errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import mlreg_frames as mf
from mlreg_frames import schema
from mlreg_frames.cli import main

from .helpers import DATA


def test_flatten_writes_tables_and_prints_counts(tmp_path: Path) -> None:
    src = DATA / "quirks" / "user_created.json"
    result = CliRunner().invoke(main, ["flatten", str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["registries", "1"]
    assert lines[2].split() == ["storage", "2"]
    # the list names every file written, fetch_errors too, and the count agrees with it
    assert [line.split()[0] for line in lines[:-1]] == list(schema.ALL_TABLES)
    assert lines[-3].split() == ["fetch_errors", "0"]
    assert lines[-2].split() == ["subscriptions", "0"]
    assert lines[-1] == f"wrote {len(lines) - 1} tables to {tmp_path / 'o'}"
    assert mf.read_parquet(tmp_path / "o") == mf.flatten(mf.read_pages(src))


def test_flatten_broken_input_is_a_clean_error(tmp_path: Path) -> None:
    src = DATA / "broken" / "registry_without_id.json"
    result = CliRunner().invoke(main, ["flatten", str(src), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: page registry_without_id.json")
    assert "Traceback" not in result.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name in main.list_commands(None):
        command = main.get_command(None, name)
        assert command is not None, name
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert (command.help or "").strip(), f"{name} has no help text"


def test_dictionary_prints_every_table() -> None:
    result = CliRunner().invoke(main, ["dictionary"])
    assert result.exit_code == 0
    for name in ("registries", "regions", "storage", "acr", "identities", "pe_connections", "tags"):
        assert f"## `{name}`" in result.output


def test_unwritable_out_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    src = DATA / "quirks" / "user_created.json"
    result = CliRunner().invoke(main, ["flatten", str(src), "--out", str(blocker / "out")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "check the path" in result.stderr
    assert "Traceback" not in result.output


def test_input_that_is_not_registries_is_one_warning_line(tmp_path: Path) -> None:
    import json

    sub = "00000000-0000-0000-0000-000000000001"
    page = {
        "value": [
            {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "displayName": "a"},
            {
                "id": f"/subscriptions/{sub}/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
                "name": "w",
            },
        ]
    }
    source = tmp_path / "subscriptions.json"
    source.write_text(json.dumps(page), encoding="utf-8")
    result = CliRunner().invoke(main, ["flatten", str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: skipped 2 input item(s)"), lines
    assert (
        "Traceback" not in result.output and len(mf.read_parquet(tmp_path / "out").registries) == 0
    )
