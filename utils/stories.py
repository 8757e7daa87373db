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


# --- training on whole stories, and forced choice ------------------------------------------------

ENDING_LEAD = "In the end, "  # the first words of an ending: appended to a prompt, they cue the story to end


def story_starts(text: str) -> np.ndarray:
    """The offset of every story's first character in a corpus of one story per line."""
    ends = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), np.uint32) == ord("\n"))
    return np.concatenate([[0], ends[:-1] + 1]) if len(ends) else np.zeros(1, np.int64)


def ending_name_mask(text: str) -> np.ndarray:
    """True at the characters of each story's hero name in its ending (the fact a model must carry).

    The mask has one entry per character of ``text`` (one story per line); the name in the opening is
    not marked: it cannot be predicted.
    """
    mask = np.zeros(len(text), bool)
    start = 0
    for line in text.split("\n"):
        sentences = split_sentences(line)
        opening = parse_opening(sentences[0]) if sentences else None
        if opening is not None and len(sentences) > 1:
            ending_at = start + line.rindex(sentences[-1])
            for match in re.finditer(rf"\b{opening[0]}\b", sentences[-1]):
                mask[ending_at + match.start():ending_at + match.end()] = True
        start += len(line) + 1
    return mask


def forced_choice(model, test_stories: list[Story], *, lead: str = ENDING_LEAD, batch_size: int = 16) -> dict:
    """Rank every name, then every kind, as the model's continuation of ``prompt_before_ending + lead``.

    The name is chosen among all ``NAMES`` (each followed by a space, so that no candidate is a prefix
    of another); the kind among all ``KINDS``, after the story's true hero ("In the end, Pip the "), so
    the two facts are scored separately. Uses ``scoring.continuation_log_probs``.

    Returns:
        A dict of equal-length lists: ``name`` and ``kind`` (the model's choices), ``name_right``,
        ``kind_right`` and ``chose_friend`` (booleans), and ``name_log_prob`` (the true name's, in nats).
    """
    from utils import scoring  # here, not at the top: the corpus functions above need no TensorFlow

    if not test_stories:
        raise ValueError("test_stories must be a non-empty list of Story")
    names, kinds = list(NAMES), list(KINDS)
    prompts = [story.prompt_before_ending + lead for story in test_stories]
    name_scores = scoring.continuation_log_probs(model, prompts, [f"{n} " for n in names], batch_size=batch_size)
    kind_prompts = [f"{prompt}{story.hero} the " for prompt, story in zip(prompts, test_stories, strict=True)]
    kind_scores = scoring.continuation_log_probs(model, kind_prompts, [f"{k} " for k in kinds], batch_size=batch_size)
    chosen_names = [names[i] for i in name_scores.argmax(axis=1)]
    chosen_kinds = [kinds[i] for i in kind_scores.argmax(axis=1)]
    return {"name": chosen_names, "kind": chosen_kinds,
            "name_right": [c == s.hero for c, s in zip(chosen_names, test_stories, strict=True)],
            "kind_right": [c == s.kind for c, s in zip(chosen_kinds, test_stories, strict=True)],
            "chose_friend": [c == s.friend for c, s in zip(chosen_names, test_stories, strict=True)],
            "name_log_prob": [float(row[names.index(s.hero)]) for row, s in zip(name_scores, test_stories, strict=True)]}
