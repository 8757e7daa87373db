"""Executable claims: a sentence about this run's results, written from the run's own values.

A notebook never types a measured number or a verdict ("faster", "solved") into Markdown:
the next run could contradict it. It writes the sentence here instead::

    from utils import claims

    claims.state(
        "With the cache the Transformer writes {cached:.0f} characters/s, {ratio:.1f}× "
        "the {plain:.0f} without it: {verdict}.",
        cached=cached, plain=plain, ratio=cached / plain,
        verdict=claims.pick(cached >= 10 * plain, "the 10× target is met", "below the 10× target"),
        requires=cached > plain, requirement="the cache makes generation faster",
    )

The numbers and the comparative words come from the values, so the sentence cannot
disagree with the run. ``requires`` is the relation that the notebook's *explanation*
depends on (here: the cache is faster at all). In full mode, the mode whose outputs are
committed, a requirement that does not hold stops the run with the sentence and the
values; in fast mode (``RNN_FAST=1``) fast-mode numbers are not the full-mode numbers, so
the sentence is shown with a note and nothing is enforced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from utils.config import is_fast_mode

METADATA_KEY = "course_claim"  # display metadata under which a claim's text and values are kept


class ClaimError(AssertionError):
    """A full-mode run's results do not support what the notebook's text relies on."""


@dataclass(frozen=True)
class Claim:
    """A rendered sentence, the values it was computed from, and whether its requirement held."""

    text: str
    values: Mapping[str, object] = field(default_factory=dict)
    requirement: str = ""
    holds: bool = True
    enforced: bool = True
    key: str = ""
    shown: bool = False  # already displayed by state(): a notebook's last expression must not show it twice

    def markdown(self) -> str:
        """The sentence as shown, with a note when an unenforced requirement failed."""
        if self.holds or self.enforced:
            return self.text
        return (f"{self.text}\n\n*(Fast mode: this run does not show that {self.requirement}; "
                "the full-mode run checks it.)*")

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _ipython_display_(self) -> None:
        """As a cell's last expression: nothing more when ``state`` has displayed it already."""
        if not self.shown:
            _display(self)

    def __str__(self) -> str:
        return self.markdown()


def pick(condition: bool, if_true: str, if_false: str) -> str:
    """The word or phrase that is true of this run: ``if_true`` when ``condition`` holds."""
    return if_true if bool(condition) else if_false


def compare(a: float, b: float, *, tolerance: float = 0.0,
            words: tuple[str, str, str] = ("higher than", "lower than", "within noise of")) -> str:
    """How ``a`` relates to ``b``: the first word if ``a > b`` by more than ``tolerance`` (relative), etc.

    Args:
        a, b: the two measured values (finite; ``b`` non-zero when ``tolerance`` > 0).
        tolerance: relative difference below which the two count as equal (e.g. 0.1 for ±10% noise).
        words: what to say when ``a`` is above, below, or within ``tolerance`` of ``b``.
    """
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"compare needs finite values, got a={a!r} and b={b!r}")
    if not (0.0 <= tolerance < 1.0):
        raise ValueError(f"tolerance must be >= 0 and < 1 (a relative difference), got {tolerance!r}")
    above, below, level = words
    if abs(a - b) <= tolerance * abs(b):
        return level
    return above if a > b else below


def compare_ranges(a, b, words: tuple[str, str, str] = ("higher than", "lower than", "overlapping with")) -> str:
    """How repeated measurements ``a`` relate to ``b``: above only if every ``a`` beats every ``b``, and so on.

    The honest verdict for noisy timings: two settings differ only when the ranges of their repeated
    measurements do not overlap; otherwise this machine cannot tell them apart.
    """
    a, b = [float(x) for x in a], [float(x) for x in b]
    if not a or not b or not all(math.isfinite(x) for x in a + b):
        raise ValueError(f"compare_ranges needs non-empty lists of finite values, got a={a!r} and b={b!r}")
    above, below, overlapping = words
    if min(a) > max(b):
        return above
    if max(a) < min(b):
        return below
    return overlapping


def state(template: str, *, requires: bool | None = None, requirement: str = "", key: str = "",
          show: bool = True, **values: object) -> Claim:
    """Render ``template.format(**values)`` as Markdown, and check what the text relies on.

    Args:
        template: the sentence, with ``{name}`` fields (and format specs) for every number and verdict.
        requires: the relation the notebook's explanation depends on; None when the sentence
            only reports (any outcome is explained by the text around it).
        requirement: that relation in words ("the cache makes generation faster"), shown on failure.
        key: a stable name for the claim, stored with the output so that tools (the README's results)
            can quote the committed run.
        show: display the sentence now (in a notebook); False to only return it.
        **values: the numbers and words the sentence is written from.

    Raises:
        ClaimError: in full mode, when ``requires`` is False.
        ValueError: the template names a value that was not given, or ``requires`` comes without
            ``requirement``.
    """
    if requires is not None and not requirement:
        raise ValueError("requirement must say in words what requires= checks")
    try:
        text = template.format(**values)
    except (KeyError, IndexError) as err:
        raise ValueError(f"template names {err} but values are {sorted(values)}") from None
    holds = True if requires is None else bool(requires)
    enforced = not is_fast_mode()
    claim = Claim(text=text, values=dict(values), requirement=requirement, holds=holds,
                  enforced=enforced, key=key, shown=show)
    if not holds and enforced:
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
        raise ClaimError(f"The run does not support the text: {requirement}.\n"
                         f"Sentence: {text}\nValues: {shown}")
    if show:
        _display(claim)
    return claim


def _display(claim: Claim) -> None:
    """Markdown in a notebook (with the claim in the output's metadata), plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        print(claim.markdown())
        return
    if get_ipython() is None:
        print(claim.markdown())
        return
    metadata = {METADATA_KEY: {"key": claim.key, "text": claim.text, "holds": claim.holds,
                               "values": {k: _plain(v) for k, v in claim.values.items()}}}
    display({"text/markdown": claim.markdown(), "text/plain": claim.markdown()}, raw=True,
            metadata=metadata)


def _plain(value: object) -> object:
    """A JSON-safe copy of a value (numpy scalars become Python numbers)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)
