"""The course's address, written once and stamped everywhere it is used.

    make links                                     (re-stamp from pyproject.toml)
    make links REPO=https://github.com/ORG/NAME    (change the address, then re-stamp)

The address lives in ``pyproject.toml`` (``[project.urls] Repository``). This tool writes it into

- every notebook's first code cell, the **course set-up cell**: it imports nothing of the course and,
  when the course's helpers cannot be imported (Colab, Kaggle, a notebook downloaded on its own),
  clones the course from that address and installs it; it also holds the visible fast-mode switch.
  ``make refresh`` inserts it into a notebook that lacks it, just before running it (a new code cell
  comes with its outputs); ``make links`` only rewrites the address in the cells that exist;
- every notebook's title cell: Open-in-Colab, Open-in-Kaggle and download links;
- the README's block of the same links (and, when the address changes, its clone command and citation).

The site builder reads the address from here too. Stamping is idempotent: running it twice changes
nothing, and ``tests/test_links.py`` fails when a notebook's set-up cell or links are not the
current stamp.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
README = REPO / "README.md"
SETUP_MARKER = "# Course set-up:"
LINKS_START, LINKS_END = "<!-- links:start -->", "<!-- links:end -->"
GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)/?$")

SETUP_CELL = '''# Course set-up: run this cell first. It imports nothing of the course, so it works anywhere: in the
# course's own environment it does nothing; in Colab, Kaggle or a Jupyter that lacks the course's helpers
# (the `utils` package) it clones the course from COURSE_REPO and installs it (a few minutes, once).
FAST_MODE = None  # None: follow the RNN_FAST variable (unset = full mode); True: fast mode (minutes, smaller runs)
COURSE_REPO = "{repo}"  # written by `make links`

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

if FAST_MODE is not None:
    os.environ["RNN_FAST"] = "1" if FAST_MODE else "0"


def course_helpers_folder():
    """The folder of the `utils` package Python would import, if it is the course's (it ships the corpus)."""
    spec = importlib.util.find_spec("utils")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    return folder if folder and (folder / "corpora" / "tinyshakespeare.txt").is_file() else None


def installed_versions(names):
    versions = {{}}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


if course_helpers_folder() is not None:
    print("The course's helpers are installed: nothing to set up.")
else:
    home = Path(os.environ.get("RNN_COURSE_HOME", Path.home() / "rnn-course"))
    if not (home / "utils" / "corpora" / "tinyshakespeare.txt").is_file():
        print(f"Cloning the course from {{COURSE_REPO}} into {{home}} ...")
        cloned = subprocess.run(["git", "clone", "--quiet", "--depth", "1", COURSE_REPO, str(home)])
        if cloned.returncode != 0:
            raise SystemExit(f"Could not clone {{COURSE_REPO}}: this cell needs internet access (on Kaggle: "
                             "Settings, Internet on) or set RNN_COURSE_HOME to a copy of the course.")
    loaded_before = {{name for name in ("tensorflow", "keras", "numpy", "pandas", "matplotlib") if name in sys.modules}}
    before = installed_versions(loaded_before)
    print("Installing the course's helpers and their requirements (pip install -e); the first time takes minutes ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", str(home)], check=True)
    sys.path.insert(0, str(home))  # the course's `utils` comes first, before any other package of that name
    importlib.invalidate_caches()
    replaced = sorted(name for name, version in installed_versions(loaded_before).items() if version != before[name])
    if replaced:
        raise SystemExit(f"Installed; these packages were replaced after Python had loaded them: {{', '.join(replaced)}}. "
                         "Restart the runtime (Colab: Runtime > Restart session), then run the notebook from the top.")
    print(f"Installed the course's helpers from {{home}}.")
print("Mode:", "fast" if os.environ.get("RNN_FAST", "").strip().lower() in {{"1", "true", "yes", "on"}} else "full")'''


def repo_url(pyproject: Path = PYPROJECT) -> str:
    """The course's repository address from pyproject.toml (read without tomllib, which Python 3.10 lacks)."""
    found = re.findall(r'(?m)^Repository = "(.*)"$', pyproject.read_text(encoding="utf-8"))
    if len(found) != 1:
        raise ValueError(f"{pyproject} must hold exactly one `Repository = \"...\"` line under [project.urls]")
    return found[0]


def check_repo_url(url: str) -> str:
    """A GitHub repository address, ``https://github.com/OWNER/NAME`` (Colab and Kaggle open notebooks from GitHub).

    Raises:
        ValueError: the address has another shape.
    """
    if not GITHUB.match(url):
        raise ValueError(f"REPO must look like https://github.com/OWNER/NAME (Colab and Kaggle open notebooks "
                         f"from GitHub), got {url!r}")
    return url.rstrip("/")


def setup_cell(repo: str) -> str:
    """The first code cell of every notebook, for the course at ``repo`` (any git address, file:// included)."""
    return SETUP_CELL.format(repo=repo)


def notebook_links(repo: str, notebook_name: str, branch: str = "main") -> dict[str, str]:
    """Colab, Kaggle and raw-download addresses of one notebook of the course at ``repo``."""
    owner, name = GITHUB.match(check_repo_url(repo)).group("owner", "name")
    path = f"{owner}/{name}/blob/{branch}/notebooks/{notebook_name}"
    return {
        "Open in Colab": f"https://colab.research.google.com/github/{path}",
        "Open in Kaggle": f"https://kaggle.com/kernels/welcome?src=https://github.com/{path}",
        "Download .ipynb": f"https://raw.githubusercontent.com/{owner}/{name}/{branch}/notebooks/{notebook_name}",
    }


def links_markdown(repo: str, notebook_name: str) -> str:
    """One line of plain links (no badge images: the site works offline)."""
    links = notebook_links(repo, notebook_name)
    return f"{LINKS_START}\n" + " · ".join(f"[{label}]({url})" for label, url in links.items()) + f"\n{LINKS_END}"


def has_setup_cell(notebook) -> bool:
    """Whether the notebook's first code cell is the course set-up cell (of any address)."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return bool(code_cells) and code_cells[0].source.startswith(SETUP_MARKER)


def stamp_notebook(notebook, notebook_name: str, repo: str, *, insert_setup: bool = True) -> bool:
    """Put the current set-up cell first among the code cells and the links under the title; True if changed.

    With ``insert_setup=False`` a notebook without a set-up cell gets none (only its links): a new code cell
    needs a run to go with it, so ``make refresh`` inserts it (tools/run_notebooks.py), ``make links`` does not.
    """
    changed = False
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    wanted = setup_cell(repo)
    if has_setup_cell(notebook):
        if code_cells[0].source != wanted:
            code_cells[0].source = wanted  # only the address line differs: tools/code_digest.py ignores it
            changed = True
    elif insert_setup:
        # Under the "## Setup" heading, just before the Setup cell (after the title when there is no code yet).
        title_index = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown")
        position = next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"), title_index + 1)
        notebook.cells.insert(position, nbformat.v4.new_code_cell(wanted))
        changed = True
    title = notebook.cells[next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown")]
    block = links_markdown(repo, notebook_name)
    if LINKS_START in title.source:
        new = re.sub(re.escape(LINKS_START) + ".*?" + re.escape(LINKS_END), lambda _: block, title.source, flags=re.S)
    else:
        lines = title.source.split("\n", 1)
        new = lines[0] + "\n\n" + block + ("\n" + lines[1] if len(lines) > 1 else "")
    if new != title.source:
        title.source = new
        changed = True
    return changed


def readme_links(repo: str, notebook_names: list[str]) -> str:
    """The README's block: each notebook with its Colab and download links."""
    rows = [f"{LINKS_START}", "| Notebook | Colab | Kaggle | Download |", "|---|---|---|---|"]
    for name in notebook_names:
        links = notebook_links(repo, name)
        rows.append(f"| {name[:2]} | [Open in Colab]({links['Open in Colab']}) | [Open in Kaggle]({links['Open in Kaggle']})"
                    f" | [{name}]({links['Download .ipynb']}) |")
    rows.append(LINKS_END)
    return "\n".join(rows)


def set_repo_url(url: str, pyproject: Path = PYPROJECT) -> None:
    """Write a new address into pyproject.toml (the one place it is kept)."""
    text = pyproject.read_text(encoding="utf-8")
    new, count = re.subn(r'(?m)^Repository = ".*"$', f'Repository = "{check_repo_url(url)}"', text)
    if count != 1:
        raise ValueError(f"{pyproject} must hold exactly one `Repository = \"...\"` line under [project.urls]")
    pyproject.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="a new address, https://github.com/OWNER/NAME (default: keep pyproject.toml's)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is not stamped")
    args = parser.parse_args(argv)
    try:
        if args.repo:
            if args.check:
                parser.error("--check compares with pyproject.toml's address; do not pass --repo with it")
            old = repo_url()
            set_repo_url(args.repo)
            for document in (README, REPO / "LICENSE-CONTENT.md", REPO / "docs" / "maintainers.md"):
                text = document.read_text(encoding="utf-8")  # the clone command and the citation
                document.write_text(text.replace(old, check_repo_url(args.repo)), encoding="utf-8")
        repo = check_repo_url(repo_url())
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    paths = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    stale = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        if stamp_notebook(notebook, path.name, repo, insert_setup=False):
            stale.append(path.name)
            if not args.check:
                nbformat.write(notebook, path)
    readme = README.read_text(encoding="utf-8")
    block = readme_links(repo, [p.name for p in paths])
    if LINKS_START in readme:
        new_readme = re.sub(re.escape(LINKS_START) + ".*?" + re.escape(LINKS_END), lambda _: block, readme, flags=re.S)
        if new_readme != readme:
            stale.append("README.md")
            if not args.check:
                README.write_text(new_readme, encoding="utf-8")
    else:
        stale.append("README.md (no links block: add the two markers)")
    if args.check:
        if stale:
            print("not stamped with", repo, "(run `make links`):", ", ".join(stale), file=sys.stderr)
            return 1
        print("every notebook and the README carry", repo)
        return 0
    print(f"stamped {repo} into: {', '.join(stale) if stale else 'nothing (already current)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
