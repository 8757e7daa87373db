"""Static checks of the committed notebooks and of the README's generated syllabus."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(REPO / "tools"))

import results  # noqa: E402
import showcase  # noqa: E402
import syllabus  # noqa: E402


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS, "notebooks/ holds no NN_snake_case.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_file_name_is_numbered_snake_case(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_house_structure(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert len(re.findall(r"^# ", markdown, re.M)) == 1, "exactly one H1 title"
    for heading in ("Learning objectives", "## Setup", "## Summary", "## Exercises", "### Solutions"):
        assert heading in markdown, f"missing {heading!r}"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if notebook.metadata.get("course", {}).get("code_digests") is not None:  # re-run since the set-up cell exists
        assert code[0].source.startswith("# Course set-up:"), "the first code cell is the course set-up (make refresh)"
        code = code[1:]
    assert "check_versions()" in code[0].source and "set_seed(" in code[0].source, "then comes the Setup cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_name_the_course_kernel(path):
    """The kernel `make lab` registers for the course's environment, not a global Jupyter's bare python3."""
    kernel = re.search(r"(?m)^KERNEL\s*:=\s*(\S+)", (REPO / "Makefile").read_text(encoding="utf-8")).group(1)
    assert nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] == kernel


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_a_clean_full_run(path):
    assert path.stat().st_size < 1.5e6, "notebooks must stay under 1.5 MB"
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run top to bottom in one fresh kernel"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], "a stored output is an error"
    text = json.dumps(outputs)
    assert not re.search(r"loss[^\"]{0,20}\b(nan|inf)\b", text), "a stored loss is nan/inf"
    assert not re.search(r"(/root/|/home/|/Users/|/tmp/|/work/)", text), "a stored output shows a machine path"
    assert "Traceback (most recent call last)" not in text
    stderr = [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert len(stderr) <= 2, f"{len(stderr)} stderr outputs: warning spam"
    assert "ran in full mode" in text, "the last cell states the full-mode wall time and machine"


def test_readme_showcase_is_notebook_02s_committed_run():
    """The README's sample and figure are copied from the notebook by tools/showcase.py, never typed."""
    notebook = nbformat.read(showcase.NOTEBOOK, as_version=4)
    assert showcase.readme_block() == showcase.block(notebook), "run `python tools/showcase.py --write`"
    assert showcase.FIGURE.read_bytes() == showcase.figure_png(notebook), "run `python tools/showcase.py --write`"


def test_results_page_sections_are_the_notebooks_claims():
    """docs/results.md's generated sections say what the committed runs' claims said (tools/results.py)."""
    on_page = results.blocks_in(results.RESULTS.read_text(encoding="utf-8"))
    assert on_page, "docs/results.md has no generated section"
    assert on_page == results.generated(), "run `python tools/results.py --write`"
    for number in on_page:
        notebook = nbformat.read(next((REPO / "notebooks").glob(f"{number}_*.ipynb")), as_version=4)
        if notebook.metadata.get("course", {}).get("code_digests") is not None:  # re-run with claims
            assert results.claims_of(notebook), f"notebook {number} states no keyed claim"


def test_readme_syllabus_matches_the_notebooks():
    assert syllabus.readme_table() == syllabus.table(), "run `python tools/syllabus.py --write`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_displayed_source_matches_the_code(path):
    """A notebook that shows a utils function must show the code that is in utils now."""
    import inspect

    from utils.display import resolve

    notebook = nbformat.read(path, as_version=4)
    shown = 0
    for cell in notebook.cells:
        match = re.search(r"show_source\(([\w.]+)\)", cell.source) if cell.cell_type == "code" else None
        if not match:
            continue
        obj = resolve(match.group(1))
        displayed = "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)
        assert inspect.getsource(obj).rstrip() in displayed, f"{match.group(1)}: re-run the notebook (make refresh)"
        shown += 1
    assert shown or "show_source" not in "".join(c.source for c in notebook.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_has_no_control_characters(path):
    """A backslash eaten by a Python string ("\\approx" written as "\approx") leaves BEL and friends in the maths."""
    notebook = nbformat.read(path, as_version=4)
    found = [(i, repr(m.group(0))) for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
             for m in re.finditer(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", cell.source)]
    assert not found, f"control characters in markdown (cell, char): {found}"
