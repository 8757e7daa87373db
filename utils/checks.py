"""Argument checks shared by the utils modules, so every bad integer gets the same clear message."""

from __future__ import annotations

import numpy as np


def check_int(value, name: str, minimum: int = 1) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
