"""The explorer in a real browser: JupyterLab serves a notebook exploring the sample, chromium
drives it (``make check-explorer``; the README's "Checking the explorer in a browser").

Starts JupyterLab on 127.0.0.1 (a free port, a random token) in a temporary folder holding
the notebook, runs ``check_explorer.mjs`` (playwright-core and Debian's chromium) against it,
prints its measurements and exits with its status. Screenshots go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"

SOURCE = """\
import mlreg_frames as mf
{unguard}sample = {sample!r}
tables = mf.flatten(mf.read_pages(sample))
assets = mf.flatten_assets(sample + "/_assets.ndjson")
ex = mf.explore(tables, sample + "/costs.csv", assets=assets)
ex"""


# --unguarded: the explorer without its key guard, to see the check catch what it guards against
UNGUARD = 'import mlreg_frames.widgets.explorer as unguarded\nunguarded.KEY_GUARD = ""\n'


def _notebook(folder: Path, unguarded: bool) -> Path:
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": SOURCE.format(sample=str(SAMPLE), unguard=UNGUARD if unguarded else "")},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "probe = 1  # the check turns this cell into Markdown: shortcuts do work"},
    ]  # fmt: skip
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = folder / "explorer-check.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/explorer-check", help="folder for screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument(
        "--app",
        choices=["lab", "notebook"],
        action="append",
        help="JupyterLab and/or Notebook 7 (default: both, one after the other)",
    )
    parser.add_argument(
        "--unguarded",
        action="store_true",
        help="drop the explorer's key guard: the key checks should then FAIL",
    )
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        print("chromium not found: apt-get install chromium (or --chromium PATH)", file=sys.stderr)
        return 2
    if not (SAMPLE / "costs.csv").exists():
        print("data/sample is missing", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    for app in args.app or ["lab", "notebook"]:
        print(f"--- {'JupyterLab' if app == 'lab' else 'Notebook 7'}", flush=True)
        status = max(status, _check(app, args.chromium, out / app, args.unguarded))
    return status


def _check(app: str, chromium: str, out: Path, unguarded: bool) -> int:
    out.mkdir(parents=True, exist_ok=True)
    port, token = _free_port(), secrets.token_hex(16)
    module, page = ("jupyterlab", "lab/tree") if app == "lab" else ("notebook", "notebooks")
    with tempfile.TemporaryDirectory(prefix="explorer-check-") as tmp:
        folder = Path(tmp)
        _notebook(folder, unguarded)
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
               "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
               "JUPYTER_CONFIG_DIR": str(folder / "config")}  # fmt: skip
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", module, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class="
             "jupyterlab.NeverCheckForUpdate"] if app == "lab" else
            [sys.executable, "-m", module, "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
             "--JupyterNotebookApp.expose_app_in_browser=True"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                print((folder / "server.log").read_text(errors="replace"), file=sys.stderr)
                return 1
            driver = Path(__file__).with_name("check_explorer.mjs")
            run = subprocess.run(
                ["node", str(driver)],
                env={**env, "LAB_URL": f"{base}/{page}/explorer-check.ipynb?token={token}",
                     "SHOTS": str(out), "CHROMIUM": chromium, "APP": app,
                     "NODE_PATH": str(ROOT / "node_modules")},
                cwd=ROOT, check=False,
            )  # fmt: skip
            return run.returncode
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    sys.exit(main())
