"""Build the course website from the executed notebooks: ``make site`` -> build/site/index.html.

nbconvert renders each notebook (its committed full-mode outputs, figures embedded) with
its "lab" template; this script adds what a course site needs around those pages:

* a home page with the syllabus (the same rows as the README, from tools/syllabus.py),
* previous / next / home navigation and a search box on every page,
* pages for the Markdown documents in docs/ (instructor's guide, glossary, FAQ),
* MathJax served from the site folder (from the ``jupyter-server-mathjax`` package), so the
  site works offline from ``file://``; no page loads anything from the network;
* on every notebook page, its contents (links to its sections) and a bar with the notebook to
  download (a copy in the site folder) and Open-in-Colab / Open-in-Kaggle links (tools/links.py);
* ``--student``: the same site without the exercises' solutions, for learners (``make site STUDENT=1``
  -> build/site-student); its download links give the student copy (tools/export_student.py).

The search index is a JavaScript file (not JSON) because browsers refuse ``fetch`` on
``file://`` pages but do load ``<script src>``.

Usage: python tools/build_site.py [--notebooks notebooks] [--out build/site] [--student]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
from pathlib import Path

import mistune
import nbformat
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import export_student  # noqa: E402
import links  # noqa: E402
import syllabus  # noqa: E402

SITE_TITLE = "Recurrent neural networks, hands-on"
DOCS = [("instructor_guide.md", "Instructor's guide"), ("glossary.md", "Glossary · 术语表"),
        ("faq.md", "Which sequence model, and why (FAQ)")]
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # a configuration the bundled MathJax 2.7 ships
# The bundled MathJax carries only the STIX-Web fonts: say so before it starts, or it asks for TeX fonts.
MATHJAX_FONTS = ("<script type='text/x-mathjax-config'>MathJax.Hub.Config({'HTML-CSS': {availableFonts: ['STIX-Web'],"
                 " preferredFont: 'STIX-Web', webFont: 'STIX-Web', imageFont: null}});</script>")

STYLE = """
.course-nav { font: 15px/1.4 system-ui, sans-serif; background: #f4f6f8; border-bottom: 1px solid #d0d7de;
  padding: 8px 16px; display: flex; gap: 18px; align-items: center; flex-wrap: wrap; position: relative; }
.course-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 24px; }
.course-nav a { color: #0b5cad; text-decoration: none; }
.course-nav a:hover { text-decoration: underline; }
.course-nav .spacer { flex: 1; }
.course-search input { width: 240px; padding: 4px 8px; font-size: 14px; }
.course-search-results { position: absolute; right: 16px; top: 40px; z-index: 100; background: white;
  border: 1px solid #d0d7de; max-width: 520px; max-height: 60vh; overflow-y: auto; list-style: none;
  margin: 0; padding: 0; box-shadow: 0 4px 12px rgba(0,0,0,.15); }
.course-search-results li { padding: 6px 10px; border-bottom: 1px solid #eee; }
.course-search-results li small { color: #555; display: block; }
.course-page { max-width: 980px; margin: 0 auto; padding: 8px 24px 40px; font: 16px/1.55 system-ui, sans-serif; }
.course-page table { border-collapse: collapse; margin: 12px 0; }
.course-page th, .course-page td { border: 1px solid #d0d7de; padding: 6px 9px; vertical-align: top; }
.course-page th { background: #f4f6f8; }
.course-notebook-bar { font: 14px/1.4 system-ui, sans-serif; max-width: 1200px; margin: 10px auto 0; padding: 0 16px; }
.course-notebook-bar a { color: #0b5cad; margin-right: 14px; }
.course-toc { font: 14px/1.4 system-ui, sans-serif; max-width: 1200px; margin: 8px auto; padding: 8px 16px;
  background: #fafbfc; border: 1px solid #d0d7de; border-radius: 4px; }
.course-toc ul { margin: 4px 0 0; padding-left: 20px; columns: 2; }
.course-toc li.level-3 { margin-left: 16px; font-size: 13px; }
.course-page code { background: #f4f6f8; padding: 1px 4px; border-radius: 3px; }
.course-page pre code { display: block; padding: 10px; overflow-x: auto; }
"""

SEARCH_JS = """
// Client-side search over window.COURSE_SEARCH_INDEX (search_index.js): every word must match.
(function () {
  function run(input, list) {
    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    list.innerHTML = "";
    if (!words.length) { list.hidden = true; return; }
    var hits = (window.COURSE_SEARCH_INDEX || []).filter(function (entry) {
      var haystack = (entry.title + " " + entry.heading + " " + entry.text).toLowerCase();
      return words.every(function (w) { return haystack.indexOf(w) >= 0; });
    }).slice(0, 30);
    hits.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.url;
      link.textContent = entry.heading;
      var where = document.createElement("small");
      where.textContent = entry.title;
      item.appendChild(link);
      item.appendChild(where);
      list.appendChild(item);
    });
    if (!hits.length) { var none = document.createElement("li"); none.textContent = "No match"; list.appendChild(none); }
    list.hidden = false;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".course-search").forEach(function (form) {
      var input = form.querySelector("input"), list = form.querySelector(".course-search-results");
      input.addEventListener("input", function () { run(input, list); });
      form.addEventListener("submit", function (event) { event.preventDefault(); run(input, list); });
    });
  });
})();
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _nav(pages: list[dict], index: int, where: str) -> str:
    """Home / previous / next links (and, at the top, the search box) for page ``index``."""
    parts = ["<a href='index.html' class='nav-home'>Home</a>"]
    if index > 0:
        parts.append(f"<a href='{pages[index - 1]['file']}' class='nav-prev'>← {html.escape(pages[index - 1]['title'])}</a>")
    if index < len(pages) - 1:
        parts.append(f"<a href='{pages[index + 1]['file']}' class='nav-next'>{html.escape(pages[index + 1]['title'])} →</a>")
    parts.append("<span class='spacer'></span>")
    if where == "top":
        parts.append("<form class='course-search' role='search'><input type='search' placeholder='Search the course'"
                     " aria-label='Search the course'><ul class='course-search-results' hidden></ul></form>")
    return f"<nav class='course-nav {where}'>{''.join(parts)}</nav>"


def _head_extras(depth_prefix: str = "") -> str:
    return (f"<link rel='stylesheet' href='{depth_prefix}site.css'>"
            f"<script src='{depth_prefix}search_index.js'></script><script src='{depth_prefix}search.js'></script>")


def _sections(page_html: str, url: str, title: str) -> list[dict]:
    """Search entries: one per heading with an id, holding the text up to the next heading."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    pieces = re.split(r"(<h[1-4][^>]*\bid=['\"][^'\"]+['\"][^>]*>.*?</h[1-4]>)", body, flags=re.S)
    entries = []
    for i in range(1, len(pieces), 2):
        anchor = re.search(r"\bid=['\"]([^'\"]+)['\"]", pieces[i]).group(1)
        heading = html.unescape(re.sub(r"<[^>]+>", "", pieces[i])).replace("¶", "").strip()
        text = html.unescape(re.sub(r"<[^>]+>", " ", pieces[i + 1]))
        entries.append({"url": f"{url}#{anchor}", "title": title, "heading": heading,
                        "text": re.sub(r"\s+", " ", text).strip()[:3000]})
    return entries


def contents(page_html: str) -> str:
    """"On this page": a list of the page's level-2 and level-3 headings, linked to their anchors."""
    items = []
    headings = re.findall(r"<h([23])[^>]*\bid=([\"'])(.*?)\2[^>]*>(.*?)</h\1>", page_html, flags=re.S)
    for level, _, anchor, inner in headings:
        anchor = html.unescape(anchor)
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("¶", "").strip()
        if text:
            items.append(f"<li class='level-{level}'><a href='#{html.escape(anchor, quote=True)}'>{html.escape(text)}</a></li>")
    return f"<nav class='course-toc' aria-label='On this page'><strong>On this page</strong><ul>{''.join(items)}</ul></nav>"


def notebook_bar(path: Path, student: bool) -> str:
    """Download (the copy in the site folder) and, on the full site, Open-in-Colab / Kaggle links."""
    parts = [f"<a class='download-notebook' href='{path.name}' download>Download {html.escape(path.name)}</a>"]
    if student:
        parts.append("<span>To run it in Colab: download it, then File › Upload notebook.</span>")
    else:
        for label, url in links.notebook_links(links.repo_url(), path.name).items():
            if label != "Download .ipynb":
                parts.append(f"<a class='open-{_slug(label)}' href='{html.escape(url, quote=True)}'>{html.escape(label)}</a>")
    return f"<div class='course-notebook-bar'>{''.join(parts)}</div>"


def render_notebook(path: Path, exporter: HTMLExporter, notebook: nbformat.NotebookNode | None = None,
                    student: bool = False) -> str:
    """The notebook as a self-contained page: nbconvert's lab template, no network resources."""
    page, _ = exporter.from_notebook_node(notebook if notebook is not None else nbformat.read(path, as_version=4))
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + notebook_bar(path, student) + contents(page), page, count=1)
    # require.js (interactive widgets) and the Mermaid loader (diagrams in Markdown) come from a CDN;
    # the course uses neither, and a page that works offline must not ask for them.
    page = re.sub(r"<script[^>]+require\.js[^>]*>\s*</script>", "", page)
    return re.sub(r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*?</script>", "", page, flags=re.S)


def render_markdown_page(markdown_text: str, title: str) -> str:
    """A docs/ Markdown file as a page in the site's style (headings get ids for links and search)."""
    renderer = mistune.create_markdown(plugins=["table", "strikethrough"], escape=False)
    body = renderer(markdown_text)
    used: set[str] = set()

    def add_id(match: re.Match) -> str:
        slug = _slug(html.unescape(re.sub(r"<[^>]+>", "", match.group(2)))) or "section"
        while slug in used:
            slug += "-"
        used.add(slug)
        return f"<h{match.group(1)} id='{slug}'>{match.group(2)}</h{match.group(1)}>"

    body = re.sub(r"<h([1-4])>(.*?)</h\1>", add_id, body, flags=re.S)
    # Links between docs written for GitHub (foo.md, ../notebooks/NN_x.ipynb) point at the site's pages.
    body = re.sub(r"href=\"(?:\.\./notebooks/)?([\w-]+)\.(?:md|ipynb)(#[^\"]*)?\"", r'href="\1.html\2"', body)
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)} · {SITE_TITLE}</title>{_head_extras()}</head>"
            f"<body><main class='course-page'>{body}</main></body></html>")


def render_home(notebook_paths: list[Path], doc_pages: list[dict]) -> str:
    """The home page: what the course is, the syllabus table and the documents."""
    rows = []
    for path in notebook_paths:
        info = syllabus.describe(path)
        objectives = "".join(f"<li>{html.escape(o)}</li>" for o in info["objectives"])
        rows.append(f"<tr><td><a href='{path.stem}.html'>{html.escape(info['title'])}</a></td>"
                    f"<td><ul>{objectives}</ul></td><td>{syllabus._minutes(info['reading'])}</td>"
                    f"<td>{syllabus._minutes(info['full'])}</td><td>{syllabus._minutes(info['fast'])}</td></tr>")
    docs = "".join(f"<li><a href='{d['file']}'>{html.escape(d['title'])}</a></li>" for d in doc_pages)
    readme = (REPO / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    intro = mistune.html("\n".join(line for line in readme.splitlines() if not line.startswith("# ")))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{SITE_TITLE}</title>{_head_extras()}</head><body><main class='course-page'>"
            f"<h1 id='home'>{SITE_TITLE}</h1>{intro}"
            "<h2 id='syllabus'>Syllabus</h2><p>Run times are wall-clock minutes of the recorded runs on a "
            "2-core CPU; each notebook's last cell states the machine and wall time of its committed run.</p>"
            "<table><tr><th>Notebook</th><th>You will learn to</th><th>Read (min)</th>"
            "<th>Run on CPU, full (min)</th><th>Run on CPU, fast (min)</th></tr>"
            f"{''.join(rows)}</table><h2 id='for-instructors'>For instructors and reference</h2><ul>{docs}</ul>"
            "</main></body></html>")


def _with_nav(page: str, pages: list[dict], index: int) -> str:
    """Insert the site's stylesheet, scripts and navigation bars into a rendered page."""
    page = page.replace("</head>", f"{_head_extras()}</head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(pages, index, "top"), page, count=1)
    return page.replace("</body>", _nav(pages, index, "bottom") + "</body>", 1)


def copy_mathjax(out: Path) -> None:
    """MathJax 2.7 from the jupyter-server-mathjax package, so formulas render without a network."""
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, out / "mathjax", dirs_exist_ok=True)


def build(notebook_dir: Path, out: Path, docs_dir: Path = REPO / "docs", student: bool = False) -> list[dict]:
    """Write the site under ``out``; return its pages (home first, then notebooks, then docs) in order.

    With ``student``, every notebook loses its solutions (page and download), and the instructor's guide,
    which discusses them, is left out.
    """
    notebook_paths = sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    if not notebook_paths:
        raise FileNotFoundError(f"no NN_*.ipynb notebooks in {notebook_dir}")
    out.mkdir(parents=True, exist_ok=True)
    doc_pages = [{"file": f"{Path(name).stem}.html", "title": title, "source": docs_dir / name}
                 for name, title in DOCS if (docs_dir / name).exists()
                 and not (student and name == "instructor_guide.md")]
    pages = ([{"file": "index.html", "title": "Home"}]
             + [{"file": f"{p.stem}.html", "title": syllabus.describe(p)["title"], "source": p} for p in notebook_paths]
             + doc_pages)

    exporter = HTMLExporter(template_name="lab", mathjax_url=f"mathjax/MathJax.js?config={MATHJAX_CONFIG}")
    search_entries: list[dict] = []
    for index, page_info in enumerate(pages):
        if index == 0:
            page = render_home(notebook_paths, doc_pages)
        elif page_info["source"].suffix == ".ipynb":
            notebook = nbformat.read(page_info["source"], as_version=4)
            if student:
                export_student.strip_solutions(notebook)
                for cell in notebook.cells:  # Colab and Kaggle would open the full notebook, solutions included
                    if cell.cell_type == "markdown" and links.LINKS_START in cell.source:
                        cell.source = re.sub(re.escape(links.LINKS_START) + ".*?" + re.escape(links.LINKS_END) + "\n?",
                                             "", cell.source, flags=re.S)
            page = render_notebook(page_info["source"], exporter, notebook, student)
            download = notebook
            if student:  # the student copy to download: no solutions and no outputs, as `make student` writes it
                download = nbformat.read(export_student.export(page_info["source"], out / "_student"), as_version=4)
            nbformat.write(download, out / page_info["source"].name)
        else:
            page = render_markdown_page(page_info["source"].read_text(encoding="utf-8"), page_info["title"])
            page = page.replace("</head>", f'<script src="mathjax/MathJax.js?config={MATHJAX_CONFIG}"></script></head>', 1)
        page = _with_nav(page, pages, index).replace("<script src=\"mathjax/", MATHJAX_FONTS + "<script src=\"mathjax/", 1)
        (out / page_info["file"]).write_text(page, encoding="utf-8")
        search_entries += _sections(page, page_info["file"], page_info["title"])

    (out / "site.css").write_text(STYLE, encoding="utf-8")
    (out / "search.js").write_text(SEARCH_JS, encoding="utf-8")
    (out / "search_index.js").write_text(
        "window.COURSE_SEARCH_INDEX = " + json.dumps(search_entries, ensure_ascii=False) + ";\n", encoding="utf-8")
    shutil.rmtree(out / "_student", ignore_errors=True)
    copy_mathjax(out)
    return [{"file": p["file"], "title": p["title"]} for p in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks",
                        help="folder of executed notebooks (default: the committed full-mode runs)")
    parser.add_argument("--out", type=Path, default=None, help="default: build/site (build/site-student)")
    parser.add_argument("--student", action="store_true", help="leave out the exercises' solutions")
    args = parser.parse_args(argv)
    out = args.out or REPO / "build" / ("site-student" if args.student else "site")
    pages = build(args.notebooks, out, student=args.student)
    for page in pages:
        print(f"  {page['file']:<45} {page['title']}")
    print(f"wrote {len(pages)} pages; open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
