"""Every notebook runs top to bottom on the bundled sample, and ships with clean outputs."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from .helpers import ROOT, SAMPLE

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# absolute machine paths (this checkout, the temp dir, a home folder) must never land in outputs
_MACHINE = (ROOT, Path(tempfile.gettempdir()), Path.home())
ABSOLUTE = re.compile(
    "|".join(re.escape(str(p)) for p in _MACHINE if len(str(p)) > 1)
    + r"|/home/\w|/Users/\w|[A-Za-z]:\\\\Users"
)


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01-inventory.ipynb",
        "02-cost-and-regions.ipynb",
        "03-exposure-audit.ipynb",
        "04-registry-contents.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_outputs_and_no_machine_paths(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any("LIVE = False" in c.source for c in code), "the live switch cell is missing"
    assert all(c.execution_count is not None for c in code), "re-run the notebook before committing"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), (
        "no plot in the committed outputs"
    )
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert not ABSOLUTE.search(json.dumps([c.outputs for c in code]))
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path):
    if not (SAMPLE / "costs.csv").exists():
        pytest.skip("data/sample not generated")
    nb = nbformat.read(path, as_version=4)  # executed in memory: the file stays as committed
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=240,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    streams = [
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
        if o.output_type == "stream" and o.get("name") == "stderr"
    ]  # fmt: skip
    assert not [s for s in streams if "Warning" in s], streams


def test_cost_notebook_explores_the_costs_and_draws_no_slide_sized_figure():
    """Notebook 02 hands its joined costs to the explorer (cost column, costs tab) and leaves the
    16:9 overview, whose text is too small in a notebook cell, to files and slides."""
    nb = nbformat.read(ROOT / "notebooks" / "02-cost-and-regions.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "mf.explore(tables, joined)" in code
    assert "plots.overview(" not in code
    assert "plots.cost_by_registry(" in code and "plots.cost_by_region(" in code
