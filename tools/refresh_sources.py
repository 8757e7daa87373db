"""Refresh the outputs of ``show_source(...)`` cells after a utils function changed.

A notebook shows the code of ``utils`` with ``show_source(module.name)``; the test
``test_displayed_source_matches_the_code`` fails when that code has changed since the notebook
ran. A full-mode re-run takes up to 40 minutes; this rewrites only those cells' outputs (the
source text, exactly what ``show_source`` would display now) and leaves every other output alone.

Usage:
    python tools/refresh_sources.py notebooks/04_attention_and_transformers.ipynb [...]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from utils.display import resolve, show_source  # noqa: E402

CALL = re.compile(r"^show_source\(([\w.]+)\)$")


def refresh(path: Path) -> int:
    """Rewrite the outputs of the notebook's ``show_source`` cells; returns how many changed."""
    notebook = nbformat.read(path, as_version=4)
    changed = 0
    for cell in notebook.cells:
        match = CALL.match(cell.source.strip()) if cell.cell_type == "code" else None
        if not match:
            continue
        markdown = show_source(resolve(match.group(1))).data
        output = nbformat.v4.new_output("execute_result", {"text/markdown": markdown, "text/plain": "<IPython.core.display.Markdown object>"},
                                        execution_count=cell.execution_count)
        if [dict(o) for o in cell.outputs] != [dict(output)]:
            cell.outputs = [output]
            changed += 1
    if changed:
        nbformat.write(notebook, path)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    for path in parser.parse_args().notebooks:
        print(f"{path}: {refresh(path)} show_source output(s) refreshed")


if __name__ == "__main__":
    main()
