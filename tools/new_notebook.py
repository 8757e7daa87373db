"""Create a new course notebook in the house shape, executed, so that it passes the course's tests as created.

    make new-notebook NAME=08_my_topic      (or: python tools/new_notebook.py 08_my_topic)

Writes ``notebooks/NAME.ipynb`` with a title, an overview, learning objectives, the Setup cell, a
first section whose checked cell (``# NBVAL_CHECK_OUTPUT``) prints a deterministic fact, a
Summary, Exercises with a worked solution and the closing Run time cell; executes it in full mode
and in fast mode (recording both run times, as ``make refresh`` does) and regenerates the README's
syllabus. The notebook then appears in the syllabus and on the site, and nbval runs it. Replace the
placeholder text and code with the lesson; re-run it with ``make refresh NOTEBOOKS=notebooks/NAME.ipynb``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import links  # noqa: E402

SETUP = '''import utils

tf = utils.import_tensorflow_quietly()  # first: filters TensorFlow's C++ start-up notices from the outputs
import keras
import numpy as np

print(utils.check_versions())
SEED = 42
utils.set_seed(SEED)
timer = utils.Stopwatch()

BATCH, STEPS, FEATURES = 2, 5, 3  # the shapes of the example below
UNITS = 8  # hidden units of the example layer
EPOCHS = utils.by_mode(full=10, fast=1)  # fast mode (RNN_FAST=1, CI) shrinks constants such as this only'''

CHECKED = '''# NBVAL_CHECK_OUTPUT
layer = keras.layers.LSTM(UNITS, return_sequences=True)
outputs = layer(np.zeros((BATCH, STEPS, FEATURES), "float32"))  # (batch, time, features) -> (batch, time, units)
print("output shape:", tuple(outputs.shape), "| parameters:", layer.count_params(),
      "| 4 * (features + units + 1) * units:", 4 * (FEATURES + UNITS + 1) * UNITS)'''

SOLUTION = '''gru = keras.layers.GRU(UNITS, return_sequences=True)
gru(np.zeros((BATCH, STEPS, FEATURES), "float32"))
print("GRU parameters:", gru.count_params(), "| 3 * (features + units + 2) * units:", 3 * (FEATURES + UNITS + 2) * UNITS)'''


def title_of(name: str) -> str:
    """``08_my_topic`` -> ``08 · My topic``."""
    number, words = name.split("_", 1)
    return f"{number} · {words.replace('_', ' ').capitalize()}"


def build(name: str) -> nbformat.NotebookNode:
    """The notebook, unexecuted."""
    markdown = new_markdown_cell
    cells = [
        markdown(f"# {title_of(name)}\n\n"
                 "*Replace this paragraph with the overview: what the notebook builds, why it matters, and what the "
                 "learner can do at the end that they could not do before.*\n\n"
                 "**Learning objectives.** After this notebook you can\n\n"
                 "1. count the parameters of a recurrent layer and check the count against Keras;\n"
                 "2. replace this objective with the notebook's own.\n\n"
                 "*Reading time about 15 minutes. The wall time and machine of the committed run are printed in the "
                 "last cell.*"),
        markdown("## Setup"),
        new_code_cell(SETUP),
        markdown("## A first section\n\n"
                 "Show code before reusing it, and check what can be checked. A cell that starts with "
                 "`# NBVAL_CHECK_OUTPUT` must print the same text in fast and full mode (shapes, counts, a verdict at "
                 "a stated tolerance, never a timing or a raw float): CI compares it with the committed output."),
        new_code_cell(CHECKED),
        markdown("## Summary\n\n- An `LSTM` layer with $n$ inputs and $u$ units has $4(n + u + 1)u$ parameters: four "
                 "gates, each with input weights, recurrent weights and a bias.\n- Replace these points with the "
                 "notebook's own."),
        markdown("## Exercises\n\n1. **Count a GRU.** How many parameters does `keras.layers.GRU(UNITS)` have on "
                 "`FEATURES` inputs? Keras's default GRU (`reset_after=True`) has two bias vectors per gate.\n\n"
                 "### Solutions\n\n**1.** Three gates, each with input weights, recurrent weights and two biases: "
                 "$3(n + u + 2)u$."),
        new_code_cell(SOLUTION),
        markdown("## Run time"),
        new_code_cell("print(timer.report())"),
    ]
    notebook = new_notebook(cells=cells)
    # The kernel `make lab` registers for the course's environment (nbval and the runner name python3 explicitly).
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (RNN course)", "language": "python", "name": "rnn-course"}
    links.stamp_notebook(notebook, f"{name}.ipynb", links.repo_url())  # the set-up cell and the Colab links
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="NN_snake_case, e.g. 08_my_topic")
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks", help="where notebooks live")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md", help="whose syllabus to regenerate")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", args.name):
        parser.error(f"NAME={args.name!r} must be NN_snake_case: two digits, an underscore, lower-case words "
                     "(e.g. 08_my_topic)")
    taken = sorted(args.notebooks.glob(f"{args.name[:2]}_*.ipynb"))
    if taken:
        parser.error(f"NAME={args.name!r}: notebook number {args.name[:2]} is taken by {taken[0].name}")
    path = args.notebooks / f"{args.name}.ipynb"
    nbformat.write(build(args.name), path)
    print(f"created {path}; executing it in full and fast mode ...", flush=True)
    runner = [sys.executable, str(REPO / "tools" / "run_notebooks.py"), "--out", str(REPO / "build" / "new")]
    for mode, flag in (("0", "--inplace"), ("1", "--record-time")):
        subprocess.run([*runner, flag, str(path)], check=True, env={**os.environ, "RNN_FAST": mode})
    sys.path.insert(0, str(REPO / "tools"))
    import syllabus

    readme = args.readme.read_text(encoding="utf-8")
    before, rest = readme.split(syllabus.START, 1)
    after = rest.split(syllabus.END, 1)[1]
    args.readme.write_text(f"{before}{syllabus.START}\n{syllabus.table(args.notebooks)}\n{syllabus.END}{after}",
                           encoding="utf-8")
    print(f"wrote {path} and the syllabus in {args.readme}. Next: write the lesson, then "
          f"`make refresh NOTEBOOKS={path.relative_to(REPO) if path.is_relative_to(REPO) else path}` and `make test`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
