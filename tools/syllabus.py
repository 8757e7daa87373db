"""Generate the README's syllabus table from the notebooks themselves.

Each notebook supplies its title (the H1), its learning objectives (the numbered list
after "Learning objectives"), its reading time ("Reading time about N minutes") and its
recorded run times (``metadata.course.run_minutes``, written by tools/run_notebooks.py).

Usage:
    python tools/syllabus.py           print the table
    python tools/syllabus.py --write   replace the table between the markers in README.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- syllabus:start -->", "<!-- syllabus:end -->"


def _objectives(lines: list[str]) -> list[str]:
    """The numbered list that follows the "Learning objectives" line."""
    found: list[str] = []
    start = next((i for i, line in enumerate(lines) if "Learning objectives" in line), None)
    if start is None:
        return found
    for line in lines[start + 1:]:
        item = re.match(r"\s*\d+\. (.+)", line)
        if item:
            found.append(item.group(1).strip())
        elif found or (line.strip() and not found):
            break
    return found


def describe(path: Path) -> dict:
    """Title, objectives, reading minutes and run minutes of one notebook."""
    notebook = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    title = re.search(r"^# (.+)$", text, re.M)
    objectives = _objectives(text.splitlines())
    reading = re.search(r"Reading time about (\d+) minutes", text)
    run = notebook.metadata.get("course", {}).get("run_minutes", {})
    return {"file": path.name, "title": title.group(1).strip() if title else path.stem,
            "objectives": objectives, "reading": int(reading.group(1)) if reading else None,
            "full": run.get("full"), "fast": run.get("fast")}


def _minutes(value) -> str:
    return "–" if value is None else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def table(notebook_dir: Path = REPO / "notebooks") -> str:
    """The markdown syllabus table."""
    rows = ["| Notebook | You will learn to | Read (min) | Run on CPU, full (min) | Run on CPU, fast (min) |",
            "|---|---|---|---|---|"]
    infos = [describe(path) for path in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb"))]
    for info in infos:
        objectives = "; ".join(o.rstrip(".;") for o in info["objectives"]) or "–"
        rows.append(f"| [{info['title']}](notebooks/{info['file']}) | {objectives} | {_minutes(info['reading'])} "
                    f"| {_minutes(info['full'])} | {_minutes(info['fast'])} |")

    def total(key: str):
        values = [info[key] for info in infos]
        return None if not values or None in values else sum(values)

    rows.append(f"| **All {len(infos)} notebooks** (`make run`; `make run FAST=1`) | | {_minutes(total('reading'))} "
                f"| {_minutes(total('full'))} | {_minutes(total('fast'))} |")
    return "\n".join(rows)


def readme_table(readme: Path = REPO / "README.md") -> str:
    """The table currently between the markers in README.md."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} block")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the syllabus table from the notebooks")
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    generated = table()
    if not args.write:
        print(generated)
        return 0
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(f"{before}{START}\n{generated}\n{END}{after}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
