"""A built-in corpus of short stories with planted long-range facts, and the metrics that check them.

Every story has three parts: an opening that names the hero and its kind ("Once upon a time,
there was a little fox named Pip."), a middle of ``middle_length`` sentences that never name the
hero but always introduce a friend with another name (a distractor: copying the most recent name
gives the wrong answer), and an ending that names the hero and its kind again ("In the end, Pip
the fox went home happy."). A model that writes coherent endings must carry the hero's name and
kind across the whole middle. The grammar is small and owned by this module, so every sentence a
model writes can also be checked against it (``sentence_is_valid``).

Stories are plain English, one per line; the generator is seeded, deterministic and fast
(a few MB per second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from utils.checks import check_int

NAMES = {"Pip": "he", "Tom": "he", "Max": "he", "Ben": "he", "Finn": "he", "Leo": "he", "Otto": "he", "Sam": "he",
         "Lily": "she", "Mia": "she", "Rosa": "she", "Nell": "she", "Ruby": "she", "Ada": "she", "Zoe": "she",
         "Ivy": "she"}
KINDS = ("fox", "rabbit", "bear", "badger", "mouse", "cat", "dog", "duck", "frog", "hedgehog", "squirrel", "turtle")
# (no kind starts with a vowel, so "a {kind}" is always right)
PLACES = ("forest", "meadow", "river", "hill", "garden", "village", "beach", "pond", "valley", "farm")
OBJECTS = ("red ball", "blue kite", "little boat", "shiny key", "yellow hat", "old map", "green drum", "silver bell")
HIDING = ("bush", "log", "bridge", "big rock", "tall tree", "old fence")
ADJECTIVES = ("quiet", "sunny", "green", "busy", "little")
WEATHER = ("grey", "blue", "dark", "bright")
FEELINGS = ("tired", "sad", "cold", "hungry", "scared")

OPENINGS = (
    "Once upon a time, there was a little {kind} named {name}.",
    "Long ago, in a {adjective} {place}, there lived a {kind} named {name}.",
    "There once was a brave {kind} named {name}.",
)
MIDDLES = (
    "{Pronoun} lived near the {place}.",
    "Every morning, {pronoun} played with {possessive} {object}.",
    "One day, {pronoun} lost {possessive} {object}.",
    "{Pronoun} looked under the {hiding} and behind the {hiding2}.",
    "The sky was {weather}, and the wind was cold.",
    "{Pronoun} was {feeling}, but {pronoun} did not give up.",
    "The {kind} walked all the way to the {place}.",
)
FRIEND_INTRO = "Then {pronoun} met a {friend_kind} called {friend}."
FRIEND_MIDDLES = (
    '"I will help you," said {friend}.',
    "{friend} and the {kind} went to the {place} together.",
    "{friend} the {friend_kind} knew a secret path.",
)
ENDINGS = (
    "In the end, {name} the {kind} went home happy.",
    "At last, {name} the {kind} found {possessive} {object}.",
    "That night, {name} the {kind} slept with a big smile.",
)
SLOT_WORDS = {  # what each slot of the templates may hold (the grammar, used by the validity check)
    "name": tuple(NAMES), "friend": tuple(NAMES), "kind": KINDS, "friend_kind": KINDS, "place": PLACES,
    "object": OBJECTS, "hiding": HIDING, "hiding2": HIDING, "adjective": ADJECTIVES, "weather": WEATHER,
    "feeling": FEELINGS, "pronoun": ("he", "she"), "Pronoun": ("He", "She"), "possessive": ("his", "her"),
}


@dataclass(frozen=True)
class Story:
    """One story and the facts planted in it."""

    text: str  # the story on one line, sentences separated by single spaces
    hero: str  # the hero's name, in the first and the last sentence
    kind: str  # the hero's kind ("fox"), in the first and the last sentence
    friend: str  # the distractor's name, in the middle only
    middle_length: int  # sentences between the opening and the ending

    @property
    def sentences(self) -> list[str]:
        return split_sentences(self.text)

    @property
    def prompt_before_ending(self) -> str:
        """The story up to (and including the space before) its ending: what a model must complete."""
        return " ".join(self.sentences[:-1]) + " "


def generate_story(rng: np.random.Generator, middle_length: int) -> Story:
    """One story whose middle has ``middle_length`` sentences (>= 1: it always introduces the friend)."""
    check_int(middle_length, "middle_length", minimum=1)
    hero, friend = rng.choice(list(NAMES), size=2, replace=False)
    kind, friend_kind = rng.choice(KINDS, size=2, replace=False)
    pronoun = NAMES[hero]
    slots = {"name": hero, "friend": friend, "kind": kind, "friend_kind": friend_kind, "pronoun": pronoun,
             "Pronoun": pronoun.capitalize(), "possessive": "his" if pronoun == "he" else "her",
             "object": rng.choice(OBJECTS), "adjective": rng.choice(ADJECTIVES)}

    def fill(template: str) -> str:  # a fresh place, hiding spot, weather and feeling per sentence
        words = {"place": rng.choice(PLACES), "weather": rng.choice(WEATHER), "feeling": rng.choice(FEELINGS)}
        words["hiding"], words["hiding2"] = rng.choice(HIDING, size=2, replace=False)
        return template.format(**slots, **words)

    friend_at = int(rng.integers(middle_length))  # the friend is introduced somewhere in the middle
    middle = []
    for i in range(middle_length):
        if i == friend_at:
            template = FRIEND_INTRO
        elif i > friend_at and rng.random() < 0.4:
            template = FRIEND_MIDDLES[rng.integers(len(FRIEND_MIDDLES))]
        else:
            template = MIDDLES[rng.integers(len(MIDDLES))]
        middle.append(fill(template))
    sentences = [fill(OPENINGS[rng.integers(len(OPENINGS))]), *middle, fill(ENDINGS[rng.integers(len(ENDINGS))])]
    return Story(" ".join(sentences), str(hero), str(kind), str(friend), middle_length)


def _check_middle_range(min_middle: int, max_middle: int) -> None:
    check_int(min_middle, "min_middle")
    check_int(max_middle, "max_middle")
    if max_middle < min_middle:
        raise ValueError(f"max_middle must be an int >= min_middle={min_middle}, got {max_middle!r}")


def generate_stories(num_stories: int, *, seed: int = 0, min_middle: int = 1, max_middle: int = 8) -> list[Story]:
    """``num_stories`` stories with middle lengths drawn uniformly from [min_middle, max_middle]."""
    check_int(num_stories, "num_stories")
    _check_middle_range(min_middle, max_middle)
    rng = np.random.default_rng(seed)
    return [generate_story(rng, int(rng.integers(min_middle, max_middle + 1))) for _ in range(num_stories)]


def story_corpus(num_chars: int, *, seed: int = 0, min_middle: int = 1, max_middle: int = 8) -> tuple[str, list[Story]]:
    """Stories, one per line, until the text holds at least ``num_chars`` characters.

    Returns the text and the stories in it (with their planted facts). Deterministic for a seed.
    """
    check_int(num_chars, "num_chars")
    _check_middle_range(min_middle, max_middle)
    rng = np.random.default_rng(seed)
    stories, total = [], 0
    while total < num_chars:
        stories.append(generate_story(rng, int(rng.integers(min_middle, max_middle + 1))))
        total += len(stories[-1].text) + 1
    return "".join(story.text + "\n" for story in stories), stories


# --- checking what a model wrote -------------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?]*[.!?]")  # (the grammar's quoted words end with a comma, not a full stop)
_NAME = re.compile(r"\b(" + "|".join(NAMES) + r")\b")


def split_sentences(text: str) -> list[str]:
    """The complete sentences of one line of text (a trailing unfinished sentence is dropped)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _template_regex(template: str) -> re.Pattern:
    pattern, position = "", 0
    for match in re.finditer(r"\{(\w+)\}", template):
        words = SLOT_WORDS[match.group(1)]
        pattern += re.escape(template[position:match.start()]) + f"(?P<{match.group(1)}>" + "|".join(words) + ")"
        position = match.end()
    return re.compile(pattern + re.escape(template[position:]))


_OPENINGS = [_template_regex(t) for t in OPENINGS]
_ENDINGS = [_template_regex(t) for t in ENDINGS]
_ALL = [_template_regex(t) for t in (*OPENINGS, *MIDDLES, FRIEND_INTRO, *FRIEND_MIDDLES, *ENDINGS)]


def sentence_is_valid(sentence: str) -> bool:
    """Could the grammar have produced this sentence? (Words from the lists, in a template's order.)"""
    return any(regex.fullmatch(sentence.strip()) for regex in _ALL)


def validity(text: str) -> float:
    """Fraction of the complete sentences in ``text`` (any number of lines) that the grammar can produce."""
    sentences = [s for line in text.splitlines() for s in split_sentences(line)]
    return float(np.mean([sentence_is_valid(s) for s in sentences])) if sentences else 0.0


def parse_opening(sentence: str) -> tuple[str, str] | None:
    """(hero, kind) named by an opening sentence, or None if it is not one."""
    for regex in _OPENINGS:
        match = regex.fullmatch(sentence.strip())
        if match:
            return match["name"], match["kind"]
    return None


ENDING_VERDICTS = ("coherent", "wrong kind", "wrong hero", "stranger too", "hero not named", "no ending",
                   "no opening")


def ending_verdict(story: str) -> str:
    """Judge one story (one line): does its last sentence name the hero of its first sentence?

    Returns one of ``ENDING_VERDICTS``: "coherent" (the ending names the hero, no one else, and
    if it gives the hero a kind, the right one), "wrong kind" ("Pip the owl" for Pip the fox),
    "wrong hero" (only other names), "stranger too" (the hero and someone else), "hero not named"
    (a last sentence with no name), "no ending" (fewer than two sentences, or text after the last
    complete sentence) or "no opening" (the first sentence names no hero).
    """
    if "\n" in story.strip("\n"):
        raise ValueError("story must be one line (one story); split a generated text at newlines first")
    line = story.strip()
    sentences = split_sentences(line)
    opening = parse_opening(sentences[0]) if sentences else None
    if opening is None:
        return "no opening"
    if len(sentences) < 2 or not line.endswith(sentences[-1]):
        return "no ending"
    hero, kind = opening
    names = set(_NAME.findall(sentences[-1]))
    if not names:
        return "hero not named"
    if hero not in names:
        return "wrong hero"
    if names != {hero}:
        return "stranger too"
    kinds_given = re.findall(rf"\b{hero} the (\w+)", sentences[-1])
    return "wrong kind" if any(given != kind for given in kinds_given) else "coherent"


def first_line(text: str) -> str:
    """``text`` up to its first newline (a generated continuation up to the end of its story)."""
    return text.split("\n", 1)[0]


def judge_continuation(prompt: str, continuation: str) -> str:
    """``ending_verdict`` of a prompt completed by a model, up to the newline that ends the story.

    A continuation with no newline never finished its story: "no ending".
    """
    end = continuation.find("\n")
    return "no ending" if end < 0 else ending_verdict(prompt + continuation[:end])
