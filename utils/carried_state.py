"""Truncated BPTT with the state carried across windows, as char-rnn trains: contiguous streams.

``data.window_dataset`` cuts shuffled windows, and the model reads each one from a zero state:
it never sees more than ``seq_len`` characters of context. Here the corpus is cut into
``batch_size`` contiguous streams, one per batch row; batch k holds the k-th window of every
stream, so the state at the end of one batch is exactly the right initial state for the next.
Gradients still stop at the window boundary (that is the *truncation*), but the forward pass
carries the context across it.

- ``stream_dataset``: the batches, in stream order (never shuffled: the order is the point).
- ``CarriedStateModel``: wraps a ``CharLanguageModel`` for ``fit``; keeps each row's state in
  non-trainable variables between batches.
- ``ResetCarriedState``: zero state at each epoch; validation runs from its own zero state on its
  own streams and leaves the training streams' state as it was.
- ``carried_state_loss``: nats/char of a model reading each stream from start to end in windows,
  state carried (what "one long stream" evaluation means), against the reset-window loss of ``evaluate``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from utils.checks import check_int


def stream_layout(num_ids: int, seq_len: int, batch_size: int) -> tuple[int, int]:
    """(characters per stream, windows per stream) for ``num_ids`` ids cut into ``batch_size`` streams.

    Raises:
        ValueError: a non-positive argument, or a text too short for one window per stream.
    """
    check_int(seq_len, "seq_len")
    check_int(batch_size, "batch_size")
    stream_chars = num_ids // batch_size
    windows = (stream_chars - 1) // seq_len  # each window needs seq_len inputs and one more target
    if windows < 1:
        raise ValueError(f"{num_ids} ids cut into batch_size={batch_size} streams leave {stream_chars} characters per "
                         f"stream, fewer than seq_len + 1 = {seq_len + 1}; use a smaller batch_size or seq_len")
    return stream_chars, windows


def stream_dataset(ids: np.ndarray, seq_len: int, batch_size: int):
    """Batches ``(x, y)`` of shape (batch_size, seq_len): row b of batch k is window k of stream b.

    Stream b is ``ids[b * L : (b + 1) * L]`` with ``L = len(ids) // batch_size``; ``y`` is ``x``
    shifted by one character. The last ``len(ids) % batch_size`` ids and each stream's tail shorter
    than a window are left out.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape} dtype {ids.dtype}")
    stream_chars, windows = stream_layout(len(ids), seq_len, batch_size)
    streams = ids[:stream_chars * batch_size].reshape(batch_size, stream_chars).astype(np.int32)
    inputs = np.stack([streams[:, k * seq_len:(k + 1) * seq_len] for k in range(windows)])
    targets = np.stack([streams[:, k * seq_len + 1:(k + 1) * seq_len + 1] for k in range(windows)])
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).prefetch(tf.data.AUTOTUNE)


class CarriedStateModel(keras.Model):
    """A ``CharLanguageModel`` whose state is carried from one batch to the next (see the module docstring).

    Train it with ``fit`` on ``stream_dataset`` batches of exactly ``batch_size`` rows and a
    ``ResetCarriedState`` callback; generate with ``language_model`` (the wrapped model), which shares its weights.
    """

    def __init__(self, model, batch_size: int, **kwargs):
        super().__init__(**kwargs)
        check_int(batch_size, "batch_size")
        self.language_model = model
        self.batch_size = batch_size
        self.carried = [[self.add_weight(shape=(batch_size, model.config.units), initializer="zeros", trainable=False,
                                         name=f"carried_{layer}_{i}") for i in range(count)]
                        for layer, count in enumerate(model.state_sizes)]

    def call(self, ids, training: bool = False):
        """ids (batch_size, time) -> logits; the state after the last character is kept for the next call."""
        rows = ids.shape[0]
        if rows is not None and rows != self.batch_size:
            raise ValueError(f"ids has {rows} rows; this CarriedStateModel carries the state of batch_size="
                             f"{self.batch_size} streams: build every dataset with stream_dataset(..., batch_size="
                             f"{self.batch_size})")
        states = [[keras.ops.convert_to_tensor(v) for v in layer] for layer in self.carried]
        logits, new_states = self.language_model(ids, states=states, return_state=True, training=training)
        for layer, layer_states in zip(self.carried, new_states, strict=True):
            for variable, state in zip(layer, layer_states, strict=True):
                variable.assign(keras.ops.stop_gradient(state))  # the next batch starts here; gradients do not
        return logits

    def reset_carried_state(self) -> None:
        """Zero state for every stream."""
        for variable in (v for layer in self.carried for v in layer):
            variable.assign(keras.ops.zeros_like(variable))

    def carried_state(self) -> list[np.ndarray]:
        """The current state of every stream, as arrays."""
        return [keras.ops.convert_to_numpy(v) for layer in self.carried for v in layer]

    def set_carried_state(self, arrays: list[np.ndarray]) -> None:
        for variable, value in zip((v for layer in self.carried for v in layer), arrays, strict=True):
            variable.assign(value)


class ResetCarriedState(keras.callbacks.Callback):
    """Zero state at the start of every epoch and of every validation; validation leaves training's state alone."""

    def __init__(self):
        super().__init__()
        self._training_state = None

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_carried_state()

    def on_test_begin(self, logs=None):
        self._training_state = self.model.carried_state()
        self.model.reset_carried_state()

    def on_test_end(self, logs=None):
        if self._training_state is not None:
            self.model.set_carried_state(self._training_state)
            self._training_state = None


def carried_state_loss(model, ids: np.ndarray, seq_len: int, batch_size: int) -> float:
    """Mean nats/char of ``model`` over ``batch_size`` streams of ``ids``, read window by window from a zero
    state with the state carried: each character is predicted from everything before it in its stream.

    Equals the loss of reading each whole stream in one call (tests/test_carried_state.py), in bounded memory.
    """
    dataset = stream_dataset(ids, seq_len, batch_size)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")

    @tf.function(reduce_retracing=True)
    def window_loss(x, y, states):
        logits, states = model(x, states=states, return_state=True)
        return loss(y, logits), states

    states = model.zero_states(batch_size)
    total, count = 0.0, 0
    for x, y in dataset:
        window_sum, states = window_loss(x, y, states)
        total += float(window_sum)
        count += int(np.prod(y.shape))
    return total / count
