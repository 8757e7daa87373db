"""Argument checks shared by the utils modules, so every bad integer gets the same clear message."""

from __future__ import annotations

import numpy as np


def check_int(value, name: str, minimum: int = 1) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def check_number(value, name: str, *, above: float | None = None, at_least: float | None = None,
                 at_most: float | None = None) -> None:
    """Raise ValueError naming ``name`` and its range unless ``value`` is a finite real number in that range.

    ``above`` is an open lower bound, ``at_least`` a closed one, ``at_most`` a closed upper bound.
    """
    low = f"({above}" if above is not None else f"[{at_least}" if at_least is not None else "(-inf"
    high = f"{at_most}]" if at_most is not None else "inf)"
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and np.isfinite(value) and (above is None or value > above) and (at_least is None or value >= at_least)
          and (at_most is None or value <= at_most))
    if not ok:
        raise ValueError(f"{name} must be a finite number in {low}, {high}, got {value!r}")
