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


# utils/config.py is the parser; tools/links.py holds the text of the notebooks' set-up cell, which sets and
# reports the switch before the course is importable (it may import nothing of the course).
ALLOWED_MODE_READERS = {"config.py", "links.py"}


def test_only_utils_config_reads_the_mode_switch():
    """One parser for RNN_FAST: no other code reads the variable itself."""
    import re

    readers = [str(p.relative_to(REPO)) for folder in ("utils", "tools", "benchmarks") for p in (REPO / folder).rglob("*.py")
               if p.name not in ALLOWED_MODE_READERS and re.search(r"environ(\.get)?[\[(]\s*[\"']RNN_FAST", p.read_text(encoding="utf-8"))]
    assert not readers, f"read the mode through utils.config (is_fast_mode, mode_name): {readers}"


def test_new_notebook_passes_the_course_checks_as_created(tmp_path):
    """make new-notebook: the notebook it writes has the house shape, a clean full-mode run, deterministic
    checked cells, a syllabus row, no lint or hygiene finding, and passes nbval in fast mode."""
    import os

    import test_code_digests
    import test_determinism_security
    import test_links
    import test_markdown_claims
    import test_notebooks

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    env = {k: v for k, v in os.environ.items() if k != "RNN_FAST"}
    subprocess.run([sys.executable, str(REPO / "tools" / "new_notebook.py"), "08_my_topic", "--notebooks", str(notebooks),
                    "--readme", str(readme)], check=True, capture_output=True, text=True, env=env, timeout=600)
    path = notebooks / "08_my_topic.ipynb"
    test_notebooks.test_file_name_is_numbered_snake_case(path)
    test_notebooks.test_house_structure(path)
    test_notebooks.test_committed_outputs_are_a_clean_full_run(path)
    test_determinism_security.test_checked_cells_print_deterministic_facts(path)
    test_code_digests.test_committed_outputs_come_from_the_committed_code(path)
    test_links.test_the_first_code_cell_is_the_set_up_cell(path)
    test_markdown_claims.test_no_run_result_is_typed_into_markdown(path)
    run_minutes = nbformat.read(path, as_version=4).metadata["course"]["run_minutes"]
    assert set(run_minutes) == {"full", "fast"}
    assert "| [08 · My topic](notebooks/08_my_topic.ipynb) | count the parameters" in readme.read_text(encoding="utf-8")
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--stdin-filename", f"notebooks/{path.name}"],
                          input=path.read_text(encoding="utf-8"), capture_output=True, text=True, cwd=REPO, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr  # as `make lint` sees it once it is in notebooks/
    hygiene = subprocess.run([sys.executable, str(REPO / "tools" / "clean_notebooks.py"), "--check", str(path)],
                             capture_output=True, text=True, timeout=120)
    assert hygiene.returncode == 0, hygiene.stderr
    nbval = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                            "--nbval-kernel-name", "python3", str(path)],
                           capture_output=True, text=True, cwd=tmp_path, env={**env, "RNN_FAST": "1"}, timeout=600)
    assert nbval.returncode == 0 and " passed" in nbval.stdout, nbval.stdout[-2000:]


def test_new_notebook_refuses_a_bad_or_taken_name(tmp_path):
    (tmp_path / "03_taken.ipynb").write_text("{}", encoding="utf-8")
    for name, message in (("8_topic", "must be NN_snake_case"), ("08_My_Topic", "must be NN_snake_case"),
                          ("03_other", "number 03 is taken by 03_taken.ipynb")):
        result = subprocess.run([sys.executable, str(REPO / "tools" / "new_notebook.py"), name, "--notebooks", str(tmp_path)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["03_taken.ipynb"]
