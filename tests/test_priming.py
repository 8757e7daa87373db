"""utils.priming: the NumPy recurrence that reads a prompt equals the Keras model's reading and stepping."""

import keras
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
    assert_states_close(states, keras_states, atol=1e-6)
    long_ids = VOCAB.encode(TEXT * 2)[None, :]  # several default chunks
    assert long_ids.shape[1] > 2 * priming.CHUNK
    _, long_states = priming.read_prompts(model, long_ids)
    _, keras_long_states = model(long_ids.astype(np.int32), return_state=True)
    assert_states_close(long_states, keras_long_states, atol=1e-4)


def test_read_prompts_refuses_bad_ids_and_models():
    model = model_with_random_biases("lstm", 1)
    transformer = models.build_transformer_model(VOCAB, context=16, dim=16, num_heads=2, num_layers=1)
    with pytest.raises(ValueError, match="model must be a recurrent CharLanguageModel, got TransformerLanguageModel"):
        priming.read_prompts(transformer, np.zeros((1, 3), np.int32))
    with pytest.raises(ValueError, match="model must be a recurrent CharLanguageModel"):
        generation.TextGenerator(transformer).generate("First", 5)
    old_gru = keras.layers.GRU(4, reset_after=False, name="old_gru")
    old_gru.build((None, None, 3))
    with pytest.raises(ValueError, match="layer 'old_gru': reset_after must be True"):
        priming._cell_weights(old_gru, "gru")
    for bad, message in ((np.zeros((2, 0), np.int32), "time >= 1"), (np.zeros(5, np.int32), r"\(batch, time\)"),
                         (np.zeros((1, 3), np.float32), "integer"),
                         (np.array([[0, VOCAB.size]]), rf"ids must be in \[0, {VOCAB.size}\)"),
                         (np.array([[-1, 0]]), r"got values from -1")):
        with pytest.raises(ValueError, match=message):
            priming.read_prompts(model, bad)


def test_read_many_reads_each_distinct_prompt_once_and_keeps_the_order(monkeypatch):
    model = model_with_random_biases("gru", 2)
    prompts = [TEXT[:40], TEXT[:25], TEXT[:40], TEXT[3:43], TEXT[:25], TEXT[:40]]
    encoded = [VOCAB.encode(prompt) for prompt in prompts]
    batches = []
    read = priming.read_prompts
    monkeypatch.setattr(priming, "read_prompts", lambda m, ids: (batches.append(ids.shape), read(m, ids))[1])
    logits, states = priming.read_many(model, encoded)
    assert sorted(batches) == [(1, 25), (2, 40)]  # two distinct prompts of 40 characters, one of 25
    assert logits.shape == (len(prompts), VOCAB.size)
    for i, ids in enumerate(encoded):
        alone_logits, alone_states = read(model, ids[None, :])
        np.testing.assert_allclose(logits[i], alone_logits[0], atol=1e-6)
        assert_states_close([[s[i] for s in layer] for layer in states], [[s[0] for s in layer] for layer in alone_states],
                            atol=1e-6)


def test_chunks_shrink_for_many_streams(monkeypatch):
    """Many streams: fewer characters per chunk, so the projections stay within CHUNK_FLOATS; same result."""
    model = model_with_random_biases("lstm", 1)
    ids = np.stack([VOCAB.encode(TEXT[i:i + 120]) for i in range(16)])
    expected_logits, expected_states = priming.read_prompts(model, ids)
    monkeypatch.setattr(priming, "CHUNK_FLOATS", 16 * 4 * 24 * 7)  # 7 characters per chunk
    projected_sizes = []
    lstm_steps = priming._lstm_steps
    monkeypatch.setattr(priming, "_lstm_steps", lambda projected, *args: (projected_sizes.append(projected.shape[0]),
                                                                          lstm_steps(projected, *args)))
    logits, states = priming.read_prompts(model, ids)
    assert max(projected_sizes) == 7 and len(projected_sizes) == 18  # ceil(120 / 7) chunks
    np.testing.assert_allclose(logits, expected_logits, atol=1e-6)
    assert_states_close(states, expected_states, atol=1e-6)


def test_mixed_precision_states_come_in_the_compute_dtype():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = model_with_random_biases("lstm", 1)
        ids = VOCAB.encode(TEXT[:200])[None, :]
        logits, states = priming.read_prompts(model, ids)
        assert logits.dtype == np.float32 and all(s.dtype == np.float16 for s in tf.nest.flatten(states))
        keras_logits, keras_states = model(ids.astype(np.int32), return_state=True)
        np.testing.assert_allclose(logits, np.asarray(keras_logits[:, -1]), atol=0.05)  # float16 arithmetic in Keras
        assert len(generation.TextGenerator(model).generate(TEXT[:200], 10, seed=1)[0]) == 10
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_generators_read_prompts_with_it(monkeypatch):
    """TextGenerator and BeamSearch read prompts with utils.priming and continue from that state: greedy
    text equals stepping the model one character at a time."""
    model = model_with_random_biases("lstm", 2)
    calls = []
    read_many = priming.read_many
    monkeypatch.setattr(priming, "read_many", lambda m, encoded: (calls.append(len(encoded)), read_many(m, encoded))[1])
    prompt = TEXT[:200]
    states = model.zero_states(1)
    for char_id in VOCAB.encode(prompt):
        logits, states = model.step(np.array([char_id]), states)
    expected = []
    for _ in range(20):
        char_id = 1 + int(np.argmax(np.asarray(logits)[0, 1:]))  # both never emit id 0, [UNK]
        expected.append(char_id)
        logits, states = model.step(np.array([char_id]), states)
    expected_text = VOCAB.decode(expected)
    assert generation.TextGenerator(model).generate(prompt, 20, greedy=True)[0] == expected_text
    assert beam_search.BeamSearch(model).search(prompt, 20, beam_width=1)[0] == expected_text
    assert calls == [1, 1]
