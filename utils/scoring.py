"""Forced choice: how likely a language model finds each candidate continuation of a prompt.

Sampling shows what a model *writes*, mixed with the luck of the draw and with everything else it
might write first. Scoring asks what it *knows*: append each candidate ("Pip ", "Mia ", ...) to the
prompt, add up the log-probabilities the model gives to the candidate's characters, and rank. This
is how multiple-choice benchmarks evaluate language models.

Scoring every candidate by running prompt + candidate through the model would read each prompt
once per candidate. Here each prompt is read once and every candidate continues from it:

* a recurrent model (``models.CharLanguageModel``) reads the right-padded prompts with a mask, so
  each row's state stops at its own last character, and each candidate continues from a copy;
* a Transformer (``models.TransformerLanguageModel``) reads the prompts into key/value caches
  (``utils.kv_cache``), and each candidate is stepped through a copy of its prompt's cache. A prompt
  longer than the window is cut to the characters the window can hold next to the candidate.

Both are checked against the plain full pass in tests/test_scoring.py.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from utils import kv_cache
from utils.checks import check_int


def _encode(vocabulary, texts: list[str], argument: str) -> list[np.ndarray]:
    if not isinstance(texts, (list, tuple)) or not texts:
        raise ValueError(f"{argument} must be a non-empty list of str, got {texts!r}")
    encoded = []
    for text in texts:
        if not isinstance(text, str) or not text:
            raise ValueError(f"every item of {argument} must be a non-empty str, got {text!r}")
        encoded.append(vocabulary.encode(text, argument=argument))
    return encoded


def _pad(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (rows, longest) int32 ids and the length of each row."""
    lengths = np.array([len(row) for row in rows], np.int32)
    padded = np.zeros((len(rows), lengths.max()), np.int32)
    for out, row in zip(padded, rows, strict=True):
        out[:len(row)] = row
    return padded, lengths


def _recurrent_scorer(model):
    """A compiled function: (prompts, lengths, inputs, targets, mask) -> summed log-probabilities."""

    def score(prompts, lengths, inputs, targets, mask):
        # Read all but each prompt's last character; the mask freezes a row's state after its own end.
        x = model.embedding(prompts)
        steps = tf.sequence_mask(lengths - 1, tf.shape(prompts)[1])
        states = []
        for layer in model.recurrent_layers:
            x, *layer_states = layer(x, mask=steps)
            states.append(layer_states)
        copies = tf.shape(inputs)[0] // tf.shape(prompts)[0]  # candidates per prompt
        states = [[tf.repeat(s, copies, axis=0) for s in layer_states] for layer_states in states]
        logits = model(inputs, states=states)  # the prompt's last character, then the candidate
        return _summed_log_probs(logits, targets, mask)

    return tf.function(score, reduce_retracing=True)


def _transformer_scorer(model):
    def score(prompts, lengths, inputs, targets, mask):
        all_logits, keys, values = kv_cache.prime_caches(model, prompts)
        copies = tf.shape(inputs)[0] // tf.shape(prompts)[0]
        keys = [tf.repeat(k, copies, axis=0) for k in keys]
        values = [tf.repeat(v, copies, axis=0) for v in values]
        first = tf.repeat(tf.gather(all_logits, lengths - 1, batch_dims=1), copies, axis=0)
        position = tf.repeat(lengths, copies)
        weights = kv_cache.model_weights(model)
        logits = [first]
        for i in range(1, inputs.shape[1]):  # the candidate's characters, one cached step each
            step_logits, keys, values = kv_cache.cached_step(weights, inputs[:, i], position + i - 1, keys, values)
            logits.append(step_logits)
        return _summed_log_probs(tf.stack(logits, axis=1), targets, mask)

    return tf.function(score)  # one trace per candidate length: the loop above unrolls over it


def _summed_log_probs(logits, targets, mask):
    log_probs = tf.gather(tf.nn.log_softmax(logits), targets, batch_dims=2)  # (rows, time)
    return tf.reduce_sum(tf.where(mask, log_probs, 0.0), axis=1)


def continuation_log_probs(model, prompts: list[str], candidates: list[str], *, batch_size: int = 16) -> np.ndarray:
    """log p(candidate | prompt) in nats, for every prompt and every candidate.

    Args:
        model: a ``CharLanguageModel`` or ``TransformerLanguageModel``.
        prompts: non-empty texts; a Transformer reads only the last ``context - longest candidate + 1``
            characters of each (what its window holds next to the candidate).
        candidates: non-empty continuations, the same for every prompt. To compare candidates fairly, end
            each with what follows it ("Pip ", not "Pip"), so that no candidate is a prefix of another.
        batch_size: prompts read at once (each is copied once per candidate).

    Returns:
        (len(prompts), len(candidates)) float64 array of summed log-probabilities.
    """
    check_int(batch_size, "batch_size")
    vocabulary = model.vocabulary
    encoded_prompts = _encode(vocabulary, prompts, "prompts")
    encoded_candidates = _encode(vocabulary, candidates, "candidates")
    longest = max(len(c) for c in encoded_candidates)
    transformer = hasattr(model, "blocks")
    if transformer:
        keep = model.context - longest + 1
        if keep < 1:
            raise ValueError(f"candidates of {longest} characters do not fit the model's context of {model.context}")
        encoded_prompts = [ids[-keep:] for ids in encoded_prompts]
    # Inputs: the prompt's last character, then each candidate but its last; targets: the candidate.
    targets, candidate_lengths = _pad(encoded_candidates)
    mask = np.arange(longest)[None, :] < candidate_lengths[:, None]
    scorer = getattr(model, "_course_scorer", None)
    if scorer is None:  # compiled once per model (a tf.function traces per distinct model)
        scorer = _transformer_scorer(model) if transformer else _recurrent_scorer(model)
        model._course_scorer = scorer
    scores = []
    for start in range(0, len(encoded_prompts), batch_size):
        chunk = encoded_prompts[start:start + batch_size]
        padded, lengths = _pad(chunk)
        if transformer:  # the cache spans the whole context
            padded = np.pad(padded, [(0, 0), (0, model.context - padded.shape[1])])
        last = padded[np.arange(len(chunk)), lengths - 1]
        inputs = np.concatenate([np.repeat(last, len(candidates))[:, None], np.tile(targets[:, :-1], (len(chunk), 1))],
                                axis=1)
        summed = scorer(tf.constant(padded), tf.constant(lengths), tf.constant(inputs),
                        tf.constant(np.tile(targets, (len(chunk), 1))), tf.constant(np.tile(mask, (len(chunk), 1))))
        scores.append(summed.numpy().reshape(len(chunk), len(candidates)))
    return np.concatenate(scores).astype(np.float64)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% for z = 1.96).

    Unlike the textbook p ± z·sqrt(p(1-p)/n), it stays inside [0, 1] and is not zero-width at 0 or n
    successes, which matters for the rates near 0 and 1 that evaluations produce.
    """
    check_int(trials, "trials")
    if not isinstance(successes, (int, np.integer)) or not 0 <= successes <= trials:
        raise ValueError(f"successes must be an int in [0, trials={trials}], got {successes!r}")
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
