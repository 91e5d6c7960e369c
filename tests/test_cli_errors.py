"""No invocation of ``mlreg-frames`` ends in a traceback: every error is one line on stderr.

A table of bad invocations (out-of-range options, broken inputs, unwritable outputs, corrupt
tables and lakes, unreachable endpoints) runs through click's CliRunner, and a few through a
real ``mlreg-frames`` process; each must exit non-zero with exactly one line on stderr and no
traceback. ``--debug`` (or ``MLREG_FRAMES_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

import mlreg_frames as mf
from mlreg_frames.cli import main
from mlreg_frames.cli._base import describe_os_error

from .helpers import SAMPLE

REGISTRY = (
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/registries/r"
)
ENV = {"T": "token", "EMPTY": ""}
NOWHERE = "http://127.0.0.1:1"  # loopback, nothing listens: a case that got this far fails here


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the broken inputs the cases refer to, by relative path."""
    root = tmp_path_factory.mktemp("bad")
    (root / "file").write_text("a regular file, not a folder")
    nested = '{"a": ' * 3000 + "1" + "}" * 3000
    deep = '{"value": [{"id": "' + REGISTRY + '", "tags": ' + nested + "}]}"
    (root / "too-deep.json").write_text(deep)
    (root / "responses-null.json").write_text('{"responses": null}')
    (root / "not-json.json").write_text("{not json")
    tables = mf.flatten(mf.read_pages(SAMPLE))
    tables.to_parquet(root / "tables")
    shutil.copytree(root / "tables", root / "truncated")
    data = (root / "tables" / "registries.parquet").read_bytes()
    (root / "truncated" / "registries.parquet").write_bytes(data[: len(data) // 2])
    shutil.copytree(root / "tables", root / "copied")
    shutil.copy(root / "tables" / "acr.parquet", root / "copied" / "storage.parquet")
    (root / "lake").mkdir()
    (root / "lake" / "_snapshots").write_text("garbage")
    (root / "both").mkdir()
    shutil.copy(SAMPLE / "costs.csv", root / "both" / "costs.csv")
    shutil.copy(SAMPLE / "costs-focus.csv", root / "both" / "costs-focus.csv")
    shifted = (SAMPLE / "costs.csv").read_text(encoding="utf-8").splitlines()
    shifted[3] = shifted[3].replace(",USD,", ",USD,1,", 1)
    (root / "shifted.csv").write_text("\n".join(shifted) + "\n", encoding="utf-8")
    return root


BAD: list[tuple[str, list[str]]] = [
    # option ranges
    ("port too high", ["emulator", "--port", "99999"]),
    ("negative port", ["emulator", "--port", "-1"]),
    ("page size 0", ["emulator", "--page-size", "0"]),
    ("pages per scope 0", ["emulator", "--pages-per-scope", "0"]),
    ("fleet 0", ["emulator", "--fleet", "0"]),
    ("subscriptions 0", ["emulator", "--fleet", "5", "--subscriptions", "0"]),
    ("latency nan", ["emulator", "--latency-ms", "nan"]),
    ("latency inf", ["emulator", "--latency-ms", "inf"]),
    ("latency negative", ["emulator", "--latency-ms", "-5"]),
    ("fleet and pages", ["emulator", "--fleet", "3", "--pages", "file"]),
    ("endpoint port not a number", ["fetch", "--out", "o", "--endpoint", "http://127.0.0.1:abc"]),
    ("endpoint port out of range", ["fetch", "--out", "o", "--endpoint", "http://127.0.0.1:99999"]),
    ("endpoint bracket", ["fetch", "--out", "o", "--endpoint", "http://[x/"]),
    ("endpoint scheme", ["fetch", "--out", "o", "--endpoint", "ftp://127.0.0.1/"]),
    ("endpoint backslash", ["fetch", "--out", "o", "--endpoint", "http://127.0.0.2:1\\@127.0.0.1"]),
    ("max attempts 0", ["fetch", "--out", "o", "--max-attempts", "0"]),
    ("workers 0", ["fetch", "--out", "o", "--workers", "0"]),
    ("retry-after nan", ["fetch", "--out", "o", "--max-retry-after", "nan"]),
    ("retry-after negative", ["fetch", "--out", "o", "--max-retry-after", "-1"]),
    ("request timeout 0", ["fetch", "--out", "o", "--request-timeout", "0"]),
    ("request timeout nan", ["fetch", "--out", "o", "--request-timeout", "nan"]),
    ("max pages 0", ["fetch", "--out", "o", "--max-pages", "0"]),
    ("max page bytes 0", ["fetch", "--out", "o", "--max-page-bytes", "0"]),
    ("empty subscription", ["fetch", "--out", "o", "-s", " "]),
    ("unknown cloud", ["fetch", "--out", "o", "--cloud", "mars"]),
    ("endpoint and cloud", ["fetch", "--out", "o", "--endpoint", "https://x", "--cloud", "china"]),
    ("empty token variable", ["fetch", "--out", "o", "--token-env", "EMPTY"]),
    ("no --out", ["fetch"]),
    ("dpi 0", ["report", "--from", "tables", "--out", "r.png", "--dpi", "0"]),
    # runtime failures
    ("plain http", ["fetch", "--out", "o", "--token-env", "T", "--endpoint", "http://example.com"]),
    ("out under a file", ["fetch", "--out", "file/o", "--token-env", "T", "--endpoint", NOWHERE]),
    ("flatten empty path", ["flatten", "", "--out", "o"]),
    ("flatten missing file", ["flatten", "missing.json", "--out", "o"]),
    ("flatten nesting too deep", ["flatten", "too-deep.json", "--out", "o"]),
    ("flatten null responses", ["flatten", "responses-null.json", "--out", "o"]),
    ("flatten not json", ["flatten", "not-json.json", "--out", "o"]),
    ("flatten out under a file", ["flatten", str(SAMPLE), "--out", "file/o"]),
    ("report truncated", ["report", "--from", "truncated", "--out", "r.png"]),
    ("report copied table", ["report", "--from", "copied", "--out", "r.png"]),
    ("report missing folder", ["report", "--from", "nosuch", "--out", "r.png"]),
    (
        "report costs of two formats",
        ["report", "--from", "tables", "--out", "r.png", "--costs", "both"],
    ),
    (
        "report shifted cost row",
        ["report", "--from", "tables", "--out", "r.png", "--costs", "shifted.csv"],
    ),
    (
        "report unknown cost column",
        [
            "report",
            "--from",
            "tables",
            "--out",
            "r.png",
            "--costs",
            "shifted.csv",
            "--cost-column",
            "Nope",
        ],
    ),
    (
        "report cost format",
        ["report", "--from", "tables", "--out", "r.png", "--costs", "both", "--cost-format", "xml"],
    ),
    ("dictionary out under a file", ["dictionary", "--out", "file/d.md"]),
    ("diff corrupt lake", ["diff", "lake"]),
    ("diff bad out suffix", ["diff", "lake", "--out", "x.txt"]),
    ("vacuum nan", ["vacuum", "lake", "--older-than", "nan"]),
    ("changes days negative", ["changes", "--days", "-1"]),
    ("changes days inf", ["changes", "--days", "inf"]),
    ("changes days 1e999", ["changes", "--days", "1e999"]),
    ("changes days text", ["changes", "--days", "abc"]),
    ("changes no graph, no lake", ["changes", "--no-graph"]),
    ("changes missing lake", ["changes", "--no-graph", "--lake", "no-such-lake"]),
    ("changes corrupt lake", ["changes", "--no-graph", "--lake", "lake"]),
    ("changes empty registry", ["changes", "--no-graph", "--lake", "lake", "--registry", ""]),
    ("changes missing from", ["changes", "--from", "no-such-folder"]),
    ("changes endpoint scheme", ["changes", "--endpoint", "ftp://127.0.0.1/"]),
    ("changes endpoint userinfo", ["changes", "--endpoint", "https://u:p@h.example"]),
    ("changes endpoint backslash", ["changes", "--endpoint", "http://127.0.0.2:1\\@127.0.0.1"]),
    ("changes token env unset", ["changes", "--token-env", "MLREG_NO_SUCH_VAR"]),
    ("changes unknown cloud", ["changes", "--cloud", "mars"]),
    ("unknown command", ["nosuch"]),
    ("unknown option", ["flatten", "--bogus"]),
]


def _invoke(work: Path, args: list[str], **env: str) -> Result:
    old = Path.cwd()
    os.chdir(work)  # the cases use paths relative to the work folder
    try:
        return CliRunner().invoke(main, args, env={**ENV, **env})
    finally:
        os.chdir(old)


def _one_line_error(code: int, stderr: str, stdout: str = "") -> None:
    assert code != 0
    assert len(stderr.splitlines()) == 1, stderr
    assert "Traceback" not in stderr + stdout
    assert stderr.startswith(("Error: ", "internal error: ")), stderr


@pytest.mark.parametrize(("case", "args"), BAD, ids=[case for case, _ in BAD])
def test_bad_invocation_is_one_line(work: Path, case: str, args: list[str]) -> None:
    result = _invoke(work, args)
    _one_line_error(result.exit_code, result.stderr, result.stdout)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception


def test_usage_errors_point_at_help(work: Path) -> None:
    result = _invoke(work, ["emulator", "--port", "99999"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535. "
        "(see 'main emulator --help')\n"
    )


def test_an_unreachable_endpoint_says_what_failed(work: Path) -> None:
    args = ["fetch", "--out", "o", "--token-env", "T", "--no-progress", "--max-attempts", "1"]
    result = _invoke(work, [*args, "--endpoint", "http://127.0.0.1:1"])
    _one_line_error(result.exit_code, result.stderr)
    assert "127.0.0.1" in result.stderr and "check the path" not in result.stderr


def test_an_unexpected_exception_is_an_internal_error(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreg_frames.cli import flatten_cmd

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(flatten_cmd, "read_pages", boom)
    result = _invoke(work, ["flatten", str(SAMPLE), "--out", "o"])
    assert result.exit_code == 1
    assert result.stderr == (
        "internal error: RuntimeError: boom | second line (rerun with --debug and report it)\n"
    )
    for debug in (["--debug", "flatten"], ["flatten", "--debug"]):
        args = [*debug, str(SAMPLE), "--out", "o"]
        shown = _invoke(work, args)
        assert shown.exit_code == 1
        assert "Traceback (most recent call last)" in shown.stderr
        assert "RuntimeError: boom" in shown.stderr
        assert shown.stderr.endswith("(report it with the traceback above)\n")
    by_env = _invoke(work, ["flatten", str(SAMPLE), "--out", "o"], MLREG_FRAMES_DEBUG="1")
    assert "Traceback (most recent call last)" in by_env.stderr


def test_sign_in_failure_is_one_line_with_what_to_do(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure-identity's real credential classes (environment only: no network, no account)."""
    identity = pytest.importorskip("azure.identity")
    from mlreg_frames.cli import fetch_cmd

    for name in [n for n in os.environ if n.startswith(("AZURE_", "IDENTITY_", "MSI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(
        fetch_cmd,
        "default_credential",
        lambda endpoint: identity.ChainedTokenCredential(identity.EnvironmentCredential()),
    )
    result = _invoke(work, ["fetch", "--out", "o", "--endpoint", NOWHERE])
    _one_line_error(result.exit_code, result.stderr)
    assert "could not sign in to Azure" in result.stderr
    for hint in ("az login", "managed identity", "AZURE_CLIENT_ID", "--token-env"):
        assert hint in result.stderr
    assert "credential=" not in result.stderr  # the Python API's hint, not the CLI's
    assert "scope" not in result.stderr  # no progress bar before the sign-in
    debug = _invoke(work, ["fetch", "--out", "o", "--endpoint", NOWHERE, "--debug"])
    assert "EnvironmentCredential" in debug.stderr  # the full chain, with --debug


def test_emulator_on_all_interfaces_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreg_frames.cli import emulator_cmd

    class Emulator:  # stands in for the server: a test must not listen beyond loopback
        endpoint, registries, subscriptions = "http://0.0.0.0:1", [], []

        def __init__(self, **options: object) -> None:
            pass

        def serve_forever(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(emulator_cmd, "ArmEmulator", Emulator)
    result = CliRunner().invoke(main, ["emulator", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: listening on 0.0.0.0 exposes the emulator")
    quiet = CliRunner().invoke(main, ["emulator", "--host", "127.0.0.1", "--port", "0"])
    assert quiet.stderr == ""


REAL = [
    ["emulator", "--port", "99999"],
    ["fetch", "--out", "o", "--max-attempts", "0"],
    ["report", "--from", "truncated", "--out", "r.png"],
    ["vacuum", "lake", "--older-than", "nan"],
    ["flatten", "too-deep.json", "--out", "o"],
]


@pytest.mark.parametrize("args", REAL, ids=[" ".join(a[:2]) for a in REAL])
def test_a_real_process_prints_one_line(work: Path, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLREG_FRAMES_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "mlreg_frames", *args],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    _one_line_error(done.returncode, done.stderr, done.stdout)
    assert "mlreg-frames" in done.stderr or "Error: " in done.stderr


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "network error: Connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "network error: Name or service"),
        (TimeoutError("timed out"), "network error: timed out"),
        (requests.ConnectionError("HTTPSConnectionPool: Max retries exceeded"), "network error"),
        (OSError(113, "No route to host"), "network error: No route to host"),
        (PermissionError(13, "Permission denied", "out/x"), "out/x: Permission denied; check"),
    ],
)
def test_os_errors_say_what_failed(error: OSError, said: str) -> None:
    text = describe_os_error(error)
    assert text.startswith(said), text
    assert ("check the path" in text) == isinstance(error, PermissionError)


def test_a_bare_command_shows_the_help() -> None:
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 2
    assert "Commands:" in result.output and "Traceback" not in result.output


def test_an_address_that_cannot_be_used_is_only_an_error() -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: binding fails at once, no traffic
    result = CliRunner().invoke(main, ["emulator", "--host", "192.0.2.1", "--port", "0"])
    _one_line_error(result.exit_code, result.stderr)
    assert "cannot listen on 192.0.2.1" in result.stderr


def test_debug_logging_is_undone_after_the_run(work: Path) -> None:
    import logging

    before = {n: logging.getLogger(n).level for n in ("mlreg_frames", "azure.identity")}
    handlers = len(logging.getLogger("mlreg_frames").handlers)
    result = _invoke(work, ["--debug", "flatten", "missing.json", "--out", "o"])
    assert result.exit_code == 1 and "Traceback" in result.stderr
    assert {n: logging.getLogger(n).level for n in before} == before
    assert len(logging.getLogger("mlreg_frames").handlers) == handlers


def test_an_error_line_never_shows_a_bearer_token(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreg_frames.cli import flatten_cmd

    def leak(*args: object, **kwargs: object) -> None:
        raise ValueError("Invalid header value b'Bearer s3cr3t.t0ken\\r\\nX: y'")

    monkeypatch.setattr(flatten_cmd, "read_pages", leak)
    result = _invoke(work, ["flatten", str(SAMPLE), "--out", "o"])
    _one_line_error(result.exit_code, result.stderr)
    assert "s3cr3t" not in result.stderr and "Bearer ***" in result.stderr
