"""utils.checkpoints in one process: resume bookkeeping, refusals with a way out, and the folder lock.
(tests/test_interruption.py kills real processes at every instant of a save.)"""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from utils import checkpoints, data, models, training

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n" * 40
VOCAB = data.Vocabulary.from_text(TEXT)
TRAIN, VAL = data.train_val_split(VOCAB.encode(TEXT))


def _model(units=8):
    keras.utils.set_random_seed(0)
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=4, units=units))
    model(np.zeros((1, 2), "int32"))
    training.compile_char_model(model, 1e-2, total_steps=300)
    return model


def _fit(model, work_dir, epochs, *extra, worse=(), save_freq="epoch"):
    best = training.AtomicBestCheckpoint(work_dir / "best.keras")
    early = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)

    class Worse(keras.callbacks.Callback):  # first: these epochs validate worse than any before
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in worse:
                logs["val_loss"] += 10.0

    backup = checkpoints.ResumableBackup(work_dir / "backup", track=[best, early], save_freq=save_freq)
    return model.fit(data.window_dataset(TRAIN, 10, 8, seed=0), validation_data=data.window_dataset(VAL, 10, 8,
                     shuffle=False), epochs=epochs, verbose=0, callbacks=[Worse(), best, early, *extra, backup])


class Crash(keras.callbacks.Callback):
    """Raise at the start of epoch ``at_epoch`` (0-based), after its batch ``at_batch``, or in on_train_end."""

    def __init__(self, at_epoch=None, at_batch=None, in_train_end=False):
        super().__init__()
        self.at_epoch, self.at_batch, self.in_train_end, self.epoch = at_epoch, at_batch, in_train_end, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if epoch == self.at_epoch and self.at_batch is None:
            raise RuntimeError("crash")

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.at_epoch and batch == self.at_batch:
            raise RuntimeError("crash")

    def on_train_end(self, logs=None):
        if self.in_train_end:
            raise RuntimeError("crash after the last save")


def test_a_finished_resume_does_not_shift_a_later_fit(tmp_path):
    model = _model()
    with pytest.raises(RuntimeError):
        _fit(model, tmp_path / "a", 4, Crash(at_epoch=2))
    assert len(_fit(model, tmp_path / "a", 4).history["loss"]) == 2  # resumed: epochs 3 and 4
    assert len(_fit(model, tmp_path / "b", 2).history["loss"]) == 2  # a new run in a new folder: all its epochs


def test_a_kill_after_the_last_save_restores_the_best_weights_and_runs_nothing_more(tmp_path):
    model = _model()
    with pytest.raises(RuntimeError, match="after the last save"):
        _fit(model, tmp_path, 3, Crash(in_train_end=True), worse=(3,))
    assert (tmp_path / "backup" / "state.json").is_file()
    resumed = _fit(model, tmp_path, 3)
    assert resumed.history.get("loss", []) == []
    best = models.load_char_model(tmp_path / "best.keras")
    for ours, theirs in zip(model.get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)  # epoch 2's weights, not epoch 3's
    assert not (tmp_path / "backup").exists()


def test_batch_level_saves_record_the_epoch_they_are_in(tmp_path):
    model = _model()
    with pytest.raises(RuntimeError):
        _fit(model, tmp_path, 4, Crash(at_epoch=1, at_batch=3), save_freq=2)
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["epoch"] == 1
    with pytest.raises(RuntimeError):  # a new set of callbacks, as in a new process: crashes in epoch 2 again
        _fit(model, tmp_path, 4, Crash(at_epoch=1, at_batch=5), save_freq=2)
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["epoch"] == 1  # not 0


def test_a_backup_naming_a_missing_file_or_other_callbacks_is_refused(tmp_path):
    model = _model()
    with pytest.raises(RuntimeError):
        _fit(model, tmp_path, 4, Crash(at_epoch=2))
    state = json.loads((tmp_path / "backup" / "state.json").read_text())
    (tmp_path / "backup" / state["weights"]).rename(tmp_path / "elsewhere.h5")
    with pytest.raises(ValueError, match=r"names epoch-.*weights.h5, which is missing\. To start fresh, delete"):
        _fit(_model(), tmp_path, 4)
    (tmp_path / "elsewhere.h5").rename(tmp_path / "backup" / state["weights"])
    other = checkpoints.ResumableBackup(tmp_path / "backup", track=[training.AtomicBestCheckpoint(tmp_path / "b.keras")])
    with pytest.raises(ValueError, match=r"tracked the callbacks \['AtomicBestCheckpoint', 'EarlyStopping'\]; "
                                         r"this run tracks \['AtomicBestCheckpoint'\]"):
        _model().fit(data.window_dataset(TRAIN, 10, 8), epochs=1, verbose=0, callbacks=[other])


def test_a_backup_of_another_model_is_refused_with_a_way_out(tmp_path):
    with pytest.raises(RuntimeError):
        _fit(_model(units=8), tmp_path, 4, Crash(at_epoch=2))
    with pytest.raises(ValueError, match=r"backup_dir=.* holds the backup of a different model \(CharLanguageModel with "
                                         r"[\d,]+ parameters, fingerprint \w+\) than the one being trained .*"
                                         r"To start fresh, delete that folder"):
        _fit(_model(units=16), tmp_path, 4)
    assert (tmp_path / "backup" / "state.json").is_file(), "the refused run must not touch the backup"
    assert len(_fit(_model(units=8), tmp_path, 4).history["loss"]) == 2  # the right model still resumes


def test_a_legacy_keras_backup_is_refused(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "latest.weights.h5").write_bytes(b"\x89HDF" + b"\0" * 92)  # truncated, as a kill leaves it
    with pytest.raises(ValueError, match="written by keras.callbacks.BackupAndRestore.*To start fresh, delete"):
        _fit(_model(), tmp_path, 2)


PROBE = textwrap.dedent("""
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("took it")
    except OSError:
        print("refused")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX record locks")
def test_the_lock_holds_against_other_processes_and_is_asserted_again(tmp_path):
    probe = lambda: subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / ".lock")],  # noqa: E731
                                   capture_output=True, text=True, timeout=60).stdout.strip()
    first = checkpoints.FolderLock(tmp_path).acquire()
    assert probe() == "refused"
    assert (tmp_path / ".lock").read_text().strip() == str(__import__("os").getpid())
    second = checkpoints.FolderLock(tmp_path).acquire()  # the same process may take it again
    second.release()  # closing any descriptor drops the process's lock ...
    assert probe() == "took it"
    first.acquire()  # ... so acquire asserts it again
    assert probe() == "refused"
    first.release()
    assert probe() == "took it"
