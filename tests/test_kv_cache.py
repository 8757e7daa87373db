"""The key/value cache (utils.kv_cache): the same text as re-reading the window, and a clear error past the context."""

import numpy as np
import pytest
from test_attention import TEXT
from test_attention import _tiny_transformer as _tiny_transformer_of_context

from utils import data, generation, kv_cache, models


def _tiny_transformer(context=16):
    return _tiny_transformer_of_context(context)


def _with_random_weights(model, seed=0):
    """Every weight random (layer-norm scales and shifts too), so that folding them into the projections is tested."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(1.0 if "gamma" in w.path else 0.0, 0.3, w.shape).astype("float32")
                       for w in model.weights])
    return model


@pytest.mark.parametrize("prompt", ["to be or not", "t", "to be or not to b"])
def test_one_cached_step_equals_the_full_forward_pass(prompt):
    """Append one character: the cached step's logits equal the model's at that position (within float32)."""
    model = _with_random_weights(_tiny_transformer(context=20))
    ids = model.vocabulary.encode(prompt)[None, :]
    window = np.zeros((1, model.context), np.int32)
    window[0, :ids.shape[1] - 1] = ids[0, :-1]
    _, keys, values = kv_cache.prime_caches(model, window)
    position = np.array([ids.shape[1] - 1], np.int32)
    logits, _, _ = kv_cache.cached_step(kv_cache.model_weights(model), ids[:, -1], position, keys, values)
    np.testing.assert_allclose(np.asarray(logits)[0], np.asarray(model(ids))[0, -1], atol=1e-4, rtol=1e-4)


def test_every_cached_step_of_a_generation_equals_the_full_forward_pass():
    """Greedy generation with random weights: each character is the argmax of the full model's logits."""
    model = _with_random_weights(_tiny_transformer(context=16), seed=1)
    text = kv_cache.CachedTextGenerator(model).generate("to", 12, greedy=True)[0]
    ids = list(model.vocabulary.encode("to"))
    for _ in range(12):
        logits = np.array(model(np.array([ids])))[0, -1]
        logits[0] = -np.inf  # the out-of-vocabulary id is never generated
        ids.append(int(np.argmax(logits)))
    assert text == model.vocabulary.decode(ids[2:])


@pytest.mark.parametrize("kwargs", [{"greedy": True}, {"temperature": 0.8, "seed": 3}, {"top_k": 3, "seed": 1},
                                    {"top_p": 0.9, "seed": 7}])
def test_cached_generation_equals_rereading_the_window(kwargs):
    """Prompts of different lengths in one batch, up to the whole context: without XLA, the same characters as
    WindowedTextGenerator (no cache), for greedy decoding and for seeded sampling."""
    model = _tiny_transformer()
    prompts = ["to", "to be or", "be, th", "o"]
    cached = kv_cache.CachedTextGenerator(model, jit_compile=False).generate_many(prompts, 8, **kwargs)
    windowed = generation.WindowedTextGenerator(model).generate_many(prompts, 8, **kwargs)
    assert cached == windowed and all(len(text) == 8 for text in cached)


def test_compiled_cached_generation_is_greedy_equal_and_seeded():
    """With XLA (the default): greedy text equal to re-reading the window; a sampled text repeats with its seed."""
    model = _tiny_transformer()
    prompts = ["to", "to be or", "be, th", "o"]
    generator = kv_cache.CachedTextGenerator(model)
    assert (generator.generate_many(prompts, 8, greedy=True)
            == generation.WindowedTextGenerator(model).generate_many(prompts, 8, greedy=True))
    first = generator.generate_many(prompts, 8, temperature=1.5, seed=4)
    assert first == generator.generate_many(prompts, 8, temperature=1.5, seed=4)
    assert first != generator.generate_many(prompts, 8, temperature=1.5, seed=5)
    assert all(len(text) == 8 and set(text) <= set(model.vocabulary.chars) for text in first)


def test_cached_generation_fills_the_context_exactly():
    model = _tiny_transformer(context=8)
    generator = kv_cache.CachedTextGenerator(model)
    # 5 + 4 - 1 = the whole context: the last of the 4 characters is never read back, so it needs no position
    text = generator.generate("to be", 4, greedy=True)[0]
    assert text == generation.WindowedTextGenerator(model).generate("to be", 4, greedy=True)[0]


def test_past_the_context_is_a_clear_error():
    generator = kv_cache.CachedTextGenerator(_tiny_transformer(context=8))
    with pytest.raises(ValueError, match=r"a prompt of 5 characters plus length=5 needs 9 positions .* more than "
                                         r"the model's context of 8 positions.*WindowedTextGenerator"):
        generator.generate("to be", 5)
    with pytest.raises(ValueError, match="temperature must be"):
        generator.generate("to", 2, temperature=0)


def test_only_transformers_have_a_cache():
    lstm = models.build_char_model(data.Vocabulary.from_text(TEXT), models.CharModelConfig(embedding_dim=4, units=4))
    with pytest.raises(ValueError, match="model must be a TransformerLanguageModel, got CharLanguageModel"):
        kv_cache.CachedTextGenerator(lstm)
