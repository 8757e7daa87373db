"""The bad-input matrix: every public entry point, fed bad input, fails with a clear error that
names the argument, and leaves the files it was given exactly as they were.

Each row: (id, callable, expected exception, regex the message must match).
"""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import config, data, env, generation, models, numpy_rnn, plotting, training

REPO = Path(__file__).resolve().parents[1]
TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n" * 20
VOCAB = data.Vocabulary.from_text(TEXT)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with a corpus, a non-UTF-8 file, an empty file, a saved model and a corrupted model."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "corpus.txt").write_text(TEXT, encoding="utf-8")
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=4, units=8))
    model.save(folder / "model.keras")
    (folder / "corrupt.keras").write_bytes((folder / "model.keras").read_bytes()[:500])
    return folder, model


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def cases(folder: Path, model):
    generator = generation.TextGenerator(model)
    ids = VOCAB.encode(TEXT)
    params = numpy_rnn.init_rnn_params(3, 2, 3, np.random.default_rng(0))
    return [
        # corpus files
        ("missing corpus", lambda: data.load_corpus(folder / "nope.txt"), FileNotFoundError, r"path=.*no such file"),
        ("empty corpus", lambda: data.load_corpus(folder / "empty.txt"), ValueError, r"path=.*is empty"),
        ("non-UTF-8 corpus", lambda: data.load_corpus(folder / "latin1.txt"), ValueError, r"path=.*not UTF-8"),
        ("unknown corpus name", lambda: data.load_corpus(name="hamlet"), ValueError, r"name='hamlet' is not a known"),
        ("wrong corpus hash", lambda: data._check_hash(folder / "corpus.txt", data.TINY_SHAKESPEARE), ValueError,
         r"sha256 expected 86c4e6aa.*actual .*reinstall"),
        ("corpus text not str", lambda: data.unigram_entropy_bits(b"bytes"), ValueError, r"text must be a non-empty str"),
        # vocabulary
        ("prompt outside vocabulary", lambda: VOCAB.encode("ROMEO!", argument="prompt"), ValueError,
         r"prompt has 1 character\(s\) outside the vocabulary: '!'"),
        ("ids out of range", lambda: VOCAB.decode([999]), ValueError, r"ids must lie in \[0, "),
        ("empty vocabulary", lambda: data.Vocabulary([]), ValueError, r"chars is empty"),
        ("encode chunk 0", lambda: VOCAB.encode(TEXT, chunk_chars=0), ValueError, r"chunk_chars must be an int >= 1"),
        ("refeeding window 0", lambda: generation.generate_by_refeeding(model, "ROMEO", 3, window=0), ValueError,
         r"window must be an int >= 1"),
        # splits and windows
        ("val_fraction 0", lambda: data.train_val_split(ids, 0.0), ValueError, r"val_fraction must be in \(0, 1\)"),
        ("seq_len 0", lambda: data.window_dataset(ids, 0, 4), ValueError, r"seq_len must be a positive int"),
        ("seq_len too long", lambda: data.window_dataset(ids, len(ids), 4), ValueError,
         r"seq_len=\d+ must be less than the text length"),
        ("batch_size 0", lambda: data.window_dataset(ids, 10, 0), ValueError, r"batch_size must be a positive int"),
        ("batch_size > windows", lambda: data.window_dataset(ids, 10, 10**6), ValueError, r"batch_size=1000000 exceeds"),
        ("2-D ids", lambda: data.window_dataset(np.zeros((3, 3), dtype=int), 1, 1), ValueError, r"ids must be a 1-D"),
        # sampling
        ("temperature 0", lambda: generator.generate("ROMEO", 5, temperature=0), ValueError,
         r"temperature must be a finite number > 0"),
        ("temperature negative", lambda: generator.generate("ROMEO", 5, temperature=-0.5), ValueError, "temperature"),
        ("top_k 0", lambda: generator.generate("ROMEO", 5, top_k=0), ValueError, r"top_k must be an int in \[1, "),
        ("top_k > vocabulary", lambda: generator.generate("ROMEO", 5, top_k=VOCAB.size), ValueError, r"top_k must be"),
        ("top_p 0", lambda: generator.generate("ROMEO", 5, top_p=0.0), ValueError, r"top_p must be in \(0, 1\]"),
        ("top_p > 1", lambda: generator.generate("ROMEO", 5, top_p=1.01), ValueError, r"top_p must be in \(0, 1\]"),
        ("top_k and top_p", lambda: generator.generate("ROMEO", 5, top_k=2, top_p=0.5), ValueError, "at most one"),
        ("length negative", lambda: generator.generate("ROMEO", -1), ValueError, r"length must be an int >= 0"),
        ("length not int", lambda: generator.generate("ROMEO", 2.5), ValueError, r"length must be an int >= 0"),
        ("empty prompt", lambda: generator.generate("", 5), ValueError, r"prompt must be a non-empty str"),
        ("prompt OOV", lambda: generator.generate("Zebra", 5), ValueError, r"prompt has .* outside the vocabulary"),
        ("num_streams 0", lambda: generator.generate("ROMEO", 5, num_streams=0), ValueError, r"num_streams must be"),
        ("temperature underflows", lambda: generator.generate("ROMEO", 5, temperature=1e-38), ValueError,
         r"temperature must be in \[0.001, 1000.0\]"),
        ("temperature huge", lambda: generator.generate("ROMEO", 5, temperature=1e6), ValueError,
         r"temperature must be in \[0.001, 1000.0\]"),
        ("temperature nan", lambda: generator.generate("ROMEO", 5, temperature=float("nan")), ValueError,
         r"temperature must be a finite number > 0"),
        ("length beyond int32", lambda: generator.generate("ROMEO", 3_000_000_000), ValueError,
         r"length must be an int >= 0 and <= 1,000,000, got 3000000000"),
        ("length too long", lambda: generator.generate("ROMEO", 2_000_000_000), ValueError, r"length must be .*<= 1,000,000"),
        ("num_streams too many", lambda: generator.generate("ROMEO", 5, num_streams=10**6), ValueError,
         r"num_streams must be an int >= 1 and <= 10,000"),
        ("length x streams", lambda: generator.generate("ROMEO", 1_000_000, num_streams=100), ValueError,
         r"length x num_streams must be <= 20,000,000"),
        ("seed negative", lambda: generator.generate("ROMEO", 5, seed=-1), ValueError, r"seed must be an int in \[0, 2147483647\]"),
        ("seed beyond int32", lambda: generator.generate("ROMEO", 5, seed=2**40), ValueError, r"seed must be an int in"),
        ("many prompts, bad seed", lambda: generator.generate_many(["RO", "MEO"], 5, seed=2**31), ValueError,
         r"seed must be an int in"),
        ("sample callback temperature", lambda: training.SampleEachEpoch("ROMEO", temperature=0), ValueError,
         r"temperature must be a finite number > 0"),
        ("sample callback every 0", lambda: training.SampleEachEpoch("ROMEO", every=0), ValueError, r"every must be an int >= 1"),
        # models
        ("missing model", lambda: models.load_char_model(folder / "nope.keras"), FileNotFoundError, r"no such file"),
        ("corrupted model", lambda: models.load_char_model(folder / "corrupt.keras"), ValueError,
         r"truncated or corrupted"),
        ("not a .keras file", lambda: models.load_char_model(folder / "corpus.txt"), ValueError, r"must be a .keras"),
        ("vocabulary mismatch", lambda: models.load_char_model(folder / "model.keras", data.Vocabulary.from_text("xyz")),
         ValueError, r"different vocabulary"),
        ("units 0", lambda: models.CharModelConfig(units=0), ValueError, r"units must be a positive int"),
        ("dropout 1", lambda: models.CharModelConfig(dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
        ("unknown cell", lambda: models.CharModelConfig(cell="lstmm"), ValueError, r"cell must be one of"),
        ("units huge", lambda: models.CharModelConfig(units=10**9), ValueError, r"units must be a positive int <= 65,536"),
        ("num_layers huge", lambda: models.CharModelConfig(num_layers=10**6), ValueError, r"num_layers must be .*<= 256"),
        ("dropout nan", lambda: models.CharModelConfig(dropout=float("nan")), ValueError, r"dropout must be in \[0, 1\)"),
        ("transformer context huge", lambda: models.build_transformer_model(VOCAB, context=10**7), ValueError,
         r"context must be a positive int <= 65,536"),
        ("transformer ffn_dim 0", lambda: models.build_transformer_model(VOCAB, ffn_dim=0), ValueError,
         r"ffn_dim must be a positive int"),
        # training
        ("learning_rate 0", lambda: training.compile_char_model(model, 0.0, 10), ValueError,
         r"learning_rate must be a finite number in \(0, 10\]"),
        ("learning_rate nan", lambda: training.compile_char_model(model, float("nan"), 10), ValueError,
         r"learning_rate must be a finite number"),
        ("total_steps not int", lambda: training.compile_char_model(model, 1e-3, 10.5), ValueError,
         r"total_steps must be an int >= 1"),
        ("clipnorm 0", lambda: training.compile_char_model(model, 1e-3, 10, clipnorm=0), ValueError,
         r"clipnorm must be a finite number in \(0, inf\)"),
        ("patience negative", lambda: training.standard_callbacks(folder / "run", total_epochs=3, patience=-1), ValueError,
         r"patience must be an int >= 0"),
        ("total_epochs 0", lambda: training.standard_callbacks(folder / "run", total_epochs=0), ValueError,
         r"total_epochs must be an int >= 1"),
        ("backup tracks an unsupported callback", lambda: training.ResumableBackup(folder / "b", track=[training.EpochLog()]),
         ValueError, r"track holds a EpochLog; it can hold EarlyStopping, ModelCheckpoint, AtomicBestCheckpoint"),
        ("warm-up too long", lambda: training.compile_char_model(model, 1e-3, 5, warmup_steps=10), ValueError,
         r"total_steps=5 must exceed warmup_steps=10"),
        ("save path not .keras", lambda: training.atomic_save(model, folder / "model.h5"), ValueError,
         r"path=.*must end in .keras"),
        ("artifacts name escapes", lambda: training.artifacts_dir("../x"), ValueError, r"name must be a plain folder"),
        ("time budget 0", lambda: training.TimeBudget(0), ValueError, r"minutes must be a finite number in \(0, "),
        ("time budget nan", lambda: training.TimeBudget(float("nan")), ValueError, r"minutes must be a finite number"),
        # the NumPy reference
        ("x wrong rank", lambda: numpy_rnn.rnn_forward(np.zeros((2, 3)), params), ValueError, r"x \(batch, time, input_dim\)"),
        ("h0 wrong shape", lambda: numpy_rnn.rnn_forward(np.zeros((2, 3, 3)), params, h0=np.zeros((1, 2))), ValueError,
         r"h0 \(batch, units\) must have shape \(2, 2\)"),
        ("truncation 0", lambda: numpy_rnn.truncated_bptt_grads(params, np.zeros((1, 2), int), np.zeros((1, 2), int), 0),
         ValueError, r"truncation must be a positive int"),
        ("unknown cell count", lambda: numpy_rnn.parameter_count("cnn", 1, 1), ValueError, r"cell must be one of"),
        # configuration and environment
        ("seed negative", lambda: env.set_seed(-1), ValueError, r"seed must be a non-negative int"),
        ("old versions", lambda: env.check_versions({"numpy": "999"}), RuntimeError, r"numpy .* too old"),
        ("plot steps 0", lambda: plotting.draw_unrolled_rnn(0), ValueError, r"steps must be a positive int"),
        ("no curves", lambda: plotting.plot_loss_curves({}), ValueError, r"curves is empty"),
    ]




def test_every_bad_input_fails_clearly_and_changes_nothing_on_disk(files, monkeypatch):
    folder, model = files
    before = snapshot(folder)
    failures = []
    table = cases(folder, model)
    for name, call, error, pattern in table:
        try:
            call()
        except error as err:
            if not re.search(pattern, str(err)):
                failures.append(f"{name}: message {str(err)!r} does not match {pattern!r}")
        except Exception as err:  # noqa: BLE001 - any other exception type is a failure of the contract
            failures.append(f"{name}: raised {type(err).__name__}: {err}")
        else:
            failures.append(f"{name}: no error raised")
    assert not failures, "\n".join(failures)
    assert snapshot(folder) == before, "a bad input changed or removed a file"
    assert len(table) >= 73


def test_bad_rnn_fast_value(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "fast")
    with pytest.raises(ValueError, match="RNN_FAST='fast' is not understood"):
        config.by_mode(full=1, fast=0)


@pytest.mark.parametrize("args, message", [
    (["--temperature", "0"], "temperature must be a finite number > 0"),
    (["--temperature", "-1"], "temperature must be"),
    (["--top-k", "0"], "--top-k must be an int in"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--length", "-5"], "length must be an int >= 0"),
    (["--streams", "0"], "--streams must be an int >= 1"),
    (["--prompt", "QQQ~"], "outside the vocabulary"),
    (["--top-k", "2", "--top-p", "0.5"], "not allowed with argument"),
    (["--length", "ten"], "invalid int value"),
    (["--length", "3000000000"], "--length must be an int >= 0 and <= 1,000,000"),
    (["--length", "2000000000"], "--length must be an int >= 0 and <= 1,000,000"),
    (["--temperature", "1e-38"], "--temperature must be in [0.001, 1000.0]"),
    (["--temperature", "nan"], "--temperature must be a finite number > 0"),
    (["--streams", "100000"], "--streams must be an int >= 1 and <= 10,000"),
    (["--length", "1000000", "--streams", "100"], "--length x --streams must be <= 20,000,000"),
    (["--seed", "-1"], "--seed must be an int in [0, 2147483647]"),
    (["--top-k", "100000"], "--top-k must be an int in [1, "),
])
def test_cli_bad_arguments(files, args, message, capsys):
    """The command line's own code path (argparse, checks, messages), called in this process: one
    interpreter start per case would cost ~7 s each; test_cli_runs_as_a_program covers the start."""
    from utils import generate

    folder, _ = files
    before = snapshot(folder)
    base = ["--model", str(folder / "model.keras"), "--prompt", "ROMEO"]
    with pytest.raises(SystemExit) as info:
        generate.main([*base, *args])
    stderr = capsys.readouterr().err
    assert info.value.code == 2 and message in stderr, stderr[-400:]
    assert snapshot(folder) == before


def test_cli_runs_as_a_program_and_refuses_a_bad_length(files):
    folder, _ = files
    result = subprocess.run([sys.executable, "-m", "utils.generate", "--model", str(folder / "model.keras"),
                             "--prompt", "ROMEO", "--length", "3000000000"], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 2 and "--length must be an int >= 0 and <= 1,000,000" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("model_name, message", [("nope.keras", "no such file"), ("corrupt.keras", "truncated or corrupted"),
                                                 ("corpus.txt", "must be a .keras file")])
def test_cli_bad_model_files(files, model_name, message, capsys):
    from utils import generate

    folder, _ = files
    with pytest.raises(SystemExit) as info:
        generate.main(["--model", str(folder / model_name), "--prompt", "R"])
    stderr = capsys.readouterr().err
    assert info.value.code == 2 and message in stderr and "--model" in stderr


@pytest.mark.parametrize("name, message", [("nope.txt", "--prompt-file='.*nope.txt': no such file"),
                                           ("empty.txt", "--prompt-file=.* is empty"),
                                           ("latin1.txt", "--prompt-file=.* is not UTF-8 text"),
                                           (None, "one of the arguments --prompt --prompt-file is required")])
def test_cli_bad_prompt_files(files, name, message, capsys):
    from utils import generate

    folder, _ = files
    before = snapshot(folder)
    prompt = ["--prompt-file", str(folder / name)] if name else []
    with pytest.raises(SystemExit) as info:
        generate.main(["--model", str(folder / "model.keras"), *prompt])
    stderr = capsys.readouterr().err
    assert info.value.code == 2 and re.search(message, stderr), stderr[-400:]
    assert snapshot(folder) == before
