"""Character language models that carry their vocabulary and can step one character at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from utils.attention import PositionalEmbedding, TransformerBlock
from utils.data import Vocabulary

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
# Upper bounds on sizes: far above anything a course model uses, low enough that a typo
# (units=5120000) gets a message instead of an out-of-memory crash inside TensorFlow.
MAX_WIDTH = 65_536  # embedding_dim, units, dim, ffn_dim, context
MAX_LAYERS = 256  # num_layers, num_heads


def _check_size(value, name: str, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be a positive int <= {maximum:,}, got {value!r}")


@dataclass(frozen=True)
class CharModelConfig:
    """Hyperparameters of a ``CharLanguageModel``."""

    embedding_dim: int = 64  # size of each character's learned vector
    units: int = 512  # hidden units per recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # dropout between layers (not recurrent dropout, which would lose cuDNN)
    cell: str = "lstm"  # "lstm", "gru" or "rnn"

    def __post_init__(self):
        for name in ("embedding_dim", "units", "num_layers"):
            _check_size(getattr(self, name), name, MAX_LAYERS if name == "num_layers" else MAX_WIDTH)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")


@keras.saving.register_keras_serializable(package="rnn_course")
class CharLanguageModel(keras.Model):
    """Embedding -> recurrent layers -> Dense logits over the vocabulary.

    The vocabulary is part of the model's config, so one ``.keras`` file holds weights and
    vocabulary and loads with ``safe_mode=True`` (no Lambda layers, no pickled code).

    Call it on ids ``(batch, time)`` to get logits ``(batch, time, vocab_size)``; pass
    ``states=`` and ``return_state=True`` to continue from, and get back, the recurrent state.
    The recurrent layers use Keras defaults that keep them eligible for the fused cuDNN kernel
    on a GPU (tanh/sigmoid activations, ``recurrent_dropout=0``, ``unroll=False``, biases on).
    """

    def __init__(self, chars, embedding_dim: int = 64, units: int = 512, num_layers: int = 1,
                 dropout: float = 0.0, cell: str = "lstm", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = Vocabulary(chars)
        self.config = CharModelConfig(embedding_dim, units, num_layers, dropout, cell)
        self.embedding = keras.layers.Embedding(self.vocabulary.size, embedding_dim, name="embedding")
        layer_class = CELLS[cell]
        self.recurrent_layers = [layer_class(units, return_sequences=True, return_state=True, name=f"{cell}_{i}")
                                 for i in range(num_layers)]
        self.dropouts = [keras.layers.Dropout(dropout) for _ in range(num_layers)]
        # float32 logits even under a mixed-precision policy: a float16 softmax over the vocabulary loses precision
        self.head = keras.layers.Dense(self.vocabulary.size, name="logits", dtype="float32")

    @property
    def state_sizes(self) -> list[int]:
        """Number of state tensors per layer: 2 for an LSTM (h, c), 1 otherwise."""
        return [2 if self.config.cell == "lstm" else 1] * self.config.num_layers

    def call(self, ids, states=None, return_state: bool = False, training: bool = False):
        """ids (batch, time) -> logits (batch, time, vocab); states: one list per layer."""
        x = self.embedding(ids)  # (batch, time) -> (batch, time, embedding_dim)
        new_states = []
        for i, (layer, dropout) in enumerate(zip(self.recurrent_layers, self.dropouts, strict=True)):
            x, *layer_states = layer(x, initial_state=None if states is None else states[i], training=training)
            new_states.append(layer_states)
            x = dropout(x, training=training)
        logits = self.head(x)  # (batch, time, units) -> (batch, time, vocab)
        return (logits, new_states) if return_state else logits

    def step(self, ids, states):
        """One character per stream, with the state carried explicitly: O(1) work per character.

        Args:
            ids: (batch,) int ids of the current characters.
            states: one list of state tensors (batch, units) per layer.

        Returns:
            (logits (batch, vocab), new states).
        """
        x = self.embedding(ids)  # (batch,) -> (batch, embedding_dim)
        new_states = []
        for layer in self.recurrent_layers:
            layer_states = states[len(new_states)]
            x, layer_states = layer.cell(x, layer_states if len(layer_states) > 1 else layer_states[0])
            layer_states = list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states]
            new_states.append(layer_states)
        return self.head(x), new_states

    def zero_states(self, batch_size: int):
        """All-zero recurrent states for ``batch_size`` streams."""
        return [[keras.ops.zeros((batch_size, self.config.units)) for _ in range(n)] for n in self.state_sizes]

    def get_config(self):
        return {**super().get_config(), "chars": list(self.vocabulary.chars), **asdict(self.config)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="rnn_course")
class TransformerLanguageModel(keras.Model):
    """A small causal Transformer over characters: positional embedding -> pre-norm blocks -> LayerNorm -> logits.

    Same contract as ``CharLanguageModel``: ids ``(batch, time)`` -> logits ``(batch, time, vocab)``,
    the vocabulary in its config, one ``.keras`` file that loads with ``safe_mode=True``. Unlike the
    LSTM it has no state to carry: it sees at most ``context`` characters. Generating a character
    re-reads the window (``generation.WindowedTextGenerator``) or, with the key/value cache of
    ``kv_cache.CachedTextGenerator``, computes only the new position.
    """

    def __init__(self, chars, context: int = 128, dim: int = 128, num_heads: int = 4, num_layers: int = 4,
                 ffn_dim: int | None = None, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("context", context), ("dim", dim), ("num_heads", num_heads), ("num_layers", num_layers)):
            _check_size(value, name, MAX_LAYERS if name in ("num_heads", "num_layers") else MAX_WIDTH)
        if ffn_dim is not None:
            _check_size(ffn_dim, "ffn_dim", MAX_WIDTH)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.vocabulary = Vocabulary(chars)
        self.context, self.dim, self.num_heads, self.num_layers = context, dim, num_heads, num_layers
        self.ffn_dim, self.dropout_rate = ffn_dim or 4 * dim, dropout
        self.embedding = PositionalEmbedding(self.vocabulary.size, context, dim, name="embedding")
        self.blocks = [TransformerBlock(dim, num_heads, self.ffn_dim, dropout, name=f"block_{i}")
                       for i in range(num_layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        # float32 logits even under a mixed-precision policy: a float16 softmax over the vocabulary loses precision
        self.head = keras.layers.Dense(self.vocabulary.size, name="logits", dtype="float32")

    def call(self, ids, training: bool = False):
        """ids (batch, time <= context) -> logits (batch, time, vocab)."""
        length = ids.shape[-1]
        if isinstance(length, int) and length > self.context:
            raise ValueError(f"ids has {length} positions; this model reads at most context={self.context}")
        x = self.embedding(ids)
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(self.final_norm(x))

    def get_config(self):
        return {**super().get_config(), "chars": list(self.vocabulary.chars), "context": self.context, "dim": self.dim,
                "num_heads": self.num_heads, "num_layers": self.num_layers, "ffn_dim": self.ffn_dim,
                "dropout": self.dropout_rate}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


LANGUAGE_MODELS = (CharLanguageModel, TransformerLanguageModel)


def build_transformer_model(vocabulary: Vocabulary, **config) -> TransformerLanguageModel:
    """A built ``TransformerLanguageModel`` for ``vocabulary`` (keyword arguments as its constructor's)."""
    model = TransformerLanguageModel(vocabulary.chars, **config)
    model(keras.ops.zeros((1, 2), dtype="int32"))  # creates every weight (2 positions: a 1-key softmax warns)
    return model


def build_char_model(vocabulary: Vocabulary, config: CharModelConfig | None = None,
                     seq_len: int | None = None) -> CharLanguageModel:
    """A built (weights created) ``CharLanguageModel`` for ``vocabulary``."""
    config = config or CharModelConfig()
    model = CharLanguageModel(vocabulary.chars, **asdict(config))
    model(keras.ops.zeros((1, 1), dtype="int32"))  # creates every weight
    return model


def load_char_model(path: str | Path, vocabulary: Vocabulary | None = None) -> CharLanguageModel:
    """Load a saved ``.keras`` character model (LSTM/GRU/RNN or Transformer) with ``safe_mode=True``.

    Args:
        path: the ``.keras`` file.
        vocabulary: if given, the model's vocabulary must equal it.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a loadable model, or its vocabulary does not match.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model path={str(path)!r}: no such file")
    if path.suffix != ".keras":
        raise ValueError(f"model path={str(path)!r} must be a .keras file")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # zip, JSON or HDF5 errors: a truncated or corrupted file
        raise ValueError(f"model path={str(path)!r} could not be loaded as a Keras model "
                         f"(truncated or corrupted?): {type(err).__name__}: {err}") from None
    if not isinstance(model, LANGUAGE_MODELS):
        raise ValueError(f"model path={str(path)!r} holds a {type(model).__name__}, "
                         f"not one of {[cls.__name__ for cls in LANGUAGE_MODELS]}")
    if vocabulary is not None and model.vocabulary != vocabulary:
        missing = sorted(set(vocabulary.chars) - set(model.vocabulary.chars))
        extra = sorted(set(model.vocabulary.chars) - set(vocabulary.chars))
        raise ValueError(f"model path={str(path)!r} has a different vocabulary: {len(model.vocabulary.chars)} vs "
                         f"{len(vocabulary.chars)} characters (missing {missing[:10]}, extra {extra[:10]})")
    return model
