"""The story corpus, its planted facts, and the coherence / validity / play-format metrics."""

import re

import numpy as np
import pytest

from utils import play_format, stories

PIP = "Once upon a time, there was a little fox named Pip."
MIDDLE = "Then he met a bear called Mia. Mia the bear knew a secret path."


def test_same_seed_same_corpus_and_another_seed_another():
    text_a, stories_a = stories.story_corpus(20_000, seed=3)
    text_b, _ = stories.story_corpus(20_000, seed=3)
    text_c, _ = stories.story_corpus(20_000, seed=4)
    assert text_a == text_b and text_a != text_c
    assert text_a == "".join(s.text + "\n" for s in stories_a)


def test_corpus_has_the_requested_size():
    text, generated = stories.story_corpus(50_000, seed=0)
    longest = max(len(s.text) + 1 for s in generated)
    assert 50_000 <= len(text) < 50_000 + longest
    assert text.count("\n") == len(generated)


@pytest.mark.parametrize("middle_length", [1, 2, 5, 8, 12])
def test_every_story_plants_its_facts_and_has_the_requested_middle(middle_length):
    rng = np.random.default_rng(middle_length)
    for _ in range(200):
        story = stories.generate_story(rng, middle_length)
        sentences = story.sentences
        assert len(sentences) == middle_length + 2 == story.middle_length + 2
        assert " ".join(sentences) == story.text
        assert stories.parse_opening(sentences[0]) == (story.hero, story.kind)
        assert re.search(rf"\b{story.hero} the {story.kind}\b", sentences[-1])
        middle = " ".join(sentences[1:-1])
        assert not re.search(rf"\b{story.hero}\b", middle), "the middle must never name the hero"
        assert re.search(rf"called {story.friend}\.", middle), "the distractor is introduced in the middle"
        assert story.friend != story.hero
        assert all(stories.sentence_is_valid(s) for s in sentences)
        assert stories.ending_verdict(story.text) == "coherent"
        assert story.prompt_before_ending + sentences[-1] == story.text


def test_middle_lengths_cover_the_requested_range():
    lengths = {s.middle_length for s in stories.generate_stories(500, seed=1, min_middle=2, max_middle=6)}
    assert lengths == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("call, argument", [
    (lambda: stories.generate_story(np.random.default_rng(0), 0), "middle_length"),
    (lambda: stories.generate_story(np.random.default_rng(0), 2.5), "middle_length"),
    (lambda: stories.generate_stories(0), "num_stories"),
    (lambda: stories.generate_stories(5, min_middle=0), "min_middle"),
    (lambda: stories.generate_stories(5, min_middle=4, max_middle=3), "max_middle"),
    (lambda: stories.story_corpus(0), "num_chars"),
    (lambda: stories.story_corpus(True), "num_chars"),
    (lambda: stories.story_corpus(1000, max_middle=0), "max_middle"),
])
def test_bad_parameters_are_refused_by_name(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_validity_rejects_sentences_the_grammar_cannot_make():
    assert stories.sentence_is_valid(PIP)
    assert stories.sentence_is_valid('"I will help you," said Mia.')
    for bad in ["Once upon a time, there was a little lion named Pip.",  # no lions in the grammar
                "Once upon a time, there was a little fox named Bob.",  # no Bob
                "The fox ate the moon.",
                "Once upon a time, there was a little fox named Pip",  # no full stop
                "Then he met a bear called Mia. Then"]:
        assert not stories.sentence_is_valid(bad), bad
    assert stories.validity(f"{PIP} {MIDDLE}\n{PIP} The fox ate the moon.") == pytest.approx(4 / 5)
    assert stories.validity("") == 0.0


@pytest.mark.parametrize("ending, verdict", [
    ("In the end, Pip the fox went home happy.", "coherent"),
    ("At last, Pip the fox found his red ball.", "coherent"),
    ("Pip went home.", "coherent"),  # the hero, no kind given: nothing contradicts the facts
    ("In the end, Pip the bear went home happy.", "wrong kind"),
    ("In the end, Mia the bear went home happy.", "wrong hero"),  # the distractor
    ("In the end, Ruby the fox went home happy.", "wrong hero"),  # a name never seen
    ("In the end, Pip and Mia went home happy.", "stranger too"),
    ("In the end, the fox went home happy.", "hero not named"),
    ("In the end, Pip the fox went ho", "no ending"),
])
def test_ending_verdict_on_hand_written_stories(ending, verdict):
    assert stories.ending_verdict(f"{PIP} {MIDDLE} {ending}") == verdict


def test_ending_verdict_needs_an_opening_and_an_ending():
    assert stories.ending_verdict("Then he met a bear called Mia. In the end, Pip the fox went home happy.") == "no opening"
    assert stories.ending_verdict(PIP) == "no ending"
    assert stories.ending_verdict("") == "no opening"
    with pytest.raises(ValueError, match="one line"):
        stories.ending_verdict(f"{PIP}\n{PIP}")
    assert set(stories.ENDING_VERDICTS) >= {"coherent", "no ending", "no opening"}


def test_judge_continuation_stops_at_the_end_of_the_story():
    prompt = f"{PIP} {MIDDLE} "
    assert stories.judge_continuation(prompt, "In the end, Pip the fox went home happy.\nThere once") == "coherent"
    assert stories.judge_continuation(prompt, "In the end, Mia the bear went home happy.\n") == "wrong hero"
    assert stories.judge_continuation(prompt, "In the end, Pip the fox went home happy.") == "no ending"
    assert stories.first_line("In the end.\nThere once") == "In the end." and stories.first_line("abc") == "abc"


GOOD_PLAY = "ROMEO:\nBut soft, what light through yonder window breaks?\n\nJULIET:\nAy me!\n\n"


def test_play_format_on_good_and_bad_text():
    known = {"ROMEO", "JULIET"}
    good = play_format.play_format_report(GOOD_PLAY, known, 63)
    assert good["speeches"] == 2 and good["well-formed"] == 1.0 and good["known speaker"] == 1.0
    bad = play_format.play_format_report("romeo said hello\nand then more\n\nxx\n\n", known, 63)
    assert bad["speaker line"] == 0.0 and bad["well-formed"] == 0.0 and bad["capitalised lines"] == 0.0
    stranger = play_format.play_format_report("HAMLET:\nTo be.\n\n", known, 63)
    assert stranger["speaker line"] == 1.0 and stranger["known speaker"] == 0.0
    too_long = play_format.play_format_report("ROMEO:\n" + "A" * 64 + "\n\n", known, 63)
    assert too_long["line length ok"] == 0.0 and too_long["well-formed"] == 0.0
    assert play_format.play_format_report("", known, 63)["speeches"] == 0


def test_play_format_drops_a_cut_off_last_speech_and_reads_speakers():
    cut = GOOD_PLAY + "ROMEO:\nIt is the ea"
    assert play_format.complete_speeches(cut) == [["ROMEO:", "But soft, what light through yonder window breaks?"],
                                                  ["JULIET:", "Ay me!"]]
    assert play_format.speakers_in(GOOD_PLAY + "First Citizen:\nNay, let them follow:\n") == {"ROMEO", "JULIET",
                                                                                           "First Citizen"}
    assert play_format.longest_line(GOOD_PLAY) == len("But soft, what light through yonder window breaks?")
    joined = play_format.join_complete_speeches([cut, "JULIET:\nGood night.\n\nROMEO:\nSle"])
    assert joined == GOOD_PLAY + "JULIET:\nGood night.\n\n"
    assert play_format.play_format_report(joined, {"ROMEO", "JULIET"}, 63)["speeches"] == 3
    with pytest.raises(ValueError, match="max_line_chars"):
        play_format.play_format_report(GOOD_PLAY, {"ROMEO"}, 0)


def test_story_starts_are_the_first_characters_of_the_lines():
    text, generated = stories.story_corpus(5_000, seed=2)
    starts = stories.story_starts(text)
    assert len(starts) == len(generated)
    assert [text[start:start + len(s.text)] for start, s in zip(starts, generated, strict=True)] == [s.text for s in generated]


def test_ending_name_mask_marks_the_hero_in_each_ending_and_nothing_else():
    text, generated = stories.story_corpus(5_000, seed=2)
    mask = stories.ending_name_mask(text)
    marked = re.findall(r"\w+", "".join(c if m else " " for c, m in zip(text, mask, strict=True)))
    assert marked == [s.hero for s in generated]
    for start, story in zip(stories.story_starts(text), generated, strict=True):
        ending_at = start + len(story.text) - len(story.sentences[-1])
        assert not mask[start:ending_at].any()  # the opening's name and the middle are not marked


def test_masked_loss_log_averages_only_the_masked_positions():
    import keras

    from utils import data, models, training

    vocab = data.Vocabulary.from_text("abc")
    keras.utils.set_random_seed(0)
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=4, units=8))
    inputs = np.array([[1, 2, 3, 1], [2, 2, 1, 3]])
    targets = np.array([[2, 3, 1, 2], [2, 1, 3, 3]])
    mask = np.array([[False, True, False, False], [False, False, False, True]])
    log = training.MaskedLossLog(inputs, targets, mask, name="val_name_loss")
    log.set_model(model)
    logs = {}
    log.on_epoch_end(0, logs)
    probs = np.asarray(keras.ops.softmax(model(inputs)))
    expected = -np.mean([np.log(probs[0, 1, 3]), np.log(probs[1, 3, 3])])
    assert log.losses == [pytest.approx(expected, rel=1e-5)] and logs["val_name_loss"] == log.losses[0]
    with pytest.raises(ValueError, match="mask must select"):
        training.MaskedLossLog(inputs, targets, np.zeros_like(mask))
    with pytest.raises(ValueError, match="one \\(windows, time\\) shape"):
        training.MaskedLossLog(inputs, targets[:, :2], mask)


def test_forced_choice_picks_the_candidate_the_model_finds_most_likely():
    """A model that has learnt nothing of the story: its choice is the same for every story, and scored right."""
    import keras

    from utils import data, models

    tests = stories.generate_stories(6, seed=5, min_middle=1, max_middle=2)
    text, _ = stories.story_corpus(2_000, seed=0)
    text += " ".join([*stories.NAMES, *stories.KINDS])  # every letter a candidate needs
    keras.utils.set_random_seed(1)
    model = models.build_char_model(data.Vocabulary.from_text(text), models.CharModelConfig(embedding_dim=4, units=8))
    result = stories.forced_choice(model, tests)
    assert set(result) == {"name", "kind", "name_right", "kind_right", "chose_friend", "name_log_prob"}
    assert all(len(column) == len(tests) for column in result.values())
    assert result["name_right"] == [n == s.hero for n, s in zip(result["name"], tests, strict=True)]
    assert result["chose_friend"] == [n == s.friend for n, s in zip(result["name"], tests, strict=True)]
    assert result["kind_right"] == [k == s.kind for k, s in zip(result["kind"], tests, strict=True)]
    assert all(p < 0 for p in result["name_log_prob"])
    with pytest.raises(ValueError, match="test_stories"):
        stories.forced_choice(model, [])
