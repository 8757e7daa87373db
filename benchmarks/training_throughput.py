"""Training characters per second for the notebook 02 model: XLA, dropout, batch size, precision, devices.

Three tables, each with a ratio against its own baseline row:
1. XLA on/off and dropout on/off at batch 64 and 128 (baseline: no XLA, same batch and dropout);
2. the dtype policies float32, mixed_bfloat16 and mixed_float16 (baseline: float32);
3. one device against ``MirroredStrategy`` on two logical CPUs (baseline: one device).

Usage: python benchmarks/training_throughput.py [--steps 40] [--seq-len 100] [--units 512] [--record]
"""

from __future__ import annotations

import argparse

from _common import Report, add_record_argument, corpus_split

from utils import data, distributed, models, performance, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per measurement")
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--units", type=int, default=512)
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)
    import keras
    import tensorflow as tf

    devices = distributed.split_cpu(2)  # before any TensorFlow operation: needed by table 3
    vocab, train_ids, _ = corpus_split()

    def measure(batch: int, *, dropout: float = 0.0, jit: bool = False, strategy=None) -> float:
        config = models.CharModelConfig(units=args.units, dropout=dropout)
        model = training.build_compiled(lambda: models.build_char_model(vocab, config), 1e-3, 10_000,
                                        jit_compile=jit, strategy=strategy)
        return performance.training_throughput(model, data.window_dataset(train_ids, args.seq_len, batch), args.steps)

    rows = []
    for batch in (64, 128):
        for dropout in (0.0, 0.2):
            base = measure(batch, dropout=dropout)
            xla = measure(batch, dropout=dropout, jit=True)
            rows.append({"batch": batch, "dropout": dropout, "chars/s": base, "chars/s with XLA": xla,
                         "XLA / no XLA": xla / base})
    report.table(f"1. XLA: LSTM {args.units} units, sequence length {args.seq_len}", rows)

    rows = []
    for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
        keras.config.set_dtype_policy(policy)
        rows.append({"policy": policy, "chars/s": measure(128)})
    keras.config.set_dtype_policy("float32")
    for row in rows:
        row["relative to float32"] = row["chars/s"] / rows[0]["chars/s"]
    report.table(f"2. Mixed precision: LSTM {args.units} units, batch 128, no dropout, no XLA", rows)

    mirrored = tf.distribute.MirroredStrategy(devices)
    one = measure(128)
    two = measure(128, strategy=mirrored)
    report.table(f"3. Devices: LSTM {args.units} units, global batch 128 (logical CPUs share the same cores)",
                [{"devices": "one", "chars/s": one, "relative": 1.0},
                 {"devices": "MirroredStrategy, 2 logical CPUs", "chars/s": two, "relative": two / one}])

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
