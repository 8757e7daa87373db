"""Corpora, the character vocabulary and windowed ``tf.data`` datasets.

The default corpus, tiny Shakespeare, ships inside this package (``utils/corpora/``) and is
hash-checked on every load: every machine — offline, CI, Colab — trains on the same bytes, and
nothing is downloaded. ``load_corpus(path)`` takes any other UTF-8 text file.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from utils.checks import check_int, check_number

OOV_TOKEN = "[UNK]"


@dataclass(frozen=True)
class CorpusSpec:
    """A named corpus shipped with the package, with a pinned hash."""

    name: str  # what callers pass as load_corpus(name=...)
    filename: str  # file name in utils/corpora/
    origin: str  # where the text comes from (provenance only: nothing is fetched)
    sha256: str  # hash of the exact bytes
    num_chars: int  # characters in the file, for sanity messages


TINY_SHAKESPEARE = CorpusSpec(
    name="tinyshakespeare",
    filename="tinyshakespeare.txt",
    origin="Andrej Karpathy's char-rnn data/tinyshakespeare/input.txt (public-domain text)",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    num_chars=1_115_394,
)
KNOWN_CORPORA = {TINY_SHAKESPEARE.name: TINY_SHAKESPEARE}


@dataclass(frozen=True)
class Corpus:
    """A text corpus and a record of where it came from."""

    text: str  # the whole corpus
    name: str  # e.g. "tinyshakespeare" or a file name
    source: str  # a sentence saying where the text came from
    sha256: str  # hash of the UTF-8 bytes

    def __len__(self) -> int:
        return len(self.text)


# --------------------------------------------------------------------------- files


def sha256_of_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text_file(path: str | os.PathLike, argument: str = "path") -> str:
    """Read a UTF-8 text file, refusing missing, empty and non-UTF-8 files.

    Args:
        path: the file.
        argument: the caller's argument name, used in error messages.

    Returns:
        The decoded text.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty or is not valid UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{argument}={str(path)!r}: no such file")
    raw = path.read_bytes()
    if not raw:
        raise ValueError(f"{argument}={str(path)!r} is empty; a corpus needs at least one character")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{argument}={str(path)!r} is not UTF-8 text (byte {err.start} is {raw[err.start]:#04x}); "
            "re-save it as UTF-8"
        ) from None


def packaged_corpus_path(spec: CorpusSpec) -> Path:
    """Where the package keeps a shipped corpus (``utils/corpora/<filename>``)."""
    return Path(str(resources.files("utils") / "corpora" / spec.filename))


def _check_hash(path: Path, spec: CorpusSpec) -> None:
    actual = sha256_of_file(path)
    if actual != spec.sha256:
        raise ValueError(
            f"{path} does not hold the {spec.name} corpus: sha256 expected {spec.sha256}, actual {actual}. "
            "The course package is damaged or was edited: reinstall it (pip install --force-reinstall) "
            "or restore the file with git (git checkout -- utils/corpora)."
        )


# --------------------------------------------------------------------------- load_corpus


def load_corpus(path: str | os.PathLike | None = None, name: str = TINY_SHAKESPEARE.name, *,
                verbose: bool = True) -> Corpus:
    """Load a text corpus, saying where it came from.

    Args:
        path: a UTF-8 text file to use as the corpus; when given, ``name`` is ignored.
        name: a corpus shipped with the package (``"tinyshakespeare"``), hash-checked on load.
        verbose: print one line naming the corpus in use and where it came from.

    Returns:
        The corpus.

    Raises:
        FileNotFoundError: ``path`` does not exist, or the package lost its copy of ``name``.
        ValueError: unknown ``name``; a file that is empty, not UTF-8 or has the wrong hash.
    """
    if path is not None:
        text = read_text_file(path, "path")
        corpus = Corpus(text=text, name=Path(path).name, sha256=hashlib.sha256(text.encode()).hexdigest(),
                        source=f"the file {Path(path).name} passed as path")
        return _announce(corpus, verbose)
    if name not in KNOWN_CORPORA:
        raise ValueError(f"name={name!r} is not a known corpus; known: {sorted(KNOWN_CORPORA)} "
                         "(or pass path= to use any UTF-8 text file)")
    spec = KNOWN_CORPORA[name]
    shipped = packaged_corpus_path(spec)
    if not shipped.is_file():
        raise FileNotFoundError(f"name={name!r}: the course package has no {shipped}; reinstall it "
                                "(pip install --force-reinstall) or pass path= a copy of the text")
    _check_hash(shipped, spec)
    text = read_text_file(shipped, "name")
    corpus = Corpus(text=text, name=spec.name, sha256=spec.sha256,
                    source=f"{spec.name} shipped with the course package (utils/corpora/{spec.filename}, "
                           "sha256 verified)")
    return _announce(corpus, verbose)


def _announce(corpus: Corpus, verbose: bool) -> Corpus:
    if verbose:
        print(f"Corpus: {corpus.name}, {len(corpus.text):,} characters; source: {corpus.source}")
    return corpus


# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """Characters <-> integer ids, backed by ``keras.layers.StringLookup``.

    Id 0 is the out-of-vocabulary id (``[UNK]``); characters get ids 1..N in sorted order.
    """

    def __init__(self, chars: list[str] | tuple[str, ...]):
        chars = tuple(chars)
        if not chars:
            raise ValueError("chars is empty; a vocabulary needs at least one character")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("chars must be single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("chars has duplicates")
        self.chars = chars
        self._encoder = None
        self._decoder = None

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The sorted distinct characters of ``text``."""
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        """Number of ids, the OOV id included (the model's output width)."""
        return len(self.chars) + 1

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.chars)} characters + OOV)"

    def lookup_layer(self, invert: bool = False):
        """A ``StringLookup`` layer for this vocabulary (ids -> characters when ``invert``)."""
        import keras

        return keras.layers.StringLookup(vocabulary=list(self.chars), mask_token=None,
                                         oov_token=OOV_TOKEN, invert=invert)

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, sorted."""
        return sorted(set(text) - set(self.chars))

    def encode(self, text: str, *, argument: str = "text", chunk_chars: int = 1 << 20,
               short_text: int = 4096, dtype=np.int32) -> np.ndarray:
        """Text -> int32 ids, refusing characters outside the vocabulary.

        Args:
            text: the text.
            argument: the caller's argument name, for error messages.
            chunk_chars: characters converted at a time, so memory stays O(len(text)).
            short_text: texts up to this length use the StringLookup layer directly.
            dtype: integer dtype of the result; ``np.uint8`` stores a corpus of up to 255
                characters in one byte per character (4x less memory than int32).

        Raises:
            ValueError: ``text`` is not a str, or has characters outside the vocabulary.
        """
        import tensorflow as tf

        if not isinstance(text, str):
            raise ValueError(f"{argument} must be a str, got {type(text).__name__}")
        unknown = self.unknown_chars(text)
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10])
            raise ValueError(f"{argument} has {len(unknown)} character(s) outside the vocabulary: {shown}")
        check_int(chunk_chars, "chunk_chars")
        dtype = np.dtype(dtype)
        if dtype.kind not in "iu" or np.iinfo(dtype).max < self.size - 1:
            raise ValueError(f"dtype={dtype} cannot hold ids up to {self.size - 1}; use an integer dtype at least that wide")
        if len(text) <= short_text:
            # Short texts (prompts) go through the StringLookup layer itself.
            if self._encoder is None:
                self._encoder = self.lookup_layer()
            return self._encoder(tf.strings.unicode_split(text, "UTF-8")).numpy().astype(dtype)
        # A corpus: StringLookup hashes one string tensor per character (about 5 s per
        # million characters on a laptop CPU), so map code points through a sorted table
        # instead: the same ids (a unit test checks), ~100x faster, 4 bytes per character.
        code_points = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        order = np.argsort(code_points)  # chars need not be sorted; ids follow their order
        sorted_points = code_points[order]
        out = np.empty(len(text), dtype=dtype)
        for start in range(0, len(text), chunk_chars):
            chunk = np.frombuffer(text[start:start + chunk_chars].encode("utf-32-le"), dtype=np.uint32)
            out[start:start + len(chunk)] = order[np.searchsorted(sorted_points, chunk)] + 1  # id 0 is OOV
        return out

    def encode_to_variable(self, text: str, *, argument: str = "text", chunk_chars: int = 1 << 22):
        """Text -> a non-trainable ``tf.Variable`` of uint8 ids, filled chunk by chunk.

        For corpora far larger than memory allows twice over: the only full-size buffer is the
        variable itself (one byte per character), which ``window_dataset`` accepts directly.

        Raises:
            ValueError: as ``encode``; or the vocabulary has more than 255 characters.
        """
        import tensorflow as tf

        check_int(chunk_chars, "chunk_chars")
        if self.size > 256:
            raise ValueError(f"encode_to_variable stores uint8 ids: the vocabulary has {self.size} ids (max 256)")
        if not isinstance(text, str) or self.unknown_chars(text):
            self.encode(text, argument=argument)  # raises the usual error, naming the argument
        store = tf.Variable(tf.zeros([len(text)], tf.uint8), trainable=False)
        for start in range(0, len(text), chunk_chars):
            chunk = self.encode(text[start:start + chunk_chars], argument=argument, short_text=0, dtype=np.uint8)
            store[start:start + len(chunk)].assign(chunk)
        return store

    def decode(self, ids) -> str:
        """Ids (any int array-like, 1-D) -> text; id 0 decodes to ``[UNK]``.

        Raises:
            ValueError: an id is outside [0, size).
        """
        import tensorflow as tf

        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must lie in [0, {self.size}), got values in [{ids.min()}, {ids.max()}]")
        if self._decoder is None:
            self._decoder = self.lookup_layer(invert=True)
        if ids.size == 0:
            return ""
        return tf.strings.reduce_join(self._decoder(ids.reshape(-1).astype("int64"))).numpy().decode("utf-8")


# --------------------------------------------------------------------------- splits and datasets


def train_val_split(ids: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a sequence into its first (1 - val_fraction) and its last val_fraction.

    The same contiguous 90/10 split nanoGPT uses for tiny Shakespeare, so numbers compare.

    Raises:
        ValueError: ``val_fraction`` is not in (0, 1) or a part would be empty.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    n_train = int(len(ids) * (1.0 - val_fraction))
    if n_train == 0 or n_train == len(ids):
        raise ValueError(f"ids has {len(ids)} elements: too few to split at val_fraction={val_fraction}")
    return ids[:n_train], ids[n_train:]


def window_dataset(ids: np.ndarray, seq_len: int, batch_size: int, *, shuffle: bool = True,
                   seed: int = 0, stride: int | None = None, starts=None, target_weights=None):
    """Batches of (input, next-character target) windows, cut on the fly from one id array.

    Each element is ``(x, y)`` of shape ``(batch_size, seq_len)`` int32 with
    ``y[:, t] = x[:, t + 1]``-shifted ids. Windows start every ``stride`` characters
    (default ``seq_len``: every character is a target once per epoch). Only window
    start indices are shuffled, so memory is O(len(ids)), never
    O(windows x seq_len x vocabulary) as with one-hot arrays.

    Args:
        ids: 1-D integer ids of the text.
        seq_len: characters per window, 1 <= seq_len < len(ids).
        batch_size: windows per batch, at least 1 and at most the number of windows.
        shuffle: shuffle window order each epoch.
        seed: shuffle seed.
        stride: distance between window starts, at least 1.
        starts: the offsets where windows start, instead of every ``stride`` characters (for example
            the first character of every document, so that no window starts in the middle of one);
            offsets whose window would run past the text are dropped.
        target_weights: one weight per character of the text; when given, each element is
            ``(x, y, w)`` with ``w`` the weights of ``y``'s characters, which Keras's ``fit`` uses as
            sample weights of the per-character loss (to make some characters count more).

    Raises:
        ValueError: an argument out of range (the message names it).
    """
    import tensorflow as tf

    if isinstance(ids, tf.Variable):  # already encoded into TensorFlow (Vocabulary.encode_to_variable)
        ids_tensor = ids
        ids = np.empty(ids.shape[0], dtype=ids.dtype.as_numpy_dtype)  # uninitialised: only its length is used
    else:
        ids_tensor = None
        ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape} dtype {ids.dtype}")
    _check_positive_int(seq_len, "seq_len")
    _check_positive_int(batch_size, "batch_size")
    if seq_len >= len(ids):
        raise ValueError(f"seq_len={seq_len} must be less than the text length {len(ids)}")
    if starts is not None and stride is not None:
        raise ValueError("pass either stride or starts, not both")
    stride = seq_len if stride is None else stride
    _check_positive_int(stride, "stride")
    if starts is not None:
        starts = np.asarray(starts)
        if starts.ndim != 1 or not np.issubdtype(starts.dtype, np.integer) or (len(starts) and starts.min() < 0):
            raise ValueError(f"starts must be a 1-D array of offsets >= 0, got shape {starts.shape} dtype {starts.dtype}")
        starts = starts[starts + seq_len + 1 <= len(ids)].astype(np.int64)
        stride = 1  # (unused: window i starts at starts[i])
    num_windows = (len(ids) - seq_len - 1) // stride + 1 if starts is None else len(starts)
    if batch_size > num_windows:
        raise ValueError(f"batch_size={batch_size} exceeds the {num_windows} windows of length "
                         f"{seq_len} that the text holds; use batch_size <= {num_windows}")
    # Keep the text in the narrowest dtype that holds its ids (one byte per character for any
    # vocabulary under 256) and widen each batch to int32 only when it is cut.
    if ids_tensor is None:
        narrow = np.uint8 if ids.min() >= 0 and ids.max() < 256 else np.int32
        # A variable, not a constant: tf.data captures a variable by handle, a constant by copy.
        ids_tensor = tf.Variable(ids.astype(narrow, copy=False), trainable=False)
    if target_weights is not None:
        target_weights = np.asarray(target_weights, np.float32)
        if target_weights.shape != ids.shape or not np.isfinite(target_weights).all() or target_weights.min() < 0:
            raise ValueError(f"target_weights must hold one finite weight >= 0 per id ({len(ids)}), "
                             f"got shape {target_weights.shape}")
        weights_tensor = tf.Variable(target_weights, trainable=False)
    offsets = tf.range(seq_len + 1, dtype=tf.int64)
    start_of = None if starts is None else tf.constant(starts)

    def cut(indices):  # (batch,) window numbers -> (batch, seq_len), (batch, seq_len)[, (batch, seq_len)]
        first = indices * stride if start_of is None else tf.gather(start_of, indices)
        positions = first[:, None] + offsets[None, :]
        window = tf.cast(tf.gather(ids_tensor, positions), tf.int32)
        if target_weights is None:
            return window[:, :-1], window[:, 1:]
        return window[:, :-1], window[:, 1:], tf.gather(weights_tensor, positions[:, 1:])

    if shuffle:
        # One permutation tensor per epoch (8 bytes per window), streamed: a shuffle buffer would
        # hold every start index as a separate element at ~100 bytes each. A new seed each epoch.
        epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        dataset = epoch_seeds.map(lambda s: tf.random.experimental.stateless_shuffle(
            tf.range(num_windows, dtype=tf.int64), seed=tf.stack([s, tf.constant(seed, tf.int64)]))).unbatch()
    else:
        dataset = tf.data.Dataset.range(num_windows)
    return dataset.batch(batch_size, drop_remainder=True).map(cut).prefetch(tf.data.AUTOTUNE)


def _check_positive_int(value, argument: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{argument} must be a positive int, got {value!r}")


# --------------------------------------------------------------------------- baselines and units


def unigram_entropy_bits(text: str) -> float:
    """Entropy of the character frequencies of ``text`` in bits per character.

    The loss of the best model that ignores context: every model must beat it.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    counts = np.array(list(Counter(text).values()), dtype=np.float64)
    probs = counts / counts.sum()
    return float(-(probs * np.log2(probs)).sum())


def unigram_baseline_nats(train_ids, val_ids, vocab_size: int, smoothing: float = 1.0) -> float:
    """The fair context-free baseline: character frequencies of the training split, scored on the validation split.

    The loss, in nats/char, of a model that predicts every validation character with the training split's
    frequencies (plus ``smoothing`` counts for every id, so a character unseen in training costs a finite
    loss). It is what a model's *validation* loss must beat; the entropy of the whole text
    (``unigram_entropy_bits``) is lower, because it was counted on the validation text too.

    Raises:
        ValueError: empty splits, ids outside ``[0, vocab_size)``, or ``smoothing`` < 0 (0 with an unseen id).
    """
    check_int(vocab_size, "vocab_size", minimum=1)
    check_number(smoothing, "smoothing", at_least=0.0)
    train, val = np.asarray(train_ids).ravel(), np.asarray(val_ids).ravel()
    for name, ids in (("train_ids", train), ("val_ids", val)):
        if ids.size == 0:
            raise ValueError(f"{name} must not be empty")
        if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= vocab_size:
            raise ValueError(f"{name} must be integer ids in [0, {vocab_size}), the vocabulary's range")
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64) + smoothing
    probs = counts / counts.sum()
    if np.any(probs[val] == 0):
        raise ValueError("smoothing=0 and the validation split holds a character the training split lacks: "
                         "its loss would be infinite; use smoothing > 0")
    return float(-np.log(probs[val]).mean())


def nats_to_bits(nats: float) -> float:
    """Nats per character -> bits per character."""
    return nats / math.log(2.0)


def bits_to_nats(bits: float) -> float:
    """Bits per character -> nats per character."""
    return bits * math.log(2.0)


def perplexity(nats: float) -> float:
    """Perplexity (the effective number of equally likely next characters) from nats per character."""
    return math.exp(nats)
