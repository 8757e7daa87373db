"""Characters per second of text generation: keras-io's windowed re-feeding vs explicit state.

The model is an untrained ~1M-parameter LSTM (speed does not depend on the weights).
Usage: python benchmarks/generation_speed.py [--chars 2000] [--refeed-chars 100] [--record]
"""

from __future__ import annotations

import argparse
import time

from _common import Report, add_record_argument, tf

from utils import data, generation, models


def rate(fn, n_chars: int) -> float:
    started = time.perf_counter()
    fn()
    return n_chars / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--refeed-chars", type=int, default=100)
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)

    vocab = data.Vocabulary.from_text(data.load_corpus(verbose=False).text)
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=64, units=448, num_layers=1))
    prompt = "ROMEO:\n"

    def eager(n):
        states, current = model.zero_states(1), vocab.encode("\n")
        for _ in range(n):
            logits, states = model.step(current, states)
            current = tf.random.categorical(logits, 1, dtype=tf.int32)[:, 0]

    rows = []
    reference = rate(lambda: generation.generate_by_refeeding(model, prompt, args.refeed_chars, window=40),
                     args.refeed_chars)
    rows.append({"method": "keras-io: model.predict on a 40-char window", "streams": 1, "chars/s": reference})
    rows.append({"method": "explicit state, eager loop", "streams": 1, "chars/s": rate(lambda: eager(200), 200)})
    for jit in (False, True):
        generator = generation.TextGenerator(model, jit_compile=jit)
        for streams in (1, 64):
            generator.generate(prompt, 20, num_streams=streams)  # trace and compile first
            speed = rate(lambda: generator.generate(prompt, args.chars, num_streams=streams, top_k=10),  # noqa: B023
                         args.chars * streams)
            rows.append({"method": f"explicit state, tf.function loop{' + XLA' if jit else ''}",
                         "streams": streams, "chars/s": speed})
    for row in rows:
        row["x keras-io"] = row["chars/s"] / reference
    report.table(f"Generation speed, LSTM with {model.count_params():,} parameters", rows)

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
