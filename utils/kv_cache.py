"""A key/value cache for the course's Transformer language model.

Without a cache (``generation.WindowedTextGenerator``) every new character runs the whole window
through every block again. But in a causal Transformer the keys and values of earlier positions
never change when a character is appended (position t attends only to positions <= t), so they can
be kept: each new character then computes one query, key and value per head and block, and attends
to the cached keys. That is what production Transformers do at generation time.

The cache holds at most ``model.context`` positions: with learned absolute positions, sliding the
window past the context would change the position of every cached key, so ``CachedTextGenerator``
refuses a prompt plus length longer than the context (``WindowedTextGenerator`` slides instead).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from utils.generation import NO_TOP_K, TextGenerator, check_sampling_args, filter_logits


def prime_caches(model, window):
    """Run the model over ``window`` (batch, context) and keep every block's keys and values.

    Returns:
        (logits (batch, context, vocab), keys, values): one ``(batch, context, heads, head_dim)``
        tensor per block in each list. Positions after a row's prompt hold keys of padding; they are
        never attended to (causal mask), and each is overwritten when a character is generated there.
    """
    x = model.embedding(window)
    keys, values = [], []
    for block in model.blocks:
        h = block.norm1(x)
        keys.append(block.attention.key_dense(h))  # (batch, context, dim) -> (batch, context, heads, head_dim)
        values.append(block.attention.value_dense(h))
        x = block(x)
    return model.head(model.final_norm(x)), keys, values


def cached_block_step(block, x, keys, values, position):
    """One new position through one pre-norm block, reading and extending that block's cache.

    Args:
        block: a ``TransformerBlock``.
        x: (batch, 1, dim), the new position's input.
        keys, values: (batch, context, heads, head_dim), this block's cache.
        position: (batch,) int32, where each row's new position goes (0 <= position < context).

    Returns:
        (output (batch, 1, dim), keys, values) with this position's key and value written in.
    """
    attention = block.attention
    h = block.norm1(x)
    query = attention.query_dense(h)  # (batch, 1, heads, head_dim)
    context = tf.shape(keys)[1]
    slot = tf.one_hot(position, context, dtype=keys.dtype)[:, :, None, None]  # (batch, context, 1, 1)
    keys = keys * (1.0 - slot) + attention.key_dense(h) * slot
    values = values * (1.0 - slot) + attention.value_dense(h) * slot
    head_dim = tf.cast(tf.shape(query)[-1], query.dtype)
    scores = tf.einsum("bqhd,bkhd->bhqk", query, keys) / tf.sqrt(head_dim)  # (batch, heads, 1, context)
    visible = tf.range(context)[None, :] <= position[:, None]  # causal: this position and the ones before
    scores = tf.where(visible[:, None, None, :], scores, tf.constant(-1e9, scores.dtype))
    attended = tf.einsum("bhqk,bkhd->bqhd", tf.nn.softmax(scores, axis=-1), values)  # (batch, 1, heads, head_dim)
    x = x + attention.output_dense(attended)
    return x + block.ffn_out(block.ffn_in(block.norm2(x))), keys, values


class CachedTextGenerator(TextGenerator):
    """Sampling from a ``TransformerLanguageModel`` with a key/value cache: the prompt is read once,
    then each character costs one position's work per block. One compiled loop, batched, with the same
    sampling arguments and seeds as ``WindowedTextGenerator`` (and, within the context, the same text).
    """

    def __init__(self, model, jit_compile: bool = False):
        if not hasattr(model, "blocks") or not hasattr(model, "context"):
            raise ValueError(f"model must be a TransformerLanguageModel, got {type(model).__name__}")
        super().__init__(model, jit_compile=jit_compile)

    def _sample_loop(self, logits, keys, values, filled, length, seed, temperature, top_k, top_p, greedy):
        model = self.model
        ids = tf.TensorArray(tf.int32, size=length)
        for i in tf.range(length):
            filtered = filter_logits(logits, temperature, top_k, top_p)
            sampled = tf.random.stateless_categorical(filtered, 1, seed=tf.stack([seed, i]), dtype=tf.int32)[:, 0]
            next_ids = tf.where(greedy, tf.argmax(filtered, axis=-1, output_type=tf.int32), sampled)
            ids = ids.write(i, next_ids)
            if i + 1 < length:  # the last character is never read back
                x = model.embedding.tokens(next_ids[:, None]) + model.embedding.positions(filled[:, None])
                new_keys, new_values = [], []
                for block, block_keys, block_values in zip(model.blocks, keys, values, strict=True):
                    x, block_keys, block_values = cached_block_step(block, x, block_keys, block_values, filled)
                    new_keys.append(block_keys)
                    new_values.append(block_values)
                keys, values = new_keys, new_values
                logits = model.head(model.final_norm(x))[:, 0]
                filled = filled + 1
        return tf.transpose(ids.stack())

    def generate_many(self, prompts: list[str], length: int, *, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, greedy: bool = False, seed: int = 0) -> list[str]:
        """As ``TextGenerator.generate_many``.

        Raises:
            ValueError: a bad argument, or a prompt whose length plus ``length`` exceeds ``model.context``.
        """
        check_sampling_args(self.vocabulary.size, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                            num_streams=len(prompts) if isinstance(prompts, (list, tuple)) and prompts else 1,
                            seed=seed)
        encoded = self.encode_prompts(prompts)
        context = self.model.context
        longest = max(len(ids) for ids in encoded)
        if longest + length > context:
            raise ValueError(f"a prompt of {longest} characters plus length={length} exceeds the model's context of "
                             f"{context} positions: the key/value cache holds at most {context}; shorten them, or "
                             "use generation.WindowedTextGenerator, which slides its window past the context")
        if length == 0:
            return [""] * len(prompts)
        window = np.zeros((len(encoded), context), np.int32)
        for row, ids in zip(window, encoded, strict=True):
            row[:len(ids)] = ids
        filled = np.array([len(ids) for ids in encoded], np.int32)
        all_logits, keys, values = prime_caches(self.model, tf.constant(window))
        logits = tf.gather(all_logits, filled - 1, batch_dims=1)  # each row's last prompt position
        ids = self._loop(logits, keys, values, tf.constant(filled), tf.constant(length), tf.constant(seed, tf.int32),
                         tf.constant(temperature, tf.float32), tf.constant(top_k or NO_TOP_K, tf.int32),
                         tf.constant(1.0 if top_p is None else top_p, tf.float32), tf.constant(bool(greedy)))
        return [self.vocabulary.decode(row) for row in ids.numpy()]
