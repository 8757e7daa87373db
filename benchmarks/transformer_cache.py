"""Characters per second of Transformer generation with a key/value cache against re-reading the window.

One stream. The cache is timed without XLA (what the cache alone buys) and with it (the default of
`CachedTextGenerator`). The prompt fills the context minus the characters generated (at most half of it),
so every generator does the same work within the context (where their texts are equal:
tests/test_kv_cache.py). The model is untrained (speed does not depend on the weights), of notebook 04's
shape at each context length.
Usage: python benchmarks/transformer_cache.py [--chars 64] [--contexts 64 128 256 512] [--record]
"""

from __future__ import annotations

import argparse
import time

from _common import Report, add_record_argument

from utils import data, generation, kv_cache, models


def rate(generator, prompt: str, n_chars: int) -> float:
    generator.generate(prompt, n_chars, top_k=10)  # trace and compile first
    started = time.perf_counter()
    generator.generate(prompt, n_chars, top_k=10, seed=1)
    return n_chars / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=64, help="characters generated per measurement")
    parser.add_argument("--contexts", type=int, nargs="+", default=[64, 128, 256, 512])
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
        windowed = rate(generation.WindowedTextGenerator(model), prompt, chars)
        cache_alone = rate(kv_cache.CachedTextGenerator(model, jit_compile=False), prompt, chars)
        cached = rate(kv_cache.CachedTextGenerator(model), prompt, chars)  # with XLA, its default
        rows.append({"context": context, "generated": chars, "parameters": model.count_params(), "no cache chars/s": windowed,
                     "cache, no XLA chars/s": cache_alone, "cache alone: x no cache": cache_alone / windowed,
                     "cache + XLA chars/s": cached, "cache + XLA: x no cache": cached / windowed})
    report.table("Transformer generation, one stream: key/value cache vs re-reading the window", rows)

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
