"""Reading a long prompt into a recurrent model's state: the fused recurrence, in NumPy.

Before a recurrent model continues a prompt it must read it: only the final state and the last
position's logits matter. The recurrence is sequential, so with one stream every character waits for
the one before, and each step reads the whole recurrent matrix again (512 x 2048 float32 = 4 MiB for
notebook 02's LSTM). Compiled TensorFlow (``generation.compiled_prompt_reader``) runs that loop as
many small operations per step, whose fixed costs add up to more than the arithmetic. This module
runs the same loop with as few calls per step as each cell allows, close to the cost of the
matrix-vector product alone:

- the first layer's input projection depends only on the character, so it is computed once per
  vocabulary entry (``embedding @ kernel + bias``) and each character's row is looked up; a deeper
  layer's projections of a chunk of characters are one matrix product;
- each step is one product with the recurrent matrix plus a few in-place vector operations;
- for the LSTM and GRU, ``sigmoid(x) = (1 + tanh(x / 2)) / 2`` with the halving folded into the
  weights, so one ``tanh`` covers every gate of a step;
- states are columns ``(units, batch)``, so the recurrent product reads its matrix row by row.

For a float32 model the result equals the Keras model's own reading within float32 rounding
(tests/test_priming.py); under a mixed-precision policy the model computes in float16 and this in
float32, so they differ by float16 rounding. ``benchmarks/prompt_priming.py`` measures it against the
compiled and the eager readers.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

CHUNK = 2048  # at most this many characters projected at once
CHUNK_FLOATS = 2**23  # and at most this many projected floats (32 MiB): fewer characters per chunk for many streams


def _halve_rows(matrix: np.ndarray, rows: slice) -> np.ndarray:
    matrix = matrix.copy()
    matrix[rows] *= 0.5
    return matrix


def _cell_weights(layer, cell: str) -> dict:
    """A Keras recurrent layer's weights, transposed to (gates, inputs), gates reordered and pre-scaled.

    LSTM: Keras's gate order i, f, c, o (c: the candidate) becomes o, i, f, c: the three sigmoid gates
    are contiguous (their rows are halved), and i, f sit next to the candidate (see ``_lstm_steps``).
    GRU (``reset_after=True``): z, r, h; z and r rows halved; the recurrent bias stays separate because
    r multiplies it. SimpleRNN: as is.
    """
    kernel = np.ascontiguousarray(np.asarray(layer.cell.kernel, np.float32).T)  # (gates * units, inputs)
    recurrent = np.ascontiguousarray(np.asarray(layer.cell.recurrent_kernel, np.float32).T)  # (gates * units, units)
    bias = np.asarray(layer.cell.bias, np.float32)
    units = recurrent.shape[1]
    if cell == "lstm":
        order = np.r_[3 * units:4 * units, 0:2 * units, 2 * units:3 * units]  # o, i, f, c
        halved = slice(0, 3 * units)
        return {"kernel": _halve_rows(kernel[order], halved), "recurrent": _halve_rows(recurrent[order], halved),
                "bias": _halve_rows(bias[order], halved)}
    if cell == "gru":
        if not layer.cell.reset_after:
            raise ValueError(f"layer {layer.name!r}: reset_after must be True (the Keras default) to be read "
                             "here, got False")
        halved = slice(0, 2 * units)
        return {"kernel": _halve_rows(kernel, halved), "recurrent": _halve_rows(recurrent, halved),
                "bias": _halve_rows(bias[0], halved), "recurrent_bias": _halve_rows(bias[1], halved)}
    return {"kernel": kernel, "recurrent": recurrent, "bias": bias}


def _lstm_steps(projected: np.ndarray, weights: dict, h: np.ndarray, c: np.ndarray, outputs: np.ndarray | None) -> None:
    """Run an LSTM over ``projected`` (time, 4 * units, batch), updating ``h`` and ``c`` (units, batch) in place.

    One buffer holds the gates o, i, f, the candidate g and then the cell state c, so that a single
    product ``[i, f] * [g, c]`` gives both terms of ``c = f * c + i * g``: nine calls per step (ten
    when the layer's outputs are kept for the layer above).
    """
    units = h.shape[0]
    recurrent = weights["recurrent"]
    buffer = np.empty((5 * units, h.shape[1]), np.float32)
    gates, sigmoids, cell = buffer[:4 * units], buffer[:3 * units], buffer[4 * units:]
    output_gate, input_forget, candidate_cell = buffer[:units], buffer[units:3 * units], buffer[3 * units:]
    cell[...] = c
    terms = np.empty((2 * units, h.shape[1]), np.float32)
    scratch = np.empty_like(h)
    for t, x in enumerate(projected):
        np.matmul(recurrent, h, out=gates)
        gates += x
        np.tanh(gates, out=gates)  # tanh(x / 2) for o, i, f (rows halved); tanh(x) for the candidate
        sigmoids *= 0.5
        sigmoids += 0.5
        np.multiply(input_forget, candidate_cell, out=terms)  # [i * g, f * c]
        np.add(terms[:units], terms[units:], out=cell)
        np.tanh(cell, out=scratch)
        np.multiply(output_gate, scratch, out=h)
        if outputs is not None:
            outputs[t] = h
    c[...] = cell


def _gru_steps(projected: np.ndarray, weights: dict, h: np.ndarray, outputs: np.ndarray | None) -> None:
    """Run a GRU (``reset_after=True``) over ``projected`` (time, 3 * units, batch), updating ``h`` in place."""
    units = h.shape[0]
    recurrent, recurrent_bias = weights["recurrent"], weights["recurrent_bias"][:, None]  # added to every column
    hidden = np.empty_like(projected[0])
    gates, update_gate, reset_gate, candidate = hidden[:2 * units], hidden[:units], hidden[units:2 * units], hidden[2 * units:]
    scratch = np.empty_like(h)
    for t, x in enumerate(projected):
        np.matmul(recurrent, h, out=hidden)
        hidden += recurrent_bias
        gates += x[:2 * units]
        np.tanh(gates, out=gates)  # z and r rows halved: sigmoid = (1 + tanh(x / 2)) / 2
        gates *= 0.5
        gates += 0.5
        candidate *= reset_gate  # reset_after: r multiplies the recurrent part, bias included
        candidate += x[2 * units:]
        np.tanh(candidate, out=candidate)
        np.subtract(h, candidate, out=scratch)  # h = z * h + (1 - z) * candidate = candidate + z * (h - candidate)
        scratch *= update_gate
        np.add(candidate, scratch, out=h)
        if outputs is not None:
            outputs[t] = h


def _simple_rnn_steps(projected: np.ndarray, weights: dict, h: np.ndarray, outputs: np.ndarray | None) -> None:
    """Run a tanh RNN over ``projected`` (time, units, batch), updating ``h`` in place."""
    recurrent = weights["recurrent"]
    scratch = np.empty_like(h)
    for t, x in enumerate(projected):
        np.matmul(recurrent, h, out=scratch)
        scratch += x
        np.tanh(scratch, out=h)
        if outputs is not None:
            outputs[t] = h


def _project(weights: dict, x: np.ndarray) -> np.ndarray:
    """A deeper layer's input projections ``kernel @ x + bias`` for a chunk: x (chunk, inputs, batch) -> (chunk, gates, batch).

    One matrix product over every character and stream of the chunk (rows ``(chunk * batch, inputs)``), not
    one small product per character.
    """
    time_steps, inputs, batch = x.shape
    rows = x.transpose(0, 2, 1).reshape(time_steps * batch, inputs) @ weights["kernel"].T
    rows += weights["bias"]
    return np.ascontiguousarray(rows.reshape(time_steps, batch, -1).transpose(0, 2, 1))


def read_prompts(model, ids) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Read prompts of equal length into a ``CharLanguageModel``'s state, as ``model(ids, return_state=True)`` would.

    Args:
        model: a ``models.CharLanguageModel`` (LSTM, GRU or SimpleRNN layers, any number).
        ids: (batch, time) int ids, ``time >= 1``.

    Returns:
        (logits (batch, vocab) float32 after the last character, states: one list per layer of
        (batch, units) arrays in the layers' compute dtype, in the model's order: ``[h, c]`` for an
        LSTM, ``[h]`` otherwise).

    Raises:
        ValueError: a model that is not a recurrent ``CharLanguageModel``, or ids of the wrong shape,
            dtype or range.
    """
    if not hasattr(model, "recurrent_layers") or not hasattr(model, "config"):
        raise ValueError(f"model must be a recurrent CharLanguageModel, got {type(model).__name__}")
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a (batch, time) integer array with time >= 1, got shape {ids.shape} "
                         f"and dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= model.vocabulary.size):
        raise ValueError(f"ids must be in [0, {model.vocabulary.size}) (the model's vocabulary), "
                         f"got values from {ids.min()} to {ids.max()}")
    cell = model.config.cell
    batch, units = ids.shape[0], model.config.units
    table = np.asarray(model.embedding.embeddings, np.float32)
    layers = [_cell_weights(layer, cell) for layer in model.recurrent_layers]
    hs = [np.zeros((units, batch), np.float32) for _ in layers]  # states as columns: (units, batch)
    cs = [np.zeros((units, batch), np.float32) for _ in layers]
    chunk = int(np.clip(CHUNK_FLOATS // (batch * layers[0]["recurrent"].shape[0]), 1, CHUNK))
    # Each character's first-layer projection, computed once per vocabulary entry: (vocab, gates)
    first_projections = table @ layers[0]["kernel"].T + layers[0]["bias"]
    for start in range(0, ids.shape[1], chunk):
        x = None  # a deeper layer's inputs: the outputs of the layer below
        for depth, (weights, h, c) in enumerate(zip(layers, hs, cs, strict=True)):
            if depth == 0:  # look the characters' projections up: (chunk, gates, batch)
                projected = np.ascontiguousarray(first_projections[ids[:, start:start + chunk]].transpose(1, 2, 0))
            else:
                projected = _project(weights, x)
            # The last layer's outputs are not kept: the head reads only its final state
            outputs = None if depth == len(layers) - 1 else np.empty((projected.shape[0], units, batch), np.float32)
            if cell == "lstm":
                _lstm_steps(projected, weights, h, c, outputs)
            elif cell == "gru":
                _gru_steps(projected, weights, h, outputs)
            else:
                _simple_rnn_steps(projected, weights, h, outputs)
            x = outputs  # the next layer's inputs (chunk, units, batch); dropout is off when reading
    logits = hs[-1].T @ np.asarray(model.head.kernel, np.float32) + np.asarray(model.head.bias, np.float32)
    dtype = tf.as_dtype(model.recurrent_layers[0].compute_dtype).as_numpy_dtype  # what model.step expects
    states = [[h.T.astype(dtype), c.T.astype(dtype)] if cell == "lstm" else [h.T.astype(dtype)]
              for h, c in zip(hs, cs, strict=True)]
    return logits, states


def read_many(model, encoded: list[np.ndarray]) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Read prompts of any lengths: each distinct prompt once, prompts of one length together.

    Args:
        model: as for ``read_prompts``.
        encoded: a non-empty list of 1-D id arrays (repeats allowed: ``generate(num_streams=N)`` passes
            one prompt N times, and it is read once).

    Returns:
        (logits (len(encoded), vocab), states) as ``read_prompts``, one row per prompt, in order.
    """
    rows = np.empty(len(encoded), np.int64)  # row of each prompt in the concatenated results
    logits, states, done = [], [], 0
    for size in sorted({len(ids) for ids in encoded}):
        members = [i for i, ids in enumerate(encoded) if len(ids) == size]
        distinct, which = np.unique(np.stack([encoded[i] for i in members]), axis=0, return_inverse=True)
        group_logits, group_states = read_prompts(model, distinct)
        rows[members] = done + which.reshape(-1)
        logits.append(group_logits)
        states.append(group_states)
        done += len(distinct)
    return (np.concatenate(logits)[rows],
            [[np.concatenate(parts)[rows] for parts in zip(*layer_parts, strict=True)]
             for layer_parts in zip(*states, strict=True)])
