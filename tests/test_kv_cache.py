"""The key/value cache (utils.kv_cache): the same text as re-reading the window, and a clear error past the context."""

import numpy as np
import pytest
from test_attention import TEXT
from test_attention import _tiny_transformer as _tiny_transformer_of_context

from utils import data, generation, kv_cache, models


def _tiny_transformer(context=16):
    return _tiny_transformer_of_context(context)


def test_one_cached_step_equals_the_full_forward_pass():
    """Append one character: the cached step's logits equal the model's at that position (within float32)."""
    model = _tiny_transformer()
    ids = model.vocabulary.encode("to be or not")[None, :]
    window = np.zeros((1, model.context), np.int32)
    window[0, :ids.shape[1] - 1] = ids[0, :-1]
    _, keys, values = kv_cache.prime_caches(model, window)
    position = np.array([ids.shape[1] - 1], np.int32)
    x = model.embedding.tokens(ids[:, -1:]) + model.embedding.positions(position[:, None])
    for block, block_keys, block_values in zip(model.blocks, keys, values, strict=True):
        x, _, _ = kv_cache.cached_block_step(block, x, block_keys, block_values, position)
    cached = np.asarray(model.head(model.final_norm(x)))[0, 0]
    np.testing.assert_allclose(cached, np.asarray(model(ids))[0, -1], atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"greedy": True}, {"temperature": 0.8, "seed": 3}, {"top_k": 3, "seed": 1},
                                    {"top_p": 0.9, "seed": 7}])
def test_cached_generation_equals_rereading_the_window(kwargs):
    """Prompts of different lengths in one batch, up to the whole context: the same characters as
    WindowedTextGenerator (no cache), for greedy decoding and for seeded sampling."""
    model = _tiny_transformer()
    prompts = ["to", "to be or", "be, th", "o"]
    cached = kv_cache.CachedTextGenerator(model).generate_many(prompts, 8, **kwargs)
    windowed = generation.WindowedTextGenerator(model).generate_many(prompts, 8, **kwargs)
    assert cached == windowed and all(len(text) == 8 for text in cached)


def test_cached_generation_fills_the_context_exactly():
    model = _tiny_transformer(context=8)
    generator = kv_cache.CachedTextGenerator(model)
    text = generator.generate("to be", 3, greedy=True)[0]  # 5 + 3 = the whole context
    assert text == generation.WindowedTextGenerator(model).generate("to be", 3, greedy=True)[0]


def test_past_the_context_is_a_clear_error():
    generator = kv_cache.CachedTextGenerator(_tiny_transformer(context=8))
    with pytest.raises(ValueError, match=r"a prompt of 5 characters plus length=4 exceeds the model's context of 8 "
                                         r"positions.*WindowedTextGenerator"):
        generator.generate("to be", 4)
    with pytest.raises(ValueError, match="temperature must be"):
        generator.generate("to", 2, temperature=0)


def test_only_transformers_have_a_cache():
    lstm = models.build_char_model(data.Vocabulary.from_text(TEXT), models.CharModelConfig(embedding_dim=4, units=4))
    with pytest.raises(ValueError, match="model must be a TransformerLanguageModel, got CharLanguageModel"):
        kv_cache.CachedTextGenerator(lstm)
