"""The site builder and the student export, without a browser (tests/site/ has the browser test)."""

import html
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(REPO / "tools"))

import build_site  # noqa: E402
import export_student  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    return out, build_site.build(REPO / "notebooks", out)


def test_site_has_a_page_per_notebook_and_document_in_order(site):
    out, pages = site
    files = [p["file"] for p in pages]
    assert files[0] == "index.html"
    assert files[1:1 + len(NOTEBOOKS)] == [p.with_suffix(".html").name for p in NOTEBOOKS]
    assert {"instructor_guide.html", "glossary.html"} <= set(files)
    assert all((out / f).is_file() for f in files)


@pytest.fixture(scope="module")
def student_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-site")
    return out, build_site.build(REPO / "notebooks", out, student=True)


def test_every_notebook_page_has_contents_a_download_and_colab_links(site):
    out, _ = site
    for path in NOTEBOOKS:
        page = (out / path.with_suffix(".html").name).read_text(encoding="utf-8")
        toc = re.search(r"<nav class='course-toc'.*?</nav>", page, re.S).group(0)
        anchors = [html.unescape(a) for a in re.findall(r"href='#([^']+)'", toc)]
        assert len(anchors) >= 5 and "Summary" in toc and "Exercises" in toc
        ids = {html.unescape(m[1]) for m in re.findall(r"\bid=([\"'])(.*?)\1", page)}
        for anchor in anchors:
            assert anchor in ids, f"{path.name}: contents link #{anchor} has no target"
        assert f"href='{path.name}' download" in page
        assert nbformat.read(out / path.name, as_version=4).cells == nbformat.read(path, as_version=4).cells
        assert "colab.research.google.com/github/" in page and "kaggle.com/kernels/welcome" in page


def test_the_student_site_has_no_solutions(site, student_site):
    out, pages = student_site
    files = [p["file"] for p in pages]
    assert "instructor_guide.html" not in files and "glossary.html" in files
    for path in NOTEBOOKS:
        full = nbformat.read(path, as_version=4)
        solutions = [c for c in full.cells if c.cell_type == "code" and c.source.strip()]
        page = (out / path.with_suffix(".html").name).read_text(encoding="utf-8")
        assert "Not included in the student copy" in page
        full_page = (site[0] / path.with_suffix(".html").name).read_text(encoding="utf-8")
        assert "Not included in the student copy" not in full_page
        download = nbformat.read(out / path.name, as_version=4)
        assert export_student.SOLUTIONS_HEADING in "".join(c.source for c in download.cells)
        assert not any(c.outputs for c in download.cells if c.cell_type == "code"), "the student copy runs itself"
        assert len(download.cells) < len(full.cells) and solutions
        assert "colab.research.google.com" not in page  # Colab would open the full notebook, solutions included


def test_pages_load_nothing_from_the_network(site):
    out, pages = site
    for page in pages:
        text = (out / page["file"]).read_text(encoding="utf-8")
        remote = re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=[\"']https?://[^\"']+", text)
        remote += re.findall(r"import\(\s*[\"']https?://[^\"']+", text)
        assert not remote, f"{page['file']} loads {remote}"
        if page["file"] != "index.html":
            assert "mathjax/MathJax.js" in text
    assert (out / "mathjax" / "MathJax.js").is_file()


def test_home_page_lists_every_notebook_with_its_objectives(site):
    out, _ = site
    home = (out / "index.html").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"href='{path.stem}.html'" in home
        objectives = build_site.syllabus.describe(path)["objectives"]
        assert objectives and all(build_site.html.escape(o) in home for o in objectives)


def test_every_page_has_navigation_and_the_search_index_covers_every_page(site):
    out, pages = site
    index_js = (out / "search_index.js").read_text(encoding="utf-8")
    for i, page in enumerate(pages):
        text = (out / page["file"]).read_text(encoding="utf-8")
        assert "class='course-nav top'" in text and "class='course-nav bottom'" in text
        assert ("nav-prev" in text) == (i > 0) and ("nav-next" in text) == (i < len(pages) - 1)
        assert f'"url": "{page["file"]}#' in index_js


def test_no_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no NN_"):
        build_site.build(tmp_path, tmp_path / "site")


def _toy_notebook():
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# T"), new_code_cell("x = 1"),
                new_markdown_cell("## Exercises\n\n1. Do it.\n\n### Solutions\n\n**1.** Like this:"),
                new_code_cell("answer = 42"), new_markdown_cell("**2.** More"), new_code_cell("answer2 = 43"),
                new_markdown_cell("## Run time"), new_code_cell("print('t')")]
    return nb


def test_strip_solutions_keeps_exercises_and_later_sections():
    nb = _toy_notebook()
    assert export_student.strip_solutions(nb) == 4
    sources = [c.source for c in nb.cells]
    assert sources[2] == "## Exercises\n\n1. Do it." and "Not included" in sources[3]
    assert "answer = 42" not in "".join(sources) and "More" not in "".join(sources)
    assert sources[-2:] == ["## Run time", "print('t')"]


def test_strip_solutions_without_a_solutions_heading_is_an_error():
    nb = new_notebook(cells=[new_markdown_cell("# T")])
    with pytest.raises(ValueError, match="no '### Solutions' heading"):
        export_student.strip_solutions(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_copy_of_each_notebook_has_exercises_but_no_solutions(path, tmp_path):
    original = nbformat.read(path, as_version=4)
    copy = nbformat.read(export_student.export(path, tmp_path), as_version=4)
    markdown = "\n".join(c.source for c in copy.cells if c.cell_type == "markdown")
    assert "## Exercises" in markdown and "Not included in the student copy" in markdown
    assert "**1.**" not in markdown  # the worked solutions are numbered **1.**, **2.**, ...
    assert len(copy.cells) < len(original.cells)
    assert all(not c.outputs for c in copy.cells if c.cell_type == "code")
    assert copy.cells[-1].source == original.cells[-1].source  # the run-time cell stays
