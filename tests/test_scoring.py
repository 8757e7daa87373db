"""Forced-choice scoring (utils.scoring): each prompt read once gives the log-probabilities of the full pass."""

import keras
import numpy as np
import pytest
from test_attention import TEXT
from test_kv_cache import _tiny_transformer, _with_random_weights

from utils import data, models, scoring

VOCAB = data.Vocabulary.from_text(TEXT)
PROMPTS = ["to be or not to", "t", "that is the ques", "be, that is"]
CANDIDATES = [" be ", " b", "tion", "e", " not to be, "]


def _full_pass(model, prompt, candidate):
    """log p(candidate | prompt) from one plain forward pass over prompt + candidate."""
    ids = VOCAB.encode(prompt + candidate)
    inputs = ids[:-1]  # the last character is only a target
    assert len(inputs) <= getattr(model, "context", len(inputs))
    log_probs = np.asarray(keras.ops.log_softmax(model(inputs[None, :]), axis=-1))[0]
    start = len(ids) - len(candidate)
    return sum(log_probs[start - 1 + i, ids[start + i]] for i in range(len(candidate)))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_recurrent_scores_equal_the_full_pass(cell):
    keras.utils.set_random_seed(3)
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16, num_layers=2, cell=cell))
    scores = scoring.continuation_log_probs(model, PROMPTS, CANDIDATES, batch_size=3)  # a ragged last batch too
    expected = [[_full_pass(model, p, c) for c in CANDIDATES] for p in PROMPTS]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_transformer_scores_equal_the_full_pass_and_long_prompts_keep_what_fits():
    model = _with_random_weights(_tiny_transformer(context=20), seed=2)
    prompts = [*PROMPTS, "to be or not to be, that is the question"]  # longer than the context
    scores = scoring.continuation_log_probs(model, prompts, CANDIDATES, batch_size=2)
    keep = model.context - max(len(c) for c in CANDIDATES) + 1
    expected = [[_full_pass(model, p[-keep:], c) for c in CANDIDATES] for p in prompts]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_scores_are_log_probabilities_that_sum_to_one_over_the_vocabulary():
    keras.utils.set_random_seed(4)
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16))
    every_char = list(VOCAB.chars)  # all but id 0, [UNK], which an untrained model also gives some probability
    scores = scoring.continuation_log_probs(model, ["to be"], every_char)
    unknown = float(keras.ops.softmax(model(VOCAB.encode("to be")[None, :]))[0, -1, 0])
    assert np.exp(scores).sum() == pytest.approx(1.0 - unknown, abs=1e-5)


@pytest.mark.parametrize("prompts, candidates, argument", [
    ([], [" be"], "prompts"), (["to"], [], "candidates"), ([""], [" be"], "prompts"), (["to"], [""], "candidates"),
    (["to"], ["Z"], "candidates"), (["Z"], ["to"], "prompts"), ("to be", [" be"], "prompts")])
def test_bad_prompts_and_candidates_are_named(prompts, candidates, argument):
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16))
    with pytest.raises(ValueError, match=argument):
        scoring.continuation_log_probs(model, prompts, candidates)


def test_candidates_longer_than_the_context_are_refused():
    model = _tiny_transformer(context=8)
    with pytest.raises(ValueError, match="context"):
        scoring.continuation_log_probs(model, ["to"], ["to be or not"])


@pytest.mark.parametrize("successes, trials, low, high", [
    (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (180, 200, 0.8506, 0.9344)])
def test_wilson_interval_matches_published_values(successes, trials, low, high):
    assert scoring.wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize("successes, trials, argument", [(11, 10, "successes"), (-1, 10, "successes"),
                                                         (1.5, 10, "successes"), (0, 0, "trials")])
def test_wilson_interval_refuses_impossible_counts(successes, trials, argument):
    with pytest.raises(ValueError, match=argument):
        scoring.wilson_interval(successes, trials)
