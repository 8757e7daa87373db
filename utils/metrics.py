"""Classification metrics with their uncertainty: confusion matrix, macro-F1, bootstrap intervals.

A test set of a few hundred examples measures accuracy to within several points; these
helpers say how many, so that a notebook calls two models different only when the data can
tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.checks import check_int


def _labels(y_true, y_pred, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    check_int(num_classes, "num_classes")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or not len(y_true):
        raise ValueError(f"y_true and y_pred must be non-empty 1-D arrays of one length, got shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= num_classes:
            raise ValueError(f"{name} must hold integer class ids in [0, {num_classes}), got {y.dtype} values "
                             f"in [{y.min()}, {y.max()}]")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class -> (num_classes, num_classes) int64."""
    y_true, y_pred = _labels(y_true, y_pred, num_classes)
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def accuracy(y_true, y_pred, num_classes: int) -> float:
    """The fraction of predictions equal to the label."""
    y_true, y_pred = _labels(y_true, y_pred, num_classes)
    return float(np.mean(y_true == y_pred))


def macro_f1(y_true, y_pred, num_classes: int) -> float:
    """The unweighted mean over classes of F1 = 2·precision·recall / (precision + recall).

    Every class counts equally, however rare, so a model that ignores the small classes
    scores low even when its accuracy is high. A class with no true and no predicted
    example has F1 = 0 here (as ``zero_division=0`` in scikit-learn).
    """
    counts = confusion_matrix(y_true, y_pred, num_classes)
    true_positives = np.diag(counts).astype(float)
    denominator = counts.sum(axis=0) + counts.sum(axis=1)  # predicted + actual = 2·TP + FP + FN
    f1 = np.divide(2 * true_positives, denominator, out=np.zeros(num_classes), where=denominator > 0)
    return float(f1.mean())


def bootstrap_interval(metric: Callable[[np.ndarray, np.ndarray], float], y_true, y_pred, *,
                       resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval for ``metric(y_true, y_pred)``: resample the test examples with replacement.

    Args:
        metric: a function of (labels, predictions), e.g. ``lambda t, p: macro_f1(t, p, 9)``.
        resamples: bootstrap samples (1,000 puts the 2.5% and 97.5% points within about a point).
        seed: the resampling's seed (the interval is deterministic for a seed).
        level: the interval's coverage, in (0, 1).
    """
    check_int(resamples, "resamples", minimum=10)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or not len(y_true):
        raise ValueError(f"y_true and y_pred must be non-empty 1-D arrays of one length, got shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(y_true), size=(resamples, len(y_true)))
    values = np.array([metric(y_true[r], y_pred[r]) for r in rows])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_difference_interval(y_true, pred_a, pred_b, *, resamples: int = 2000, seed: int = 0,
                               level: float = 0.95) -> tuple[float, float, float]:
    """Accuracy of A minus accuracy of B on the same test examples, with a paired bootstrap interval.

    Both models answered the same questions, so resampling the examples (not each model alone)
    cancels the examples' own difficulty: the interval is narrower than comparing two
    separate intervals. A: better when the whole interval is above 0.

    Returns:
        (difference, low, high).
    """
    y_true, pred_a, pred_b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    if not (y_true.shape == pred_a.shape == pred_b.shape) or y_true.ndim != 1 or not len(y_true):
        raise ValueError(f"y_true, pred_a and pred_b must be non-empty 1-D arrays of one length, got shapes "
                         f"{y_true.shape}, {pred_a.shape}, {pred_b.shape}")
    check_int(resamples, "resamples", minimum=10)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    gain = (pred_a == y_true).astype(float) - (pred_b == y_true).astype(float)
    rng = np.random.default_rng(seed)
    means = gain[rng.integers(0, len(gain), size=(resamples, len(gain)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(gain.mean()), float(low), float(high)


def report(y_true, y_pred, num_classes: int, *, resamples: int = 1000, seed: int = 0) -> dict[str, float]:
    """Accuracy with its Wilson 95% interval and macro-F1 with a bootstrap 95% interval, in one dict.

    Returns:
        ``{"accuracy", "accuracy_low", "accuracy_high", "macro_f1", "macro_f1_low", "macro_f1_high"}``.
    """
    from utils.scoring import wilson_interval

    y_true, y_pred = _labels(y_true, y_pred, num_classes)
    low, high = wilson_interval(int((y_true == y_pred).sum()), len(y_true))
    f1_low, f1_high = bootstrap_interval(lambda t, p: macro_f1(t, p, num_classes), y_true, y_pred,
                                         resamples=resamples, seed=seed)
    return {"accuracy": accuracy(y_true, y_pred, num_classes), "accuracy_low": low, "accuracy_high": high,
            "macro_f1": macro_f1(y_true, y_pred, num_classes), "macro_f1_low": f1_low, "macro_f1_high": f1_high}
