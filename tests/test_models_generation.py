import hashlib
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import data, generation, models, training

TEXT = ("ROMEO:\nBut soft, what light through yonder window breaks?\n"
        "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n") * 30
VOCAB = data.Vocabulary.from_text(TEXT)


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    return models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16, num_layers=2))


@pytest.fixture(scope="module")
def saved_model(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path


# ------------------------------------------------------------------ models


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units must be a positive int"), ({"num_layers": 1.5}, "num_layers must be a positive int"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"), ({"cell": "transformer"}, "cell must be one of"),
])
def test_model_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.CharModelConfig(**kwargs)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_stepping_with_carried_state_equals_the_full_sequence(cell):
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=12, num_layers=2, cell=cell))
    ids = VOCAB.encode("ROMEO: soft")[None, :].repeat(3, axis=0)
    full = model(ids).numpy()
    states = model.zero_states(3)
    for t in range(ids.shape[1]):
        logits, states = model.step(ids[:, t], states)
        np.testing.assert_allclose(logits.numpy(), full[:, t], atol=1e-5)


def test_model_output_shape_and_parameter_count(tiny_model):
    assert tiny_model(VOCAB.encode("ROMEO")[None]).shape == (1, 5, VOCAB.size)
    e, h, v = 8, 16, VOCAB.size
    assert tiny_model.count_params() == v * e + 4 * h * (e + h + 1) + 4 * h * (h + h + 1) + v * (h + 1)


def test_save_and_load_round_trip_with_vocabulary(tiny_model, saved_model):
    loaded = models.load_char_model(saved_model, VOCAB)
    assert loaded.vocabulary == VOCAB and loaded.config == tiny_model.config
    ids = VOCAB.encode("JULIET")[None]
    np.testing.assert_allclose(loaded(ids).numpy(), tiny_model(ids).numpy(), atol=1e-6)


def test_load_rejects_a_mismatched_vocabulary(saved_model):
    with pytest.raises(ValueError, match="different vocabulary"):
        models.load_char_model(saved_model, data.Vocabulary.from_text(TEXT + "Z"))


def test_load_rejects_missing_wrong_suffix_truncated_and_corrupted_files(saved_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        models.load_char_model(tmp_path / "missing.keras")
    (tmp_path / "model.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="must be a .keras file"):
        models.load_char_model(tmp_path / "model.h5")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(saved_model.read_bytes()[: saved_model.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        models.load_char_model(truncated)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="truncated or corrupted"):
        models.load_char_model(garbage)


# ------------------------------------------------------------------ sampling


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0}, "temperature must be a finite number > 0"),
    ({"temperature": -1.0}, "temperature must be"), ({"temperature": float("nan")}, "temperature must be"),
    ({"top_k": 0}, r"top_k must be an int in \[1, 9\]"), ({"top_k": 10}, r"top_k must be an int in \[1, 9\]"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"), ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({"top_k": 3, "top_p": 0.5}, "at most one of top_k and top_p"),
    ({"length": -1}, "length must be an int >= 0"), ({"num_streams": 0}, "num_streams must be an int >= 1"),
])
def test_sampling_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generation.check_sampling_args(10, **kwargs)


def test_top_k_keeps_exactly_the_k_largest_and_never_the_oov_id():
    logits = np.array([9.0, 1.0, 5.0, 3.0, 4.0, 2.0], dtype=np.float32)  # id 0 is OOV
    probs = generation.next_char_probabilities(logits, top_k=2)
    assert set(np.flatnonzero(probs)) == {2, 4}
    assert probs.sum() == pytest.approx(1.0)
    assert generation.next_char_probabilities(logits)[0] == 0.0


def test_top_p_keeps_the_smallest_nucleus():
    probs_in = np.array([0.0, 0.5, 0.3, 0.15, 0.05])
    logits = np.log(np.maximum(probs_in, 1e-12)).astype(np.float32)
    assert set(np.flatnonzero(generation.next_char_probabilities(logits, top_p=0.5))) == {1}
    assert set(np.flatnonzero(generation.next_char_probabilities(logits, top_p=0.8))) == {1, 2}
    assert set(np.flatnonzero(generation.next_char_probabilities(logits, top_p=0.81))) == {1, 2, 3}
    assert set(np.flatnonzero(generation.next_char_probabilities(logits, top_p=1.0))) == {1, 2, 3, 4}


def test_temperature_sharpens_and_flattens():
    logits = np.array([0.0, 2.0, 1.0, 0.0], dtype=np.float32)
    cold = generation.next_char_probabilities(logits, temperature=0.5)
    warm = generation.next_char_probabilities(logits, temperature=2.0)
    assert cold[1] > generation.next_char_probabilities(logits)[1] > warm[1]


def test_generation_is_seeded_and_batched(tiny_model):
    generator = generation.TextGenerator(tiny_model)
    first = generator.generate("ROMEO:", 30, seed=5)
    assert first == generator.generate("ROMEO:", 30, seed=5)
    assert first != generator.generate("ROMEO:", 30, seed=6)
    streams = generator.generate("ROMEO:", 25, num_streams=4, top_p=0.9)
    assert len(streams) == 4 and all(len(s) == 25 for s in streams) and len(set(streams)) > 1
    assert all(set(s) <= set(VOCAB.chars) for s in streams)
    assert generator.generate("ROMEO:", 0) == [""]


def test_greedy_generation_equals_recomputing_the_whole_sequence(tiny_model):
    generator = generation.TextGenerator(tiny_model)
    fast = generator.generate("JULIET:", 12, greedy=True)[0]
    ids = list(VOCAB.encode("JULIET:"))
    for _ in range(12):
        logits = tiny_model(np.array([ids])).numpy()[0, -1]
        logits[0] = -np.inf
        ids.append(int(np.argmax(logits)))
    assert fast == VOCAB.decode(ids[-12:])


def test_generate_many_equals_one_prompt_at_a_time_in_the_prompts_order(tiny_model):
    generator = generation.TextGenerator(tiny_model)
    prompts = ["JULIET:", "ROMEO:\nBut", "O", "ROMEO:", "JULIET:"]  # lengths out of order, a repeat
    many = generator.generate_many(prompts, 9, greedy=True)
    assert many == [generator.generate(prompt, 9, greedy=True)[0] for prompt in prompts]
    sampled = generator.generate_many(prompts, 9, temperature=0.7, seed=2)
    assert sampled == generator.generate_many(prompts, 9, temperature=0.7, seed=2) and len(sampled) == 5
    assert generator.generate_many(prompts, 0) == [""] * 5
    for bad in ("ROMEO:", [], None):
        with pytest.raises(ValueError, match="prompts must be a non-empty list of str"):
            generator.generate_many(bad, 5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        generator.generate_many(["ROMEO:", "Zed"], 5)


def test_generation_rejects_bad_prompts(tiny_model):
    generator = generation.TextGenerator(tiny_model)
    with pytest.raises(ValueError, match=r"prompt has 1 character\(s\) outside the vocabulary: 'Z'"):
        generator.generate("ZOMEO", 5)
    with pytest.raises(ValueError, match="prompt must be a non-empty str"):
        generator.generate("", 5)


def test_refeeding_reference_generates_valid_text(tiny_model):
    text = generation.generate_by_refeeding(tiny_model, "ROMEO:", 5, window=40, seed=0)
    assert len(text) == 5 and set(text) <= set(VOCAB.chars)


# ------------------------------------------------------------------ training


def test_training_with_callbacks_saves_the_best_model_and_logs(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    ids = VOCAB.encode(TEXT)
    train_ids, val_ids = data.train_val_split(ids)
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=32))
    training.compile_char_model(model, 1e-2, total_steps=60, warmup_steps=5, jit_compile=False)
    history = model.fit(data.window_dataset(train_ids, 20, 8), validation_data=data.window_dataset(val_ids, 20, 8),
                        epochs=3, verbose=0,
                        callbacks=training.standard_callbacks(tmp_path, total_epochs=3, sample_prompt="ROMEO:"))
    losses = history.history["loss"]
    assert len(losses) == 3 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    best = models.load_char_model(tmp_path / "best.keras", VOCAB)
    assert best.count_params() == model.count_params()
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "nats" in out and "bits" in out and "sample after epoch 3:\n    | ROMEO:" in out
    assert not (tmp_path / "backup").exists()  # BackupAndRestore cleans up after a finished run


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("simulated interruption")


def test_backup_and_restore_resumes_after_an_interruption(tmp_path):
    ids = VOCAB.encode(TEXT)
    dataset = data.window_dataset(ids, 20, 8)

    def fresh_model():
        keras.utils.set_random_seed(0)
        model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16))
        return training.compile_char_model(model, 1e-2, total_steps=100, jit_compile=False)

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="simulated interruption"):
        fresh_model().fit(dataset, epochs=4, verbose=0, callbacks=[backup, Interrupt(at_epoch=2)])
    resumed = fresh_model().fit(dataset, epochs=4, verbose=0, callbacks=[backup])
    assert len(resumed.history["loss"]) == 2  # epochs 3 and 4 only: 1 and 2 were restored


def test_atomic_save_keeps_the_previous_file_when_a_save_dies(tiny_model, tmp_path, monkeypatch):
    path = training.atomic_save(tiny_model, tmp_path / "model.keras")
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    def dying_save(filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a model")
        raise KeyboardInterrupt("killed during save")

    monkeypatch.setattr(tiny_model, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        training.atomic_save(tiny_model, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temporary left behind
    models.load_char_model(path, VOCAB)
    with pytest.raises(ValueError, match="must end in .keras"):
        training.atomic_save(tiny_model, tmp_path / "model.h5")


@pytest.mark.parametrize("kwargs, message", [
    ({"learning_rate": 0.0, "total_steps": 10}, "learning_rate must be a finite number in \\(0, 10\\]"),
    ({"learning_rate": 1e-3, "total_steps": 5, "warmup_steps": 5}, "total_steps=5 must exceed warmup_steps=5"),
])
def test_compile_rejects_bad_schedules(tiny_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.compile_char_model(tiny_model, **kwargs)


def test_artifacts_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_ARTIFACTS_DIR", str(tmp_path))
    assert training.artifacts_dir("02_x") == tmp_path / "02_x" and (tmp_path / "02_x").is_dir()
    with pytest.raises(ValueError, match="name must be a plain folder name"):
        training.artifacts_dir("../escape")


# ------------------------------------------------------------------ command-line sampler


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "utils.generate", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)


def test_cli_generates_and_rejects_bad_arguments_without_touching_the_model(saved_model, capsys):
    """One real program run; the refusals through main() in this process (an interpreter start costs ~7 s each)."""
    from utils import generate

    before = hashlib.sha256(saved_model.read_bytes()).hexdigest()
    ok = run_cli("--model", str(saved_model), "--prompt", "ROMEO:", "--length", "20", "--seed", "1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ROMEO:") and len(ok.stdout.rstrip("\n")) >= len("ROMEO:") + 20 - 5
    cases = [
        (["--temperature", "0"], "temperature must be a finite number > 0"),
        (["--top-k", "999"], "--top-k must be an int in"),
        (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["--length", "-3"], "length must be an int >= 0"),
        (["--prompt", "ROMEO~"], "prompt has 1 character(s) outside the vocabulary"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as info:
            generate.main(["--model", str(saved_model), "--prompt", "ROMEO:", *extra])
        stderr = capsys.readouterr().err
        assert info.value.code == 2 and message in stderr, (extra, stderr[-500:])
    with pytest.raises(SystemExit):
        generate.main(["--model", str(saved_model.parent / "nope.keras"), "--prompt", "R"])
    stderr = capsys.readouterr().err
    assert "--model" in stderr and "no such file" in stderr
    assert hashlib.sha256(saved_model.read_bytes()).hexdigest() == before


def test_cli_continues_a_long_prompt_file(saved_model, tmp_path, capsys):
    """--prompt-file: a prompt of 20,000 characters read by utils.priming; only the continuation is printed,
    and it equals what the Python API generates from the same prompt and seed."""
    from utils import generate

    prompt = (TEXT * (20_000 // len(TEXT) + 1))[:20_000]
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text(prompt, encoding="utf-8")
    assert generate.main(["--model", str(saved_model), "--prompt-file", str(prompt_file), "--length", "30",
                          "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    expected = generation.TextGenerator(models.load_char_model(saved_model)).generate(prompt, 30, temperature=0.8,
                                                                                     seed=4)[0]
    assert printed == expected + "\n"


def test_filter_logits_works_inside_tf_function():
    compiled = tf.function(generation.filter_logits)
    out = compiled(tf.constant([[0.0, 1.0, 2.0, 3.0]]), tf.constant(1.0), tf.constant(2), tf.constant(1.0))
    assert np.isinf(out.numpy()[0, :2]).all() and np.isfinite(out.numpy()[0, 2:]).all()


def test_time_budget_stops_training(tmp_path):
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=8))
    training.compile_char_model(model, 1e-3, total_steps=1000)
    dataset = data.window_dataset(VOCAB.encode(TEXT), 20, 4).repeat()
    history = model.fit(dataset, steps_per_epoch=5, epochs=1000, verbose=0,
                        callbacks=[training.TimeBudget(minutes=0.02)])
    assert len(history.history["loss"]) < 1000  # stopped by the 1.2-second budget
    with pytest.raises(ValueError, match=r"minutes must be a finite number in \(0, "):
        training.TimeBudget(0)


def test_no_accepted_sampling_argument_yields_an_id_outside_the_vocabulary():
    """At the extremes of every accepted range, with logits far larger than a trained model's, sampling
    stays finite and inside the vocabulary (a temperature of 1e-38 used to overflow to NaN logits)."""
    from utils.generation import MAX_TEMPERATURE, MIN_TEMPERATURE

    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=8))
    model(np.zeros((1, 2), "int32"))
    kernel, bias = model.head.get_weights()
    model.head.set_weights([kernel * 1e4, bias])  # logits in the thousands
    generator = generation.TextGenerator(model)
    allowed = set(VOCAB.chars)
    for kwargs in ({"temperature": MIN_TEMPERATURE}, {"temperature": MAX_TEMPERATURE},
                   {"temperature": MIN_TEMPERATURE, "top_k": 1}, {"temperature": MIN_TEMPERATURE, "top_p": 1e-9},
                   {"temperature": MAX_TEMPERATURE, "top_k": VOCAB.size - 1}, {"greedy": True}):
        for text in generator.generate("ROMEO", 40, num_streams=3, seed=2**31 - 1, **kwargs):
            assert len(text) == 40 and set(text) <= allowed, kwargs


def test_compiled_prompt_reader_equals_the_eager_model():
    """compiled_prompt_reader reads prompts in one compiled graph (the eager loop is far slower): same logits and states."""
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=8, num_layers=2))
    ids = np.stack([VOCAB.encode(TEXT[:300]), VOCAB.encode(TEXT[5:305])]).astype(np.int32)
    eager_logits, eager_states = model(ids, return_state=True)
    read = generation.compiled_prompt_reader(model)
    logits, states = read(ids)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(eager_logits), atol=1e-6)
    for ours, theirs in zip(tf.nest.flatten(states), tf.nest.flatten(eager_states), strict=True):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-6)
    read(ids[:1, :7])  # another shape: the same graph (input signature), no error
    assert read.experimental_get_tracing_count() == 1
    stepped = model.zero_states(2)  # one character at a time with model.step: the same final state
    for t in range(ids.shape[1]):
        _, stepped = model.step(ids[:, t], stepped)
    for ours, theirs in zip(tf.nest.flatten(states), tf.nest.flatten(stepped), strict=True):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5)
