import keras
import numpy as np
import pytest

from utils import attention


def test_causal_mask_is_lower_triangular():
    mask = attention.causal_mask(4)
    assert mask.dtype == bool and mask.shape == (4, 4)
    assert np.array_equal(mask, np.tril(np.ones((4, 4), bool)))


def test_numpy_attention_weights_are_a_distribution_and_match_keras_ops():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 7, 3))
    out, weights = attention.scaled_dot_product_attention_numpy(q, k, v)
    assert out.shape == (2, 5, 3) and weights.shape == (2, 5, 7)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)
    out_ops, weights_ops = attention.scaled_dot_product_attention(*(x.astype("float32") for x in (q, k, v)))
    np.testing.assert_allclose(np.asarray(out_ops), out, atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights_ops), weights, atol=1e-6)


def test_one_key_gives_its_value_exactly():
    v = np.array([[[1.0, 2.0]]])
    out, weights = attention.scaled_dot_product_attention_numpy(np.ones((1, 3, 4)), np.ones((1, 1, 4)), v)
    np.testing.assert_array_equal(weights, 1.0)
    np.testing.assert_array_equal(out, np.repeat(v, 3, axis=1))


@pytest.mark.parametrize("causal", [False, True])
def test_recomputed_multi_head_attention_matches_keras_within_1e_5(causal):
    rng = np.random.default_rng(1)
    keras.utils.set_random_seed(1)
    layer = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
    x = rng.normal(size=(3, 6, 16)).astype("float32")
    expected = np.asarray(layer(x, x, use_causal_mask=causal))
    mask = attention.causal_mask(6) if causal else None
    np.testing.assert_allclose(attention.multi_head_attention_numpy(layer, x.astype("float64"), x.astype("float64"), mask),
                               expected, atol=1e-5)


def test_causal_mask_really_blocks_the_future():
    rng = np.random.default_rng(2)
    q = k = v = rng.normal(size=(1, 6, 4))
    changed = v.copy()
    changed[:, 4:] += 100.0  # change only the last two positions
    mask = attention.causal_mask(6)
    before, _ = attention.scaled_dot_product_attention_numpy(q, k, v, mask)
    after, _ = attention.scaled_dot_product_attention_numpy(q, np.concatenate([k[:, :4], changed[:, 4:]], 1), changed, mask)
    np.testing.assert_array_equal(before[:, :4], after[:, :4])
    assert not np.allclose(before[:, 4:], after[:, 4:])


def test_transformer_block_is_causal_and_keeps_shape():
    keras.utils.set_random_seed(3)
    block = attention.TransformerBlock(dim=16, num_heads=2, ffn_dim=32)
    x = np.random.default_rng(3).normal(size=(2, 8, 16)).astype("float32")
    y = np.asarray(block(x))
    x2 = x.copy()
    x2[:, 5:] = 0.0
    y2 = np.asarray(block(x2))
    assert y.shape == x.shape
    np.testing.assert_allclose(y[:, :5], y2[:, :5], atol=1e-6)  # positions 0..4 never saw 5..7
    assert not np.allclose(y[:, 5:], y2[:, 5:])


def test_encoder_block_sees_the_future_and_ignores_padding():
    keras.utils.set_random_seed(5)
    block = attention.TransformerBlock(dim=16, num_heads=2, ffn_dim=32, causal=False)
    x = np.random.default_rng(5).normal(size=(2, 8, 16)).astype("float32")
    changed = x.copy()
    changed[:, 5:] = np.random.default_rng(6).normal(size=(2, 3, 16))  # not a constant shift: LayerNorm removes one
    assert not np.allclose(np.asarray(block(x))[:, :5], np.asarray(block(changed))[:, :5]), "position 0 sees 5..7"
    real = np.array([[True] * 5 + [False] * 3, [True] * 8])
    masked, masked_changed = (np.asarray(block(v, padding_mask=real)) for v in (x, changed))
    np.testing.assert_allclose(masked[0, :5], masked_changed[0, :5], atol=1e-6)  # row 0: 5..7 are padding
    assert not np.allclose(masked[1, :5], masked_changed[1, :5])  # row 1: they are real
    shorter = np.asarray(block(x[:1, :5], padding_mask=real[:1, :5]))
    np.testing.assert_allclose(masked[0, :5], shorter[0], atol=1e-5)  # padding changes nothing at real positions
    assert attention.TransformerBlock.from_config(block.get_config()).causal is False


def test_transformer_model_saves_and_loads_safely(tmp_path):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((None,), dtype="int32")
    h = attention.PositionalEmbedding(10, 16, 8)(inputs)
    h = attention.TransformerBlock(8, 2, 16)(h)
    model = keras.Model(inputs, keras.layers.Dense(10)(h))
    ids = np.array([[1, 2, 3, 4]])
    path = tmp_path / "transformer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(model(ids)), atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: attention.causal_mask(0), "length must be an int >= 1"),
    (lambda: attention.scaled_dot_product_attention_numpy(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 1))),
     "query and key must have the same last dimension"),
    (lambda: attention.scaled_dot_product_attention_numpy(np.ones((2, 3)), np.ones((2, 3)), np.ones((5, 1))),
     "key and value must have the same length"),
    (lambda: attention.scaled_dot_product_attention_numpy(np.ones(3), np.ones(3), np.ones(3)), "same rank >= 2"),
    (lambda: attention.TransformerBlock(10, 3, 20), "dim=10 must be divisible by num_heads=3"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# The Transformer language model and its generator (utils.models, utils.generation).
from utils import data, generation, models  # noqa: E402

TEXT = "to be or not to be, that is the question. "


def _tiny_transformer(context=8):
    keras.utils.set_random_seed(5)
    return models.build_transformer_model(data.Vocabulary.from_text(TEXT), context=context, dim=16, num_heads=2,
                                          num_layers=2)


def test_transformer_language_model_is_causal():
    model = _tiny_transformer()
    ids = model.vocabulary.encode("to be or")[None, :]
    changed = ids.copy()
    changed[0, 5:] = model.vocabulary.encode("the")
    a, b = np.asarray(model(ids)), np.asarray(model(changed))
    np.testing.assert_allclose(a[0, :5], b[0, :5], atol=1e-6)


def test_transformer_saves_and_loads_with_its_vocabulary(tmp_path):
    model = _tiny_transformer()
    path = tmp_path / "t.keras"
    model.save(path)
    loaded = models.load_char_model(path, model.vocabulary)
    assert isinstance(loaded, models.TransformerLanguageModel) and loaded.context == 8
    ids = model.vocabulary.encode("to be")[None, :]
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(model(ids)), atol=1e-6)
    with pytest.raises(ValueError, match="different vocabulary"):
        models.load_char_model(path, data.Vocabulary.from_text(TEXT + "Z"))


def test_transformer_refuses_more_positions_than_its_context():
    model = _tiny_transformer(context=4)
    with pytest.raises(ValueError, match="context=4"):
        model(np.zeros((1, 5), "int32"))


def test_windowed_generator_matches_naive_greedy_decoding_past_the_context():
    model = _tiny_transformer(context=6)
    prompt, length = "to be or", 10  # prompt longer than the context, generation slides the window
    fast = generation.WindowedTextGenerator(model).generate(prompt, length, greedy=True)[0]
    ids = list(model.vocabulary.encode(prompt))
    for _ in range(length):
        logits = np.array(model(np.array([ids[-6:]])))[0, -1]
        logits[0] = -np.inf  # the generator never emits the out-of-vocabulary id
        ids.append(int(logits.argmax()))
    assert fast == model.vocabulary.decode(ids[-length:])


def test_windowed_generate_many_equals_one_prompt_at_a_time():
    generator = generation.WindowedTextGenerator(_tiny_transformer(context=6))
    prompts = ["to", "to be or", "be", "o"]  # one longer than the context, windows filled to different depths
    many = generator.generate_many(prompts, 8, greedy=True)
    assert many == [generator.generate(prompt, 8, greedy=True)[0] for prompt in prompts]


def test_windowed_generator_is_reproducible_and_checks_its_arguments():
    generator = generation.WindowedTextGenerator(_tiny_transformer())
    first = generator.generate("to", 12, temperature=0.8, seed=3, num_streams=2)
    assert first == generator.generate("to", 12, temperature=0.8, seed=3, num_streams=2)
    assert len(first) == 2 and all(len(s) == 12 for s in first)
    with pytest.raises(ValueError, match="temperature must be"):
        generator.generate("to", 5, temperature=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        generator.generate("Z", 5)


# utils.measure: memory of one forward + backward pass, in a child process.
from utils import measure  # noqa: E402


def test_attention_memory_grows_faster_than_linearly_with_length():
    small = measure.forward_backward_peak_mb("attention", 64, batch=4, dim=32, heads=4)
    large = measure.forward_backward_peak_mb("attention", 512, batch=4, dim=32, heads=4)
    # 8x the length: 64x the attention weights (4 x 4 x 512² x 4 bytes = 16 MB, plus what the backward keeps)
    assert large > 16 and large > 8 * max(small, 1.0)


@pytest.mark.parametrize("call, message", [
    (lambda: measure.forward_backward_peak_mb("gru", 8), r"layer must be one of \('lstm', 'attention'\)"),
    (lambda: measure.forward_backward_peak_mb("lstm", 0), "length must be an int >= 1"),
    (lambda: measure.forward_backward_peak_mb("attention", 8, dim=10, heads=3), "dim=10 must be divisible by heads=3"),
])
def test_measure_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
