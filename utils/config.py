"""Full and fast mode: the one place that reads the ``RNN_FAST`` switch.

Full mode (the default) trains for real; fast mode (``RNN_FAST=1``, set by
``make test`` and CI) only shrinks named constants such as epochs, steps or the
corpus slice. Notebooks write ``EPOCHS = by_mode(full=20, fast=1)`` so the code
path is the same in both modes.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

FAST_ENV_VAR = "RNN_FAST"
_TRUE_VALUES = {"1", "true", "yes", "on"}
_FALSE_VALUES = {"", "0", "false", "no", "off"}


def is_fast_mode() -> bool:
    """Return True when the environment asks for fast mode (``RNN_FAST=1``).

    Raises:
        ValueError: ``RNN_FAST`` holds something other than 0/1/true/false/yes/no/on/off.
    """
    raw = os.environ.get(FAST_ENV_VAR, "").strip().lower()
    if raw in _TRUE_VALUES:
        return True
    if raw in _FALSE_VALUES:
        return False
    raise ValueError(
        f"{FAST_ENV_VAR}={raw!r} is not understood; use {FAST_ENV_VAR}=1 for fast mode "
        f"or {FAST_ENV_VAR}=0 (or unset) for full mode."
    )


def by_mode(full: T, fast: T) -> T:
    """Pick a constant for the current mode.

    Args:
        full: the value used in full mode (the committed run).
        fast: the smaller value used in fast mode (tests and CI).

    Returns:
        ``fast`` when ``RNN_FAST=1``, else ``full``.
    """
    return fast if is_fast_mode() else full


def mode_name() -> str:
    """Return ``"fast"`` or ``"full"``, for printing which mode a run used."""
    return "fast" if is_fast_mode() else "full"
