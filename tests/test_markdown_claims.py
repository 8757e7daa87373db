"""No sentence in a notebook's Markdown states a number that a run produced.

A run's result (a time, loss, rate, ratio, accuracy, step count) belongs in a
``utils.claims.state`` call, which writes it from the run's values. Markdown keeps
explanation, equations, citations and the code's own constants. The detector errs on the
side of flagging: every number in prose is flagged unless it is

- inside inline code or maths (`` `...` ``, ``$...$``), a link target or a heading's numbering;
- a year (1900–2099), or a notebook, section or exercise number ("notebook 02", "Exercise 3");
- a literal that appears in one of the notebook's own code cells (a constant of the code);
- in a sentence that names its source: a link, or an "(Author, 2015)"-style citation;
- listed in ``ALLOWED`` below with its reason.

Notebooks whose correction pass waits for their next full-mode re-run (#17) are listed in
``PENDING`` with the exact number of flags they have today: the count may only go down, and
an entry must be removed once its notebook is clean. Run this file directly to print every
flag: ``python tests/test_markdown_claims.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Markdown written from measurements of runs, awaiting the correction pass at the notebook's
# next `make refresh` (issue #17): today's count of flags, which may only go down.
PENDING: dict[str, int] = {}
# Documents outside the notebooks: their results are generated from the notebooks'
# recorded claims (docs/results.md) or from the benchmarks' records (benchmarks/README.md); none may type one.
DOCUMENTS_PENDING: dict[str, int] = {
    "README.md": 0,
    "docs/faq.md": 0,
    "docs/results.md": 0,
    "benchmarks/README.md": 0,
}

# (notebook, number as written, reason): numbers in prose that are not results of a run.
ALLOWED: set[tuple[str, str, str]] = {
    ("06_scaling_and_tuning.ipynb", "32", "64 / 2 = 32: the global batch split over two replicas, arithmetic on constants"),
}

NUMBER = re.compile(r"(?<![\w.\-−])[-−]?\d[\d,_]*(?:\.\d+)?(?:e[-+]?\d+)?(?:\s?(?:%|×|x\b))?", re.I)
YEAR = re.compile(r"(19|20)\d\d")
CITATION = re.compile(r"\(\s*[A-Z][^()]*\b(19|20)\d\d[a-z]?\s*\)|\bet al\.|\[link\]")
REFERENCE_WORDS = re.compile(r"(notebooks?|section|exercise|part|chapter|figure|step|cell|issue|#)\s*$", re.I)
# Versions and names, not results: "Keras 3", "Python 3.10–3.13", "CC BY 4.0", "since 2.11", "a 2-core CPU", "1D CNN".
VERSION_WORDS = re.compile(r"(python|keras|tensorflow|tf|cc by|version|since|gpt|–)\s*[\d.]*\s*$", re.I)
NAME_SUFFIX = re.compile(r"^((?i:-(core|bit|layer|unit|head|gate)s?)\b|D\b)")


def _strip_markup(text: str) -> str:
    """Remove what may hold numbers without stating a result: code, maths, link targets, HTML."""
    text = re.sub(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", " ", text, flags=re.S)  # written by a tool
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] [link]", text)  # keep a link's words; a link names a source
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"^\s*#+\s*[\d.]+\s", "# ", text, flags=re.M)  # "## 3. Section" numbering
    text = re.sub(r"^\s*(\*\*)?\d+[.)](\*\*)?\s", " ", text, flags=re.M)  # numbered list items, "**3.**"
    text = re.sub(r"\b((?:19|20)\d\d)[–-]\d\d\b", r"\1", text)  # a span of years, "2014–15"
    text = re.sub(r"reading time about \d+ minutes", " ", text, flags=re.I)  # an estimate, not a run
    return text


def _code_literals(notebook) -> set[str]:
    """The numbers the code names: literals assigned to UPPER_CASE constants or passed as keywords.

    Only these, not every literal in the code: small numbers occur everywhere in code, and
    allowing them all would let a typed result through by coincidence.
    """
    literals: set[str] = set()
    number = r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            code = line.split("#", 1)[0]
            constant = re.match(r"\s*[A-Z][A-Z0-9_]*\s*=(.*)", code)
            tokens = re.findall(number, constant.group(1)) if constant else []
            tokens += re.findall(r"\b[a-z_][a-z0-9_]*\s*=\s*(" + number + ")", code)
            literals.update(_normalise(token) for token in tokens)
    return literals


def _normalise(token: str) -> str:
    token = re.sub(r"\s?(%|×|x)$", "", token.strip(), flags=re.I).replace(",", "").replace("_", "")
    token = token.lstrip("-−")
    try:
        value = float(token)
    except ValueError:
        return token
    return repr(int(value)) if value.is_integer() else repr(value)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?:;])\s+|\n\s*\n|\n\s*[-*|]", text) if s.strip()]


def flags_in_markdown(markdown_cells: list[str], code_literals: set[str]) -> list[tuple[str, str]]:
    """(number as written, its sentence) for every number the rules above do not allow."""
    found = []
    for source in markdown_cells:
        for sentence in _sentences(_strip_markup(source)):
            if CITATION.search(sentence):
                continue
            for match in NUMBER.finditer(sentence):
                token = match.group(0).strip()
                bare = _normalise(token)
                if YEAR.fullmatch(bare) or bare in code_literals:
                    continue
                if REFERENCE_WORDS.search(sentence[: match.start()]):
                    continue
                if VERSION_WORDS.search(sentence[: match.start()]) or NAME_SUFFIX.match(sentence[match.end():]):
                    continue
                found.append((token, " ".join(sentence.split())[:160]))
    return found


def notebook_flags(path: Path) -> list[tuple[str, str]]:
    notebook = nbformat.read(path, as_version=4)
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    flags = flags_in_markdown(markdown, _code_literals(notebook))
    allowed = {(number, reason) for name, number, reason in ALLOWED if name == path.name}
    allowed_numbers = {number for number, _ in allowed}
    return [f for f in flags if f[0] not in allowed_numbers]


def test_detector_flags_results_and_allows_constants():
    cells = ["The model reaches 1.473 nats/char after 21.2 minutes, 3.5× faster.",
             "We train for 30 epochs (Hochreiter & Schmidhuber, 1997) with `lr=0.001` and $\\alpha = 0.5$.",
             "## 2. Section\n\nSee notebook 02 and Exercise 3; LSTM dates from 1997.",
             "nanoGPT reports 1.47 ([source](https://github.com/karpathy/nanoGPT))."]
    flagged = [number for number, _ in flags_in_markdown(cells, code_literals={"30"})]
    assert flagged == ["1.473", "21.2", "3.5×"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_run_result_is_typed_into_markdown(path):
    flags = notebook_flags(path)
    pending = PENDING.get(path.name)
    listing = "\n".join(f"  {number!r} in: {sentence}" for number, sentence in flags)
    if pending is None:
        assert not flags, (f"{len(flags)} number(s) in {path.name}'s Markdown look like results of a run; "
                           f"write them with utils.claims.state, or allow them in {Path(__file__).name} "
                           f"with a reason:\n{listing}")
    else:
        assert flags, f"{path.name} is clean: remove it from PENDING"
        assert len(flags) <= pending, (f"{path.name} has {len(flags)} flags, more than the {pending} pending "
                                       f"its correction pass:\n{listing}")
        assert len(flags) == pending, f"{path.name} is down to {len(flags)} flags: lower PENDING to match"


def document_flags(name: str) -> list[tuple[str, str]]:
    """A Markdown document's prose; blocks written by tools (syllabus, showcase, links, results, benchmark
    tables) are left out."""
    text = re.sub(r"<!-- (syllabus|showcase|links|results:\d\d|benchmark:\w+):start -->.*?<!-- \1:end -->", " ",
                  (REPO / name).read_text(encoding="utf-8"), flags=re.S)
    return flags_in_markdown([text], code_literals=set())


@pytest.mark.parametrize("name", sorted(DOCUMENTS_PENDING))
def test_documents_type_no_new_run_result(name):
    flags = document_flags(name)
    pending = DOCUMENTS_PENDING[name]
    listing = "\n".join(f"  {number!r} in: {sentence}" for number, sentence in flags)
    assert len(flags) <= pending, f"{name} has {len(flags)} typed results (pending: {pending}):\n{listing}"
    assert len(flags) == pending, f"{name} is down to {len(flags)} flags: lower DOCUMENTS_PENDING to match"


if __name__ == "__main__":
    for notebook_path in (Path(p) for p in sys.argv[1:]) if sys.argv[1:] else NOTEBOOKS:
        found = notebook_flags(notebook_path)
        print(f"{notebook_path.name}: {len(found)}")
        for number, sentence in found:
            print(f"  {number!r:10} {sentence}")
    if not sys.argv[1:]:
        for document in sorted(DOCUMENTS_PENDING):
            print(f"{document}: {len(document_flags(document))}")
