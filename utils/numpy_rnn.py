"""Recurrent cells written out in NumPy: the reference the notebooks check Keras against.

Weights use Keras's layout so they can be copied in both directions:
inputs are row vectors, ``x_t @ kernel + h_{t-1} @ recurrent_kernel + bias``, i.e. the
transposes of the textbook ``W_xh x_t + W_hh h_{t-1} + b_h``. Sequences are
``(batch, time, features)``, as in Keras.

- vanilla RNN: forward, full backpropagation through time (BPTT), a character-level
  language-model loss and its gradients;
- LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000):
  forward and BPTT; Keras gate order i, f, c (candidate), o;
- GRU (Cho et al. 2014) as Keras computes it with ``reset_after=True``: forward; gate order z, r, h;
- finite-difference gradient checking and a small Adam optimiser for training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]


# --------------------------------------------------------------------------- helpers


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, computed without overflow for large |x|."""
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def check_shape(array: np.ndarray, expected: tuple, name: str) -> None:
    """Raise ValueError naming ``name`` unless ``array.shape`` matches ``expected`` (None = any)."""
    shape = np.shape(array)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected, strict=False)):
        pretty = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {pretty}, got {tuple(shape)}")


def _check_sequence(x: np.ndarray, input_dim: int) -> tuple[int, int]:
    check_shape(x, (None, None, input_dim), "x (batch, time, input_dim)")
    if x.shape[1] == 0:
        raise ValueError("x must have at least one time step")
    return x.shape[0], x.shape[1]


def _initial_state(h0: np.ndarray | None, batch: int, units: int, name: str = "h0") -> np.ndarray:
    if h0 is None:
        return np.zeros((batch, units))
    check_shape(h0, (batch, units), f"{name} (batch, units)")
    return h0


def parameter_count(cell: str, input_dim: int, units: int) -> int:
    """Weights in one Keras recurrent layer: SimpleRNN H(D+H+1), LSTM 4H(D+H+1), GRU 3H(D+H+2).

    The GRU has two bias vectors because Keras's default ``reset_after=True`` keeps the
    recurrent bias separate (it sits inside the reset gate's product).
    """
    gates = {"rnn": 1, "lstm": 4, "gru": 3}
    if cell not in gates:
        raise ValueError(f"cell must be one of {sorted(gates)}, got {cell!r}")
    biases = 2 if cell == "gru" else 1
    return gates[cell] * units * (input_dim + units + biases)


# --------------------------------------------------------------------------- vanilla RNN


def init_rnn_params(input_dim: int, units: int, output_dim: int, rng: np.random.Generator,
                    scale: float = 0.01) -> Params:
    """Small random weights for a vanilla RNN with a linear read-out, in float64.

    Returns:
        ``kernel`` (D, H), ``recurrent_kernel`` (H, H), ``bias`` (H,), ``W_hy`` (H, V), ``b_y`` (V,).
    """
    for value, name in ((input_dim, "input_dim"), (units, "units"), (output_dim, "output_dim")):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    return {
        "kernel": rng.normal(0.0, scale, (input_dim, units)),
        "recurrent_kernel": rng.normal(0.0, scale, (units, units)),
        "bias": np.zeros(units),
        "W_hy": rng.normal(0.0, scale, (units, output_dim)),
        "b_y": np.zeros(output_dim),
    }


def rnn_forward(x: np.ndarray, params: Params, h0: np.ndarray | None = None) -> np.ndarray:
    """Vanilla RNN hidden states ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``.

    Args:
        x: inputs, (batch, time, input_dim).
        params: ``kernel``, ``recurrent_kernel``, ``bias``.
        h0: initial state (batch, units); zeros if None.

    Returns:
        All hidden states, (batch, time, units).
    """
    kernel, recurrent, bias = params["kernel"], params["recurrent_kernel"], params["bias"]
    batch, steps = _check_sequence(x, kernel.shape[0])
    h = _initial_state(h0, batch, kernel.shape[1])
    states = np.empty((batch, steps, kernel.shape[1]), dtype=np.result_type(x, kernel))
    for t in range(steps):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        states[:, t] = h
    return states


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy in nats and its gradient with respect to the logits.

    Args:
        logits: (..., V).
        targets: integer class ids of shape logits.shape[:-1].
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)  # stable: exp never overflows
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    flat_lp = log_probs.reshape(-1, logits.shape[-1])
    flat_t = np.asarray(targets).reshape(-1)
    loss = -flat_lp[np.arange(flat_t.size), flat_t].mean()
    grad = np.exp(flat_lp)
    grad[np.arange(flat_t.size), flat_t] -= 1.0
    return float(loss), (grad / flat_t.size).reshape(logits.shape)


def rnn_lm_loss_and_grads(params: Params, inputs: np.ndarray, targets: np.ndarray,
                          h0: np.ndarray | None = None) -> tuple[float, Params, np.ndarray]:
    """Character language model: loss (nats/char) and exact BPTT gradients for every parameter.

    Inputs are one-hot, so ``x_t @ W_xh`` is just a row of ``W_xh`` (an embedding lookup).

    Args:
        params: from ``init_rnn_params`` with input_dim == output_dim == vocabulary size.
        inputs: (batch, time) integer ids.
        targets: (batch, time) integer ids of the next characters.
        h0: initial state (batch, units); zeros if None.

    Returns:
        (loss, gradients with the same keys as ``params``, last hidden state).
    """
    vocab = params["kernel"].shape[0]
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    check_shape(inputs, (None, None), "inputs (batch, time)")
    check_shape(targets, inputs.shape, "targets (batch, time)")
    if inputs.min() < 0 or inputs.max() >= vocab or targets.min() < 0 or targets.max() >= vocab:
        raise ValueError(f"inputs and targets must be ids in [0, {vocab})")
    x = np.eye(vocab)[inputs]  # (B, T, V) one-hot; fine at this toy scale
    batch, steps = inputs.shape
    h_prev0 = _initial_state(h0, batch, params["recurrent_kernel"].shape[0])
    hs = rnn_forward(x, params, h_prev0)  # (B, T, H)
    logits = hs @ params["W_hy"] + params["b_y"]  # (B, T, V)
    loss, dlogits = softmax_cross_entropy(logits, targets)

    grads = {name: np.zeros_like(value) for name, value in params.items()}
    grads["W_hy"] = np.einsum("bth,btv->hv", hs, dlogits)
    grads["b_y"] = dlogits.sum(axis=(0, 1))
    dh_next = np.zeros_like(h_prev0)
    for t in reversed(range(steps)):  # backpropagation through time
        dh = dlogits[:, t] @ params["W_hy"].T + dh_next
        dz = dh * (1.0 - hs[:, t] ** 2)  # tanh'(z) = 1 - tanh(z)^2
        h_prev = hs[:, t - 1] if t > 0 else h_prev0
        grads["kernel"] += x[:, t].T @ dz
        grads["recurrent_kernel"] += h_prev.T @ dz
        grads["bias"] += dz.sum(axis=0)
        dh_next = dz @ params["recurrent_kernel"].T
    return loss, grads, hs[:, -1]


def truncated_bptt_grads(params: Params, inputs: np.ndarray, targets: np.ndarray,
                         truncation: int) -> tuple[float, Params]:
    """Gradients of the whole sequence's loss with BPTT truncated to chunks of ``truncation`` steps.

    The hidden state flows forward across chunk boundaries, but gradients stop at them,
    as in training with truncated BPTT. ``truncation >= time`` gives exact BPTT.
    """
    if not isinstance(truncation, (int, np.integer)) or truncation <= 0:
        raise ValueError(f"truncation must be a positive int, got {truncation!r}")
    steps = np.shape(inputs)[1]
    total = {name: np.zeros_like(value) for name, value in params.items()}
    loss_sum, h = 0.0, None
    for start in range(0, steps, truncation):
        stop = min(start + truncation, steps)
        loss, grads, h = rnn_lm_loss_and_grads(params, inputs[:, start:stop], targets[:, start:stop], h)
        weight = (stop - start) / steps  # each chunk's loss is a mean over its own steps
        loss_sum += loss * weight
        for name in total:
            total[name] += grads[name] * weight
    return loss_sum, total


# --------------------------------------------------------------------------- gradient checking


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central finite differences of the scalar ``f()`` with respect to ``array`` (changed in place, restored)."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2.0 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``: 0 for equal arrays, 1 for opposite ones."""
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def gradient_check(loss_fn: Callable[[Params], float], params: Params, analytic: Params,
                   eps: float = 1e-5) -> dict[str, float]:
    """Relative error between analytic and finite-difference gradients, per parameter.

    Args:
        loss_fn: the loss as a function of ``params`` (which are perturbed in place).
        params: float64 parameters.
        analytic: the gradients to check, same keys and shapes.

    Returns:
        parameter name -> relative error.
    """
    errors = {}
    for name, value in params.items():
        if value.dtype != np.float64:
            raise ValueError(f"params[{name!r}] must be float64 for a meaningful check, got {value.dtype}")
        numeric = numerical_gradient(lambda: loss_fn(params), value, eps)
        errors[name] = relative_error(analytic[name], numeric)
    return errors


# --------------------------------------------------------------------------- LSTM


def lstm_forward(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray,
                 h0: np.ndarray | None = None, c0: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """LSTM forward pass with Keras's weights and gate order (i, f, c, o).

    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c_t = f*c_{t-1} + i*g``, ``h_t = o*tanh(c_t)``.

    Args:
        x: (batch, time, D); kernel: (D, 4H); recurrent_kernel: (H, 4H); bias: (4H,).

    Returns:
        (all hidden states (batch, time, H), a cache for ``lstm_backward``).
    """
    units = recurrent_kernel.shape[0]
    check_shape(kernel, (None, 4 * units), "kernel (input_dim, 4*units)")
    check_shape(recurrent_kernel, (units, 4 * units), "recurrent_kernel (units, 4*units)")
    check_shape(bias, (4 * units,), "bias (4*units,)")
    batch, steps = _check_sequence(x, kernel.shape[0])
    h = _initial_state(h0, batch, units, "h0")
    c = _initial_state(c0, batch, units, "c0")
    cache = {"x": x, "h0": h, "c0": c, "gates": [], "c": [], "h": []}
    for t in range(steps):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units:2 * units])
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
        cache["gates"].append((i, f, g, o))
        cache["c"].append(c)
        cache["h"].append(h)
    return np.stack(cache["h"], axis=1), cache


def lstm_backward(dhs: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                  cache: dict) -> dict[str, np.ndarray]:
    """BPTT through ``lstm_forward``: gradients given dL/dh_t for every step.

    Args:
        dhs: (batch, time, H), the loss's gradient with respect to each output h_t.

    Returns:
        ``kernel``, ``recurrent_kernel``, ``bias``, ``x`` gradients.
    """
    x, units = cache["x"], recurrent_kernel.shape[0]
    check_shape(dhs, (x.shape[0], x.shape[1], units), "dhs (batch, time, units)")
    grads = {"kernel": np.zeros_like(kernel), "recurrent_kernel": np.zeros_like(recurrent_kernel),
             "bias": np.zeros(4 * units), "x": np.zeros_like(x)}
    dh_next = np.zeros_like(cache["h0"])
    dc_next = np.zeros_like(cache["c0"])
    for t in reversed(range(x.shape[1])):
        i, f, g, o = cache["gates"][t]
        c = cache["c"][t]
        c_prev = cache["c"][t - 1] if t > 0 else cache["c0"]
        h_prev = cache["h"][t - 1] if t > 0 else cache["h0"]
        dh = dhs[:, t] + dh_next
        tanh_c = np.tanh(c)
        dc = dc_next + dh * o * (1.0 - tanh_c ** 2)
        dz = np.concatenate([
            dc * g * i * (1.0 - i),  # input gate
            dc * c_prev * f * (1.0 - f),  # forget gate
            dc * i * (1.0 - g ** 2),  # candidate
            dh * tanh_c * o * (1.0 - o),  # output gate
        ], axis=1)
        grads["kernel"] += x[:, t].T @ dz
        grads["recurrent_kernel"] += h_prev.T @ dz
        grads["bias"] += dz.sum(axis=0)
        grads["x"][:, t] = dz @ kernel.T
        dh_next = dz @ recurrent_kernel.T
        dc_next = dc * f  # the cell state's gradient passes the forget gate unsquashed
    return grads


# --------------------------------------------------------------------------- GRU


def gru_forward(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray,
                h0: np.ndarray | None = None) -> np.ndarray:
    """GRU forward pass exactly as Keras computes it with ``reset_after=True`` (gate order z, r, h).

    ``z = σ(x W_z + b_z + h U_z + b'_z)``, ``r = σ(x W_r + b_r + h U_r + b'_r)``,
    ``ĥ = tanh(x W_h + b_h + r * (h U_h + b'_h))``, ``h_t = z * h_{t-1} + (1 - z) * ĥ``.
    The reset gate multiplies the recurrent term *after* its matrix product (cuDNN's form);
    Cho et al. (2014) apply it before (``(r * h) U_h``).

    Args:
        x: (batch, time, D); kernel: (D, 3H); recurrent_kernel: (H, 3H);
        bias: (2, 3H), input bias then recurrent bias.

    Returns:
        All hidden states, (batch, time, H).
    """
    units = recurrent_kernel.shape[0]
    check_shape(kernel, (None, 3 * units), "kernel (input_dim, 3*units)")
    check_shape(recurrent_kernel, (units, 3 * units), "recurrent_kernel (units, 3*units)")
    check_shape(bias, (2, 3 * units), "bias (2, 3*units)")
    batch, steps = _check_sequence(x, kernel.shape[0])
    h = _initial_state(h0, batch, units)
    states = []
    for t in range(steps):
        from_x = x[:, t] @ kernel + bias[0]
        from_h = h @ recurrent_kernel + bias[1]
        z = sigmoid(from_x[:, :units] + from_h[:, :units])
        r = sigmoid(from_x[:, units:2 * units] + from_h[:, units:2 * units])
        candidate = np.tanh(from_x[:, 2 * units:] + r * from_h[:, 2 * units:])
        h = z * h + (1.0 - z) * candidate
        states.append(h)
    return np.stack(states, axis=1)


# --------------------------------------------------------------------------- training


class Adam:
    """The Adam optimiser (Kingma & Ba 2015) for a dict of NumPy parameters, updated in place."""

    def __init__(self, params: Params, learning_rate: float = 1e-2, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8, clipnorm: float | None = 5.0):
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self.clipnorm = clipnorm  # clip the global gradient norm: keeps a rare exploding step harmless
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.steps = 0

    def step(self, params: Params, grads: Params) -> float:
        """Apply one update; returns the gradient's global norm before clipping."""
        norm = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
        scale = self.clipnorm / norm if self.clipnorm and norm > self.clipnorm else 1.0
        self.steps += 1
        for name in params:
            g = grads[name] * scale
            self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * g
            self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * g ** 2
            m_hat = self.m[name] / (1 - self.beta1 ** self.steps)
            v_hat = self.v[name] / (1 - self.beta2 ** self.steps)
            params[name] -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
        return norm


def sample_rnn(params: Params, seed_id: int, length: int, rng: np.random.Generator,
               temperature: float = 1.0) -> list[int]:
    """Sample ``length`` ids from the NumPy RNN language model, one step at a time."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    vocab = params["kernel"].shape[0]
    h = np.zeros((1, params["recurrent_kernel"].shape[0]))
    current, out = seed_id, []
    for _ in range(length):
        h = np.tanh(params["kernel"][current][None, :] + h @ params["recurrent_kernel"] + params["bias"])
        logits = (h @ params["W_hy"] + params["b_y"])[0] / temperature
        probs = np.exp(logits - logits.max())
        current = int(rng.choice(vocab, p=probs / probs.sum()))
        out.append(current)
    return out
