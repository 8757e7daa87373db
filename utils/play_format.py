"""A first evaluation harness: does generated text keep tiny Shakespeare's play format?

The corpus is a sequence of speeches separated by blank lines; each speech is a speaker line
("ROMEO:", "First Citizen:") followed by lines of verse or prose. ``play_format_report`` scores a
text on that format with numbers a learner can compare between models, temperatures, and the
real text itself (which scores close to 1 and is the reference to read the others against).
"""

from __future__ import annotations

import re

import numpy as np

SPEAKER_LINE = re.compile(r"[A-Z][A-Za-z' .,&-]*:")  # every speaker line of the corpus matches this
# (so do some verse lines, "Nay, let them follow:": a speaker line is the *first* line of a speech)


def speakers_in(text: str) -> set[str]:
    """Names of the speakers in a play text: the first line of each speech, without its colon."""
    return {lines[0][:-1] for lines in complete_speeches(text + "\n\n") if SPEAKER_LINE.fullmatch(lines[0])}


def longest_line(text: str) -> int:
    """Characters in the longest line of ``text`` (the verse-length limit of the format)."""
    return max(len(line) for line in text.split("\n"))


def complete_speeches(text: str) -> list[list[str]]:
    """The speeches of ``text`` as lists of lines, without a last speech that was cut off.

    Speeches are separated by a blank line; the text after the last blank line may be unfinished
    and is dropped, unless it is the only speech.
    """
    blocks = [block for block in text.strip("\n").split("\n\n") if block.strip()]
    if len(blocks) > 1 and not text.endswith("\n\n"):
        blocks = blocks[:-1]
    return [block.strip("\n").split("\n") for block in blocks]


def join_complete_speeches(texts: list[str]) -> str:
    """Several generated texts as one play text: the complete speeches of each, blank-line separated."""
    return "".join("\n".join(lines) + "\n\n" for text in texts for lines in complete_speeches(text))


def play_format_report(text: str, known_speakers: set[str], max_line_chars: int) -> dict[str, float]:
    """Score ``text`` on the play format. Every value is a fraction in [0, 1] except "speeches".

    Returns:
        speeches: complete speeches found.
        speaker line: speeches whose first line is a speaker line ("NAME:").
        known speaker: speeches whose speaker occurs in ``known_speakers`` (the corpus's).
        has lines: speeches with at least one line after the speaker line.
        line length ok: non-speaker lines no longer than ``max_line_chars`` (the corpus's longest).
        capitalised lines: non-speaker lines starting with a capital letter (about 0.91 in the corpus).
        well-formed: speeches with a known speaker and at least one line, every line within length.
    """
    if not isinstance(max_line_chars, int) or max_line_chars < 1:
        raise ValueError(f"max_line_chars must be a positive int, got {max_line_chars!r}")
    speeches = complete_speeches(text)
    if not speeches:
        return {"speeches": 0, "speaker line": 0.0, "known speaker": 0.0, "has lines": 0.0,
                "line length ok": 0.0, "capitalised lines": 0.0, "well-formed": 0.0}
    has_speaker = [bool(SPEAKER_LINE.fullmatch(lines[0])) for lines in speeches]
    known = [ok and lines[0][:-1] in known_speakers for ok, lines in zip(has_speaker, speeches, strict=True)]
    bodies = [lines[1:] if ok else lines for ok, lines in zip(has_speaker, speeches, strict=True)]
    body_lines = [line for body in bodies for line in body]
    well_formed = [is_known and bool(body) and all(len(line) <= max_line_chars for line in body)
                   for is_known, body in zip(known, bodies, strict=True)]
    fraction = lambda flags: float(np.mean(flags)) if len(flags) else 0.0  # noqa: E731
    return {"speeches": len(speeches), "speaker line": fraction(has_speaker), "known speaker": fraction(known),
            "has lines": fraction([bool(body) for body in bodies]),
            "line length ok": fraction([len(line) <= max_line_chars for line in body_lines]),
            "capitalised lines": fraction([line[:1].isupper() for line in body_lines]),
            "well-formed": fraction(well_formed)}
