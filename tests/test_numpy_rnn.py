import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import numpy_rnn as nr


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("batch, steps, vocab, units", [(1, 1, 3, 2), (3, 6, 7, 5), (2, 12, 4, 8)])
def test_rnn_bptt_passes_gradient_check(rng, batch, steps, vocab, units):
    params = nr.init_rnn_params(vocab, units, vocab, rng, scale=0.5)
    inputs, targets = rng.integers(0, vocab, (batch, steps)), rng.integers(0, vocab, (batch, steps))
    h0 = rng.normal(size=(batch, units))
    loss, grads, _ = nr.rnn_lm_loss_and_grads(params, inputs, targets, h0)
    errors = nr.gradient_check(lambda p: nr.rnn_lm_loss_and_grads(p, inputs, targets, h0)[0], params, grads)
    assert set(errors) == set(params)
    assert max(errors.values()) < 1e-6, errors


def test_gradient_check_catches_a_wrong_gradient(rng):
    params = nr.init_rnn_params(5, 4, 5, rng, scale=0.5)
    inputs, targets = rng.integers(0, 5, (2, 4)), rng.integers(0, 5, (2, 4))
    _, grads, _ = nr.rnn_lm_loss_and_grads(params, inputs, targets)
    grads["recurrent_kernel"] = grads["recurrent_kernel"] * 1.01  # a 1% error must be detected
    errors = nr.gradient_check(lambda p: nr.rnn_lm_loss_and_grads(p, inputs, targets)[0], params, grads)
    assert errors["recurrent_kernel"] > 1e-3 and errors["kernel"] < 1e-6


def test_initial_loss_is_log_vocabulary(rng):
    vocab = 40
    params = nr.init_rnn_params(vocab, 16, vocab, rng, scale=0.01)
    loss, _, _ = nr.rnn_lm_loss_and_grads(params, rng.integers(0, vocab, (4, 10)), rng.integers(0, vocab, (4, 10)))
    assert np.exp(loss) == pytest.approx(vocab, rel=0.01)


def test_truncated_bptt_equals_full_bptt_when_truncation_covers_the_sequence(rng):
    params = nr.init_rnn_params(6, 5, 6, rng, scale=0.5)
    inputs, targets = rng.integers(0, 6, (2, 8)), rng.integers(0, 6, (2, 8))
    loss, grads, _ = nr.rnn_lm_loss_and_grads(params, inputs, targets)
    t_loss, t_grads = nr.truncated_bptt_grads(params, inputs, targets, truncation=8)
    assert t_loss == pytest.approx(loss)
    for name in params:
        np.testing.assert_allclose(t_grads[name], grads[name])
    short_loss, short_grads = nr.truncated_bptt_grads(params, inputs, targets, truncation=2)
    assert short_loss == pytest.approx(loss)  # the forward pass is the same...
    assert nr.relative_error(short_grads["recurrent_kernel"], grads["recurrent_kernel"]) > 1e-3  # ...not the gradient
    with pytest.raises(ValueError, match="truncation"):
        nr.truncated_bptt_grads(params, inputs, targets, truncation=0)


@pytest.mark.parametrize("batch, steps, features, units", [(4, 9, 3, 6), (1, 1, 1, 1), (2, 20, 5, 3)])
def test_numpy_cells_match_keras_layers(rng, batch, steps, features, units):
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    for cell, layer in [("rnn", keras.layers.SimpleRNN(units, return_sequences=True)),
                        ("lstm", keras.layers.LSTM(units, return_sequences=True)),
                        ("gru", keras.layers.GRU(units, return_sequences=True))]:
        expected = layer(x).numpy()
        w = [a.astype("float64") for a in layer.get_weights()]
        # Random biases too, so a swapped gate or bias would show.
        w[-1] = rng.normal(size=w[-1].shape)
        layer.set_weights([a.astype("float32") for a in w])
        expected = layer(x).numpy()
        if cell == "rnn":
            ours = nr.rnn_forward(x.astype("float64"), {"kernel": w[0], "recurrent_kernel": w[1], "bias": w[2]})
        elif cell == "lstm":
            ours = nr.lstm_forward(x.astype("float64"), *w)[0]
        else:
            ours = nr.gru_forward(x.astype("float64"), *w)
        assert np.abs(ours - expected).max() < 1e-5, cell
        assert layer.count_params() == nr.parameter_count(cell, features, units)


def test_lstm_backward_matches_gradient_tape(rng):
    layer = keras.layers.LSTM(5, return_sequences=True, dtype="float64")
    x = tf.Variable(rng.normal(size=(3, 7, 4)))
    upstream = rng.normal(size=(3, 7, 5))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * upstream)
    tape_grads = tape.gradient(loss, [*layer.trainable_variables, x])
    weights = layer.get_weights()
    _, cache = nr.lstm_forward(x.numpy(), *weights)
    ours = nr.lstm_backward(upstream, weights[0], weights[1], cache)
    for name, theirs in zip(["kernel", "recurrent_kernel", "bias", "x"], tape_grads, strict=True):
        assert nr.relative_error(ours[name], theirs.numpy()) < 1e-10, name


def test_lstm_backward_passes_finite_difference_check(rng):
    x = rng.normal(size=(2, 5, 3))
    params = {"kernel": rng.normal(size=(3, 16)), "recurrent_kernel": rng.normal(size=(4, 16)),
              "bias": rng.normal(size=16)}
    upstream = rng.normal(size=(2, 5, 4))

    def loss(p):
        return float((nr.lstm_forward(x, p["kernel"], p["recurrent_kernel"], p["bias"])[0] * upstream).sum())

    _, cache = nr.lstm_forward(x, params["kernel"], params["recurrent_kernel"], params["bias"])
    grads = nr.lstm_backward(upstream, params["kernel"], params["recurrent_kernel"], cache)
    assert max(nr.gradient_check(loss, params, grads).values()) < 1e-6


@pytest.mark.parametrize("call, message", [
    (lambda: nr.rnn_forward(np.zeros((2, 3)), {"kernel": np.zeros((3, 4)), "recurrent_kernel": np.zeros((4, 4)),
                                               "bias": np.zeros(4)}), r"x \(batch, time, input_dim\) must have shape"),
    (lambda: nr.rnn_forward(np.zeros((2, 3, 5)), {"kernel": np.zeros((3, 4)), "recurrent_kernel": np.zeros((4, 4)),
                                                  "bias": np.zeros(4)}), r"shape \(\?, \?, 3\)"),
    (lambda: nr.rnn_forward(np.zeros((2, 0, 3)), {"kernel": np.zeros((3, 4)), "recurrent_kernel": np.zeros((4, 4)),
                                                  "bias": np.zeros(4)}), "at least one time step"),
    (lambda: nr.lstm_forward(np.zeros((2, 3, 3)), np.zeros((3, 8)), np.zeros((4, 16)), np.zeros(16)),
     r"kernel \(input_dim, 4\*units\)"),
    (lambda: nr.lstm_forward(np.zeros((2, 3, 3)), np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(16),
                             h0=np.zeros((3, 4))), r"h0 \(batch, units\)"),
    (lambda: nr.gru_forward(np.zeros((2, 3, 3)), np.zeros((3, 12)), np.zeros((4, 12)), np.zeros(12)),
     r"bias \(2, 3\*units\)"),
    (lambda: nr.init_rnn_params(0, 4, 4, np.random.default_rng()), "input_dim must be a positive int"),
    (lambda: nr.parameter_count("transformer", 3, 4), "cell must be one of"),
    (lambda: nr.rnn_lm_loss_and_grads(nr.init_rnn_params(3, 2, 3, np.random.default_rng()),
                                      np.array([[0, 5]]), np.array([[0, 1]])), r"ids in \[0, 3\)"),
    (lambda: nr.Adam({"w": np.zeros(2)}, learning_rate=0), "learning_rate must be > 0"),
    (lambda: nr.sample_rnn(nr.init_rnn_params(3, 2, 3, np.random.default_rng()), 0, 5,
                           np.random.default_rng(), temperature=0), "temperature must be > 0"),
])
def test_bad_arguments_are_rejected_with_their_names(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gradient_check_requires_float64(rng):
    params = {"w": np.ones(3, dtype=np.float32)}
    with pytest.raises(ValueError, match=r"params\['w'\] must be float64"):
        nr.gradient_check(lambda p: float(p["w"].sum()), params, {"w": np.ones(3)})


def test_adam_training_lowers_the_loss_and_sampling_yields_valid_ids(rng):
    text_ids = np.tile(np.array([0, 1, 2, 3, 2, 1]), 50)
    params = nr.init_rnn_params(4, 16, 4, rng, scale=0.1)
    optimiser = nr.Adam(params, learning_rate=0.05)
    inputs, targets = text_ids[None, :-1], text_ids[None, 1:]
    first = nr.rnn_lm_loss_and_grads(params, inputs, targets)[0]
    for _ in range(60):
        loss, grads, _ = nr.rnn_lm_loss_and_grads(params, inputs, targets)
        optimiser.step(params, grads)
    assert np.isfinite(loss) and loss < 0.3 * first
    sample = nr.sample_rnn(params, 0, 12, rng, temperature=0.5)
    assert len(sample) == 12 and all(0 <= i < 4 for i in sample)
    assert sample[:5] == [1, 2, 3, 2, 1]  # the learned cycle


def test_adam_clips_the_global_norm():
    params = {"w": np.zeros(2)}
    optimiser = nr.Adam(params, learning_rate=0.1, clipnorm=1.0)
    norm = optimiser.step(params, {"w": np.array([30.0, 40.0])})
    assert norm == pytest.approx(50.0)
    assert np.all(np.isfinite(params["w"]))


def test_sigmoid_is_stable_for_large_inputs():
    values = nr.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])
