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
        (logits (batch, context, vocab), keys, values): one ``(batch, heads, context, head_dim)``
        tensor per block in each list. Positions after a row's prompt hold keys of padding; they are
        never attended to (causal mask), and each is overwritten when a character is generated there.
    """
    x = model.embedding(window)
    keys, values = [], []
    for block in model.blocks:
        h = block.norm1(x)
        # (batch, context, dim) -> (batch, context, heads, head_dim) -> (batch, heads, context, head_dim)
        keys.append(tf.transpose(block.attention.key_dense(h), [0, 2, 1, 3]))
        values.append(tf.transpose(block.attention.value_dense(h), [0, 2, 1, 3]))
        x = block(x)
    return model.head(model.final_norm(x)), keys, values


def _as_matrix(variable, rows: int) -> tf.Tensor:
    return tf.reshape(tf.convert_to_tensor(variable), [rows, -1])


def _fold_norm(norm, kernel, bias):
    """``LN(x) @ kernel + bias`` = ``normalize(x) @ (gamma * kernel) + (beta @ kernel + bias)``."""
    gamma, beta = tf.convert_to_tensor(norm.gamma), tf.convert_to_tensor(norm.beta)
    return gamma[:, None] * kernel, tf.linalg.matvec(kernel, beta, transpose_a=True) + bias


def block_weights(block) -> dict:
    """One ``TransformerBlock``'s weights as plain tensors, arranged for one position at a time.

    The query, key and value projections become one matrix; the query's part is scaled by
    ``1/sqrt(head_dim)``; each layer norm's scale and shift are folded into the matrix that follows it.
    Fewer, larger operations per character: with one stream, a step's cost is mostly the fixed cost of
    launching each operation, not arithmetic.
    """
    attention, dim = block.attention, block.dim
    head_dim = dim // block.num_heads
    scale = 1.0 / np.sqrt(head_dim)
    projections = [(attention.query_dense, scale), (attention.key_dense, 1.0), (attention.value_dense, 1.0)]
    kernel = tf.concat([_as_matrix(layer.kernel, dim) * factor for layer, factor in projections], axis=1)
    bias = tf.concat([tf.reshape(tf.convert_to_tensor(layer.bias), [-1]) * factor for layer, factor in projections], 0)
    qkv_kernel, qkv_bias = _fold_norm(block.norm1, kernel, bias)
    ffn_in_kernel, ffn_in_bias = _fold_norm(block.norm2, tf.convert_to_tensor(block.ffn_in.kernel),
                                            tf.convert_to_tensor(block.ffn_in.bias))
    return {"qkv_kernel": qkv_kernel, "qkv_bias": qkv_bias,
            "output_kernel": _as_matrix(attention.output_dense.kernel, block.num_heads * head_dim),
            "output_bias": tf.convert_to_tensor(attention.output_dense.bias),
            "ffn_in_kernel": ffn_in_kernel, "ffn_in_bias": ffn_in_bias,
            "ffn_out_kernel": tf.convert_to_tensor(block.ffn_out.kernel),
            "ffn_out_bias": tf.convert_to_tensor(block.ffn_out.bias),
            "epsilon": tf.constant([block.norm1.epsilon, block.norm2.epsilon], tf.float32)}


def model_weights(model) -> dict:
    """The embedding tables, every block's ``block_weights`` and the final norm folded into the head."""
    head_kernel, head_bias = _fold_norm(model.final_norm, tf.convert_to_tensor(model.head.kernel),
                                        tf.convert_to_tensor(model.head.bias))
    return {"tokens": tf.convert_to_tensor(model.embedding.tokens.embeddings),
            "positions": tf.convert_to_tensor(model.embedding.positions.embeddings),
            "blocks": [block_weights(block) for block in model.blocks],
            "head_kernel": head_kernel, "head_bias": head_bias,
            "epsilon": tf.constant(model.final_norm.epsilon, tf.float32)}


def _normalize(x, epsilon):
    """Layer normalisation without its scale and shift (``_fold_norm`` moved them into the next matrix)."""
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon)


def cached_block_step(weights: dict, x, keys, values, slots, mask):
    """One new position through one pre-norm block, reading and extending that block's cache.

    Args:
        weights: the block's ``block_weights``.
        x: (batch, dim), the new position's input.
        keys, values: (batch, heads, context, head_dim), this block's cache.
        slots: (batch * heads, 3) int32, ``[row, head, position]``: where each row's new key and value go.
        mask: (batch, 1, 1, context), 0 for this position and the ones before it, -1e9 after (causal).

    Returns:
        (output (batch, dim), keys, values) with this position's key and value written in.
    """
    heads, head_dim = keys.shape[1], keys.shape[3]
    qkv = tf.matmul(_normalize(x, weights["epsilon"][0]), weights["qkv_kernel"]) + weights["qkv_bias"]
    query, key, value = tf.unstack(tf.reshape(qkv, [-1, 3, heads, head_dim]), axis=1)  # each (batch, heads, head_dim)
    keys = tf.tensor_scatter_nd_update(keys, slots, tf.reshape(key, [-1, head_dim]))
    values = tf.tensor_scatter_nd_update(values, slots, tf.reshape(value, [-1, head_dim]))
    scores = tf.matmul(query[:, :, None, :], keys, transpose_b=True) + mask  # (batch, heads, 1, context), scaled
    attended = tf.matmul(tf.nn.softmax(scores, axis=-1), values)  # (batch, heads, 1, head_dim)
    x = x + tf.matmul(tf.reshape(attended, [-1, heads * head_dim]), weights["output_kernel"]) + weights["output_bias"]
    hidden = tf.nn.gelu(tf.matmul(_normalize(x, weights["epsilon"][1]), weights["ffn_in_kernel"]) + weights["ffn_in_bias"],
                        approximate=False)  # Keras's "gelu" is the exact (erf) form
    return x + tf.matmul(hidden, weights["ffn_out_kernel"]) + weights["ffn_out_bias"], keys, values


def cached_step(weights: dict, ids, position, keys, values):
    """The logits for the next character after ``ids`` (batch,) at ``position`` (batch,), and the extended caches."""
    context = tf.shape(weights["positions"])[0]
    heads = keys[0].shape[1]
    x = tf.gather(weights["tokens"], ids) + tf.gather(weights["positions"], position)
    rows = tf.repeat(tf.range(tf.shape(ids)[0]), heads)
    slots = tf.stack([rows, tf.tile(tf.range(heads), [tf.shape(ids)[0]]), tf.gather(position, rows)], axis=1)
    visible = tf.range(context)[None, :] <= position[:, None]
    mask = tf.where(visible, 0.0, -1e9)[:, None, None, :]
    new_keys, new_values = [], []
    for block, block_keys, block_values in zip(weights["blocks"], keys, values, strict=True):
        x, block_keys, block_values = cached_block_step(block, x, block_keys, block_values, slots, mask)
        new_keys.append(block_keys)
        new_values.append(block_values)
    logits = tf.matmul(_normalize(x, weights["epsilon"]), weights["head_kernel"]) + weights["head_bias"]
    return logits, new_keys, new_values


class CachedTextGenerator(TextGenerator):
    """Sampling from a ``TransformerLanguageModel`` with a key/value cache: the prompt is read once,
    then each character costs one position's work per block. One compiled call reads the prompts and runs
    the sampling loop, batched, with the same sampling arguments as ``WindowedTextGenerator``; within
    the context, greedy decoding writes the same text.

    ``jit_compile=True`` (the default) compiles that call with XLA, which fuses each step's few hundred
    small operations: on the course's 2-core CPU it made a cached character about 5× cheaper
    (benchmarks/transformer_cache.py), where for the LSTM's loop it did not pay. XLA draws its random
    numbers its own way, so a sampled text is reproducible from its seed but differs from the one the
    uncompiled generators write for that seed; with ``jit_compile=False`` they are the same.
    """

    def __init__(self, model, jit_compile: bool = True):
        if not hasattr(model, "blocks") or not hasattr(model, "context"):
            raise ValueError(f"model must be a TransformerLanguageModel, got {type(model).__name__}")
        super().__init__(model, jit_compile=jit_compile)
        self._loop = tf.function(self._generate, reduce_retracing=True, jit_compile=jit_compile)

    def _generate(self, window, filled, length, seed, temperature, top_k, top_p, greedy):
        """Read the prompts (``window``, each row filled up to ``filled``) into the caches, then sample."""
        all_logits, keys, values = prime_caches(self.model, window)
        logits = tf.gather(all_logits, filled - 1, batch_dims=1)  # each row's last prompt position
        weights = model_weights(self.model)  # read at every call: the model may have trained since
        return self._sample_loop(weights, logits, keys, values, filled, length, seed, temperature, top_k, top_p, greedy)

    def _sample_loop(self, weights, logits, keys, values, filled, length, seed, temperature, top_k, top_p, greedy):
        ids = tf.TensorArray(tf.int32, size=length)
        for i in tf.range(length):
            filtered = filter_logits(logits, temperature, top_k, top_p)
            sampled = tf.random.stateless_categorical(filtered, 1, seed=tf.stack([seed, i]), dtype=tf.int32)[:, 0]
            next_ids = tf.where(greedy, tf.argmax(filtered, axis=-1, output_type=tf.int32), sampled)
            ids = ids.write(i, next_ids)
            if i + 1 < length:  # the last character is never read back
                logits, keys, values = cached_step(weights, next_ids, filled, keys, values)
                filled = filled + 1
        return tf.transpose(ids.stack())

    def generate_many(self, prompts: list[str], length: int, *, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, greedy: bool = False, seed: int = 0) -> list[str]:
        """As ``TextGenerator.generate_many``.

        Raises:
            ValueError: a bad argument, or a prompt whose length plus ``length`` minus one (the last
                character is never read back) exceeds ``model.context``.
        """
        check_sampling_args(self.vocabulary.size, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                            num_streams=len(prompts) if isinstance(prompts, (list, tuple)) and prompts else 1,
                            seed=seed)
        encoded = self.encode_prompts(prompts)
        context = self.model.context
        longest = max(len(ids) for ids in encoded)
        if longest + length - 1 > context:  # the last character written is never read back into the cache
            raise ValueError(f"a prompt of {longest} characters plus length={length} needs {longest + length - 1} "
                             f"positions (the last character is never read back), more than the model's context of "
                             f"{context} positions: the key/value cache holds at most {context}; shorten them, or "
                             "use generation.WindowedTextGenerator, which slides its window past the context")
        if length == 0:
            return [""] * len(prompts)
        window = np.zeros((len(encoded), context), np.int32)
        for row, ids in zip(window, encoded, strict=True):
            row[:len(ids)] = ids
        filled = np.array([len(ids) for ids in encoded], np.int32)
        ids = self._loop(tf.constant(window), tf.constant(filled), tf.constant(length), tf.constant(seed, tf.int32),
                         tf.constant(temperature, tf.float32), tf.constant(top_k or NO_TOP_K, tf.int32),
                         tf.constant(1.0 if top_p is None else top_p, tf.float32), tf.constant(bool(greedy)))
        return [self.vocabulary.decode(row) for row in ids.numpy()]
