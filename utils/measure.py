"""Peak memory of one forward + backward pass of a sequence layer, measured in a fresh process.

Inside a long-running kernel the allocator keeps memory it has freed, so "memory now minus
memory before" says little. A child process that builds the layer, runs a tiny pass (so every
code path is loaded), records its peak resident memory, then runs the real pass, measures the
extra memory that pass needed: the activations kept for the backward pass, and for attention
its T × T weight matrices.

Command line (what the function runs): ``python -m utils.measure LAYER LENGTH BATCH DIM HEADS``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from utils.checks import check_int

LAYERS = ("lstm", "attention")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":")) / 2**10


def _reset_peak() -> float:
    """Reset the peak-memory counter where Linux allows it; return the memory in use now (MB).

    Without the reset, the peak would be the process's lifetime peak, which importing
    TensorFlow alone can set higher than a small pass ever reaches.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # Linux: reset VmHWM to the current resident size
        return _status_mb("VmRSS")
    except OSError:  # not Linux: fall back to the lifetime peak
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    try:
        return _status_mb("VmHWM")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def forward_backward_peak_mb(layer: str, length: int, batch: int = 8, dim: int = 128, heads: int = 4) -> float:
    """Extra peak memory (MB) of one forward + backward pass, measured in a child process.

    Args:
        layer: ``"lstm"`` (an LSTM of ``dim`` units) or ``"attention"`` (causal multi-head
            self-attention with ``heads`` heads of ``dim // heads``).
        length, batch, dim, heads: the input is ``(batch, length, dim)``.
    """
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")
    for name, value in (("length", length), ("batch", batch), ("dim", dim), ("heads", heads)):
        check_int(value, name)
    if dim % heads:
        raise ValueError(f"dim={dim} must be divisible by heads={heads}")
    result = subprocess.run([sys.executable, "-m", "utils.measure", layer, str(length), str(batch), str(dim), str(heads)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {layer} at length {length} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]


def _measure(layer: str, length: int, batch: int, dim: int, heads: int) -> float:
    from utils.env import import_tensorflow_quietly

    tf = import_tensorflow_quietly()
    import keras

    keras.utils.set_random_seed(0)
    if layer == "lstm":
        module = keras.layers.LSTM(dim, return_sequences=True)
        apply = module
    else:
        module = keras.layers.MultiHeadAttention(heads, dim // heads)
        def apply(x):
            return module(x, x, use_causal_mask=True)

    def forward_backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(apply(x))
        return [g.numpy() for g in tape.gradient(loss, [x, *module.trainable_variables])]

    forward_backward(tf.random.normal((batch, 4, dim)))  # build and load every code path
    inputs = tf.random.normal((batch, length, dim))
    baseline = _reset_peak()
    forward_backward(inputs)
    return max(0.0, _peak_rss_mb() - baseline)


if __name__ == "__main__":
    layer_name, *numbers = sys.argv[1:]
    print(json.dumps({"peak_mb": _measure(layer_name, *map(int, numbers))}))
