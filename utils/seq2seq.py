"""Encoder–decoder models on a generated toy task, with and without attention.

The task is string reversal: the decoder must emit the source backwards, so its first output
depends on the encoder's *last* input and its last output on the *first* input — exactly the
long-range copy that a single fixed-size encoder state (the "bottleneck") struggles with and
attention (Bahdanau et al. 2015; Luong et al. 2015) fixes.

Token ids: 0 is the start-of-output token the decoder reads first; symbols are 1..num_symbols.
"""

from __future__ import annotations

import keras
import numpy as np

from utils.checks import check_int

START_ID = 0
ATTENTION_KINDS = (None, "luong", "bahdanau")


def reversal_task(num_sequences: int, length: int, num_symbols: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random sequences and their reversals, ready for teacher forcing.

    Returns:
        source (n, length), decoder_input (n, length) = START then target[:-1], target (n, length);
        int32 ids in 1..num_symbols (decoder_input also holds START_ID = 0).
    """
    check_int(num_sequences, "num_sequences", 1)
    check_int(length, "length", 1)
    check_int(num_symbols, "num_symbols", 2)
    source = rng.integers(1, num_symbols + 1, (num_sequences, length)).astype(np.int32)
    target = source[:, ::-1].copy()
    decoder_input = np.concatenate([np.full((num_sequences, 1), START_ID, np.int32), target[:, :-1]], axis=1)
    return source, decoder_input, target


def build_seq2seq(num_symbols: int, units: int, attention: str | None = None,
                  embedding_dim: int = 32) -> tuple[keras.Model, keras.Model | None]:
    """An LSTM encoder–decoder, trained with teacher forcing.

    Without attention the decoder starts from the encoder's final state and sees nothing else of
    the source. With ``"luong"`` (dot-product score) or ``"bahdanau"`` (additive score,
    ``vᵀ tanh(W_q q + W_k k)``) attention, every decoder output also reads a weighted average of
    all encoder outputs; both attend after the decoder LSTM, as in Luong et al. (2015)
    (Bahdanau et al. attended before it and fed the context into the LSTM).

    Returns:
        (model mapping [source, decoder_input] -> logits (batch, T_out, num_symbols + 1),
         model mapping the same inputs -> attention weights (batch, T_out, T_in), or None).
    """
    check_int(num_symbols, "num_symbols", 2)
    check_int(units, "units", 1)
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
    vocab = num_symbols + 1
    source = keras.Input((None,), dtype="int32", name="source")
    decoder_input = keras.Input((None,), dtype="int32", name="decoder_input")
    embed = keras.layers.Embedding(vocab, embedding_dim, name="embedding")  # shared by both sides
    encoder_outputs, h, c = keras.layers.LSTM(units, return_sequences=True, return_state=True,
                                              name="encoder")(embed(source))
    decoder_outputs = keras.layers.LSTM(units, return_sequences=True, name="decoder")(
        embed(decoder_input), initial_state=[h, c])
    scores = None
    if attention is not None:
        if attention == "luong":  # score = q · k
            layer, query, keys = keras.layers.Attention(name="luong_attention"), decoder_outputs, encoder_outputs
        else:  # score = vᵀ tanh(W_q q + W_k k); AdditiveAttention holds v, the projections are ours
            layer = keras.layers.AdditiveAttention(name="bahdanau_attention")
            query = keras.layers.Dense(units, use_bias=False, name="query_projection")(decoder_outputs)
            keys = keras.layers.Dense(units, use_bias=False, name="key_projection")(encoder_outputs)
        context, scores = layer([query, encoder_outputs, keys], return_attention_scores=True)
        decoder_outputs = keras.layers.Concatenate(name="with_context")([decoder_outputs, context])
    logits = keras.layers.Dense(vocab, name="logits")(decoder_outputs)
    model = keras.Model([source, decoder_input], logits, name=f"seq2seq_{attention or 'no_attention'}")
    weights_model = None if scores is None else keras.Model([source, decoder_input], scores)
    return model, weights_model


def greedy_decode(model: keras.Model, source: np.ndarray) -> np.ndarray:
    """Decode ``source`` one token at a time, feeding back the model's own argmax (no teacher).

    Re-runs the decoder over the growing prefix at each step: O(T²), fine for toy lengths.
    """
    source = np.asarray(source, dtype=np.int32)
    if source.ndim != 2:
        raise ValueError(f"source must be (batch, time), got shape {source.shape}")
    batch, length = source.shape
    decoded = np.full((batch, length + 1), START_ID, np.int32)
    for t in range(length):
        logits = np.asarray(model([source, decoded[:, :t + 1]], training=False))
        decoded[:, t + 1] = logits[:, t].argmax(-1)
    return decoded[:, 1:]


def sequence_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of sequences reproduced exactly (every token right)."""
    if predicted.shape != target.shape:
        raise ValueError(f"predicted and target shapes differ: {predicted.shape} vs {target.shape}")
    return float(np.mean(np.all(predicted == target, axis=1)))
