import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from utils import data

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 20


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------ read_text_file / load_corpus(path)


def test_load_corpus_from_any_utf8_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("héllo wörld", encoding="utf-8")
    corpus = data.load_corpus(path, verbose=False)
    assert corpus.text == "héllo wörld" and corpus.name == "mine.txt" and corpus.sha256 == sha("héllo wörld")


def test_missing_file_names_the_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="path=.*no such file"):
        data.load_corpus(tmp_path / "nope.txt")


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="path=.*is empty"):
        data.load_corpus(tmp_path / "empty.txt")


def test_non_utf8_file_is_refused(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match=r"path=.*is not UTF-8 text \(byte 3 is 0xe9\)"):
        data.load_corpus(tmp_path / "latin1.txt")


def test_unknown_corpus_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"name='shakespear' is not a known corpus; known: \['tinyshakespeare'\]"):
        data.load_corpus(name="shakespear")


# ------------------------------------------------------------------ the corpus shipped with the package


def test_default_corpus_is_tiny_shakespeare_from_the_package_with_no_network(monkeypatch, capsys):
    """Every machine gets the same 65-character text: no environment variable, cache or network is read."""
    monkeypatch.setenv("RNN_DATA_DIR", "/nonexistent")  # the old variable is ignored now
    monkeypatch.setenv("KERAS_HOME", "/nonexistent")
    corpus = data.load_corpus()
    assert len(corpus.text) == data.TINY_SHAKESPEARE.num_chars == 1_115_394
    assert len(set(corpus.text)) == 65
    assert corpus.sha256 == data.TINY_SHAKESPEARE.sha256 == sha(corpus.text)
    assert corpus.text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert "shipped with the course package" in corpus.source and "sha256 verified" in corpus.source
    assert "Corpus: tinyshakespeare, 1,115,394 characters" in capsys.readouterr().out


def test_shipped_corpus_equals_the_ci_mirror_when_present():
    mirror = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
    if not mirror.is_file():
        pytest.skip("no ../shared mirror beside this checkout (a learner's clone)")
    assert data.sha256_of_file(mirror) == data.sha256_of_file(data.packaged_corpus_path(data.TINY_SHAKESPEARE))


def test_tampered_packaged_corpus_names_expected_and_actual_hash(tmp_path, monkeypatch):
    tampered = tmp_path / "tinyshakespeare.txt"
    tampered.write_text(TEXT, encoding="utf-8")
    monkeypatch.setattr(data, "packaged_corpus_path", lambda spec: tampered)
    with pytest.raises(ValueError) as info:
        data.load_corpus()
    message = str(info.value)
    assert f"expected {data.TINY_SHAKESPEARE.sha256}" in message and f"actual {sha(TEXT)}" in message
    assert "reinstall" in message


def test_missing_packaged_corpus_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "packaged_corpus_path", lambda spec: tmp_path / "gone.txt")
    with pytest.raises(FileNotFoundError, match="name='tinyshakespeare'.*reinstall"):
        data.load_corpus()


def test_source_distribution_carries_the_corpus(tmp_path, monkeypatch):
    """The sdist built from pyproject.toml holds utils/corpora/tinyshakespeare.txt (a regular wheel is refused:
    tests/test_links.py), so an install from it trains on the same text, offline."""
    import tarfile

    pytest.importorskip("setuptools")  # the build backend, used without fetching anything
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "tools" / "packaging"))
    import course_build_backend

    monkeypatch.chdir(repo)
    name = course_build_backend.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as archive:
        member = next(m for m in archive.getnames() if m.endswith("utils/corpora/tinyshakespeare.txt"))
        assert archive.extractfile(member).read() == data.packaged_corpus_path(data.TINY_SHAKESPEARE).read_bytes()


# ------------------------------------------------------------------ vocabulary


def test_vocabulary_round_trip_and_oov_id():
    vocab = data.Vocabulary.from_text(TEXT)
    assert vocab.chars == tuple(sorted(set(TEXT))) and vocab.size == len(set(TEXT)) + 1
    ids = vocab.encode(TEXT)
    assert ids.dtype == np.int32 and ids.min() >= 1
    assert vocab.decode(ids) == TEXT
    assert vocab.decode([0]) == data.OOV_TOKEN


def test_fast_table_encoding_matches_string_lookup():
    vocab = data.Vocabulary(list("zyxwvutsrqponmlkjihgfedcba ,.\n:AFSB"))  # deliberately unsorted
    text = "".join(np.random.default_rng(0).choice(list(vocab.chars), 6000))
    assert np.array_equal(vocab.encode(text, short_text=0), vocab.encode(text, short_text=10**9))


def test_encode_rejects_characters_outside_the_vocabulary():
    vocab = data.Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match=r"prompt has 2 character\(s\) outside the vocabulary: 'x', 'z'"):
        vocab.encode("abxz", argument="prompt")
    with pytest.raises(ValueError, match="text must be a str"):
        vocab.encode(123)


def test_decode_rejects_ids_out_of_range():
    vocab = data.Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 4\)"):
        vocab.decode([1, 4])


@pytest.mark.parametrize("chars, message", [([], "empty"), (["ab"], "single"), (["a", "a"], "duplicates")])
def test_vocabulary_rejects_bad_chars(chars, message):
    with pytest.raises(ValueError, match=message):
        data.Vocabulary(chars)


def test_vocabulary_equality_is_by_characters():
    assert data.Vocabulary.from_text("abc") == data.Vocabulary(["a", "b", "c"])
    assert data.Vocabulary.from_text("abc") != data.Vocabulary.from_text("abd")


# ------------------------------------------------------------------ split and windows


def test_split_is_contiguous_90_10_and_deterministic():
    ids = np.arange(1000)
    train, val = data.train_val_split(ids)
    assert len(train) == 900 and len(val) == 100
    assert np.array_equal(np.concatenate([train, val]), ids)
    again = data.train_val_split(ids)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(np.arange(10), fraction)


def test_windows_are_shifted_pairs_covering_the_text_once():
    ids = np.arange(1, 1002, dtype=np.int32)  # 1001 ids -> 100 windows of 10 (+1 target)
    dataset = data.window_dataset(ids, seq_len=10, batch_size=4, shuffle=True, seed=1)
    starts = []
    for x, y in dataset:
        assert x.shape == (4, 10) and y.shape == (4, 10) and x.dtype.name == "int32"
        assert np.array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
        starts.extend(x.numpy()[:, 0].tolist())
    assert sorted(starts) == list(range(1, 1001, 10))  # 100 windows, each once
    assert starts != sorted(starts)  # shuffled


def test_window_shuffle_is_seeded():
    ids = np.arange(500, dtype=np.int32)
    first = [x.numpy().tolist() for x, _ in data.window_dataset(ids, 5, 8, seed=3)]
    second = [x.numpy().tolist() for x, _ in data.window_dataset(ids, 5, 8, seed=3)]
    assert first == second


@pytest.mark.parametrize("kwargs, message", [
    ({"seq_len": 0}, "seq_len must be a positive int"),
    ({"seq_len": 100}, "seq_len=100 must be less than the text length 100"),
    ({"seq_len": 2.5}, "seq_len must be a positive int"),
    ({"batch_size": 0}, "batch_size must be a positive int"),
    ({"batch_size": 50}, "batch_size=50 exceeds the 9 windows"),
    ({"stride": 0}, "stride must be a positive int"),
    ({"stride": 5, "starts": [0, 10]}, "either stride or starts"),
    ({"starts": [[0, 10]]}, "starts must be a 1-D array of offsets"),
    ({"starts": [-1, 10]}, "starts must be a 1-D array of offsets"),
    ({"starts": [0, 95]}, "batch_size=2 exceeds the 1 windows"),  # 95: its window would run past the text
])
def test_window_dataset_rejects_bad_arguments(kwargs, message):
    args = {"seq_len": 10, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        data.window_dataset(np.arange(100), **args)


def test_windows_can_start_at_chosen_offsets_and_drop_those_past_the_text():
    ids = np.arange(100)
    dataset = data.window_dataset(ids, 10, 3, shuffle=False, starts=np.array([0, 7, 30, 89, 95]))
    (x, y), = list(dataset.as_numpy_iterator())  # 95 cannot hold 10 + 1 ids: dropped, leaving one full batch
    np.testing.assert_array_equal(x[:, 0], [0, 7, 30])
    np.testing.assert_array_equal(x, x[:, :1] + np.arange(10))
    np.testing.assert_array_equal(y, x + 1)
    shuffled = data.window_dataset(ids, 10, 1, seed=3, starts=[0, 7, 30, 89])
    assert sorted(int(x[0, 0]) for x, _ in shuffled.as_numpy_iterator()) == [0, 7, 30, 89]


def test_target_weights_travel_with_their_targets():
    ids = np.arange(100)
    weights = (ids % 7 == 0).astype(float) * 5 + 1
    (x, y, w), = list(data.window_dataset(ids, 10, 2, shuffle=False, starts=[3, 40], target_weights=weights)
                      .as_numpy_iterator())
    np.testing.assert_array_equal(w, weights[y])
    for bad in (weights[:-1], -weights, weights * np.nan):
        with pytest.raises(ValueError, match="target_weights must hold one finite weight"):
            data.window_dataset(ids, 10, 2, target_weights=bad)


def test_window_dataset_rejects_non_integer_or_2d_ids():
    with pytest.raises(ValueError, match="ids must be a 1-D integer array"):
        data.window_dataset(np.zeros((10, 10), dtype=np.int32), 2, 2)
    with pytest.raises(ValueError, match="ids must be a 1-D integer array"):
        data.window_dataset(np.zeros(100), 2, 2)


def test_input_pipeline_memory_is_linear_in_the_corpus_not_one_hot():
    """50 MB of text through encode + window_dataset: peak memory grows by a few bytes per character.

    One-hot windows (the keras-io recipe) would need windows x seq_len x vocab bytes:
    here 500,000 x 100 x 41 = 2 GB even as booleans, 8 GB as float32.
    """
    script = textwrap.dedent("""
        import os, resource, numpy as np
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        from utils import data
        import tensorflow as tf
        def peak_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        text = "".join(np.random.default_rng(0).choice(list("abcdefghijklmnopqrstuvwxyz ,.;:!?'\\nAEIOU"), 50_000_000))
        vocab = data.Vocabulary.from_text(text)
        before = peak_mb()
        ids = vocab.encode(text)
        dataset = data.window_dataset(ids, seq_len=100, batch_size=256)
        for step, (x, y) in enumerate(dataset):
            if step == 50: break
        print(round(peak_mb() - before))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], env={**os.environ}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    growth_mb = int(result.stdout.strip().splitlines()[-1])
    corpus_mb = 50
    assert growth_mb < 12 * corpus_mb, f"input pipeline grew by {growth_mb} MB for a {corpus_mb} MB corpus"


# ------------------------------------------------------------------ baselines and units


def test_unigram_entropy_known_values():
    assert data.unigram_entropy_bits("aaaa") == 0.0
    assert data.unigram_entropy_bits("ab") == pytest.approx(1.0)
    assert data.unigram_entropy_bits("abcd" * 10) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="text"):
        data.unigram_entropy_bits("")


def test_unit_conversions_round_trip():
    assert data.nats_to_bits(np.log(2)) == pytest.approx(1.0)
    assert data.bits_to_nats(data.nats_to_bits(1.47)) == pytest.approx(1.47)
    assert data.perplexity(np.log(65)) == pytest.approx(65)


def test_encode_to_uint8_and_narrow_dtype_checks():
    vocab = data.Vocabulary.from_text(TEXT)
    assert np.array_equal(vocab.encode(TEXT, dtype=np.uint8), vocab.encode(TEXT))
    assert vocab.encode(TEXT, dtype=np.uint8).dtype == np.uint8
    big = data.Vocabulary([chr(0x100 + i) for i in range(300)])
    with pytest.raises(ValueError, match="dtype=uint8 cannot hold ids up to 300"):
        big.encode("x" * 0 + big.chars[0], dtype=np.uint8)
    with pytest.raises(ValueError, match="dtype=float32 cannot hold"):
        vocab.encode(TEXT, dtype=np.float32)


def test_encode_to_variable_feeds_window_dataset_like_the_array():
    vocab = data.Vocabulary.from_text(TEXT)
    store = vocab.encode_to_variable(TEXT, chunk_chars=100)
    assert store.dtype.name == "uint8" and np.array_equal(store.numpy(), vocab.encode(TEXT))
    from_variable = [x.numpy() for x, _ in data.window_dataset(store, 10, 4, shuffle=False)]
    from_array = [x.numpy() for x, _ in data.window_dataset(vocab.encode(TEXT), 10, 4, shuffle=False)]
    assert all(np.array_equal(a, b) for a, b in zip(from_variable, from_array, strict=True))
    with pytest.raises(ValueError, match="text has 1 character"):
        vocab.encode_to_variable(TEXT + "~")


def test_shuffle_order_changes_between_epochs():
    dataset = data.window_dataset(np.arange(2001, dtype=np.int32), 10, 8, seed=0)  # 200 windows, 25 batches
    first_epoch = [x.numpy()[:, 0].tolist() for x, _ in dataset]
    second_epoch = [x.numpy()[:, 0].tolist() for x, _ in dataset]
    assert first_epoch != second_epoch and sorted(sum(first_epoch, [])) == sorted(sum(second_epoch, []))


# ------------------------------------------------------------------ the fair unigram baseline


def test_unigram_baseline_scores_validation_with_training_frequencies():
    train, val = np.array([1, 1, 1, 2]), np.array([1, 2])
    # training frequencies 3/4 and 1/4 (no smoothing): loss = -(ln 3/4 + ln 1/4) / 2
    expected = -(np.log(0.75) + np.log(0.25)) / 2
    assert np.isclose(data.unigram_baseline_nats(train, val, vocab_size=3, smoothing=0.0), expected)
    # add-one smoothing over the 3 ids: counts 1, 4, 2 of 7
    smoothed = -(np.log(4 / 7) + np.log(2 / 7)) / 2
    assert np.isclose(data.unigram_baseline_nats(train, val, vocab_size=3), smoothed)


def test_unigram_baseline_on_the_corpus_is_above_the_texts_own_entropy():
    """Counted on the training split only, the baseline is a fairer, higher bar than the whole text's entropy."""
    text = data.load_corpus(verbose=False).text[:200_000]
    vocab = data.Vocabulary.from_text(text)
    train_ids, val_ids = data.train_val_split(vocab.encode(text), val_fraction=0.1)
    fair = data.unigram_baseline_nats(train_ids, val_ids, vocab.size)
    in_sample = data.bits_to_nats(data.unigram_entropy_bits(text))
    assert fair > in_sample


@pytest.mark.parametrize(("args", "needle"), [
    (([], [1], 3), "train_ids must not be empty"),
    (([1], [5], 3), r"val_ids must be integer ids in \[0, 3\)"),
    (([1.5], [1], 3), "train_ids must be integer ids"),
    (([1], [1], 0), "vocab_size"),
])
def test_unigram_baseline_refuses_bad_input(args, needle):
    with pytest.raises(ValueError, match=needle):
        data.unigram_baseline_nats(*args)


def test_unigram_baseline_without_smoothing_refuses_an_unseen_character():
    with pytest.raises(ValueError, match="smoothing"):
        data.unigram_baseline_nats([1, 1], [2], vocab_size=3, smoothing=0.0)
    with pytest.raises(ValueError, match="smoothing"):
        data.unigram_baseline_nats([1, 1], [1], vocab_size=3, smoothing=-1.0)
