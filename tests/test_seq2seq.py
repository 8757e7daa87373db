import keras
import numpy as np
import pytest

from utils import seq2seq


def test_reversal_task_targets_are_reversed_sources_and_decoder_input_is_shifted():
    source, decoder_input, target = seq2seq.reversal_task(50, 6, 5, np.random.default_rng(0))
    assert source.shape == decoder_input.shape == target.shape == (50, 6)
    assert np.array_equal(target, source[:, ::-1])
    assert np.all(decoder_input[:, 0] == seq2seq.START_ID) and np.array_equal(decoder_input[:, 1:], target[:, :-1])
    assert source.min() >= 1 and source.max() <= 5


@pytest.mark.parametrize("attention", seq2seq.ATTENTION_KINDS)
def test_models_output_logits_and_attention_weights(attention):
    keras.utils.set_random_seed(0)
    model, weights_model = seq2seq.build_seq2seq(5, 8, attention)
    source, decoder_input, _ = seq2seq.reversal_task(3, 7, 5, np.random.default_rng(0))
    assert model([source, decoder_input]).shape == (3, 7, 6)
    if attention is None:
        assert weights_model is None
    else:
        scores = np.asarray(weights_model([source, decoder_input]))
        assert scores.shape == (3, 7, 7)
        np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)


def test_greedy_decode_and_accuracy_on_a_learned_short_reversal():
    keras.utils.set_random_seed(0)
    model, _ = seq2seq.build_seq2seq(4, 32, "luong")
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    source, decoder_input, target = seq2seq.reversal_task(3000, 3, 4, np.random.default_rng(1))
    model.fit([source, decoder_input], target, batch_size=64, epochs=4, verbose=0)
    test_source, _, test_target = seq2seq.reversal_task(200, 3, 4, np.random.default_rng(2))
    decoded = seq2seq.greedy_decode(model, test_source)
    assert decoded.shape == test_target.shape
    assert seq2seq.sequence_accuracy(decoded, test_target) > 0.9  # length 3 with attention: trivially learnable


def test_sequence_accuracy_counts_exact_matches():
    assert seq2seq.sequence_accuracy(np.array([[1, 2], [1, 3]]), np.array([[1, 2], [1, 2]])) == 0.5


@pytest.mark.parametrize("call, message", [
    (lambda: seq2seq.reversal_task(5, 0, 3, np.random.default_rng()), "length must be an int >= 1"),
    (lambda: seq2seq.reversal_task(5, 3, 1, np.random.default_rng()), "num_symbols must be an int >= 2"),
    (lambda: seq2seq.build_seq2seq(5, 8, "dot"), r"attention must be one of \(None, 'luong', 'bahdanau'\)"),
    (lambda: seq2seq.sequence_accuracy(np.ones((2, 3)), np.ones((2, 4))), "shapes differ"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
