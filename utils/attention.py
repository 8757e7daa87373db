"""Attention written out: scaled dot-product attention (NumPy and keras.ops), the causal mask,
multi-head attention recomputed from a ``keras.layers.MultiHeadAttention``'s own weights, and a
pre-norm causal Transformer block built from Keras layers.

Shapes follow Keras: ``(batch, time, features)``; per-head tensors are ``(batch, heads, time, head_dim)``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from utils.checks import check_int


def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` bool mask, True where query ``i`` may attend to key ``j`` (``j <= i``)."""
    check_int(length, "length")
    return np.tril(np.ones((length, length), dtype=bool))


def _check_qkv(query_shape, key_shape, value_shape) -> None:
    if len(query_shape) < 2 or len(key_shape) != len(query_shape) or len(value_shape) != len(query_shape):
        raise ValueError(f"query, key and value must have the same rank >= 2, got shapes "
                         f"{tuple(query_shape)}, {tuple(key_shape)}, {tuple(value_shape)}")
    if query_shape[-1] != key_shape[-1]:
        raise ValueError(f"query and key must have the same last dimension, got {query_shape[-1]} and {key_shape[-1]}")
    if key_shape[-2] != value_shape[-2]:
        raise ValueError(f"key and value must have the same length (axis -2), got {key_shape[-2]} and {value_shape[-2]}")


def scaled_dot_product_attention_numpy(query: np.ndarray, key: np.ndarray, value: np.ndarray,
                                       mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(Q Kᵀ / sqrt(d_k)) V`` in NumPy (Vaswani et al. 2017, eq. 1).

    Args:
        query: (..., T_q, d_k); key: (..., T_k, d_k); value: (..., T_k, d_v).
        mask: bool, broadcastable to (..., T_q, T_k); False entries get zero weight.

    Returns:
        (output (..., T_q, d_v), weights (..., T_q, T_k)); every row of weights sums to 1.
    """
    _check_qkv(query.shape, key.shape, value.shape)
    scores = query @ np.swapaxes(key, -1, -2) / np.sqrt(query.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)  # stable softmax
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ value, weights


def scaled_dot_product_attention(query, key, value, mask=None):
    """The same computation with ``keras.ops`` (runs on any Keras backend, differentiable).

    A masked position gets a large negative score rather than -inf, so that a fully masked row
    gives uniform weights instead of NaN.
    """
    _check_qkv(tuple(query.shape), tuple(key.shape), tuple(value.shape))
    depth = ops.cast(ops.shape(query)[-1], query.dtype)
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2)) / ops.sqrt(depth)
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, value), weights


def multi_head_attention_numpy(layer: keras.layers.MultiHeadAttention, query: np.ndarray, value: np.ndarray,
                               mask: np.ndarray | None = None) -> np.ndarray:
    """Recompute a built ``MultiHeadAttention`` layer's output from its weights, in NumPy.

    Project the inputs into ``num_heads`` query/key/value heads, attend in each head with
    :func:`scaled_dot_product_attention_numpy`, concatenate the heads and project back.
    Keys are the values (self- or cross-attention without a separate key input).
    """
    weights = {w.path.split("/")[-2] + "/" + w.path.split("/")[-1]: np.asarray(w.numpy()) for w in layer.weights}

    def project(x, name):  # (batch, T, d_model) x (d_model, heads, head_dim) -> (batch, heads, T, head_dim)
        projected = np.einsum("btd,dhk->bhtk", x, weights[f"{name}/kernel"])
        bias = weights.get(f"{name}/bias")
        return projected + bias[None, :, None, :] if bias is not None else projected

    q, k, v = project(query, "query"), project(value, "key"), project(value, "value")
    heads, _ = scaled_dot_product_attention_numpy(q, k, v, mask)
    output = np.einsum("bhtk,hkd->btd", heads, weights["attention_output/kernel"])
    bias = weights.get("attention_output/bias")
    return output + bias if bias is not None else output


@keras.saving.register_keras_serializable(package="rnn_course")
class PositionalEmbedding(keras.layers.Layer):
    """Token embedding plus a learned position embedding (GPT-style), for sequences up to ``max_length``.

    Attention is permutation-invariant: without this, the model could not tell "ab" from "ba".
    """

    def __init__(self, vocab_size: int, max_length: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.max_length, self.dim = vocab_size, max_length, dim
        self.tokens = keras.layers.Embedding(vocab_size, dim, name="tokens")
        self.positions = keras.layers.Embedding(max_length, dim, name="positions")

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.max_length,))

    def call(self, ids, start: int = 0):
        length = ops.shape(ids)[-1]
        return self.tokens(ids) + self.positions(ops.arange(start, start + length))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "max_length": self.max_length, "dim": self.dim}


@keras.saving.register_keras_serializable(package="rnn_course")
class TransformerBlock(keras.layers.Layer):
    """Pre-norm Transformer block: ``x + MHA(LN(x))`` then ``x + FFN(LN(x))``.

    Pre-norm (layer normalisation before each sub-layer, as in GPT-2) trains stably without a
    learning-rate warm-up as long. ``causal=True`` (a language model's decoder) stops position t
    from seeing t+1, t+2, ...; ``causal=False`` (an encoder, for classification) lets every position
    see the whole sequence, except the padded positions that ``padding_mask`` marks False.
    """

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float = 0.0, causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.dim, self.num_heads, self.ffn_dim, self.dropout_rate = dim, num_heads, ffn_dim, dropout
        self.causal = causal
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attention = keras.layers.MultiHeadAttention(num_heads, dim // num_heads, dropout=dropout, name="attention")
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.ffn_in = keras.layers.Dense(ffn_dim, activation="gelu", name="ffn_in")
        self.ffn_out = keras.layers.Dense(dim, name="ffn_out")
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        for norm in (self.norm1, self.norm2):
            norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ffn_in.build(input_shape)
        self.ffn_out.build((*input_shape[:-1], self.ffn_dim))

    def call(self, x, training: bool = False, padding_mask=None):
        """``x``: (batch, time, dim); ``padding_mask``: (batch, time), True at real positions (None: all real)."""
        attention_mask = None
        if padding_mask is not None:  # (batch, time) -> (batch, query, key): no query attends to a padded key
            attention_mask = ops.logical_and(ops.expand_dims(padding_mask, 1), ops.expand_dims(padding_mask, 2))
        h = self.norm1(x)
        attended = self.attention(h, h, attention_mask=attention_mask, use_causal_mask=self.causal, training=training)
        x = x + self.dropout(attended, training=training)
        h = self.norm2(x)
        return x + self.dropout(self.ffn_out(self.ffn_in(h)), training=training)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "ffn_dim": self.ffn_dim,
                "dropout": self.dropout_rate, "causal": self.causal}
