"""Real interruptions: SIGKILL a training process mid-epoch and a process in the middle of saving."""

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

TRAIN_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from utils.env import import_tensorflow_quietly
    tf = import_tensorflow_quietly()
    import keras
    from utils import data, models, training
    keras.utils.set_random_seed(0)
    text = "ROMEO:\\nBut soft, what light through yonder window breaks?\\n" * 60
    vocab = data.Vocabulary.from_text(text)
    train_ids, val_ids = data.train_val_split(vocab.encode(text))
    model = models.build_char_model(vocab, models.CharModelConfig(embedding_dim=8, units=16))
    training.compile_char_model(model, 1e-2, total_steps=200)

    class Slow(keras.callbacks.Callback):  # long enough epochs to be killed in the middle of one
        def on_train_batch_end(self, batch, logs=None):
            time.sleep({sleep})

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print("finished epoch", epoch + 1, flush=True)

    history = model.fit(data.window_dataset(train_ids, 20, 8, seed=0),
                        validation_data=data.window_dataset(val_ids, 20, 8, shuffle=False), epochs=6, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore({backup!r}), Slow(), Report()])
    print("epochs run", len(history.history["loss"]), "val_loss", history.history["val_loss"][-1], flush=True)
""")


def run_training(backup: Path, sleep: float) -> subprocess.Popen:
    script = TRAIN_SCRIPT.format(repo=str(REPO), backup=str(backup), sleep=sleep)
    return subprocess.Popen([sys.executable, "-u", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def final_line(process: subprocess.Popen) -> tuple[int, float]:
    out, _ = process.communicate(timeout=600)
    words = out.strip().splitlines()[-1].split()
    return int(words[2]), float(words[4])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_epoch_then_resume_finishes_the_same_run(tmp_path):
    reference_epochs, reference_loss = final_line(run_training(tmp_path / "reference", sleep=0.0))

    victim = run_training(tmp_path / "backup", sleep=0.05)
    for line in victim.stdout:  # wait until two epochs are complete, then kill during the third
        if line.startswith("finished epoch 2"):
            break
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL

    resumed_epochs, resumed_loss = final_line(run_training(tmp_path / "backup", sleep=0.0))
    assert reference_epochs == 6
    assert resumed_epochs == 4  # epochs 3-6: the two completed epochs were restored, not repeated
    assert resumed_loss == pytest.approx(reference_loss, rel=0.1)


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


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
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
