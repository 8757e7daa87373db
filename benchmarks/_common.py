"""Shared set-up for the benchmark scripts: quiet TensorFlow, the corpus and its split, tables and records."""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.env import import_tensorflow_quietly, machine_summary  # noqa: E402

tf = import_tensorflow_quietly()

from utils import data  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"  # one JSON record per script, read by tools/benchmark_tables.py


def corpus_split():
    """(vocabulary, train ids, validation ids) of the default corpus, 90/10."""
    corpus = data.load_corpus(verbose=False)
    vocab = data.Vocabulary.from_text(corpus.text)
    train_ids, val_ids = data.train_val_split(vocab.encode(corpus.text))
    return vocab, train_ids, val_ids


def print_table(title: str, rows: list[dict]) -> None:
    """Print rows (dicts with the same keys) as an aligned text table, with the machine."""
    import pandas as pd

    print(f"\n{title}\nmachine: {machine_summary()}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.3f}"))


def add_record_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", action="store_true",
                        help=f"also write the tables to {RESULTS_DIR.name}/<script>.json (benchmarks/README.md is "
                             "generated from these records by tools/benchmark_tables.py)")


class Report:
    """A script's tables: each is printed as it is made; ``save`` writes them all as the script's record."""

    def __init__(self, script_file: str, argv: list[str] | None = None):
        self.name = Path(script_file).stem
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.tables: list[dict] = []

    def table(self, title: str, rows: list[dict]) -> None:
        print_table(title, rows)
        self.tables.append({"title": title, "rows": [{key: _plain(value) for key, value in row.items()} for row in rows]})

    def save(self, folder: Path = RESULTS_DIR) -> Path:
        """Write ``folder/<script>.json``: the command, the machine, the date and every table."""
        arguments = [argument for argument in self.argv if argument != "--record"]
        record = {"script": self.name,
                  "command": shlex.join(["python", f"benchmarks/{self.name}.py", *arguments]),
                  "machine": machine_summary(),
                  "recorded": datetime.date.today().isoformat(),
                  "tables": self.tables}
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nrecorded: {path}")
        return path


def _plain(value):
    """A JSON-friendly value: numpy and TensorFlow scalars become Python numbers."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return float(value)
