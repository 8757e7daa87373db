"""benchmarks/README.md's result tables, written from the records the benchmark scripts saved.

    python tools/benchmark_tables.py           print the generated blocks
    python tools/benchmark_tables.py --write   replace them between their markers in benchmarks/README.md

A benchmark run with ``--record`` writes ``benchmarks/results/<script>.json``: its command, machine, date
and tables. Each block ``<!-- benchmark:<script>:start -->`` ... ``<!-- benchmark:<script>:end -->`` of
benchmarks/README.md is that record as Markdown, so the page shows what a run printed and nothing typed.
A script without a record gets a block that says so and gives the command. A test fails when a block
drifts from its record.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
RESULTS = REPO / "benchmarks" / "results"
BLOCK = re.compile(r"<!-- benchmark:(\w+):start -->\n.*?<!-- benchmark:\1:end -->", re.S)


def cell(value) -> str:
    """A value as a table shows it: thousands separators, about three significant digits, yes/no, – for none."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        size = abs(value)
        if size >= 100 or value == int(value):
            return f"{value:,.0f}"
        return f"{value:.2f}" if size >= 1 else f"{value:.3g}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict]) -> str:
    columns = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def block(script: str, results: Path = RESULTS) -> str:
    """The Markdown between the markers of ``script``: its recorded tables, or how to record them."""
    path = results / f"{script}.json"
    if not path.is_file():
        return (f"*Not recorded yet.* Run `python benchmarks/{script}.py --record`, then "
                "`python tools/benchmark_tables.py --write`.")
    record = json.loads(path.read_text(encoding="utf-8"))
    parts = [f"Recorded on {record['recorded']} with `{record['command']}` on: {record['machine']}."]
    for table in record["tables"]:
        parts += [f"*{table['title']}*", markdown_table(table["rows"])]
    return "\n\n".join(parts)


def render(text: str, results: Path = RESULTS) -> str:
    """``text`` with every benchmark block replaced by its generated content."""
    return BLOCK.sub(lambda m: (f"<!-- benchmark:{m.group(1)}:start -->\n{block(m.group(1), results)}\n"
                                f"<!-- benchmark:{m.group(1)}:end -->"), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the blocks in benchmarks/README.md")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    scripts = BLOCK.findall(text)
    if not scripts:
        print(f"{README} has no <!-- benchmark:NAME:start --> block", file=sys.stderr)
        return 1
    new = render(text)
    if args.write:
        README.write_text(new, encoding="utf-8")
        print(f"wrote {len(scripts)} block(s) of {README.relative_to(REPO)}")
    else:
        print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
