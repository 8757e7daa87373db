"""Real interruptions: SIGKILL a training process mid-epoch and inside each of its saves, then resume.

The child script trains with the course's own callbacks (``training.standard_callbacks``). Hooks,
chosen by environment variables, kill it at exact instants: in the middle of an epoch, half-way
through writing the backup's weights, just before the backup's commit, half-way through writing
``best.keras``. A second process then resumes, and must lose at most the epoch that was running.
"""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from utils import models

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 6
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

TRAIN_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys, time
    sys.path.insert(0, {repo!r})
    from utils.env import import_tensorflow_quietly
    tf = import_tensorflow_quietly()
    import keras
    import numpy as np
    from utils import checkpoints, data, models, training

    keras.utils.set_random_seed(0)
    text = "ROMEO:\\nBut soft, what light through yonder window breaks?\\n" * 60
    vocab = data.Vocabulary.from_text(text)
    train_ids, val_ids = data.train_val_split(vocab.encode(text))
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=8, units=int(os.environ.get("UNITS", 16))))
    model(np.zeros((1, 4), "int32"))  # built: a backup is restored into existing variables
    training.compile_char_model(model, 1e-2, total_steps=400)
    work_dir = {work_dir!r}
    kill_where, _, kill_epoch = os.environ.get("KILL_AT", "").partition(":")
    kill_epoch = int(kill_epoch or 0)
    worse = {{int(e) for e in os.environ.get("WORSE_EPOCHS", "").split(",") if e}}
    current = {{"epoch": 0}}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def half_write(path):  # what a kill in the middle of writing a file leaves behind
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 2)

    if kill_where == "backup-weights":
        original_save_weights = keras.Model.save_weights
        def save_weights(self, filepath, *args, **kwargs):
            original_save_weights(self, filepath, *args, **kwargs)
            if current["epoch"] == kill_epoch:
                half_write(filepath); die()
        keras.Model.save_weights = save_weights
    elif kill_where == "best-model":
        original_save = keras.Model.save
        def save(self, filepath, *args, **kwargs):
            original_save(self, filepath, *args, **kwargs)
            if current["epoch"] == kill_epoch:
                half_write(filepath); die()
        keras.Model.save = save
    elif kill_where == "backup-commit":
        original_publish = checkpoints._publish
        def publish(temporary, path):
            if path.name == checkpoints.STATE_FILE and current["epoch"] == kill_epoch:
                die()  # the weights of this epoch are written; the commit record is not
            original_publish(temporary, path)
        checkpoints._publish = publish

    class Probe(keras.callbacks.Callback):  # first in the list: sees each epoch before the others
        def on_epoch_begin(self, epoch, logs=None):
            if current["epoch"] == 0:  # the first epoch of this process: what the start left on disk
                names = sorted(p.name for folder in (work_dir, work_dir + "/backup") if os.path.isdir(folder)
                               for p in __import__("pathlib").Path(folder).iterdir())
                print("files at start", json.dumps(names), flush=True)
            current["epoch"] = epoch + 1
            if kill_where == "epoch-begin" and current["epoch"] == kill_epoch:
                die()
        def on_train_batch_end(self, batch, logs=None):
            if kill_where == "hold" and current["epoch"] == kill_epoch and batch == 3:
                print("holding in epoch", current["epoch"], flush=True)
                time.sleep(600)  # mid-epoch, until the test kills this process
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in worse:
                logs["val_loss"] += 10.0  # this epoch validates worse than any before it
            print("finished epoch", epoch + 1, "val", logs["val_loss"], flush=True)

    try:
        history = model.fit(data.window_dataset(train_ids, 20, 8, seed=0),
                            validation_data=data.window_dataset(val_ids, 20, 8, shuffle=False), epochs={epochs},
                            verbose=0, callbacks=[Probe(), *training.standard_callbacks(work_dir, total_epochs={epochs},
                                                                                        patience=2)])
    except Exception as err:
        print("REFUSED", type(err).__name__, err, flush=True)
        sys.exit(3)
    best = models.load_char_model(work_dir + "/best.keras")
    same = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), best.get_weights(), strict=True))
    print("final weights are best.keras:", same, flush=True)
    print("epochs run", len(history.history["loss"]), "val_loss", history.history["val_loss"][-1], flush=True)
""")


def start(work_dir: Path, **env) -> subprocess.Popen:
    script = TRAIN_SCRIPT.format(repo=str(REPO), work_dir=str(work_dir), epochs=EPOCHS)
    return subprocess.Popen([sys.executable, "-u", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, **{k: str(v) for k, v in env.items()}})


def finish(process: subprocess.Popen) -> dict:
    out, _ = process.communicate(timeout=600)
    lines = out.strip().splitlines()
    result = {"returncode": process.returncode, "out": out,
              "finished": [int(line.split()[2]) for line in lines if line.startswith("finished epoch")],
              "files_at_start": next((json.loads(line[len("files at start "):]) for line in lines
                                      if line.startswith("files at start")), None)}
    if lines and lines[-1].startswith("epochs run"):
        words = lines[-1].split()
        result["epochs_run"], result["val_loss"] = int(words[2]), float(words[4])
        result["final_is_best"] = "final weights are best.keras: True" in out
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    result = finish(start(tmp_path_factory.mktemp("reference")))
    assert result["epochs_run"] == EPOCHS, result["out"][-800:]
    return result


@pytest.mark.parametrize("kill_at, resumes_after", [
    ("backup-weights:3", 2),  # half of epoch 3's backup weights written: epoch 2's backup is intact
    ("backup-commit:3", 2),   # epoch 3's weights written, its commit record not: epoch 2 is the backup
    ("best-model:3", 2),      # half of best.keras written, before epoch 3's backup: epoch 2 is the backup
])
def test_a_kill_inside_a_save_loses_at_most_that_epoch(tmp_path, reference, kill_at, resumes_after):
    victim = finish(start(tmp_path, KILL_AT=kill_at))
    assert victim["returncode"] == -signal.SIGKILL, victim["out"][-800:]
    assert victim["finished"][-1] == 3

    resumed = finish(start(tmp_path))
    assert resumed["returncode"] == 0, resumed["out"][-800:]
    assert resumed["finished"][0] == resumes_after + 1 and resumed["epochs_run"] == EPOCHS - resumes_after
    assert resumed["val_loss"] == pytest.approx(reference["val_loss"], rel=0.1)
    leaked = [name for name in resumed["files_at_start"] if ".tmp-" in name]
    assert not leaked, f"temporary files of the killed save were not cleaned up: {leaked}"
    assert not (tmp_path / "backup").exists(), "the backup is deleted once training finishes"
    assert models.load_char_model(tmp_path / "best.keras").config.units == 16


def test_a_kill_mid_epoch_resumes_and_a_second_live_run_is_refused(tmp_path, reference):
    victim = start(tmp_path, KILL_AT="hold:3")
    for line in victim.stdout:  # two epochs committed, a few batches of the third trained
        if line.startswith("holding in epoch 3"):
            break
    intruder = finish(start(tmp_path))  # the same folder while the victim lives
    assert intruder["returncode"] == 3
    assert f"REFUSED FolderInUseError folder='{tmp_path}' is in use by another training run (process {victim.pid})" \
        in intruder["out"]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)

    resumed = finish(start(tmp_path))  # the killed process left no lock behind
    assert resumed["returncode"] == 0, resumed["out"][-800:]
    assert resumed["finished"][0] == 3 and resumed["epochs_run"] == EPOCHS - 2
    assert resumed["val_loss"] == pytest.approx(reference["val_loss"], rel=0.1)


def test_the_best_model_and_the_patience_survive_a_kill(tmp_path):
    """Epoch 3 validates worse than epoch 2 (patience 2: one strike); the process dies at the start of
    epoch 4; the resumed epoch 4 is worse again. The resumed run must stop after that one epoch
    (the second strike), keep epoch 2's best.keras untouched and end with its weights."""
    victim = finish(start(tmp_path, KILL_AT="epoch-begin:4", WORSE_EPOCHS="3"))
    assert victim["returncode"] == -signal.SIGKILL and victim["finished"] == [1, 2, 3], victim["out"][-800:]
    best_before = digest(tmp_path / "best.keras")

    resumed = finish(start(tmp_path, WORSE_EPOCHS="3,4,5,6"))
    assert resumed["returncode"] == 0, resumed["out"][-800:]
    assert resumed["finished"] == [4], "early stopping's patience restarted instead of resuming"
    assert digest(tmp_path / "best.keras") == best_before, "a worse epoch replaced the best model"
    assert resumed["final_is_best"], "early stopping did not restore the best weights after the resume"


SAVE_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from utils.env import import_tensorflow_quietly
    import_tensorflow_quietly()
    from utils import data, models, training
    vocab = data.Vocabulary.from_text("abcdefgh ")
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=8, units=64))
    training.atomic_save(model, {path!r})
    print("ready", flush=True)
    while True:
        training.atomic_save(model, {path!r})
""")


def test_sigkill_during_saves_never_leaves_a_broken_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.keras"
    rng = random.Random(0)
    for _ in range(3):
        saver = subprocess.Popen([sys.executable, "-u", "-c", SAVE_SCRIPT.format(repo=str(REPO), path=str(path))],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))  # somewhere inside one of the saves
        os.kill(saver.pid, signal.SIGKILL)
        saver.wait(timeout=60)
        loaded = models.load_char_model(path)  # must always be a complete, loadable model
        assert loaded.config.units == 64
    # the next save removes what the killed ones left behind
    from utils import checkpoints

    leftovers = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    removed = checkpoints.remove_leaked_temporaries(tmp_path)
    assert sorted(removed) == sorted(leftovers) and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
