"""Long-range dependencies: tasks with known answers and probes of gradient flow through time."""

from __future__ import annotations

import numpy as np

from utils.checks import check_int as _check_positive


def adding_problem(num_sequences: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; this variant as in Le et al. 2015).

    Each step carries two numbers: a value drawn from U[0, 1] and a marker. Exactly two markers
    are 1, one in each half of the sequence; the target is the sum of the two marked values.
    Predicting the mean (1.0) always gives MSE = Var(U1 + U2) = 2/12 ≈ 0.167, the bar a model
    must clear to show it carries information across the sequence.

    Returns:
        inputs (num_sequences, length, 2) float32 and targets (num_sequences, 1) float32.
    """
    _check_positive(num_sequences, "num_sequences")
    _check_positive(length, "length", minimum=2)
    values = rng.uniform(0.0, 1.0, (num_sequences, length))
    markers = np.zeros((num_sequences, length))
    half = length // 2
    rows = np.arange(num_sequences)
    first, second = rng.integers(0, half, num_sequences), rng.integers(half, length, num_sequences)
    markers[rows, first] = markers[rows, second] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    targets = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return inputs, targets


ADDING_BASELINE_MSE = 2.0 / 12.0  # MSE of always predicting 1.0


def recall_task(num_sequences: int, length: int, num_symbols: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first symbol: a random symbol, then ``length - 1`` random distractors;
    the target is the first symbol. Chance accuracy is 1 / num_symbols.

    Returns:
        inputs (num_sequences, length) int32 symbol ids and targets (num_sequences,) int32.
    """
    _check_positive(num_sequences, "num_sequences")
    _check_positive(length, "length", minimum=2)
    _check_positive(num_symbols, "num_symbols", minimum=2)
    inputs = rng.integers(0, num_symbols, (num_sequences, length)).astype(np.int32)
    return inputs, inputs[:, 0].copy()


def jacobian_product_norms(recurrent_kernel: np.ndarray, length: int, rng: np.random.Generator,
                           input_scale: float = 1.0) -> np.ndarray:
    """Spectral norms of ``∂h_T/∂h_t`` for a tanh RNN driven by random inputs, for every gap T - t.

    The Jacobian is the product over the gap of ``diag(1 - h_k^2) W_hh`` (in Keras's row
    layout, ``recurrent_kernel @ diag(1 - h_k^2)``, multiplied right to left).

    Returns:
        norms[g] = ||∂h_T / ∂h_{T-g}||_2 for g = 0..length-1 (norms[0] = 1).
    """
    units = recurrent_kernel.shape[0]
    if recurrent_kernel.shape != (units, units):
        raise ValueError(f"recurrent_kernel must be square, got shape {recurrent_kernel.shape}")
    _check_positive(length, "length")
    h = np.zeros(units)
    states = []
    for _ in range(length):
        h = np.tanh(rng.normal(0.0, input_scale, units) + h @ recurrent_kernel)
        states.append(h)
    norms = [1.0]
    jacobian = np.eye(units)  # ∂h_T/∂h_T
    for k in range(length - 1, 0, -1):  # extend the product one step further into the past
        jacobian = (recurrent_kernel * (1.0 - states[k] ** 2)[None, :]) @ jacobian
        norms.append(float(np.linalg.norm(jacobian, 2)))
    return np.array(norms)


def hidden_state_gradient_norms(layer, inputs, direction=None) -> np.ndarray:
    """``||∂L/∂h_t||`` for every step t of a Keras recurrent layer, with ``L = <h_T, direction>``.

    Runs the layer's cell one step at a time under a ``tf.GradientTape`` so that every hidden
    state is a tensor the tape can differentiate with respect to; the result is the total
    derivative, through every later step (and, for an LSTM, through the cell state too).

    Args:
        layer: a built ``keras.layers.SimpleRNN``, ``LSTM`` or ``GRU``.
        inputs: (batch, time, features) float array.
        direction: (units,) vector defining L; defaults to all ones.

    Returns:
        (time,) mean over the batch of the gradient norm at each step. The norms are taken in
        float64, so a 0 is a gradient whose every component is 0 in the layer's own dtype.
    """
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs, dtype=layer.compute_dtype)
    if len(inputs.shape) != 3:
        raise ValueError(f"inputs must be (batch, time, features), got shape {tuple(inputs.shape)}")
    batch, steps = inputs.shape[0], inputs.shape[1]
    units = layer.cell.units
    direction = tf.ones((units,), layer.compute_dtype) if direction is None else tf.cast(direction, layer.compute_dtype)
    is_lstm = isinstance(layer.cell.state_size, (list, tuple)) and len(layer.cell.state_size) == 2
    states = [tf.zeros((batch, units), layer.compute_dtype)] * (2 if is_lstm else 1)
    hidden = []
    with tf.GradientTape() as tape:
        for t in range(steps):
            output, states = layer.cell(inputs[:, t], states if is_lstm else states[0])
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            hidden.append(output)
        loss = tf.reduce_sum(hidden[-1] * direction)
    grads = tape.gradient(loss, hidden)
    # The norm in float64: squaring a float32 gradient below ~1e-19 (the square root of float32's
    # smallest normal number) would underflow to 0 and report a tiny gradient as none at all.
    return np.array([float(np.mean(np.linalg.norm(g.numpy().astype(np.float64), axis=-1))) for g in grads])


RECURRENT_KINDS = ("SimpleRNN", "IRNN", "LSTM", "GRU")
TASKS = ("adding", "recall")


def recurrent_layer(kind: str, units: int, *, unit_forget_bias: bool = True, name: str = "recurrent"):
    """One Keras recurrent layer of the given kind, with each kind's standard initialisation.

    ``"IRNN"`` is the ReLU RNN with identity recurrent weights and small input weights of
    Le, Jaitly & Hinton (2015); the others are Keras's layers with their defaults
    (orthogonal recurrent weights; for the LSTM, ``unit_forget_bias``).
    """
    import keras

    if kind not in RECURRENT_KINDS:
        raise ValueError(f"kind must be one of {RECURRENT_KINDS}, got {kind!r}")
    _check_positive(units, "units")
    if kind == "SimpleRNN":
        return keras.layers.SimpleRNN(units, name=name)
    if kind == "IRNN":
        return keras.layers.SimpleRNN(units, activation="relu", name=name,
                                      recurrent_initializer=keras.initializers.Identity(),
                                      kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))
    if kind == "LSTM":
        return keras.layers.LSTM(units, unit_forget_bias=unit_forget_bias, name=name)
    return keras.layers.GRU(units, name=name)


def build_task_model(task: str, kind: str, units: int, learning_rate: float, *, num_symbols: int = 8,
                     unit_forget_bias: bool = True, global_clipnorm: float | None = 1.0):
    """A compiled model for a long-range task: one recurrent layer and a linear read-out of its last state.

    ``"adding"``: (batch, time, 2) -> (batch, 1), mean squared error.
    ``"recall"``: (batch, time) symbol ids, one-hot encoded by a frozen identity embedding,
    -> (batch, num_symbols) logits, cross-entropy and accuracy.
    """
    import keras

    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=global_clipnorm)
    layer = recurrent_layer(kind, units, unit_forget_bias=unit_forget_bias)
    if task == "adding":
        inputs = keras.Input((None, 2))
        model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)), name=f"{kind}_adding")
        model.compile(optimizer=optimizer, loss="mse")
        return model
    _check_positive(num_symbols, "num_symbols", minimum=2)
    inputs = keras.Input((None,), dtype="int32")
    one_hot = keras.layers.Embedding(num_symbols, num_symbols, embeddings_initializer="identity",
                                     trainable=False)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(num_symbols)(layer(one_hot)), name=f"{kind}_recall")
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train_with_checks(model, train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray], *,
                      steps: int, eval_every: int, batch_size: int, seed: int, is_solved,
                      progress_label: str | None = None) -> dict:
    """Train for ``steps`` batches, evaluating on ``validation`` every ``eval_every`` steps.

    Args:
        is_solved: maps the list of validation scores (loss first, then metrics) to a bool.
        progress_label: if given, a progress line with this label counts the steps done (``utils.progress``).

    Returns:
        ``curve`` (the last validation score at each check: accuracy for a model with a metric,
        else the loss), ``final``, ``solved`` (at the end), ``steps_to_solve`` (first check at
        which it was solved, or None) and ``finite`` (every recorded loss finite).
    """
    import tensorflow as tf

    from utils import progress  # imports Keras: only when training

    _check_positive(eval_every, "eval_every")
    _check_positive(batch_size, "batch_size")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < eval_every:
        raise ValueError(f"steps must be an int >= eval_every ({eval_every}), got {steps!r}")
    inputs, targets = train
    dataset = (tf.data.Dataset.from_tensor_slices((inputs, targets))
               .shuffle(len(inputs), seed=seed).repeat().batch(batch_size))
    checks = steps // eval_every
    shown = None if progress_label is None else progress.Progress(checks * eval_every, progress_label, "steps")
    curve, losses, steps_to_solve, scores = [], [], None, []
    for check in range(1, checks + 1):
        model.fit(dataset, steps_per_epoch=eval_every, epochs=1, verbose=0, shuffle=False)  # shuffled above
        scores = [float(s) for s in np.atleast_1d(model.evaluate(*validation, verbose=0))]
        losses.append(scores[0])
        curve.append(scores[-1])
        if steps_to_solve is None and is_solved(scores):
            steps_to_solve = check * eval_every
        if shown is not None:
            shown.update(check * eval_every, force=check == checks)
    return {"curve": curve, "final": curve[-1], "solved": bool(is_solved(scores)),
            "steps_to_solve": steps_to_solve, "finite": bool(np.all(np.isfinite(losses)))}
