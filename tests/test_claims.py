"""utils.claims: sentences written from the run's values, enforced in full mode only."""

import pytest

from utils import claims


def test_sentence_is_written_from_the_values(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "0")
    claim = claims.state("{a:.1f} is {word} {b:.1f}", a=2.0, b=1.0, word=claims.compare(2.0, 1.0), show=False)
    assert claim.text == "2.0 is higher than 1.0"
    assert claim.holds and claim.enforced


def test_full_mode_stops_on_a_requirement_that_does_not_hold(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "0")
    with pytest.raises(claims.ClaimError) as err:
        claims.state("cached {c} chars/s against {p}", c=5, p=9, requires=5 > 9,
                     requirement="the cache makes generation faster", show=False)
    message = str(err.value)
    assert "the cache makes generation faster" in message
    assert "cached 5 chars/s against 9" in message and "c=5" in message and "p=9" in message


def test_fast_mode_shows_and_does_not_enforce(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "1")
    claim = claims.state("cached {c} against {p}", c=5, p=9, requires=False,
                         requirement="the cache makes generation faster", show=False)
    assert not claim.holds and not claim.enforced
    assert "Fast mode" in claim.markdown() and "the cache makes generation faster" in claim.markdown()


def test_a_holding_requirement_shows_the_sentence_alone(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "1")
    claim = claims.state("x {v}", v=1, requires=True, requirement="r", show=False)
    assert claim.markdown() == "x 1"


@pytest.mark.parametrize(("a", "b", "tolerance", "expected"), [
    (1.25, 1.0, 0.1, "higher than"),
    (0.80, 1.0, 0.1, "lower than"),
    (1.05, 1.0, 0.1, "within noise of"),
    (0.95, 1.0, 0.1, "within noise of"),
    (1.0, 1.0, 0.0, "within noise of"),
    (1.0 + 1e-9, 1.0, 0.0, "higher than"),
])
def test_compare_words(a, b, tolerance, expected):
    assert claims.compare(a, b, tolerance=tolerance) == expected


def test_compare_custom_words():
    assert claims.compare(3.0, 1.0, words=("faster", "slower", "as fast as")) == "faster"


def test_pick():
    assert claims.pick(True, "solved", "not solved") == "solved"
    assert claims.pick(0, "solved", "not solved") == "not solved"


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"a": float("nan"), "b": 1.0}, "finite"),
    ({"a": 1.0, "b": 1.0, "tolerance": -0.1}, "tolerance"),
    ({"a": 1.0, "b": 1.0, "tolerance": 1.0}, "tolerance"),
])
def test_compare_refuses_bad_input(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        claims.compare(**kwargs)


def test_state_refuses_a_missing_value_or_an_unnamed_requirement():
    with pytest.raises(ValueError, match="names 'x'"):
        claims.state("{x}", y=1, show=False)
    with pytest.raises(ValueError, match="requirement"):
        claims.state("{x}", x=1, requires=True, show=False)


def test_display_outside_a_notebook_prints(capsys, monkeypatch):
    monkeypatch.setenv("RNN_FAST", "0")
    claims.state("loss {v:.3f}", v=1.23456, key="k")
    assert capsys.readouterr().out.strip() == "loss 1.235"


def test_metadata_values_are_json_safe():
    import json

    import numpy as np

    values = {"f": np.float32(1.5), "i": np.int64(3), "s": "x", "nan": float("nan"), "b": True}
    plain = {k: claims._plain(v) for k, v in values.items()}
    assert json.loads(json.dumps(plain)) == {"f": 1.5, "i": 3.0, "s": "x", "nan": "nan", "b": True}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([3, 4, 5], [1, 2, 2.5], "higher than"),
    ([1, 2], [3, 4], "lower than"),
    ([1, 3], [2, 4], "overlapping with"),
    ([2], [2], "overlapping with"),
])
def test_compare_ranges(a, b, expected):
    assert claims.compare_ranges(a, b) == expected


@pytest.mark.parametrize("bad", [([], [1]), ([1], [float("inf")])])
def test_compare_ranges_refuses_bad_input(bad):
    with pytest.raises(ValueError, match="compare_ranges"):
        claims.compare_ranges(*bad)


def test_a_claim_shown_by_state_is_not_shown_again_as_a_cells_last_expression(monkeypatch, capsys):
    monkeypatch.setenv("RNN_FAST", "0")
    claim = claims.state("once {v}", v=1)
    claim._ipython_display_()  # what IPython calls for a cell's last expression
    assert capsys.readouterr().out == "once 1\n"
    quiet = claims.state("later {v}", v=2, show=False)
    quiet._ipython_display_()
    assert capsys.readouterr().out == "later 2\n"
