"""Training state that survives a kill at any instant: atomic files, a resumable backup, one run per folder.

- ``atomic_save``: a ``.keras`` file is written under a temporary name and renamed, so a reader
  (or a resumed run) sees the old file or the new one, never half of one.
- ``AtomicBestCheckpoint``: the best model by validation loss, saved that way.
- ``ResumableBackup``: Keras's ``BackupAndRestore`` with its two writes made safe. Keras rewrites
  ``latest.weights.h5`` in place, so a kill during that write leaves a truncated file that breaks
  every later start; it also forgets the best value and early-stopping patience of the callbacks
  beside it. Here each epoch's weights go to a new file, and one small ``state.json``, renamed into
  place last, commits the epoch: it names the weights file, carries the state of the tracked
  callbacks (best value, patience, the best weights) and a fingerprint of the model, so a backup of
  another model is refused with a message instead of a crash inside Keras.
- ``FolderLock``: one training run per folder, released by the operating system when its process
  dies, so a crash never leaves a folder locked.
- ``remove_leaked_temporaries``: temporary files of saves whose process died are removed on the next start.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

try:  # POSIX record locks; Windows has no fcntl, and there the folder lock is a no-op
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms the course runs on
    fcntl = None

STATE_FILE = "state.json"  # the commit record of a ResumableBackup
STATE_FORMAT = 1
LOCK_FILE = ".lock"
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}(\..*)?$")
_EPOCH_FILE = re.compile(r"^epoch-\d+-batch-\d+\.(weights\.h5|best\.npz)$")


# --------------------------------------------------------------------------- atomic files


def temporary_path(path: str | os.PathLike) -> Path:
    """A unique hidden name beside ``path``, with the same extension, that records the writer's process id."""
    path = Path(path)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    stem = path.name[: len(path.name) - len(suffix)]
    return path.with_name(f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_leaked_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files in ``folder`` left by saves whose process no longer runs.

    Returns:
        The files removed. A temporary file of a live process (a save in progress) is kept.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for candidate in folder.iterdir():
        match = _TEMPORARY.match(candidate.name)
        if match and candidate.is_file() and not _process_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _fsync(path: Path) -> None:
    """Flush a file (and, where the platform allows, its folder) to disk, so a rename publishes whole data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(temporary: Path, path: Path) -> None:
    """Flush ``temporary`` and rename it to ``path`` in one atomic step."""
    _fsync(temporary)
    os.replace(temporary, path)  # atomic on POSIX and Windows: readers see the old file or the new one
    try:
        _fsync(path.parent)
    except OSError:  # folders cannot be opened for fsync on some platforms
        pass


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        _publish(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def atomic_save(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save ``model`` to ``path`` (.keras) through a temporary file and an atomic rename.

    Temporary files of earlier saves in the same folder whose process was killed are removed first.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path={str(path)!r} must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leaked_temporaries(path.parent)
    temporary = temporary_path(path)
    try:
        model.save(temporary)
        _publish(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Save the model whenever ``monitor`` improves (decreases), atomically.

    ``best`` starts at infinity; a ``ResumableBackup`` that tracks this callback restores it after
    an interruption, so a resumed run never replaces the best model with a worse one.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss"):
        super().__init__()
        self.path, self.monitor, self.best = Path(path), monitor, math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = float(value)
            atomic_save(self.model, self.path)


# --------------------------------------------------------------------------- one run per folder


class FolderInUseError(RuntimeError):
    """Another live process is training in the same folder."""


class FolderLock:
    """One process at a time in ``folder``, through a POSIX record lock on ``folder/.lock``.

    The operating system drops the lock when its process exits or is killed, so it never stays
    stuck. Within one process, acquiring again succeeds (a notebook re-running its training cell).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the folder, or raise ``FolderInUseError`` naming the folder and the process holding it.

        Asserted again on every call: a record lock belongs to the process, and closing any other
        descriptor of the lock file in this process (another ``FolderLock`` on the same folder) drops it.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return self
        fd = self._fd if self._fd is not None else os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip() or "unknown"
            os.close(fd)
            self._fd = None
            raise FolderInUseError(
                f"folder={str(self.folder)!r} is in use by another training run (process {holder}). Wait for it "
                "to finish or stop it (a notebook kernel holds it until its training finishes or the kernel "
                "restarts), or train in another folder (another work_dir or artifacts_dir name); a killed run "
                "releases its folder by itself."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Let other processes have the folder."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the record lock
            self._fd = None


# --------------------------------------------------------------------------- the resumable backup


def model_fingerprint(model: keras.Model) -> str:
    """A short hash of what a backup must match: the model's class, its weights' shapes and dtypes and,
    for the course's character models, the vocabulary. Layer names are left out: Keras numbers
    them per process, so the same model built twice would differ."""
    vocabulary = getattr(model, "vocabulary", None)
    description = {
        "class": type(model).__name__,
        "weights": [[list(weight.shape), str(weight.dtype)] for weight in model.weights],
        "vocabulary": "".join(vocabulary.chars) if vocabulary is not None else None,
    }
    return hashlib.sha256(json.dumps(description).encode("utf-8")).hexdigest()[:16]


def _describe(model: keras.Model) -> str:
    return f"{type(model).__name__} with {model.count_params():,} parameters"


def _number(value):
    """A callback attribute as JSON: ints stay ints (epochs, patience), other numbers become floats."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


# The attributes that make each supported callback's decisions; saved with every backup.
_TRACKED_ATTRIBUTES = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    keras.callbacks.ModelCheckpoint: ("best",),
    AtomicBestCheckpoint: ("best",),
}


def _tracked_attributes(callback) -> tuple[str, ...]:
    for kind, attributes in _TRACKED_ATTRIBUTES.items():
        if isinstance(callback, kind):
            return attributes
    raise ValueError(f"track holds a {type(callback).__name__}; it can hold "
                     f"{', '.join(kind.__name__ for kind in _TRACKED_ATTRIBUTES)}")


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that survives a kill at any instant and keeps the callbacks beside it honest.

    Args:
        backup_dir: the folder for the backup; deleted when training finishes.
        track: callbacks whose state is saved with each backup and restored on resume
            (``EarlyStopping``, ``ModelCheckpoint``, ``AtomicBestCheckpoint``). Put this callback
            after them in the list given to ``fit``: at the end of an epoch it saves what they
            have just updated.
        lock_folder: the folder one run at a time may use (default: the parent of ``backup_dir``).
        save_freq: ``"epoch"`` or a number of batches, as for ``BackupAndRestore``.

    Raises (at the start of ``fit``):
        FolderInUseError: another live process trains in ``lock_folder``.
        ValueError: the backup was written for a different model, or in another format.
    """

    def __init__(self, backup_dir: str | os.PathLike, *, track: Sequence[keras.callbacks.Callback] = (),
                 lock_folder: str | os.PathLike | None = None, save_freq="epoch"):
        super().__init__(str(backup_dir), save_freq=save_freq, double_checkpoint=False, delete_checkpoint=True)
        self.folder = Path(backup_dir)
        self.track = list(track)
        for callback in self.track:
            _tracked_attributes(callback)
        self.lock = FolderLock(self.folder.parent if lock_folder is None else lock_folder)
        self._restore: dict | None = None
        self._best_weights: list[np.ndarray] | None = None

    def _refuse(self, why: str) -> ValueError:
        return ValueError(f"backup_dir={str(self.folder)!r} {why}. To start fresh, delete that folder "
                          "(its backup is lost) or train in another folder.")

    def on_train_begin(self, logs=None):
        self.lock.acquire()
        remove_leaked_temporaries(self.lock.folder)
        remove_leaked_temporaries(self.folder)
        self._restore = None
        self.model._initial_epoch = None  # Keras never clears it: a finished resume must not shift a later fit
        self._load_model()
        if self._restore is not None:
            # Restored now, for a resume with no epoch left to run (killed after the last save), and again at
            # the first epoch: a tracked callback listed after this one resets itself in its on_train_begin.
            self._restore_tracked()
            if self._restore.get("stopped"):  # early stopping had ended the run: run no further epoch
                self.model._initial_epoch = max(self._restore["epoch"], self.params.get("epochs", 0))

    def _load_model(self):
        if not self.model.built:
            raise ValueError(f"ResumableBackup needs a built model: call {type(self.model).__name__} on a batch "
                             "before fit()")
        state_path = self.folder / STATE_FILE
        if not state_path.is_file():
            legacy = [name for name in ("latest.weights.h5", "training_metadata.json") if (self.folder / name).exists()]
            if legacy:
                raise self._refuse(f"holds a backup written by keras.callbacks.BackupAndRestore ({legacy[0]}), "
                                   "which may be truncated and carries no model fingerprint")
            self._remove_unreferenced(keep=set())  # files of a first epoch whose commit never happened
            self._best_weights = None
            return
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise self._refuse(f"has an unreadable {STATE_FILE} ({err})") from None
        if state.get("format") != STATE_FORMAT:
            raise self._refuse(f"holds a backup in format {state.get('format')!r}, not {STATE_FORMAT}")
        if state["fingerprint"] != model_fingerprint(self.model):
            raise self._refuse(f"holds the backup of a different model ({state['model']}, fingerprint "
                               f"{state['fingerprint']}) than the one being trained ({_describe(self.model)}, "
                               f"fingerprint {model_fingerprint(self.model)})")
        tracked = [type(callback).__name__ for callback in self.track]
        if state.get("tracked") != tracked:
            raise self._refuse(f"tracked the callbacks {state.get('tracked')}; this run tracks {tracked}")
        missing = [name for name in (state["weights"], state["best_weights"]) if name and not (self.folder / name).is_file()]
        if missing:
            raise self._refuse(f"has a {STATE_FILE} that names {missing[0]}, which is missing")
        self._remove_unreferenced(keep={state["weights"], state["best_weights"]})
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.folder / state["weights"])
        self.model._initial_epoch = state["epoch"]  # what BackupAndRestore sets: fit resumes at this epoch
        self._best_weights = None
        if state["best_weights"]:
            with np.load(self.folder / state["best_weights"], allow_pickle=False) as arrays:
                self._best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        self._restore = state

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # what a save within this epoch records (Keras updates it only at epoch end)
        if self._restore is not None:
            self._restore_tracked()
            self._restore = None

    def _restore_tracked(self) -> None:
        for callback, saved in zip(self.track, self._restore["callbacks"], strict=True):
            for name in _tracked_attributes(callback):
                setattr(callback, name, saved[name])
            if isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights:
                callback.best_weights = self._best_weights

    def _save_model(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        tag = f"epoch-{self._current_epoch:05d}-batch-{self._last_batch_seen:06d}"
        weights_path = self.folder / f"{tag}.weights.h5"
        temporary = temporary_path(weights_path)
        try:
            self.model.save_weights(temporary)
            _publish(temporary, weights_path)
        finally:
            temporary.unlink(missing_ok=True)
        best_weights_name = self._save_best_weights(tag)
        state = {
            "format": STATE_FORMAT, "epoch": self._current_epoch, "batch": self._last_batch_seen,
            "weights": weights_path.name, "best_weights": best_weights_name,
            "fingerprint": model_fingerprint(self.model), "model": _describe(self.model),
            "stopped": bool(self.model.stop_training), "tracked": [type(callback).__name__ for callback in self.track],
            "callbacks": [{name: _number(getattr(callback, name)) for name in _tracked_attributes(callback)}
                          for callback in self.track],
        }
        atomic_write_text(self.folder / STATE_FILE, json.dumps(state, indent=1))  # the commit
        self._remove_unreferenced(keep={weights_path.name, best_weights_name})

    def _save_best_weights(self, tag: str) -> str | None:
        """EarlyStopping's best weights (kept in memory by Keras), so a resumed run can still restore them."""
        weights = next((c.best_weights for c in self.track if isinstance(c, keras.callbacks.EarlyStopping)
                        and c.restore_best_weights and c.best_weights is not None), None)
        if weights is None:
            return None
        path = self.folder / f"{tag}.best.npz"
        temporary = temporary_path(path)
        try:
            with open(temporary, "wb") as handle:
                np.savez(handle, *weights)
            _publish(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return path.name

    def _remove_unreferenced(self, keep: set) -> None:
        if self.folder.is_dir():
            for candidate in self.folder.iterdir():
                if _EPOCH_FILE.match(candidate.name) and candidate.name not in keep:
                    candidate.unlink(missing_ok=True)

    def on_train_end(self, logs=None):
        # Training finished: the backup is no longer needed. The commit record goes first, so a kill
        # during the deletion leaves files without a record (removed at the next start), never a
        # record that names deleted files.
        (self.folder / STATE_FILE).unlink(missing_ok=True)
        super().on_train_end(logs)
        self.model._initial_epoch = None
        self.lock.release()
