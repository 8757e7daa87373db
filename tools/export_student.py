"""Export the notebooks for students: the exercises stay, their solutions are taken out.

In every notebook the solutions start at the "### Solutions" heading (inside the Exercises
section) and run to the next "## " section (the run-time cell). This script keeps the
exercise statements, replaces the solutions with a one-line note, and by default clears
all outputs so students run the notebook themselves (``--keep-outputs`` keeps them).

Usage: python tools/export_student.py [--out build/student] [--keep-outputs] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS_HEADING = "### Solutions"
WITHHELD_NOTE = f"{SOLUTIONS_HEADING}\n\n*Not included in the student copy: try the exercises, then ask your instructor.*"


def strip_solutions(notebook: nbformat.NotebookNode) -> int:
    """Remove the solutions from ``notebook`` in place; return how many cells were removed or cut.

    Raises:
        ValueError: the notebook has no "### Solutions" heading.
    """
    start = next((i for i, cell in enumerate(notebook.cells)
                  if cell.cell_type == "markdown" and SOLUTIONS_HEADING in cell.source), None)
    if start is None:
        raise ValueError(f"no {SOLUTIONS_HEADING!r} heading: nothing marks where the solutions start")
    end = next((i for i in range(start + 1, len(notebook.cells))
                if notebook.cells[i].cell_type == "markdown" and notebook.cells[i].source.startswith("## ")),
               len(notebook.cells))
    before = notebook.cells[start].source.split(SOLUTIONS_HEADING, 1)[0].rstrip()
    kept = [new_markdown_cell(before)] if before else []
    notebook.cells[start:end] = kept + [new_markdown_cell(WITHHELD_NOTE)]
    return end - start


def export(path: Path, out: Path, keep_outputs: bool = False) -> Path:
    """Write the student copy of one notebook into ``out``; return its path."""
    notebook = nbformat.read(path, as_version=4)
    strip_solutions(notebook)
    if not keep_outputs:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    nbformat.validate(notebook)
    out.mkdir(parents=True, exist_ok=True)
    target = out / path.name
    nbformat.write(notebook, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "student")
    parser.add_argument("--keep-outputs", action="store_true", help="keep the committed outputs")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"wrote {export(path, args.out, args.keep_outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
