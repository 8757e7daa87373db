"""Beam search for the recurrent character models, and the log-likelihood of a given continuation.

Greedy decoding keeps the single most likely next character; beam search keeps the ``beam_width``
most likely *continuations so far* and extends each by every character, so it can take a less
likely character now for a more likely text later. It maximises the model's probability of the
whole continuation (exactly, once the beam holds every candidate); a higher-probability text is
not a better one: character models' most likely texts repeat themselves, which is why sampling
(temperature, top-k, top-p) is the usual choice for generating text.

``BeamSearch`` carries the recurrent state of every beam explicitly (``model.step``), for all
prompts and beams at once, in one compiled ``tf.function`` loop.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from utils import priming
from utils.checks import check_int
from utils.generation import MAX_LENGTH, MAX_STREAMS

MAX_BEAM_WIDTH = 256


def _log_probabilities(logits):
    """Log-softmax over the vocabulary with the out-of-vocabulary id (0) excluded, as the samplers do."""
    logits = tf.cast(logits, tf.float32)
    logits = tf.where(tf.range(tf.shape(logits)[-1])[None, :] == 0, tf.constant(-np.inf, tf.float32), logits)
    return tf.nn.log_softmax(logits, axis=-1)


def continuation_log_likelihood(model, prompt: str, continuation: str) -> float:
    """Natural-log probability that ``model`` gives ``continuation`` after ``prompt`` (a sum over its characters).

    Raises:
        ValueError: an empty prompt or continuation, or characters outside the vocabulary.
    """
    if not isinstance(prompt, str) or not prompt or not isinstance(continuation, str) or not continuation:
        raise ValueError("prompt and continuation must be non-empty str")
    ids = model.vocabulary.encode(prompt + continuation, argument="prompt and continuation")
    log_probs = _log_probabilities(model(ids[None, :-1])[0])  # (time, vocab): position t predicts t + 1
    targets = ids[len(prompt):]
    return float(tf.reduce_sum(tf.gather(log_probs[len(prompt) - 1:], targets, batch_dims=1)))


class BeamSearch:
    """Beam search over a ``CharLanguageModel`` (see the module docstring)."""

    def __init__(self, model):
        if not hasattr(model, "step") or not hasattr(model, "zero_states"):
            raise ValueError(f"model must be a recurrent CharLanguageModel, got {type(model).__name__}")
        self.model = model
        self.vocabulary = model.vocabulary
        self._loop = tf.function(self._search_loop, reduce_retracing=True)

    def _search_loop(self, logits, states, length, beam_width):
        """logits (batch, vocab) and states after each prompt -> (sequences (batch, beams, length), scores)."""
        batch, vocab = tf.shape(logits)[0], tf.shape(logits)[1]
        # Each prompt starts as one live beam (score 0) and beam_width - 1 empty ones (score -inf), so the
        # first step picks the best first characters of the live beam, however wide the beam.
        scores = tf.where(tf.range(beam_width)[None, :] == 0, 0.0, -np.inf) * tf.ones([batch, 1])  # (batch, beams)
        logits = tf.repeat(logits, beam_width, axis=0)  # (batch * beams, vocab)
        states = tf.nest.map_structure(lambda s: tf.repeat(s, beam_width, axis=0), states)
        sequences = tf.TensorArray(tf.int32, size=length)
        parents = tf.TensorArray(tf.int32, size=length)
        for t in tf.range(length):
            tf.autograph.experimental.set_loop_options(shape_invariants=[  # the batch is known only at run time
                (scores, tf.TensorShape([None, None])), (logits, tf.TensorShape([None, None])),
                *[(s, tf.TensorShape([None, s.shape[-1]])) for s in tf.nest.flatten(states)]])
            candidates = scores[:, :, None] + tf.reshape(_log_probabilities(logits), [batch, beam_width, vocab])
            scores, flat = tf.math.top_k(tf.reshape(candidates, [batch, -1]), k=beam_width)  # best of beams x vocab
            parent, tokens = flat // vocab, flat % vocab
            rows = tf.reshape(parent + tf.range(batch)[:, None] * beam_width, [-1])  # the beams that live on
            states = tf.nest.map_structure(lambda s: tf.gather(s, rows), states)  # noqa: B023
            logits, states = self.model.step(tf.reshape(tokens, [-1]), states)
            sequences = sequences.write(t, tokens)
            parents = parents.write(t, parent)
        # Follow each final beam back through its parents.
        tokens_by_step, parents_by_step = sequences.stack(), parents.stack()  # (length, batch, beams)
        beam = tf.tile(tf.range(beam_width)[None, :], [batch, 1])
        backwards = tf.TensorArray(tf.int32, size=length)
        for t in tf.range(length - 1, -1, -1):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(beam, tf.TensorShape([None, None]))])
            backwards = backwards.write(t, tf.gather(tokens_by_step[t], beam, batch_dims=1))
            beam = tf.gather(parents_by_step[t], beam, batch_dims=1)
        return tf.transpose(backwards.stack(), [1, 2, 0]), scores

    def search_many(self, prompts: list[str], length: int, *, beam_width: int = 8) -> list[tuple[str, float]]:
        """The most likely continuation of ``length`` characters that the beam found for each prompt.

        Returns:
            One (continuation, log-likelihood in nats) per prompt, in order.

        Raises:
            ValueError: a bad prompt, ``length`` outside [1, MAX_LENGTH], ``beam_width`` outside
                [1, MAX_BEAM_WIDTH], or more than MAX_STREAMS prompts x beams.
        """
        check_int(length, "length")
        if length > MAX_LENGTH:
            raise ValueError(f"length must be an int >= 1 and <= {MAX_LENGTH:,}, got {length!r}")
        if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)) \
                or not 1 <= beam_width <= MAX_BEAM_WIDTH:
            raise ValueError(f"beam_width must be an int in [1, {MAX_BEAM_WIDTH}], got {beam_width!r}")
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of str, got {prompts!r}")
        if len(prompts) * beam_width > MAX_STREAMS:
            raise ValueError(f"prompts x beam_width must be <= {MAX_STREAMS:,}, got {len(prompts)} x {beam_width}")
        encoded = []
        for prompt in prompts:
            if not isinstance(prompt, str) or not prompt:
                raise ValueError(f"prompt must be a non-empty str, got {prompt!r}")
            encoded.append(self.vocabulary.encode(prompt, argument="prompt"))
        logits, states = priming.read_many(self.model, encoded)  # each distinct prompt read once
        logits, states = tf.convert_to_tensor(logits), tf.nest.map_structure(tf.convert_to_tensor, states)
        sequences, scores = self._loop(logits, states, tf.constant(length), tf.constant(beam_width))
        best = tf.argmax(scores, axis=-1, output_type=tf.int32)
        chosen = tf.gather(sequences, best, batch_dims=1).numpy()
        best_scores = tf.gather(scores, best, batch_dims=1).numpy()
        return [(self.vocabulary.decode(row), float(score)) for row, score in zip(chosen, best_scores, strict=True)]

    def search(self, prompt: str, length: int, *, beam_width: int = 8) -> tuple[str, float]:
        """``search_many`` for one prompt."""
        return self.search_many([prompt], length, beam_width=beam_width)[0]
