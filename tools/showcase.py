"""The README's showcase: a sample the course's model wrote and one figure, taken from a committed run.

    python tools/showcase.py           print the block
    python tools/showcase.py --write   write it between the markers in README.md, and the figure to docs/images/

Nothing is typed by hand: the sample is the output of the notebook cell tagged ``readme-sample``
(the part headed ``SAMPLE_HEADING``) and the figure is the first image of the cell tagged
``readme-figure``, both in notebook 02's committed full-mode run. A test fails when the README or
the image drifts from the notebook (re-run this after ``make refresh``).
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "02_char_lstm_text_generator.ipynb"
FIGURE = REPO / "docs" / "images" / "02_training_curve.png"
SAMPLE_HEADING = "T = 0.8"  # which of the sampling settings the README quotes
START, END = "<!-- showcase:start -->", "<!-- showcase:end -->"


def _tagged(notebook, tag: str):
    cells = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{NOTEBOOK.name} must have exactly one cell tagged {tag!r}, found {len(cells)}")
    return cells[0]


def sample(notebook) -> str:
    """The generated text under ``===== SAMPLE_HEADING =====`` in the tagged cell's output."""
    text = "".join(o.get("text", "") for o in _tagged(notebook, "readme-sample").outputs)
    parts = re.split(r"^===== (.+?) =====\n", text, flags=re.M)
    by_heading = dict(zip(parts[1::2], parts[2::2], strict=True))
    if SAMPLE_HEADING not in by_heading:
        raise ValueError(f"no sample headed {SAMPLE_HEADING!r} in the cell tagged readme-sample: {sorted(by_heading)}")
    return by_heading[SAMPLE_HEADING].rstrip("\n")


def figure_png(notebook) -> bytes:
    """The first PNG image in the output of the tagged figure cell."""
    for output in _tagged(notebook, "readme-figure").outputs:
        if "image/png" in output.get("data", {}):
            return base64.b64decode(output["data"]["image/png"])
    raise ValueError("the cell tagged readme-figure has no PNG output")


def run_statement(notebook) -> str:
    """"26.3 minutes on Linux x86_64, 2 CPU cores, no GPU", from the notebook's own closing cell."""
    outputs = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    found = re.search(r"ran in full mode in ([\d.]+) min of wall time on: ([^;]+);", outputs)
    if not found:
        raise ValueError(f"{NOTEBOOK.name} does not state its full-mode wall time and machine")
    return f"{found.group(1)} minutes on {found.group(2)}"


def block(notebook) -> str:
    return "\n".join([
        START,
        f"Written by notebook 02's character LSTM at the end of its committed run ({run_statement(notebook)}), "
        f"prompted with `ROMEO:` and sampled at temperature {SAMPLE_HEADING.split('= ')[1]}:",
        "",
        "```text",
        sample(notebook),
        "```",
        "",
        f"![Training and validation loss of that run]({FIGURE.relative_to(REPO).as_posix()})",
        END,
    ])


def readme_block(readme: Path = REPO / "README.md") -> str:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} block")
    return START + text.split(START, 1)[1].split(END, 1)[0] + END


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md and the figure in place")
    args = parser.parse_args(argv)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    new = block(notebook)
    if not args.write:
        print(new)
        return 0
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace(readme_block(readme), new), encoding="utf-8")
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    FIGURE.write_bytes(figure_png(notebook))
    print(f"wrote the showcase into {readme.name} and {FIGURE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
