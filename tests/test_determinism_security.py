"""Checked notebook outputs are deterministic facts, and the code base follows the security rules.

Each notebook runs once in `make test`: nbval executes it in fast mode and compares every
`# NBVAL_CHECK_OUTPUT` cell with the committed full-mode output, which is the determinism check
(one fast run against the full run). A second execution here would double CI's time for nothing.
"""

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# Printed values that differ between fast and full mode or between runs, and so may not be checked.
VOLATILE = re.compile(r"\d+\.\d+ ?(s|ms|min|seconds|minutes)\b|characters/s|nats/char after|\d\.\d{4,}")
# Checked lines that match VOLATILE but are exact constants, with the reason (none today: print such a constant
# as a fraction, as notebook 05 prints its chance rates).
EXACT_CONSTANTS: dict[tuple[str, str], str] = {}


def checked_outputs(notebook) -> list[str]:
    """The printed text of a notebook's NBVAL_CHECK_OUTPUT cells."""
    return ["".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            for cell in notebook.cells if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_print_deterministic_facts(path):
    """Every checked cell prints something nbval can compare, and nothing that varies run to run
    (timings, long raw floats): nbval's fast run must reproduce the committed full run exactly."""
    expected = checked_outputs(nbformat.read(path, as_version=4))
    assert expected and all(expected), "every notebook has checked cells, and each prints something"
    volatile = [line for text in expected for line in text.splitlines()
                if VOLATILE.search(line) and (path.name, line) not in EXACT_CONSTANTS]
    assert not volatile, f"checked cells print run-dependent values: {volatile[:3]}"


def test_make_test_runs_each_notebook_once():
    """nbval is the only notebook execution in `make test`: no unit test starts a kernel."""
    # Kernels on small synthetic notebooks, never a course notebook:
    synthetic = {"test_progress.py": "two cells: the oneDNN notice filter in a real kernel",
                 "test_links.py": "the set-up cell and one import, in a bare virtualenv's kernel"}
    starters = [f.name for f in (REPO / "tests").glob("test_*.py")
                if f.name != Path(__file__).name and f.name not in synthetic
                and "NotebookClient(" in f.read_text(encoding="utf-8")]
    assert not starters, f"these tests execute notebooks a second time: {starters}"


SOURCES = [p for folder in ("utils", "tools", "benchmarks") for p in (REPO / folder).rglob("*.py")]


@pytest.mark.parametrize("pattern, why", [
    (r"\bimport pickle\b|\bpickle\.load|\bjoblib\.load", "no pickle loading"),
    (r"safe_mode\s*=\s*False", "models load with safe_mode=True only"),
    (r"allow_pickle\s*=\s*True", "NumPy files load without pickles"),
    (r"\beval\(|\bexec\(", "nothing executes code from data"),
    (r"keras\.layers\.Lambda", "no Lambda layers: they cannot be loaded safely"),
])
def test_code_base_follows_the_security_rules(pattern, why):
    offenders = [str(p.relative_to(REPO)) for p in SOURCES if re.search(pattern, p.read_text(encoding="utf-8"))]
    assert not offenders, f"{why}: {offenders}"


def test_models_are_loaded_only_through_the_safe_loader():
    loads = [str(p.relative_to(REPO)) for p in SOURCES  # keras.saving.load_model / keras.models.load_model calls
             if re.search(r"(?<!\w)load_model\(", p.read_text(encoding="utf-8")) and p.name != "models.py"]
    assert not loads, f"load models with utils.models.load_char_model (safe_mode=True): {loads}"
    assert "safe_mode=True" in (REPO / "utils" / "models.py").read_text(encoding="utf-8")
