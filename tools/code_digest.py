"""Committed outputs belong to the committed code: a digest of every code cell, taken at the run.

``tools/run_notebooks.py --inplace`` (``make refresh``) stores, in the notebook's metadata
(``course.code_digests``), one short SHA-256 per code cell of the source it has just executed
in full mode. ``tests/test_code_digests.py`` recomputes them: a code cell edited since then
means that the outputs under it no longer come from it, and the notebook must be re-run.
Markdown is not digested; it may change without a re-run. Nor is the course's address in the
set-up cell (``make links`` writes it).
"""

from __future__ import annotations

import hashlib
import re

# The set-up cell's address line is written by `make links`, not by the lesson: changing the course's
# address must not call for re-running every notebook, so the line is digested without its value.
ADDRESS_LINE = re.compile(r'(?m)^COURSE_REPO = ".*"')

METADATA_KEY = "code_digests"


def code_digests(notebook) -> list[str]:
    """One 16-hex-digit SHA-256 prefix per code cell, in order, of the cell's source."""
    return [hashlib.sha256(ADDRESS_LINE.sub('COURSE_REPO = ""', cell.source).encode("utf-8")).hexdigest()[:16]
            for cell in notebook.cells if cell.cell_type == "code"]


def record(notebook) -> None:
    """Store the digests of the notebook's code cells in its metadata (after a full-mode run)."""
    notebook.metadata.setdefault("course", {})[METADATA_KEY] = code_digests(notebook)


def recorded(notebook) -> list[str] | None:
    """The digests stored by the last full-mode run in place, or None when none were stored."""
    return notebook.metadata.get("course", {}).get(METADATA_KEY)


def changed_cells(notebook) -> list[int]:
    """1-based numbers (among code cells) of cells whose source differs from the recorded run.

    Raises:
        ValueError: the notebook holds no recorded digests.
    """
    stored = recorded(notebook)
    if stored is None:
        raise ValueError("the notebook records no code digests: it has not been run with make refresh since "
                         "digests were introduced")
    current = code_digests(notebook)
    changed = [i + 1 for i, (old, new) in enumerate(zip(stored, current, strict=False)) if old != new]
    longer = range(min(len(stored), len(current)) + 1, max(len(stored), len(current)) + 1)
    return changed + list(longer)
