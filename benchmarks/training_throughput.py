"""Training characters per second for the notebook 02 model: XLA on/off, dropout on/off, batch size.

Usage: python benchmarks/training_throughput.py [--steps 40]
"""

from __future__ import annotations

import argparse
import time

from _common import corpus_split, print_table

from utils import data, models, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seq-len", type=int, default=100)
    args = parser.parse_args()
    vocab, train_ids, _ = corpus_split()
    rows = []
    for batch in (64, 128):
        dataset = data.window_dataset(train_ids, args.seq_len, batch).repeat()
        for dropout in (0.0, 0.2):
            for jit in (False, True):
                model = models.build_char_model(vocab, models.CharModelConfig(units=512, dropout=dropout))
                training.compile_char_model(model, 1e-3, total_steps=10_000, jit_compile=jit)
                model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)  # compile/trace first
                started = time.perf_counter()
                model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
                seconds = time.perf_counter() - started
                rows.append({"batch": batch, "dropout": dropout, "XLA": jit,
                             "chars/s": args.steps * batch * args.seq_len / seconds})
    print_table("Training throughput, LSTM 512 units, sequence length 100", rows)


if __name__ == "__main__":
    main()
