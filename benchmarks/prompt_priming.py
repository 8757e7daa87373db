"""Seconds to read a long prompt into an LSTM's state: eager steps, compiled TensorFlow, XLA, and the NumPy recurrence.

The model is an untrained LSTM of notebook 02's shape (speed does not depend on the weights); the prompt is
the first characters of the validation split. Every reader is checked to reach the same final state
(within 1e-4) before it is timed. Each timing is repeated ``--repeats`` times, interleaved, and the table
gives the median and the range. Eager stepping is timed on ``--eager-chars`` characters and scaled up.
The last row times only the product of the recurrent matrix with the state in float32, once per character:
no float32 reader of one stream on this BLAS can be faster. The course's target: a 100,000-character prompt in under 5 s on its 2-core CPU.
Usage: python benchmarks/prompt_priming.py [--chars 100000] [--repeats 3] [--eager-chars 300] [--record]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import Report, add_record_argument, corpus_split, tf

from utils import generation, models, priming

TARGET_S = 5.0  # seconds for a 100,000-character prompt (issue #20)


def final_state(result) -> list[np.ndarray]:
    return [np.asarray(state) for state in tf.nest.flatten(result[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000, help="prompt length")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--eager-chars", type=int, default=300, help="characters stepped eagerly (then scaled)")
    add_record_argument(parser)
    args = parser.parse_args()
    report = Report(__file__)

    vocab, _, val_ids = corpus_split()
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=64, units=512, dropout=0.2))
    ids = val_ids[:args.chars].astype(np.int32)[None, :]
    if ids.shape[1] < args.chars:
        raise SystemExit(f"--chars={args.chars} is longer than the validation split ({ids.shape[1]:,} characters)")

    def last_logits_only(x):  # the same work as utils.priming: the head on the last position only
        h, states = model.embedding(x), []
        for layer in model.recurrent_layers:
            h, *layer_states = layer(h)
            states.append(layer_states)
        return model.head(h[:, -1]), states

    signature = [tf.TensorSpec([None, None], tf.int32)]
    readers = {"compiled_prompt_reader (logits at every position)": generation.compiled_prompt_reader(model),
               "compiled, last logits only": tf.function(last_logits_only, input_signature=signature),
               "compiled + XLA, last logits only": tf.function(last_logits_only, input_signature=signature,
                                                               jit_compile=True),
               "NumPy recurrence (utils.priming)": lambda x: priming.read_prompts(model, x)}

    check = ids[:, :2000]  # every reader reaches the state of stepping one character at a time
    stepped = model.zero_states(1)
    for char_id in check[0]:
        _, stepped = model.step(tf.constant([char_id]), stepped)
    stepped = [np.asarray(state) for state in tf.nest.flatten(stepped)]
    for name, read in readers.items():
        ours = final_state(read(check))
        if not all(np.allclose(a, b, atol=1e-4) for a, b in zip(ours, stepped, strict=True)):
            raise SystemExit(f"{name}: its state after 2,000 characters differs from stepping one at a time")

    started = time.perf_counter()
    states = model.zero_states(1)
    for char_id in ids[0, :args.eager_chars]:
        _, states = model.step(tf.constant([char_id]), states)
    eager_s = (time.perf_counter() - started) * args.chars / args.eager_chars

    for read in readers.values():
        read(ids)  # untimed: XLA compiles for each new prompt length
    recurrent = np.ascontiguousarray(np.asarray(model.recurrent_layers[0].cell.recurrent_kernel, np.float32).T)
    state, gates = np.zeros((recurrent.shape[1], 1), np.float32), np.empty((recurrent.shape[0], 1), np.float32)

    def products_only(x):  # the floor of one stream: the recurrent matrix-vector product, once per character
        for _ in range(x.shape[1]):
            np.matmul(recurrent, state, out=gates)

    readers["the recurrent matrix-vector products alone (the floor)"] = products_only
    times = {name: [] for name in readers}
    for _ in range(args.repeats):  # interleaved: a change in the machine's speed touches every reader alike
        for name, read in readers.items():
            started = time.perf_counter()
            read(ids)
            times[name].append(time.perf_counter() - started)

    rows = [{"method": f"eager model.step (timed once on {args.eager_chars} chars, scaled)", "prompt chars": args.chars,
             "median s": eager_s, "min s": None, "max s": None, "ms/char": 1000 * eager_s / args.chars,
             "x eager": 1.0, "100k chars under 5 s": eager_s * 100_000 / args.chars < TARGET_S}]
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rows.append({"method": name, "prompt chars": args.chars, "median s": median, "min s": min(seconds),
                     "max s": max(seconds), "ms/char": 1000 * median / args.chars, "x eager": eager_s / median,
                     "100k chars under 5 s": median * 100_000 / args.chars < TARGET_S})
    report.table(f"Reading a prompt into an LSTM of {model.count_params():,} parameters, one stream", rows)

    if args.record:
        report.save()


if __name__ == "__main__":
    main()
