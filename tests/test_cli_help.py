"""The top-level ``--help`` and ``--version``: quick (no pandas, pyarrow or numpy imported),
every command listed with its whole line, and ``--debug`` after any (sub)command."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from click.testing import CliRunner

from mlreg_frames import __version__
from mlreg_frames.cli import COMMANDS, main

HEAVY = ("pandas", "pyarrow", "numpy", "deltalake", "matplotlib", "requests", "azure")

# Runs the CLI the way the console script does, then lists the heavy packages it imported.
PROBE = """
import sys
from mlreg_frames.cli import main
try:
    main([{arg!r}], prog_name="mlreg-frames")
except SystemExit:
    pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print("HEAVY:", ",".join(heavy))
"""


@pytest.mark.parametrize("arg", ["--help", "--version"])
def test_help_and_version_import_no_heavy_package(arg: str) -> None:
    probe = PROBE.format(arg=arg, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:", done.stdout


def test_help_lists_every_command_with_its_whole_line() -> None:
    shown = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    for name, (_, line) in COMMANDS.items():
        assert any(row.split()[:1] == [name] and row.rstrip().endswith(line) for row in lines), name
    commands = shown.output.split("Commands:", 1)[1]
    assert "..." not in commands
    assert max(len(row) for row in lines) <= 80


def test_lake_help_lists_its_commands_whole() -> None:
    shown = CliRunner().invoke(main, ["lake", "--help"], terminal_width=80)
    commands = shown.output.split("Commands:", 1)[1].strip().splitlines()
    assert [line.split()[0] for line in commands] == ["migrate", "optimize", "repair"]
    assert "..." not in shown.output.split("Commands:", 1)[1]


def test_every_lazy_command_loads_and_is_listed() -> None:
    assert list(COMMANDS) == sorted(COMMANDS)
    for name, (module, line) in COMMANDS.items():
        command = main.get_command(None, name)
        assert command is not None, name
        assert command.get_short_help_str(80) == line, name
        assert len(line) <= 62 and line.endswith("."), name  # 80 columns, never cut
        assert f"mlreg_frames.cli.{module}" in sys.modules
    assert sorted(main.commands) == sorted(COMMANDS)


def test_version_is_the_installed_one() -> None:
    shown = CliRunner().invoke(main, ["--version"])
    assert shown.output.strip() == f"mlreg-frames, version {__version__}"
    assert version("mlreg-frames") == __version__


@pytest.mark.parametrize(
    "args",
    [
        ["lake", "repair", "{root}", "--debug", "--dry-run"],
        ["lake", "optimize", "{root}", "--debug"],
        ["lake", "migrate", "{root}", "{root}/new", "--debug"],
        ["lake", "--debug", "repair", "{root}"],
        ["snapshots", "{root}", "--debug"],
        ["--debug", "snapshots", "{root}"],
    ],
)
def test_debug_is_taken_after_every_command(tmp_path, args: list[str]) -> None:
    """The README promises `CMD ... --debug`: never "no such option", also for `lake CMD`."""
    shown = CliRunner().invoke(main, [a.format(root=tmp_path / "none") for a in args])
    assert "No such option" not in shown.output
    assert shown.exit_code == 1  # the lake does not exist: a clean error, with a traceback
    assert "does not exist" in shown.output or "not a lake" in shown.output


def test_the_package_exports_lazily_and_flatten_stays_the_function() -> None:
    probe = (
        "import sys, mlreg_frames as mf\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'pyarrow', 'numpy'}))\n"
        "import mlreg_frames.flatten.engine\n"
        "print(callable(mf.flatten), mf.flatten.__module__, mf.lake.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.splitlines() == [
        "[]",
        "True mlreg_frames.flatten.engine mlreg_frames.lake",
    ], done.stdout
