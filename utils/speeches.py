"""Tiny Shakespeare as a sequence-classification task: which play is this speech from?

The corpus is nine plays (or parts of them) one after another, with no titles: every
speech is a block ``SPEAKER:\\ntext`` separated by blank lines. A play starts where its
known first speech starts; ``PLAYS`` lists them in corpus order with their genre in the
First Folio. A speech's label is its play, read off its position: real labels, offline.

The split is by position inside each play (first part for training, then validation,
then test), with a gap of speeches dropped at each boundary, so that a test speech never
sits in the middle of a conversation whose other lines were trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils.checks import check_int


@dataclass(frozen=True)
class Play:
    """One play of the corpus."""

    title: str
    genre: str  # the First Folio's: comedy, history or tragedy
    opening: str  # the first line of the play's first speech in tiny Shakespeare (its start marker)


PLAYS: tuple[Play, ...] = (
    Play("Coriolanus", "tragedy", "Before we proceed any further, hear me speak."),
    Play("Richard III", "history", "Now is the winter of our discontent"),
    Play("Richard II", "history", "Old John of Gaunt, time-honour'd Lancaster,"),
    Play("Romeo and Juliet", "tragedy", "Gregory, o' my word, we'll not carry coals."),
    Play("Henry VI, Part 3", "history", "I wonder how the king escaped our hands."),
    Play("The Winter's Tale", "comedy", "If you shall chance, Camillo, to visit Bohemia, on"),
    Play("Measure for Measure", "comedy", "Escalus."),
    Play("The Taming of the Shrew", "comedy", "I'll pheeze you, in faith."),
    Play("The Tempest", "comedy", "Boatswain!"),
)
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Speech:
    """One speech: who says it, what they say (without the speaker line), and where."""

    play: int  # index into PLAYS: the label
    speaker: str
    text: str
    index: int  # position among the corpus's speeches (0 = the first)


def parse_speeches(corpus_text: str) -> list[Speech]:
    """Split the corpus into speeches and label each with its play.

    A speech is a blank-line-separated block whose first line is ``SPEAKER:``; blocks with
    a speaker line and no text (a cut line in the source) are skipped.

    Raises:
        ValueError: ``corpus_text`` is not a non-empty str, a block has no speaker line, or a
            play's opening is missing or out of order (the text is not tiny Shakespeare).
    """
    if not isinstance(corpus_text, str) or not corpus_text.strip():
        raise ValueError("corpus_text must be a non-empty str (tiny Shakespeare's text)")
    speeches: list[Speech] = []
    play = -1
    for block in corpus_text.split("\n\n"):
        block = block.strip("\n")
        if not block:
            continue
        speaker, _, text = block.partition("\n")
        if not speaker.endswith(":"):
            raise ValueError(f"corpus_text: a block does not start with a 'SPEAKER:' line: {block[:60]!r}")
        if not text.strip():
            continue
        if play + 1 < len(PLAYS) and text.split("\n", 1)[0] == PLAYS[play + 1].opening:
            play += 1
        if play < 0:
            raise ValueError(f"corpus_text does not start with {PLAYS[0].title}'s opening {PLAYS[0].opening!r}")
        speeches.append(Speech(play=play, speaker=speaker[:-1], text=text, index=len(speeches)))
    if play != len(PLAYS) - 1:
        raise ValueError(f"corpus_text: {PLAYS[play + 1].title}'s opening {PLAYS[play + 1].opening!r} was not "
                         "found after the previous play's; this is not tiny Shakespeare")
    return speeches


def split_by_position(speeches: list[Speech], fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
                      gap: int = 10) -> dict[str, list[Speech]]:
    """Cut every play into consecutive train, validation and test parts, dropping ``gap`` speeches at each cut.

    Args:
        speeches: from ``parse_speeches``.
        fractions: the shares of each play's speeches for train, validation and test (sum 1).
        gap: speeches dropped before each cut, so no conversation spans two parts.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}``, each in corpus order.

    Raises:
        ValueError: empty ``speeches``, fractions that are not three positive shares summing to 1,
            a negative ``gap``, or a play too short for its parts and gaps.
    """
    if not speeches:
        raise ValueError("speeches is empty")
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive shares (train, validation, test) summing to 1, "
                         f"got {fractions!r}")
    check_int(gap, "gap", minimum=0)
    parts: dict[str, list[Speech]] = {name: [] for name in SPLITS}
    for play in sorted({s.play for s in speeches}):
        ordered = [s for s in speeches if s.play == play]
        first_cut = round(len(ordered) * fractions[0])
        second_cut = round(len(ordered) * (fractions[0] + fractions[1]))
        if first_cut - gap < 1 or second_cut - gap <= first_cut or second_cut >= len(ordered):
            raise ValueError(f"{PLAYS[play].title} has {len(ordered)} speeches: too few for fractions={fractions} "
                             f"with gap={gap}")
        parts["train"] += ordered[:first_cut - gap]
        parts["validation"] += ordered[first_cut:second_cut - gap]
        parts["test"] += ordered[second_cut:]
    return parts


def encode_speeches(speeches: list[Speech], vocabulary, max_chars: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Speeches -> (character ids of each, truncated to its first ``max_chars``; play labels).

    Ids are the vocabulary's, 1..N; id 0 (the vocabulary's out-of-vocabulary id, which
    ``encode`` never returns because it refuses unknown characters) is free to mean padding.
    """
    check_int(max_chars, "max_chars")
    if not speeches:
        raise ValueError("speeches is empty")
    ids = [vocabulary.encode(s.text[:max_chars], argument="speech text") for s in speeches]
    return ids, np.array([s.play for s in speeches], dtype=np.int32)


def pad(ids: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Right-pad id sequences with 0 to ``length`` (default: the longest) -> (n, length) int32.

    Raises:
        ValueError: a sequence is longer than ``length``.
    """
    import keras

    longest = max(len(x) for x in ids)
    length = longest if length is None else length
    if longest > length:  # pad_sequences would truncate silently
        raise ValueError(f"length={length} is shorter than the longest sequence ({longest}); truncate first")
    return keras.utils.pad_sequences(ids, maxlen=length, dtype="int32", padding="post", value=0)


def batched_dataset(ids: list[np.ndarray], labels: np.ndarray, batch_size: int, *, shuffle_seed: int | None = None,
                    bucket_boundaries: list[int] | None = None, pad_to: int | None = None):
    """A ``tf.data`` pipeline of (padded ids, labels) batches, three ways.

    Args:
        ids, labels: from ``encode_speeches``.
        batch_size: examples per batch.
        shuffle_seed: shuffle the examples every epoch with this seed; None keeps their order.
        bucket_boundaries: group examples of similar length (``Dataset.bucket_by_sequence_length``), each
            batch padded to its own longest; batches of a bucket hold ``batch_size`` examples.
        pad_to: pad every batch to this fixed length instead of to its own longest.

    Raises:
        ValueError: mismatched lengths, both ``bucket_boundaries`` and ``pad_to``, or unsorted boundaries.
    """
    import tensorflow as tf

    check_int(batch_size, "batch_size")
    if len(ids) != len(labels) or not ids:
        raise ValueError(f"ids and labels must be non-empty and equally long, got {len(ids)} and {len(labels)}")
    if bucket_boundaries is not None and pad_to is not None:
        raise ValueError("pass bucket_boundaries or pad_to, not both")
    if bucket_boundaries is not None and (not bucket_boundaries or list(bucket_boundaries) != sorted(set(bucket_boundaries))
                                          or bucket_boundaries[0] < 1):
        raise ValueError(f"bucket_boundaries must be increasing positive lengths, got {bucket_boundaries!r}")
    ragged = tf.ragged.constant([np.asarray(x, np.int32) for x in ids], dtype=tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((ragged, tf.constant(labels, tf.int32)))
    dataset = dataset.map(lambda x, y: (x, y))  # ragged rows -> dense 1-D tensors of their own length
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(ids), seed=shuffle_seed, reshuffle_each_iteration=True)
    if bucket_boundaries is not None:
        dataset = dataset.bucket_by_sequence_length(
            lambda x, y: tf.shape(x)[0], bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1))
    else:
        dataset = dataset.padded_batch(batch_size, padded_shapes=([pad_to], []))
    return dataset.prefetch(tf.data.AUTOTUNE)
