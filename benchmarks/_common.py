"""Shared set-up for the benchmark scripts: quiet TensorFlow, the corpus and its split."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.env import import_tensorflow_quietly, machine_summary  # noqa: E402

tf = import_tensorflow_quietly()

from utils import data  # noqa: E402


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
