"""Training characters per second for the notebook 02 model: XLA, dropout, batch size, precision, devices.

Three tables, each against its own baseline row:
1. XLA on/off and dropout on/off at batch 64 and 128 (baseline: no XLA, same batch and dropout);
2. the dtype policies float32, mixed_bfloat16 and mixed_float16 (baseline: float32);
3. one device against ``MirroredStrategy`` on two logical CPUs (baseline: one device).

One timing on a shared machine is noisy, so every setting is measured ``--repeats`` times, interleaved
with the settings it is compared with (so that a slow minute hits all of them), and a setting is called
faster or slower only when its range does not overlap the baseline's (``utils.claims.compare_ranges``).

Usage: python benchmarks/training_throughput.py [--steps 20] [--repeats 3] [--seq-len 100] [--units 512] [--record]
"""

from __future__ import annotations

import argparse
import statistics

from _common import Report, add_record_argument, corpus_split

from utils import claims, data, distributed, models, performance, training

VERDICTS = ("faster", "slower", "cannot tell")  # compare_ranges' words: above, below, overlapping


def interleaved_rates(settings: dict, steps: int, repeats: int) -> dict[str, list[float]]:
    """``{name: (model, dataset)}`` -> ``{name: [chars/s, ...]}``, one round over every setting per repeat."""
    rates: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(repeats):
        for name, (model, dataset) in settings.items():
            rates[name].append(performance.training_throughput(model, dataset, steps))
    return rates


def summary(rates: list[float], baseline: list[float] | None = None) -> dict:
    """Median and range of repeated rates; against a baseline, the ratio of medians and the verdict."""
    row = {"chars/s (median)": statistics.median(rates), "range": f"{min(rates):,.0f}–{max(rates):,.0f}"}
    if baseline is not None:
        row["x baseline"] = statistics.median(rates) / statistics.median(baseline)
        row["verdict"] = claims.compare_ranges(rates, baseline, VERDICTS)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of every setting, interleaved")
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--units", type=int, default=512)
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)
    import keras
    import tensorflow as tf

    devices = distributed.split_cpu(2)  # before any TensorFlow operation: needed by table 3
    vocab, train_ids, _ = corpus_split()

    def setting(batch: int, *, dropout: float = 0.0, jit: bool = False, strategy=None):
        config = models.CharModelConfig(units=args.units, dropout=dropout)
        model = training.build_compiled(lambda: models.build_char_model(vocab, config), 1e-3, 10_000,
                                        jit_compile=jit, strategy=strategy)
        return model, data.window_dataset(train_ids, args.seq_len, batch)

    def measure(settings: dict) -> dict[str, list[float]]:
        return interleaved_rates(settings, args.steps, args.repeats)

    rows = []
    for batch in (64, 128):
        for dropout in (0.0, 0.2):
            rates = measure({"base": setting(batch, dropout=dropout), "xla": setting(batch, dropout=dropout, jit=True)})
            rows.append({"batch": batch, "dropout": dropout, "XLA": "off", **summary(rates["base"])})
            rows.append({"batch": batch, "dropout": dropout, "XLA": "on", **summary(rates["xla"], rates["base"])})
    report.table(f"1. XLA: LSTM {args.units} units, sequence length {args.seq_len}, "
                 f"{args.repeats} interleaved measurements of {args.steps} steps each", rows)

    settings = {}
    for policy in ("float32", "mixed_bfloat16", "mixed_float16"):
        keras.config.set_dtype_policy(policy)  # a layer keeps the policy it was built under
        settings[policy] = setting(128)
    keras.config.set_dtype_policy("float32")
    rates = measure(settings)
    report.table(f"2. Mixed precision: LSTM {args.units} units, batch 128, no dropout, no XLA",
                 [{"policy": policy, **summary(rates[policy], None if policy == "float32" else rates["float32"])}
                  for policy in settings])

    mirrored = tf.distribute.MirroredStrategy(devices)
    rates = measure({"one": setting(128), "MirroredStrategy, 2 logical CPUs": setting(128, strategy=mirrored)})
    report.table(f"3. Devices: LSTM {args.units} units, global batch 128 (logical CPUs share the same cores)",
                 [{"devices": name, **summary(values, None if name == "one" else rates["one"])}
                  for name, values in rates.items()])

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
