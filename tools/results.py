"""docs/results.md's notebook sections, written from the claims the notebooks' committed runs made.

    python tools/results.py           print the generated sections
    python tools/results.py --write   replace them between their markers in docs/results.md

A notebook states its results with ``utils.claims.state(..., key="...")``; the sentence and its values
are stored with the output. Every keyed claim of a notebook's committed run is copied, in order, into
the block ``<!-- results:NN:start -->`` ... ``<!-- results:NN:end -->`` of docs/results.md, so the page
says what the run said and nothing else. A test fails when a block drifts from its notebook.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import syllabus  # noqa: E402  (the one reader of a notebook's title)

RESULTS = REPO / "docs" / "results.md"
CLAIM_KEY = "course_claim"  # utils.claims.METADATA_KEY (tools import nothing of utils)


def claims_of(notebook) -> list[dict]:
    """The keyed claims stored in a notebook's outputs, in order."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            claim = output.get("metadata", {}).get(CLAIM_KEY)
            if claim and claim.get("key"):
                found.append(claim)
    return found


def block(path: Path) -> str:
    number = path.name[:2]
    notebook = nbformat.read(path, as_version=4)
    title = syllabus.describe(path)["title"]
    sentences = " ".join(claim["text"] for claim in claims_of(notebook))
    return (f"<!-- results:{number}:start -->\n**{title}** (written from the claims of its committed run, "
            f"`tools/results.py`): {sentences}\n<!-- results:{number}:end -->")


def blocks_in(text: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"<!-- results:(\d\d):start -->.*?<!-- results:\1:end -->",
                                                         text, flags=re.S)}


def generated(results: Path = RESULTS) -> dict[str, str]:
    """Each block of the page, as the notebook would write it now."""
    wanted = {}
    for number in blocks_in(results.read_text(encoding="utf-8")):
        path = next((REPO / "notebooks").glob(f"{number}_*.ipynb"))
        wanted[number] = block(path)
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    text = RESULTS.read_text(encoding="utf-8")
    new_blocks = generated()
    if not args.write:
        print("\n\n".join(new_blocks.values()))
        return 0
    for number, old in blocks_in(text).items():
        text = text.replace(old, new_blocks[number])
    RESULTS.write_text(text, encoding="utf-8")
    print(f"wrote {len(new_blocks)} section(s) of {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
