"""Determinism of the checked notebook outputs, and the security rules of the code base."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def checked_outputs(notebook) -> list[str]:
    """The printed text of a notebook's NBVAL_CHECK_OUTPUT cells."""
    return ["".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            for cell in notebook.cells if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_outputs_of_a_fast_run_equal_the_committed_full_run(path, tmp_path, monkeypatch):
    """Checked cells print facts that hold in both modes and every run: a fresh fast-mode run must print
    exactly what the committed full-mode run printed. (nbval's run in `make test` is a second fast run
    held to the same outputs, so two fast runs also agree with each other.)"""
    monkeypatch.setenv("RNN_FAST", "1")
    monkeypatch.setenv("RNN_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    committed = nbformat.read(path, as_version=4)
    expected = checked_outputs(committed)
    assert expected and all(expected), "every checked cell prints something"
    fresh = nbformat.read(path, as_version=4)
    NotebookClient(fresh, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert checked_outputs(fresh) == expected


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
    loads = [str(p.relative_to(REPO)) for p in SOURCES
             if "load_model(" in p.read_text(encoding="utf-8") and p.name != "models.py"]
    assert not loads, f"load models with utils.models.load_char_model (safe_mode=True): {loads}"
    assert "safe_mode=True" in (REPO / "utils" / "models.py").read_text(encoding="utf-8")
