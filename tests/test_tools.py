"""tools/refresh_sources.py rewrites only the show_source outputs, and only when they are stale."""

import copy as copying
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "03_vanishing_exploding_gradients.ipynb"


def _shown_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and c.source.strip().startswith("show_source(")]


def test_refresh_sources_rewrites_a_stale_display_and_nothing_else(tmp_path):
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    notebook = nbformat.read(copy, as_version=4)
    stale = _shown_cells(notebook)[0]
    original = copying.deepcopy([dict(o) for o in stale.outputs])
    stale.outputs[0]["data"]["text/markdown"] = "```python\ndef old_version(): ...\n```"
    nbformat.write(notebook, copy)

    run = lambda: subprocess.run([sys.executable, str(REPO / "tools" / "refresh_sources.py"), str(copy)],  # noqa: E731
                                 capture_output=True, text=True, check=True).stdout
    assert "1 show_source output(s) refreshed" in run()
    refreshed = nbformat.read(copy, as_version=4)
    assert [dict(o) for o in _shown_cells(refreshed)[0].outputs] == original
    assert refreshed.cells == nbformat.read(NOTEBOOK, as_version=4).cells  # every other cell untouched
    assert "0 show_source output(s) refreshed" in run()


def test_run_notebooks_reads_the_mode_through_utils_config(tmp_path, monkeypatch):
    """RNN_FAST=yes is fast mode everywhere: the runner's index and recorded times say "fast", not "full"."""
    sys.path.insert(0, str(REPO / "tools"))
    import run_notebooks

    monkeypatch.setenv("RNN_FAST", "yes")
    run_notebooks.write_index(tmp_path, [])
    assert "Mode: fast" in (tmp_path / "index.html").read_text(encoding="utf-8")
    monkeypatch.setenv("RNN_FAST", "maybe")
    try:
        run_notebooks.main(["--out", str(tmp_path), str(tmp_path / "none.ipynb")])
    except ValueError as err:
        assert "RNN_FAST='maybe' is not understood" in str(err)
    else:
        raise AssertionError("a bad RNN_FAST value must stop the runner before it executes anything")


def test_only_utils_config_reads_the_mode_switch():
    """One parser for RNN_FAST: no other code reads the variable itself."""
    import re

    readers = [str(p.relative_to(REPO)) for folder in ("utils", "tools", "benchmarks") for p in (REPO / folder).rglob("*.py")
               if p.name != "config.py" and re.search(r"environ(\.get)?[\[(]\s*[\"']RNN_FAST", p.read_text(encoding="utf-8"))]
    assert not readers, f"read the mode through utils.config (is_fast_mode, mode_name): {readers}"
