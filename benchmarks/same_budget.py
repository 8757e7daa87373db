"""Validation loss after the same wall-clock training budget, on the same 90/10 split.

Recipes (each trained from scratch for --minutes on this machine):
- this course: Embedding 64 -> LSTM 512 -> Dense, dropout 0.2, windows of 100, batch 128,
  Adam 4e-3 with warm-up + cosine decay and clipnorm 1 (notebook 02);
- TensorFlow's text-generation tutorial: Embedding 256 -> GRU 1024 -> Dense, windows of 100,
  batch 64, Adam 1e-3;
- keras-io's character LSTM: one-hot 40-character windows every 3 characters -> LSTM 128 ->
  softmax over the next character only, batch 128, RMSprop 0.01 (one-hot built on the fly
  here, so its memory use does not limit it).
The first two are scored on every position of 100-character validation windows, keras-io on
the character after each 40-character validation window; all in nats per character. Each is also
scored the same way on as many training characters (the start of the training split), and the
steps and epochs it ran are counted, so that a missed target can be read: training loss above it
means the budget (or the model) ran out; training loss below it and validation above, overfitting.

The target (issue #20's CPU record): at most 1.43 nats/char within 30 minutes of training on the
course's 2-core CPU; nanoGPT's "baby GPT" reports 1.47 on a GPU (github.com/karpathy/nanoGPT, README).
Usage: python benchmarks/same_budget.py [--minutes 30] [--record]
"""

from __future__ import annotations

import argparse
import time

import keras
from _common import Report, add_record_argument, corpus_split, tf

from utils import data, models, training

TARGET_NATS_PER_CHAR = 1.43  # the CPU record's target, at the default 30 minutes


def steps_per_second(model, dataset, probe_steps: int = 10) -> float:
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)  # trace first
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=probe_steps, epochs=1, verbose=0)
    return probe_steps / (time.perf_counter() - started)


def train_for(model, dataset, minutes: float) -> float:
    """Train until the budget is spent; returns the seconds actually used."""
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=50, epochs=100_000, verbose=0, callbacks=[training.TimeBudget(minutes)])
    return time.perf_counter() - started


def keras_io_windows(ids, vocab_size: int, batch: int, shuffle: bool):
    """keras-io's examples: 40 one-hot characters -> the next character (stride 3)."""
    windows = data.window_dataset(ids, 40, batch, shuffle=shuffle, stride=3)
    return windows.map(lambda x, y: (tf.one_hot(x, vocab_size), y[:, -1]))


def result_row(recipe: str, model, used_seconds: float, windows_per_epoch: int, batch: int, windows,
               train_sample, val_ids) -> dict:
    """One table row: what the recipe ran (steps, epochs of the training split) and where it ended.

    ``windows(ids)`` builds the recipe's evaluation batches from ids; the model is scored with it on a
    sample of the training split and on the validation split.
    """
    steps = int(model.optimizer.iterations.numpy())
    return {"recipe": recipe, "params": model.count_params(), "minutes": used_seconds / 60, "steps": steps,
            "epochs": steps * batch / windows_per_epoch,
            "train nats/char": model.evaluate(windows(train_sample), verbose=0),
            "val nats/char": model.evaluate(windows(val_ids), verbose=0)}


def limiting_factor(row: dict, target: float) -> str:
    """Why ``row`` missed ``target``, read from its training and validation losses."""
    if row["val nats/char"] <= target:
        return "target met"
    if row["train nats/char"] <= target:
        return (f"overfitting: the training loss ({row['train nats/char']:.3f}) is below the target and the "
                f"validation loss is not")
    return (f"the budget or the model: after {row['epochs']:.1f} epochs even the training loss "
            f"({row['train nats/char']:.3f}) is above the target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)
    vocab, train_ids, val_ids = corpus_split()
    train_sample = train_ids[:len(val_ids)]  # training characters, as many as the validation split holds
    rows = []

    # This course (notebook 02)
    keras.utils.set_random_seed(0)
    ours = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=64, units=512, dropout=0.2))
    train_ds = data.window_dataset(train_ids, 100, 128).repeat()
    training.compile_char_model(ours, 4e-3, total_steps=10_000)  # probe throughput, then set the schedule
    planned = int(steps_per_second(ours, train_ds) * args.minutes * 60)
    keras.utils.set_random_seed(0)
    ours = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=64, units=512, dropout=0.2))
    training.compile_char_model(ours, 4e-3, total_steps=max(planned, 200), warmup_steps=100)
    used = train_for(ours, train_ds, args.minutes)
    rows.append(result_row("this course: LSTM 512 + schedule", ours, used, len(train_ids) // 100, 128,
                           lambda ids: data.window_dataset(ids, 100, 128, shuffle=False), train_sample, val_ids))

    # TensorFlow tutorial
    keras.utils.set_random_seed(0)
    tutorial = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(vocab.size, 256),
                                 keras.layers.GRU(1024, return_sequences=True), keras.layers.Dense(vocab.size)])
    tutorial.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    used = train_for(tutorial, data.window_dataset(train_ids, 100, 64).repeat(), args.minutes)
    rows.append(result_row("TF tutorial: GRU 1024", tutorial, used, len(train_ids) // 100, 64,
                           lambda ids: data.window_dataset(ids, 100, 64, shuffle=False), train_sample, val_ids))

    # keras-io
    keras.utils.set_random_seed(0)
    keras_io = keras.Sequential([keras.Input((40, vocab.size)), keras.layers.LSTM(128),
                                 keras.layers.Dense(vocab.size, activation="softmax")])
    keras_io.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy")
    used = train_for(keras_io, keras_io_windows(train_ids, vocab.size, 128, True).repeat(), args.minutes)
    rows.append(result_row("keras-io: LSTM 128, one-hot", keras_io, used, (len(train_ids) - 40) // 3, 128,
                           lambda ids: keras_io_windows(ids, vocab.size, 128, False), train_sample, val_ids))

    best_reference = min(r["val nats/char"] for r in rows[1:])
    for row in rows:
        row["bits/char"] = data.nats_to_bits(row["val nats/char"])
        row["vs best reference"] = row["val nats/char"] / best_reference
    report.table(f"Same budget: {args.minutes:g} min of training each, tiny Shakespeare 90/10 split", rows)
    best = min(rows, key=lambda row: row["val nats/char"])
    report.table(f"Target: at most {TARGET_NATS_PER_CHAR} nats/char on the validation split (set for 30 minutes)",
                 [{"best recipe": best["recipe"], "val nats/char": best["val nats/char"],
                   "target met": best["val nats/char"] <= TARGET_NATS_PER_CHAR,
                   "what limited it": limiting_factor(best, TARGET_NATS_PER_CHAR)}])

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
