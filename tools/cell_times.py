"""Notes above long cells: "the next cell takes about N min (fast mode: M min)", from the recorded runs.

    python tools/cell_times.py --write [NOTEBOOK ...]   stamp the notes (make refresh runs it)
    python tools/cell_times.py --check                  exit 1 if a note differs from the recorded times

``tools/run_notebooks.py`` records each code cell's minutes per mode in the notebook's metadata
(``course.cell_minutes``). Every code cell that took at least ``LONG_MINUTES`` in the committed full-mode
run gets a note at the end of the Markdown cell just above it (or in a Markdown cell of its own), between
markers, so that a learner knows before running it. The numbers are never typed: a re-run re-stamps them.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
LONG_MINUTES = 1.0
START, END = "<!-- cell-time:start -->", "<!-- cell-time:end -->"
BLOCK = re.compile(r"\n*" + re.escape(START) + r".*?" + re.escape(END), re.S)
# What utils.progress leaves in a cell's output: "label: 40/78 batches (51%) · 1.2 min elapsed ...".
PROGRESS_LINE = re.compile(r"\d+/\d+ [^()\n]+ \(\d+%\) · ")  # the unit may be several words


def _minutes(value: float) -> str:
    return "under 0.1 min" if value < 0.1 else f"about {value:.1f} min" if value < 10 else f"about {value:.0f} min"


def shows_progress(cell) -> bool:
    """Whether the cell's committed output holds a progress line of ``utils.progress``."""
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain") or ""
        if PROGRESS_LINE.search("".join(text) if isinstance(text, list) else text):
            return True
    return False


def note(full: float, fast: float | None, progress: bool = True) -> str:
    fast_text = f" (fast mode: {_minutes(fast)})" if fast is not None else ""
    progress_text = "; it shows its progress as it goes" if progress else ""
    return (f"{START}\n*The next cell takes {_minutes(full)} in full mode{fast_text}, as measured in the committed "
            f"run{progress_text}.*\n{END}")


def stamp(notebook) -> bool:
    """Put (or refresh, or remove) the notes; True when the notebook changed."""
    recorded = notebook.metadata.get("course", {}).get("cell_minutes", {})
    full, fast = recorded.get("full"), recorded.get("fast")
    code_count = sum(cell.cell_type == "code" for cell in notebook.cells)
    if full is None or len(full) != code_count:
        return False  # no full-mode run of this code recorded yet
    if fast is not None and len(fast) != code_count:
        fast = None
    before = nbformat.writes(notebook)
    cells, code_index = [], 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and START in cell.source:
            cell.source = BLOCK.sub("", cell.source).strip("\n")  # may leave a cell that only held a note: empty
        if cell.cell_type == "code":
            if full[code_index] >= LONG_MINUTES:
                text = note(full[code_index], fast[code_index] if fast else None, shows_progress(cell))
                if cells and cells[-1].cell_type == "markdown":
                    cells[-1].source = (cells[-1].source + "\n\n" + text).lstrip("\n")
                else:
                    cells.append(nbformat.v4.new_markdown_cell(text))
            code_index += 1
        cells.append(cell)
    notebook.cells = [cell for cell in cells if cell.cell_type != "markdown" or cell.source.strip()]
    return nbformat.writes(notebook) != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if stamp(notebook):
            stale.append(path.name)
            if args.write:
                nbformat.write(notebook, path)
    if args.check and stale:
        print("run-time notes differ from the recorded times (python tools/cell_times.py --write):", ", ".join(stale),
              file=sys.stderr)
        return 1
    print(("stamped: " if args.write else "current: ") + (", ".join(stale) if args.write else "all"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
