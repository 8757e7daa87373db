"""Where the time of a training step goes, training throughput, and cuDNN eligibility.

Measurements, not advice: every function here times the model and machine it is given.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np


def _best_of(function, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``function`` (after one warm-up call), in seconds."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def step_profile(model: keras.Model, dataset, repeats: int = 5) -> dict[str, float]:
    """Milliseconds per batch for each stage of a training step of a compiled ``model``.

    The stages are cumulative: reading a batch from ``dataset``; the forward pass; forward and
    backward (gradients); the whole Keras training step (forward, backward, clipping, optimiser
    update), measured through ``model.fit`` on a few batches. Each is the best of ``repeats``.
    """
    import tensorflow as tf

    iterator = iter(dataset.repeat())
    x, y = next(iterator)
    loss_fn = model.loss

    @tf.function
    def forward(x, y):
        return loss_fn(y, model(x, training=True))

    @tf.function
    def forward_backward(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables))  # needs every gradient

    batches = 4
    small = dataset.take(batches).cache()
    list(small)  # fill the cache: the fit timing below then excludes the input pipeline
    fit_s = _best_of(lambda: model.fit(small, epochs=1, verbose=0, shuffle=False), repeats) / batches
    return {"read a batch": 1000 * _best_of(lambda: next(iterator), repeats),
            "forward": 1000 * _best_of(lambda: forward(x, y).numpy(), repeats),
            "forward + backward": 1000 * _best_of(lambda: forward_backward(x, y).numpy(), repeats),
            "whole training step": 1000 * fit_s}


def training_throughput(model: keras.Model, dataset, steps: int = 10) -> float:
    """Training characters per second of a compiled ``model`` over ``steps`` batches of ``dataset``.

    ``dataset`` yields ``(ids, targets)`` batches of shape ``(batch, seq_len)``. One untimed call
    first traces and compiles the step (with XLA if the model was compiled with ``jit_compile``).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    x, _ = next(iter(dataset))
    batch_chars = int(np.prod(x.shape))
    data = dataset.repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # trace and compile
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * batch_chars / (time.perf_counter() - started)


def cudnn_blockers(layer: keras.layers.Layer) -> list[str]:
    """Why a Keras ``LSTM`` or ``GRU`` layer could not use the fused cuDNN kernel on a GPU ([] if it could).

    Keras 3 uses cuDNN when a GPU is present and the layer keeps the kernel's fixed equations:
    tanh and sigmoid activations, biases, no recurrent dropout, no unrolling, ``reset_after=True``
    for a GRU, and ``use_cudnn`` not False. (Input ``dropout`` is allowed: Keras applies it as a
    mask before the kernel. Masked inputs must be right-padded, which is a property of the data.)
    """
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        raise ValueError(f"layer must be a keras.layers.LSTM or GRU, got {type(layer).__name__}")
    cell = layer.cell
    blockers = []
    if cell.activation is not keras.activations.tanh:
        blockers.append(f"activation={getattr(cell.activation, '__name__', cell.activation)} (needs tanh)")
    if cell.recurrent_activation is not keras.activations.sigmoid:
        blockers.append(f"recurrent_activation={getattr(cell.recurrent_activation, '__name__', cell.recurrent_activation)}"
                        " (needs sigmoid)")
    if not cell.use_bias:
        blockers.append("use_bias=False (needs True)")
    if cell.recurrent_dropout:
        blockers.append(f"recurrent_dropout={cell.recurrent_dropout} (needs 0)")
    if layer.unroll:
        blockers.append("unroll=True (needs False)")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        blockers.append("reset_after=False (needs True)")
    if layer.use_cudnn is False:
        blockers.append("use_cudnn=False")
    return blockers


# CPU instruction-set flags that decide what 16-bit arithmetic costs on a CPU (Linux names, /proc/cpuinfo).
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
FLOAT16_FLAGS = ("avx512_fp16", "amx_fp16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str] | None:
    """The instruction-set flags the processor reports (Linux), or None where they cannot be read.

    A notebook states "this processor has bfloat16 instructions" only from this, never from a timing.
    """
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):  # x86 / ARM
            return set(line.split(":", 1)[1].split())
    return None

