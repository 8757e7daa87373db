import keras
import numpy as np
import pytest

from utils import long_range


def test_adding_problem_has_two_markers_one_per_half_and_the_right_sum():
    inputs, targets = long_range.adding_problem(500, 20, np.random.default_rng(0))
    assert inputs.shape == (500, 20, 2) and targets.shape == (500, 1) and inputs.dtype == np.float32
    markers = inputs[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :10].sum(axis=1) == 1) and np.all(markers[:, 10:].sum(axis=1) == 1)
    np.testing.assert_allclose(targets[:, 0], (inputs[:, :, 0] * markers).sum(axis=1), rtol=1e-6)


def test_adding_problem_trivial_predictor_mse_is_one_sixth():
    _, targets = long_range.adding_problem(200_000, 10, np.random.default_rng(1))
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(long_range.ADDING_BASELINE_MSE, rel=0.02)


def test_recall_task_target_is_the_first_symbol():
    inputs, targets = long_range.recall_task(100, 15, 8, np.random.default_rng(0))
    assert inputs.shape == (100, 15) and np.array_equal(targets, inputs[:, 0])
    assert inputs.min() >= 0 and inputs.max() < 8


@pytest.mark.parametrize("call, message", [
    (lambda: long_range.adding_problem(0, 10, np.random.default_rng()), "num_sequences must be an int >= 1"),
    (lambda: long_range.adding_problem(5, 1, np.random.default_rng()), "length must be an int >= 2"),
    (lambda: long_range.recall_task(5, 10, 1, np.random.default_rng()), "num_symbols must be an int >= 2"),
    (lambda: long_range.jacobian_product_norms(np.zeros((2, 3)), 5, np.random.default_rng()), "must be square"),
    (lambda: long_range.hidden_state_gradient_norms(keras.layers.SimpleRNN(2), np.zeros((2, 3))), "inputs must be"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_jacobian_norms_shrink_for_small_and_grow_for_large_linear_recurrence():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    small = long_range.jacobian_product_norms(0.5 * q, 30, rng, input_scale=0.01)
    large = long_range.jacobian_product_norms(1.5 * q, 30, rng, input_scale=0.0)  # h stays 0: tanh' = 1
    assert small[0] == 1.0 and small[-1] < 1e-6
    np.testing.assert_allclose(large, 1.5 ** np.arange(30), rtol=1e-6)


def test_gradient_probe_matches_a_hand_computation_on_a_tiny_rnn():
    rng = np.random.default_rng(0)
    layer = keras.layers.SimpleRNN(3, dtype="float64")
    x = rng.normal(size=(1, 4, 2))
    layer.build(x.shape)
    kernel, recurrent, bias = layer.get_weights()
    norms = long_range.hidden_state_gradient_norms(layer, x)
    h, states = np.zeros((1, 3)), []
    for t in range(4):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        states.append(h)
    grad = np.ones((1, 3))  # dL/dh_T for L = sum(h_T)
    expected = [np.linalg.norm(grad)]
    for t in range(3, 0, -1):  # dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) @ W_hh^T
        grad = (grad * (1 - states[t] ** 2)) @ recurrent.T
        expected.append(np.linalg.norm(grad))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-8)


def test_gradient_probe_reports_tiny_float32_gradients_without_underflow():
    # A linear float32 RNN with W_hh = 0.1 I: the gradient at step t is 0.1^(T - t) per unit, so at
    # T - t = 29 it is 1e-29, a normal float32 whose square (1e-58) is below float32's range.
    steps, units = 30, 4
    layer = keras.layers.SimpleRNN(units, activation="linear", use_bias=False,
                                   kernel_initializer="zeros", recurrent_initializer=keras.initializers.Identity(0.1))
    layer.build((1, steps, 2))
    norms = long_range.hidden_state_gradient_norms(layer, np.zeros((1, steps, 2), "float32"))
    expected = np.sqrt(units) * 0.1 ** np.arange(steps)[::-1]
    assert norms[0] > 0, "a gradient of 1e-29 must not be reported as 0"
    np.testing.assert_allclose(norms, expected, rtol=1e-4)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_gradient_probe_runs_for_gated_layers(layer_class):
    layer = layer_class(4)
    layer.build((2, 6, 3))
    norms = long_range.hidden_state_gradient_norms(layer, np.random.default_rng(0).normal(size=(2, 6, 3)))
    assert norms.shape == (6,) and np.all(np.isfinite(norms)) and norms[-1] > 0


@pytest.mark.parametrize("kind, layer_class, activation", [
    ("SimpleRNN", keras.layers.SimpleRNN, "tanh"), ("IRNN", keras.layers.SimpleRNN, "relu"),
    ("LSTM", keras.layers.LSTM, "tanh"), ("GRU", keras.layers.GRU, "tanh")])
def test_recurrent_layer_kinds(kind, layer_class, activation):
    layer = long_range.recurrent_layer(kind, 4)
    assert isinstance(layer, layer_class) and layer.cell.activation.__name__ == activation
    layer.build((2, 3, 5))
    if kind == "IRNN":  # Le et al. (2015): identity recurrent weights
        np.testing.assert_array_equal(layer.cell.recurrent_kernel.numpy(), np.eye(4))


def test_lstm_forget_bias_flag_sets_the_forget_gate_bias():
    for flag, expected in [(True, 1.0), (False, 0.0)]:
        layer = long_range.recurrent_layer("LSTM", 3, unit_forget_bias=flag)
        layer.build((1, 2, 2))
        bias = layer.cell.bias.numpy()
        np.testing.assert_array_equal(bias[3:6], expected)  # Keras gate order i, f, c, o
        np.testing.assert_array_equal(bias[:3], 0.0)


def test_task_models_have_the_right_inputs_and_outputs():
    adding = long_range.build_task_model("adding", "GRU", 4, 1e-2)
    assert adding(np.zeros((2, 7, 2), "float32")).shape == (2, 1)
    recall = long_range.build_task_model("recall", "LSTM", 4, 1e-2, num_symbols=5)
    assert recall(np.zeros((2, 7), "int32")).shape == (2, 5)
    scores = recall.evaluate(np.zeros((4, 7), "int32"), np.zeros(4, "int32"), verbose=0)
    assert len(scores) == 2 and 0.0 <= scores[1] <= 1.0  # loss and accuracy


def test_train_with_checks_learns_a_short_adding_problem_and_reports_its_checks():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = long_range.build_task_model("adding", "LSTM", 16, 1e-2)
    result = long_range.train_with_checks(
        model, long_range.adding_problem(2000, 4, rng), long_range.adding_problem(200, 4, rng),
        steps=300, eval_every=100, batch_size=32, seed=0, is_solved=lambda scores: scores[0] < 0.05)
    assert len(result["curve"]) == 3 and result["finite"]
    assert result["curve"][-1] < long_range.ADDING_BASELINE_MSE / 2  # length 4 is easy: it must learn
    assert result["solved"] == (result["final"] < 0.05)
    assert result["steps_to_solve"] is None or result["steps_to_solve"] % 100 == 0


def test_train_with_checks_shows_its_progress_in_steps_when_given_a_label(capsys):
    keras.utils.set_random_seed(0)
    model = long_range.build_task_model("adding", "SimpleRNN", 4, 1e-2)
    data = long_range.adding_problem(64, 4, np.random.default_rng(0))
    long_range.train_with_checks(model, data, data, steps=25, eval_every=10, batch_size=8, seed=0,
                                 is_solved=lambda scores: False, progress_label="adding, SimpleRNN")
    shown = capsys.readouterr().out.strip().splitlines()
    assert shown[-1].startswith("adding, SimpleRNN: 20/20 steps (100%)") and shown[-1].endswith("done")
    long_range.train_with_checks(model, data, data, steps=10, eval_every=10, batch_size=8, seed=0,
                                 is_solved=lambda scores: False)
    assert capsys.readouterr().out == ""  # no label: silent


@pytest.mark.parametrize("call, message", [
    (lambda: long_range.recurrent_layer("Elman", 4), r"kind must be one of \('SimpleRNN', 'IRNN', 'LSTM', 'GRU'\)"),
    (lambda: long_range.recurrent_layer("LSTM", 0), "units must be an int >= 1"),
    (lambda: long_range.build_task_model("copy", "LSTM", 4, 1e-2), r"task must be one of \('adding', 'recall'\)"),
    (lambda: long_range.build_task_model("adding", "LSTM", 4, 0.0), "learning_rate must be > 0"),
    (lambda: long_range.build_task_model("recall", "LSTM", 4, 1e-2, num_symbols=1), "num_symbols must be an int >= 2"),
])
def test_bad_model_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_train_with_checks_rejects_a_budget_shorter_than_one_check():
    model = long_range.build_task_model("adding", "SimpleRNN", 2, 1e-2)
    data = long_range.adding_problem(10, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="steps must be an int >= eval_every"):
        long_range.train_with_checks(model, data, data, steps=5, eval_every=10, batch_size=2, seed=0,
                                     is_solved=lambda s: False)
