"""Peak memory of the input pipeline as the corpus grows: tf.data windows vs keras-io one-hot arrays.

Each case runs in a fresh process and reports the growth of its peak resident memory (RSS)
over the memory it had once the corpus text was loaded, divided by the corpus size.
The corpus is tiny Shakespeare repeated to the requested size.
Usage: python benchmarks/input_pipeline_memory.py [--sizes-mb 1 10 100] [--one-hot-max-mb 1] [--record]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from _common import Report, add_record_argument

CASE = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, {repo!r})
    from utils.env import import_tensorflow_quietly
    tf = import_tensorflow_quietly()
    import numpy as np
    from utils import data

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    base = data.load_corpus(verbose=False).text
    size = int({megabytes} * 1_000_000)
    text = (base * (size // len(base) + 1))[:size]
    vocab = data.Vocabulary.from_text(text)
    before = peak_mb()
    if {method!r} == "tf.data windows (this course)":
        ids = vocab.encode_to_variable(text)  # one byte per character, straight into TensorFlow
        dataset = data.window_dataset(ids, seq_len=100, batch_size=128)
        for step, (x, y) in enumerate(dataset):
            if step == 20:
                break
    else:  # keras-io: 40-character windows every 3 characters, one-hot encoded as booleans
        maxlen, step = 40, 3
        starts = range(0, len(text) - maxlen, step)
        index = {{c: i for i, c in enumerate(vocab.chars)}}
        x = np.zeros((len(starts), maxlen, len(vocab.chars)), dtype=bool)
        y = np.zeros((len(starts), len(vocab.chars)), dtype=bool)
        for row, start in enumerate(starts):
            for t, char in enumerate(text[start:start + maxlen]):
                x[row, t, index[char]] = 1
            y[row, index[text[start + maxlen]]] = 1
    print(peak_mb() - before)
""")


def run_case(method: str, megabytes: float) -> float:
    script = CASE.format(repo=str(Path(__file__).resolve().parents[1]), megabytes=megabytes, method=method)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--one-hot-max-mb", type=float, default=1,
                        help="largest corpus to really one-hot encode; larger ones are projected")
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)
    rows = []
    for megabytes in args.sizes_mb:
        growth = run_case("tf.data windows (this course)", megabytes)
        rows.append({"method": "tf.data windows (this course)", "corpus MB": megabytes,
                     "peak growth MB": growth, "x corpus": growth / megabytes, "measured": True})
        windows = (megabytes * 1e6 - 40) / 3
        if megabytes <= args.one_hot_max_mb:
            growth = run_case("keras-io one-hot", megabytes)
            rows.append({"method": "keras-io one-hot arrays", "corpus MB": megabytes, "peak growth MB": growth,
                         "x corpus": growth / megabytes, "measured": True})
        else:
            projected = windows * 41 * 65 / 1e6  # (40 inputs + 1 target) x 65 booleans per window
            rows.append({"method": "keras-io one-hot arrays", "corpus MB": megabytes, "peak growth MB": projected,
                         "x corpus": projected / megabytes, "measured": False})
    report.table("Input pipeline peak memory (RSS growth after the text is loaded)", rows)

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
