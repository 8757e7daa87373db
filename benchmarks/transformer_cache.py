"""Characters per second of Transformer generation with a key/value cache against re-reading the window.

One stream. Each generator is timed without XLA and with it (the default of `CachedTextGenerator`), and the
cache is compared like with like: cache alone against no cache without XLA, cache + XLA against no cache +
XLA, and the fastest of each. The prompt fills the context minus the characters generated (at most half of
it), so every generator does the same work within the context (where their texts are equal:
tests/test_kv_cache.py). The model is untrained (speed does not depend on the weights), of notebook 04's
shape at each context length.
Usage: python benchmarks/transformer_cache.py [--chars 64] [--contexts 64 128 256 512] [--repeats 5] [--record]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import Report, add_record_argument

from utils import data, generation, kv_cache, models

TARGET_CONTEXT, TARGET_SPEEDUP = 256, 10  # issue #20: at least 10x over no cache at a 256-character context, one stream


def rates(generators: dict, prompt: str, n_chars: int, repeats: int) -> dict:
    """Median characters/s of each generator over ``repeats`` timings, interleaved so that a change in the
    machine's speed touches every generator alike."""
    for generator in generators.values():
        generator.generate(prompt, n_chars, top_k=10)  # trace and compile first
    seconds = {name: [] for name in generators}
    for _ in range(repeats):
        for name, generator in generators.items():
            started = time.perf_counter()
            generator.generate(prompt, n_chars, top_k=10, seed=1)
            seconds[name].append(time.perf_counter() - started)
    return {name: n_chars / statistics.median(times) for name, times in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=64, help="characters generated per measurement")
    parser.add_argument("--contexts", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=5, help="timings per generator (the median is reported)")
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)

    text = data.load_corpus(verbose=False).text
    vocab = data.Vocabulary.from_text(text)
    rows = []
    for context in args.contexts:
        model = models.build_transformer_model(vocab, context=context, dim=128, num_heads=4, num_layers=4)
        chars = min(args.chars, context // 2)
        prompt = text[:context - chars]  # prompt + generated characters = the whole context
        measured = rates({"windowed": generation.WindowedTextGenerator(model),
                          "windowed_xla": generation.WindowedTextGenerator(model, jit_compile=True),
                          "cache_alone": kv_cache.CachedTextGenerator(model, jit_compile=False),
                          "cached": kv_cache.CachedTextGenerator(model)},  # with XLA, its default
                         prompt, chars, args.repeats)
        windowed, windowed_xla, cache_alone, cached = (measured[name] for name in
                                                       ("windowed", "windowed_xla", "cache_alone", "cached"))
        rows.append({"context": context, "generated": chars, "parameters": model.count_params(),
                     "no cache chars/s": windowed, "cache chars/s": cache_alone, "x (no XLA)": cache_alone / windowed,
                     "no cache + XLA chars/s": windowed_xla, "cache + XLA chars/s": cached,
                     "x (both XLA)": cached / windowed_xla,
                     "fastest cache x fastest no cache": max(cache_alone, cached) / max(windowed, windowed_xla)})
    report.table("Transformer generation, one stream: key/value cache vs re-reading the window", rows)
    at_target = [row for row in rows if row["context"] == TARGET_CONTEXT]
    if at_target:
        row = at_target[0]
        report.table(f"Target: the cache at least {TARGET_SPEEDUP}x faster than no cache at a context of {TARGET_CONTEXT}",
                     [{"comparison": name, "speed-up": row[column], "target met": row[column] >= TARGET_SPEEDUP}
                      for name, column in (("cache alone, no XLA on either side", "x (no XLA)"),
                                           ("cache + XLA against no cache + XLA", "x (both XLA)"),
                                           ("fastest with the cache against fastest without",
                                            "fastest cache x fastest no cache"))])

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
