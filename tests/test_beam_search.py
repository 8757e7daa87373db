"""Beam search (utils.beam_search): width 1 is greedy decoding, a wide enough beam is exhaustive search,
every beam's score is the model's log-likelihood of its text, and bad arguments are refused."""

import itertools

import keras
import numpy as np
import pytest

from utils import beam_search, data, generation, models

TEXT = "abca cab bac "


def _model(cell="lstm", num_layers=1, seed=3):
    keras.utils.set_random_seed(seed)
    model = models.build_char_model(data.Vocabulary.from_text(TEXT),
                                    models.CharModelConfig(embedding_dim=4, units=8, num_layers=num_layers, cell=cell))
    model(np.zeros((1, 2), "int32"))
    kernel, bias = model.head.get_weights()
    model.head.set_weights([kernel * 4.0, bias])  # peakier distributions: greedy and the best text differ more often
    return model


@pytest.mark.parametrize("cell, num_layers", [("lstm", 1), ("gru", 2)])
def test_width_one_is_greedy_decoding(cell, num_layers):
    model = _model(cell, num_layers)
    prompts = ["ab", "c", "bac "]
    greedy = generation.TextGenerator(model).generate_many(prompts, 12, greedy=True)
    found = beam_search.BeamSearch(model).search_many(prompts, 12, beam_width=1)
    assert [text for text, _ in found] == greedy


def test_a_beam_holding_every_candidate_finds_the_most_likely_continuation():
    """4 characters, 3 steps: 64 continuations; a beam of 64 must find the best of all of them."""
    model = _model()
    chars = model.vocabulary.chars
    assert len(chars) == 4
    every = {"".join(seq): beam_search.continuation_log_likelihood(model, "ab", "".join(seq))
             for seq in itertools.product(chars, repeat=3)}
    best = max(every, key=every.get)
    text, score = beam_search.BeamSearch(model).search("ab", 3, beam_width=64)
    assert text == best and score == pytest.approx(every[best], abs=1e-4)
    narrow = [beam_search.BeamSearch(model).search("ab", 3, beam_width=width)[1] for width in (1, 2, 4, 16)]
    assert all(found <= every[best] + 1e-4 for found in narrow)  # no beam beats exhaustive search


def test_the_score_is_the_log_likelihood_and_beats_greedy_here():
    model = _model(seed=11)
    searcher = beam_search.BeamSearch(model)
    greedy = generation.TextGenerator(model).generate("a", 20, greedy=True)[0]
    for prompt in ("a", "cab "):
        text, score = searcher.search(prompt, 20, beam_width=4)
        assert score == pytest.approx(beam_search.continuation_log_likelihood(model, prompt, text), abs=1e-3)
    text, score = searcher.search("a", 20, beam_width=4)
    assert score >= beam_search.continuation_log_likelihood(model, "a", greedy) - 1e-4


@pytest.mark.parametrize("kwargs, message", [
    ({"length": 0}, "length must be an int >= 1"),
    ({"length": 10**7}, r"length must be an int >= 1 and <= 1,000,000"),
    ({"beam_width": 0}, r"beam_width must be an int in \[1, 256\]"),
    ({"beam_width": 257}, r"beam_width must be an int in \[1, 256\]"),
    ({"prompts": "ab"}, "prompts must be a non-empty list of str"),
    ({"prompts": ["ab", ""]}, "prompt must be a non-empty str"),
    ({"prompts": ["xyz"]}, "outside the vocabulary"),
    ({"prompts": ["a"] * 3000}, r"prompts x beam_width must be <= 10,000"),
    ({"beam_width": True}, r"beam_width must be an int"),
])
def test_bad_arguments_are_refused(kwargs, message):
    searcher = beam_search.BeamSearch(_model())
    arguments = {"prompts": ["ab"], "length": 5, "beam_width": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        searcher.search_many(arguments.pop("prompts"), **arguments)


def test_only_recurrent_models_and_bad_continuations():
    transformer = models.build_transformer_model(data.Vocabulary.from_text(TEXT), context=4, dim=8, num_heads=2,
                                                 num_layers=1)
    with pytest.raises(ValueError, match="model must be a recurrent CharLanguageModel, got TransformerLanguageModel"):
        beam_search.BeamSearch(transformer)
    with pytest.raises(ValueError, match="non-empty str"):
        beam_search.continuation_log_likelihood(_model(), "ab", "")
