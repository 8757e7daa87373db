"""Keep notebook diffs about content: strip volatile metadata, refuse machine paths in outputs.

Jupyter records each cell's execution timestamps in ``metadata.execution``; every re-run changes
them, so a diff of a re-run notebook shows every cell as changed. This removes them and nothing
else: outputs, execution counts and the course's own metadata (``metadata.course``) stay.

Usage:
    python tools/clean_notebooks.py NOTEBOOK ...          strip volatile metadata in place
    python tools/clean_notebooks.py --check NOTEBOOK ...  exit 1 if any notebook needs stripping or
                                                          an output shows a machine path (make lint, pre-commit)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

VOLATILE_CELL_METADATA = ("execution",)  # nbclient's and JupyterLab's timestamps
# A home, temporary or work folder printed into an output tells the reader about the machine of a run.
MACHINE_PATH = re.compile(r"(/root/|/home/|/Users/|/tmp/|/work/|[A-Z]:\\\\Users\\\\)")


def volatile_cells(notebook) -> list[int]:
    """Indexes of cells that carry volatile metadata."""
    return [i for i, cell in enumerate(notebook.cells) if any(k in cell.metadata for k in VOLATILE_CELL_METADATA)]


def machine_paths(notebook) -> list[str]:
    """The machine paths printed in a notebook's outputs, with the cell index."""
    found = []
    for i, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            match = MACHINE_PATH.search(json.dumps(output))
            if match:
                found.append(f"cell {i}: {match.group(0)}")
    return found


def strip(notebook) -> int:
    """Remove the volatile metadata in place; returns how many cells changed."""
    changed = volatile_cells(notebook)
    for i in changed:
        for key in VOLATILE_CELL_METADATA:
            notebook.cells[i].metadata.pop(key, None)
    return len(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing, exit 1 on a finding")
    args = parser.parse_args(argv)
    problems = []
    for path in args.notebooks:
        notebook = nbformat.read(path, as_version=4)
        problems += [f"{path}: {found} (an output shows a machine path)" for found in machine_paths(notebook)]
        if args.check:
            cells = volatile_cells(notebook)
            if cells:
                problems.append(f"{path}: {len(cells)} cell(s) carry execution timestamps; "
                                f"run python tools/clean_notebooks.py {path}")
        elif strip(notebook):
            nbformat.write(notebook, path)
            print(f"{path}: volatile metadata removed")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
