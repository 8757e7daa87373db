"""The speech-classification task (utils.speeches) and its metrics (utils.metrics)."""

import numpy as np
import pytest

from utils import data, metrics, speeches


@pytest.fixture(scope="module")
def corpus_speeches():
    return speeches.parse_speeches(data.load_corpus(verbose=False).text)


def test_every_play_is_found_in_order_with_its_opening_first(corpus_speeches):
    plays = [s.play for s in corpus_speeches]
    assert plays == sorted(plays), "labels follow corpus order"
    assert sorted(set(plays)) == list(range(len(speeches.PLAYS)))
    for number, play in enumerate(speeches.PLAYS):
        first = next(s for s in corpus_speeches if s.play == number)
        assert first.text.split("\n", 1)[0] == play.opening
    # Known facts of the text: Richard III opens with Gloucester, the Tempest with the ship's master.
    assert next(s for s in corpus_speeches if s.play == 1).speaker == "GLOUCESTER"
    assert next(s for s in corpus_speeches if s.play == 8).speaker == "Master"
    assert {p.genre for p in speeches.PLAYS} == {"comedy", "history", "tragedy"}


def test_speeches_have_no_speaker_line_and_no_empty_text(corpus_speeches):
    assert len(corpus_speeches) == 7097  # 7,222 blocks less 125 speaker lines without text
    assert all(s.text.strip() and not s.text.startswith(s.speaker + ":") for s in corpus_speeches)
    assert [s.index for s in corpus_speeches] == list(range(len(corpus_speeches)))
    # A play's main characters speak only in their play (no label is read off the wrong stretch).
    assert {s.play for s in corpus_speeches if s.speaker == "PROSPERO"} == {8}
    assert {s.play for s in corpus_speeches if s.speaker == "CORIOLANUS"} == {0}


@pytest.mark.parametrize("text, message", [
    ("", "non-empty"),
    ("KING:\nHello there.\n", "Coriolanus's opening"),
    ("First Citizen:\nBefore we proceed any further, hear me speak.\n", "Richard III's opening"),
    ("no speaker line here\nat all", "SPEAKER:"),
])
def test_parse_refuses_text_that_is_not_tiny_shakespeare(text, message):
    with pytest.raises(ValueError, match=message):
        speeches.parse_speeches(text)


def test_split_is_by_position_inside_each_play_with_gaps(corpus_speeches):
    parts = speeches.split_by_position(corpus_speeches, gap=10)
    train, validation, test = (parts[name] for name in speeches.SPLITS)
    for play in range(len(speeches.PLAYS)):
        last_train = max(s.index for s in train if s.play == play)
        first_val, last_val = [f(s.index for s in validation if s.play == play) for f in (min, max)]
        first_test = min(s.index for s in test if s.play == play)
        assert last_train + 10 < first_val and last_val + 10 < first_test, "10 speeches dropped at each cut"
        share = sum(s.play == play for s in test) / sum(s.play == play for s in corpus_speeches)
        assert share == pytest.approx(0.2, abs=0.01)
    assert not {s.index for s in train} & {s.index for s in test}
    assert len(train) + len(validation) + len(test) == len(corpus_speeches) - 2 * 10 * len(speeches.PLAYS)


@pytest.mark.parametrize("kwargs, message", [
    ({"fractions": (0.8, 0.1, 0.2)}, "summing to 1"),
    ({"fractions": (0.9, 0.1, 0.0)}, "positive"),
    ({"gap": -1}, "gap must be an int >= 0"),
    ({"gap": 200}, "too few"),
])
def test_split_refuses_bad_arguments(corpus_speeches, kwargs, message):
    with pytest.raises(ValueError, match=message):
        speeches.split_by_position(corpus_speeches, **kwargs)


def test_encode_truncates_and_pad_fills_with_zero(corpus_speeches):
    vocab = data.Vocabulary.from_text("".join(s.text for s in corpus_speeches))
    ids, labels = speeches.encode_speeches(corpus_speeches[:50], vocab, max_chars=40)
    assert max(len(x) for x in ids) == 40 and min(x.min() for x in ids) >= 1, "0 is left for padding"
    assert vocab.decode(ids[0]) == corpus_speeches[0].text[:40]
    assert labels.tolist() == [0] * 50
    padded = speeches.pad(ids)
    assert padded.shape == (50, 40) and (padded[1, len(ids[1]):] == 0).all()
    with pytest.raises(ValueError, match="length=10"):
        speeches.pad(ids, length=10)
    with pytest.raises(ValueError, match="max_chars"):
        speeches.encode_speeches(corpus_speeches[:2], vocab, max_chars=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        speeches.encode_speeches([speeches.Speech(0, "X", "café", 0)], vocab, max_chars=10)


def test_batches_pad_to_their_longest_and_buckets_group_lengths():
    rng = np.random.default_rng(0)
    ids = [rng.integers(1, 5, size=n).astype(np.int32) for n in rng.integers(1, 100, size=300)]
    labels = rng.integers(0, 3, size=300).astype(np.int32)
    plain = list(speeches.batched_dataset(ids, labels, 32).as_numpy_iterator())
    assert plain[0][0].shape == (32, max(len(x) for x in ids[:32]))
    assert (plain[0][0][1, :len(ids[1])] == ids[1]).all() and (plain[0][0][1, len(ids[1]):] == 0).all()
    fixed = list(speeches.batched_dataset(ids, labels, 32, pad_to=120).as_numpy_iterator())
    assert {batch.shape[1] for batch, _ in fixed} == {120}
    bucketed = list(speeches.batched_dataset(ids, labels, 32, shuffle_seed=1,
                                             bucket_boundaries=[20, 50]).as_numpy_iterator())
    assert sum(len(y) for _, y in bucketed) == 300, "every example once"
    for batch, _ in bucketed:
        lengths = (batch != 0).sum(axis=1)
        assert batch.shape[1] == lengths.max(), "padded to the batch's longest"
        assert len({np.searchsorted([20, 50], n, side="right") for n in lengths}) == 1, "one bucket per batch"
    padding = sum((b == 0).sum() for b, _ in bucketed) / sum(b.size for b, _ in bucketed)
    assert padding < sum((b == 0).sum() for b, _ in plain) / sum(b.size for b, _ in plain)


@pytest.mark.parametrize("kwargs, message", [
    ({"bucket_boundaries": [50, 20]}, "increasing"),
    ({"bucket_boundaries": [20], "pad_to": 100}, "not both"),
    ({"batch_size": 0}, "batch_size"),
])
def test_batched_dataset_refuses_bad_arguments(kwargs, message):
    ids, labels = [np.array([1, 2], np.int32)] * 4, np.zeros(4, np.int32)
    with pytest.raises(ValueError, match=message):
        speeches.batched_dataset(ids, labels, **{"batch_size": 2, **kwargs})


def test_confusion_matrix_accuracy_and_macro_f1_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.confusion_matrix(y_true, y_pred, 3).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert metrics.accuracy(y_true, y_pred, 3) == pytest.approx(4 / 6)
    # F1 per class: 2·2/(2+3)=0.8, 2·1/(2+2)=0.5, 2·1/(2+1)=2/3
    assert metrics.macro_f1(y_true, y_pred, 3) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # A majority-class guess: high accuracy on skewed data, low macro-F1.
    skewed = np.array([0] * 9 + [1])
    assert metrics.accuracy(skewed, np.zeros(10, int), 2) == 0.9
    assert metrics.macro_f1(skewed, np.zeros(10, int), 2) == pytest.approx((2 * 9 / 19) / 2)


@pytest.mark.parametrize("y_true, y_pred, message", [
    ([0, 1], [0], "one length"),
    ([0, 3], [0, 1], "y_true must hold integer class ids in \\[0, 3\\)"),
    ([0.0, 1.0], [0, 1], "y_true must hold integer"),
])
def test_metrics_refuse_bad_labels(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(np.array(y_true), np.array(y_pred), 3)


def test_bootstrap_interval_covers_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(1)

    def interval(n):
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.7, y, 1 - y)  # right 70% of the time
        low, high = metrics.bootstrap_interval(lambda t, p: metrics.accuracy(t, p, 2), y, pred, seed=3)
        assert low < np.mean(y == pred) < high
        return high - low

    assert interval(5000) < interval(200) / 3, "25 times the data: about a fifth of the width"
    with pytest.raises(ValueError, match="level"):
        metrics.bootstrap_interval(lambda t, p: 0.0, np.zeros(3, int), np.zeros(3, int), level=1.5)


def test_paired_difference_sees_a_small_gain_that_separate_intervals_miss():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 1000)
    hard = rng.random(1000) < 0.4  # 40% of the examples are hard for both models
    pred_b = np.where(hard, 1 - y, y)
    pred_a = pred_b.copy()
    fixed = np.flatnonzero(hard)[:40]  # A also gets 40 of the hard ones right: +4 points
    pred_a[fixed] = y[fixed]
    difference, low, high = metrics.paired_difference_interval(y, pred_a, pred_b, seed=0)
    assert difference == pytest.approx(0.04) and 0 < low < 0.04 < high
    acc_a = metrics.bootstrap_interval(lambda t, p: metrics.accuracy(t, p, 2), y, pred_a, seed=0)
    acc_b = metrics.bootstrap_interval(lambda t, p: metrics.accuracy(t, p, 2), y, pred_b, seed=0)
    assert acc_a[0] < acc_b[1], "the separate intervals overlap: only the paired one tells them apart"
    same = metrics.paired_difference_interval(y, pred_b, pred_b)
    assert same == (0.0, 0.0, 0.0)


def test_report_brackets_each_estimate_with_its_interval():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, 400)
    pred = np.where(rng.random(400) < 0.6, y, rng.integers(0, 4, 400))
    result = metrics.report(y, pred, 4, resamples=200, seed=1)
    assert result["accuracy"] == pytest.approx(np.mean(y == pred))
    assert result["accuracy_low"] < result["accuracy"] < result["accuracy_high"]
    assert result["macro_f1_low"] < result["macro_f1"] < result["macro_f1_high"]
    assert metrics.report(y, pred, 4, resamples=200, seed=1) == result, "deterministic for a seed"
