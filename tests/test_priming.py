"""utils.priming: the NumPy recurrence that reads a prompt equals the Keras model's reading and stepping."""

import numpy as np
import pytest
import tensorflow as tf

from utils import beam_search, data, generation, models, priming

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n") * 40
VOCAB = data.Vocabulary.from_text(TEXT)


def model_with_random_biases(cell: str, num_layers: int, units: int = 24):
    """Keras initialises biases to 0 (1 for the LSTM's forget gate): random ones also test their placement."""
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=units,
                                                                  num_layers=num_layers, cell=cell))
    rng = np.random.default_rng(len(cell) + num_layers)
    for variable in model.weights:
        if "bias" in variable.path:
            variable.assign(rng.normal(0, 0.5, variable.shape).astype(np.float32))
    return model


def assert_states_close(ours, theirs, atol):
    ours, theirs = tf.nest.flatten(ours), tf.nest.flatten(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)


@pytest.mark.parametrize("cell, num_layers", [("lstm", 1), ("lstm", 2), ("gru", 1), ("gru", 2), ("rnn", 2)])
def test_read_prompts_equals_the_keras_model(cell, num_layers, monkeypatch):
    """Several streams, more characters than a chunk (the state crosses chunk boundaries): the last logits and
    every layer's state equal the model's own call, and stepping one character at a time."""
    monkeypatch.setattr(priming, "CHUNK", 64)
    model = model_with_random_biases(cell, num_layers)
    ids = np.stack([VOCAB.encode(TEXT[:300]), VOCAB.encode(TEXT[7:307]), VOCAB.encode(TEXT[50:350])])
    logits, states = priming.read_prompts(model, ids)
    keras_logits, keras_states = model(ids.astype(np.int32), return_state=True)
    assert logits.shape == (3, VOCAB.size)
    assert [len(layer) for layer in states] == model.state_sizes
    np.testing.assert_allclose(logits, np.asarray(keras_logits[:, -1]), atol=1e-5)
    assert_states_close(states, keras_states, atol=1e-5)
    stepped = model.zero_states(3)
    for t in range(ids.shape[1]):
        _, stepped = model.step(ids[:, t], stepped)
    assert_states_close(states, stepped, atol=1e-5)


def test_read_prompts_of_one_character_and_a_long_prompt():
    model = model_with_random_biases("lstm", 1)
    ids = VOCAB.encode("F")[None, :]
    logits, states = priming.read_prompts(model, ids)
    keras_logits, keras_states = model(ids.astype(np.int32), return_state=True)
    np.testing.assert_allclose(logits, np.asarray(keras_logits[:, -1]), atol=1e-6)
    long_ids = VOCAB.encode(TEXT * 2)[None, :]  # several default chunks
    assert long_ids.shape[1] > 2 * priming.CHUNK
    _, long_states = priming.read_prompts(model, long_ids)
    _, keras_long_states = model(long_ids.astype(np.int32), return_state=True)
    assert_states_close(long_states, keras_long_states, atol=1e-4)


def test_read_prompts_refuses_bad_ids():
    model = model_with_random_biases("lstm", 1)
    for bad, message in ((np.zeros((2, 0), np.int32), "time >= 1"), (np.zeros(5, np.int32), r"\(batch, time\)"),
                         (np.zeros((1, 3), np.float32), "integer"),
                         (np.array([[0, VOCAB.size]]), rf"ids must be in \[0, {VOCAB.size}\)"),
                         (np.array([[-1, 0]]), r"got values from -1")):
        with pytest.raises(ValueError, match=message):
            priming.read_prompts(model, bad)


def test_generators_read_prompts_with_it():
    """TextGenerator and BeamSearch continue from the primed state: greedy text equals stepping the model."""
    model = model_with_random_biases("lstm", 2)
    prompt = TEXT[:200]
    states = model.zero_states(1)
    for char_id in VOCAB.encode(prompt):
        logits, states = model.step(np.array([char_id]), states)
    expected = []
    for _ in range(20):
        char_id = int(np.argmax(np.asarray(logits)[0]))
        expected.append(char_id)
        logits, states = model.step(np.array([char_id]), states)
    expected_text = VOCAB.decode(expected)
    assert generation.TextGenerator(model).generate(prompt, 20, greedy=True)[0] == expected_text
    assert beam_search.BeamSearch(model).search(prompt, 20, beam_width=1)[0] == expected_text
