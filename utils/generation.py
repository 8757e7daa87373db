"""Sampling text from a character model: greedy, temperature, top-k and top-p, fast.

``TextGenerator`` reads the prompt once (``priming.read_prompts``), then generates with the recurrent state carried
explicitly (O(1) work per character) inside one compiled ``tf.function`` loop, for one or
many streams at once. ``generate_by_refeeding`` is the keras-io recipe (re-feed a window
through ``model.predict`` for every character, O(window) per character), kept only as the
reference that notebook 02 and ``benchmarks/`` measure against.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from utils import priming
from utils.checks import check_int

NO_TOP_K = 0  # top_k value meaning "no top-k filtering"
# Bounds that keep every accepted request finite and in memory: the generated ids of all streams are
# held at once (length x streams int32), and logits / temperature must stay finite in float32.
MAX_LENGTH = 1_000_000  # characters per stream in one call
MAX_STREAMS = 10_000  # streams in one call
MAX_TOTAL_CHARS = 20_000_000  # length x streams: 80 MB of int32 ids
MIN_TEMPERATURE, MAX_TEMPERATURE = 1e-3, 1e3
MAX_SEED = 2**31 - 1  # the sampler's seed is an int32


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_sampling_args(vocab_size: int, *, length: int = 0, temperature: float = 1.0,
                        top_k: int | None = None, top_p: float | None = None, num_streams: int = 1,
                        seed: int = 0) -> None:
    """Raise ValueError naming the argument and its allowed values if any is out of range.

    Allowed: length in [0, MAX_LENGTH]; temperature in [MIN_TEMPERATURE, MAX_TEMPERATURE] (use
    ``greedy=True`` for argmax decoding); top_k in [1, vocab_size - 1] (the out-of-vocabulary id is
    never sampled); top_p in (0, 1]; at most one of top_k and top_p; num_streams in [1, MAX_STREAMS];
    length x num_streams <= MAX_TOTAL_CHARS; seed in [0, MAX_SEED].
    """
    if not _is_int(length) or not 0 <= length <= MAX_LENGTH:
        raise ValueError(f"length must be an int >= 0 and <= {MAX_LENGTH:,}, got {length!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) \
            or not np.isfinite(temperature) or not temperature > 0:
        raise ValueError(f"temperature must be a finite number > 0 (use greedy=True for argmax), got {temperature!r}")
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}] (use greedy=True for "
                         f"argmax), got {temperature!r}")
    if top_k is not None and top_p is not None:
        raise ValueError("pass at most one of top_k and top_p")
    if top_k is not None and (not _is_int(top_k) or not 1 <= top_k <= vocab_size - 1):
        raise ValueError(f"top_k must be an int in [1, {vocab_size - 1}], got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.floating))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
    if not _is_int(num_streams) or not 1 <= num_streams <= MAX_STREAMS:
        raise ValueError(f"num_streams must be an int >= 1 and <= {MAX_STREAMS:,}, got {num_streams!r}")
    if length * num_streams > MAX_TOTAL_CHARS:
        raise ValueError(f"length x num_streams must be <= {MAX_TOTAL_CHARS:,} characters in one call, got "
                         f"{length:,} x {num_streams:,}; generate in several calls")
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an int in [0, {MAX_SEED}], got {seed!r}")


def filter_logits(logits, temperature, top_k=NO_TOP_K, top_p=1.0):
    """Rescale logits by temperature and remove what top-k / top-p exclude (set to -inf).

    Args:
        logits: (batch, vocab) float tensor.
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        top_k: keep the k most likely ids (0: keep all).
        top_p: keep the smallest set of most likely ids whose probability reaches top_p (1.0: keep all).

    Returns:
        (batch, vocab) logits; id 0 (out-of-vocabulary) is always excluded.
    """
    logits = tf.cast(logits, tf.float32) / tf.cast(temperature, tf.float32)
    vocab = tf.shape(logits)[-1]
    minus_inf = tf.fill(tf.shape(logits), -np.inf)
    logits = tf.where(tf.range(vocab)[None, :] == 0, minus_inf, logits)  # never emit [UNK]
    k = tf.where(tf.cast(top_k, tf.int32) > 0, tf.cast(top_k, tf.int32), vocab)
    kth_largest = tf.math.top_k(logits, k=k).values[:, -1:]
    logits = tf.where(logits < kth_largest, minus_inf, logits)
    sorted_logits = tf.sort(logits, direction="DESCENDING")
    mass_before = tf.cumsum(tf.nn.softmax(sorted_logits), axis=-1, exclusive=True)
    kept = tf.logical_or(mass_before < tf.cast(top_p, tf.float32), tf.range(vocab)[None, :] == 0)
    cutoff = tf.reduce_min(tf.where(kept, sorted_logits, np.inf), axis=-1, keepdims=True)
    return tf.where(tf.logical_and(logits < cutoff, tf.cast(top_p, tf.float32) < 1.0), minus_inf, logits)


def next_char_probabilities(logits, temperature: float = 1.0, top_k: int | None = None,
                            top_p: float | None = None) -> np.ndarray:
    """The sampling distribution for one logits vector (vocab,), as NumPy probabilities."""
    filtered = filter_logits(np.asarray(logits, dtype=np.float32)[None, :], temperature,
                             top_k or NO_TOP_K, 1.0 if top_p is None else top_p)
    return tf.nn.softmax(filtered)[0].numpy()


def compiled_prompt_reader(model):
    """``model(ids, return_state=True)`` as one compiled graph for prompts of any shape.

    Called eagerly, a Keras recurrent layer steps through the prompt in a Python loop; compiled, the
    same loop runs in the graph with identical results (for a 512-unit LSTM on the course's 2-core
    CPU, measured once: 4.5 ms per character eagerly, 0.14 ms compiled). The generators read prompts with
    ``priming.read_prompts`` instead, the same recurrence in NumPy with fewer calls per step and each
    character's input projection looked up, not computed (``benchmarks/prompt_priming.py`` times both).
    """
    return tf.function(lambda ids: model(ids, return_state=True),
                       input_signature=[tf.TensorSpec([None, None], tf.int32)])


class TextGenerator:
    """Fast sampling from a ``CharLanguageModel`` (see the module docstring)."""

    def __init__(self, model, jit_compile: bool = False):
        self.model = model
        self.vocabulary = model.vocabulary
        # jit_compile=False: XLA made this loop slower on a 2-core CPU (benchmarks/generation_speed.py).
        self._loop = tf.function(self._sample_loop, reduce_retracing=True, jit_compile=jit_compile)

    def _sample_loop(self, logits, states, length, seed, temperature, top_k, top_p, greedy):
        ids = tf.TensorArray(tf.int32, size=length)
        for i in tf.range(length):
            filtered = filter_logits(logits, temperature, top_k, top_p)
            sampled = tf.random.stateless_categorical(filtered, 1, seed=tf.stack([seed, i]),  # same seed, same text
                                                      dtype=tf.int32)[:, 0]
            next_ids = tf.where(greedy, tf.argmax(filtered, axis=-1, output_type=tf.int32), sampled)
            ids = ids.write(i, next_ids)
            logits, states = self.model.step(next_ids, states)
        return tf.transpose(ids.stack())  # (length, batch) -> (batch, length)

    def encode_prompt(self, prompt: str) -> np.ndarray:
        """Prompt -> ids, refusing an empty prompt or characters outside the vocabulary."""
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"prompt must be a non-empty str, got {prompt!r}")
        return self.vocabulary.encode(prompt, argument="prompt")

    def encode_prompts(self, prompts) -> list[np.ndarray]:
        """A non-empty list of prompts -> one id array each (see ``encode_prompt``)."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of str, got {prompts!r}")
        return [self.encode_prompt(prompt) for prompt in prompts]

    def generate(self, prompt: str, length: int, *, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, greedy: bool = False, seed: int = 0, num_streams: int = 1) -> list[str]:
        """Continue ``prompt`` by ``length`` characters in each of ``num_streams`` independent streams.

        Returns:
            The ``num_streams`` continuations (without the prompt).

        Raises:
            ValueError: a bad prompt or sampling argument (see ``check_sampling_args``).
        """
        check_sampling_args(self.vocabulary.size, length=length, num_streams=num_streams, seed=seed)
        return self.generate_many([prompt] * num_streams, length, temperature=temperature, top_k=top_k, top_p=top_p,
                                  greedy=greedy, seed=seed)

    def generate_many(self, prompts: list[str], length: int, *, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, greedy: bool = False, seed: int = 0) -> list[str]:
        """Continue each of several prompts (of any lengths) by ``length`` characters, in one batched loop.

        Each distinct prompt is read once by ``priming.read_many`` (prompts of equal length together),
        then all streams are sampled together. Returns one continuation per prompt, in order.
        """
        check_sampling_args(self.vocabulary.size, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                            num_streams=len(prompts) if isinstance(prompts, (list, tuple)) and prompts else 1,
                            seed=seed)
        encoded = self.encode_prompts(prompts)
        if length == 0:
            return [""] * len(prompts)
        logits, states = priming.read_many(self.model, encoded)  # each distinct prompt read once
        logits, states = tf.convert_to_tensor(logits), tf.nest.map_structure(tf.convert_to_tensor, states)
        ids = self._loop(logits, states, tf.constant(length), tf.constant(seed, tf.int32),
                         tf.constant(temperature, tf.float32), tf.constant(top_k or NO_TOP_K, tf.int32),
                         tf.constant(1.0 if top_p is None else top_p, tf.float32), tf.constant(bool(greedy)))
        return [self.vocabulary.decode(row) for row in ids.numpy()]


class WindowedTextGenerator(TextGenerator):
    """Sampling from a ``TransformerLanguageModel``: no state to carry, so every character re-reads
    the last ``model.context`` characters (a full forward pass per character, O(context) attention
    work for the new position plus recomputing every earlier one; a key/value cache would keep the
    earlier positions' keys and values instead). One compiled loop, as for ``TextGenerator``.
    """

    def _sample_loop(self, window, filled, length, seed, temperature, top_k, top_p, greedy):
        context = tf.shape(window)[1]
        positions = tf.range(context)[None, :]
        ids = tf.TensorArray(tf.int32, size=length)
        for i in tf.range(length):
            # Causal: stream b reads its logits at its last filled position; the padding after it is never seen.
            logits = tf.gather(self.model(window), filled - 1, batch_dims=1)
            filtered = filter_logits(logits, temperature, top_k, top_p)
            sampled = tf.random.stateless_categorical(filtered, 1, seed=tf.stack([seed, i]), dtype=tf.int32)[:, 0]
            next_ids = tf.where(greedy, tf.argmax(filtered, axis=-1, output_type=tf.int32), sampled)
            ids = ids.write(i, next_ids)
            appended = tf.where(positions == filled[:, None], next_ids[:, None], window)  # room left: write there
            shifted = tf.concat([window[:, 1:], next_ids[:, None]], axis=1)  # full: drop the oldest
            window = tf.where((filled < context)[:, None], appended, shifted)
            filled = tf.minimum(filled + 1, context)
        return tf.transpose(ids.stack())

    def generate_many(self, prompts: list[str], length: int, *, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, greedy: bool = False, seed: int = 0) -> list[str]:
        """As ``TextGenerator.generate_many``; a prompt longer than the context is cut to its last characters."""
        check_sampling_args(self.vocabulary.size, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                            num_streams=len(prompts) if isinstance(prompts, (list, tuple)) and prompts else 1,
                            seed=seed)
        encoded = [ids[-self.model.context:] for ids in self.encode_prompts(prompts)]
        if length == 0:
            return [""] * len(prompts)
        window = np.zeros((len(encoded), self.model.context), np.int32)
        for row, ids in zip(window, encoded, strict=True):
            row[:len(ids)] = ids
        filled = np.array([len(ids) for ids in encoded], np.int32)
        ids = self._loop(tf.constant(window), tf.constant(filled), tf.constant(length),
                         tf.constant(seed, tf.int32), tf.constant(temperature, tf.float32),
                         tf.constant(top_k or NO_TOP_K, tf.int32), tf.constant(1.0 if top_p is None else top_p, tf.float32),
                         tf.constant(bool(greedy)))
        return [self.vocabulary.decode(row) for row in ids.numpy()]


def generate_by_refeeding(model, prompt: str, length: int, *, window: int = 40, temperature: float = 1.0,
                          seed: int = 0) -> str:
    """The keras-io recipe: for every character, run ``model.predict`` on the last ``window`` characters.

    Each character costs a full forward pass over the window (O(window)) plus ``predict``'s
    per-call overhead. Kept as the reference the fast generator is measured against.
    """
    check_sampling_args(model.vocabulary.size, length=length, temperature=temperature, seed=seed)
    check_int(window, "window")
    rng = np.random.default_rng(seed)
    ids = list(model.vocabulary.encode(prompt, argument="prompt"))
    for _ in range(length):
        logits = model.predict(np.array([ids[-window:]]), verbose=0)[0, -1]
        probs = next_char_probabilities(logits, temperature)
        ids.append(int(rng.choice(len(probs), p=probs / probs.sum())))
    return model.vocabulary.decode(ids[len(ids) - length:]) if length else ""
