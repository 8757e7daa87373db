"""Training a character model with Keras's own machinery: ``fit``, callbacks, schedules.

What is added here and why:
- ``standard_callbacks``: resume after a kill at any instant, keep the best model, stop early.
  The saving itself lives in ``utils.checkpoints``: Keras's ``ModelCheckpoint`` and
  ``BackupAndRestore`` write their files in place, so a kill during a save can leave a broken file
  where the last good one was, and a resumed run forgets the best value and the patience.
- ``EpochLog``: one compact line per epoch, in nats/char and bits/char.
- ``SampleEachEpoch``: a short generated sample after each epoch, to watch the text improve.
- ``MaskedLossLog``: the loss on chosen positions only (one fact's characters), which the average hides.
Everything else (``BackupAndRestore``, ``EarlyStopping``, ``TerminateOnNaN``, cosine decay,
gradient clipping) is Keras's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from utils.checkpoints import AtomicBestCheckpoint, ResumableBackup, atomic_save
from utils.checks import check_int, check_number
from utils.data import nats_to_bits

__all__ = ["ARTIFACTS_ENV_VAR", "AtomicBestCheckpoint", "EpochLog", "MaskedLossLog", "ResumableBackup", "SampleEachEpoch", "TimeBudget",
           "artifacts_dir", "atomic_save", "build_compiled", "compile_char_model", "standard_callbacks"]

ARTIFACTS_ENV_VAR = "RNN_ARTIFACTS_DIR"


def artifacts_dir(name: str) -> Path:
    """A folder for one notebook's checkpoints and models: ``$RNN_ARTIFACTS_DIR/name`` or ``./artifacts/name``."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain folder name, got {name!r}")
    folder = Path(os.environ.get(ARTIFACTS_ENV_VAR, "artifacts")) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class EpochLog(keras.callbacks.Callback):
    """Print one line per epoch: losses in nats/char and bits/char, learning rate, time."""

    def __init__(self, total_epochs: int | None = None):
        super().__init__()
        self.total_epochs = total_epochs
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        parts = [f"epoch {epoch + 1}" + (f"/{self.total_epochs}" if self.total_epochs else "")]
        for key in ("loss", "val_loss"):
            if key in logs:
                parts.append(f"{'train' if key == 'loss' else 'val'} {logs[key]:.3f} nats ({nats_to_bits(logs[key]):.3f} bits)")
        learning_rate = self.model.optimizer.learning_rate
        parts.append(f"lr {float(keras.ops.convert_to_numpy(learning_rate)):.2e}")
        parts.append(f"{time.perf_counter() - self.started:.0f} s")
        print("  ".join(parts), flush=True)


class SampleEachEpoch(keras.callbacks.Callback):
    """Print a short sample from the model after every ``every`` epochs."""

    def __init__(self, prompt: str, length: int = 120, temperature: float = 0.8, every: int = 1, seed: int = 0):
        super().__init__()
        from utils.generation import check_sampling_args

        check_int(every, "every")
        check_sampling_args(2, length=length, temperature=temperature, seed=seed)  # no top_k: any vocabulary
        self.prompt, self.length, self.temperature, self.every, self.seed = prompt, length, temperature, every, seed
        self._generator = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from utils.generation import TextGenerator

        if self._generator is None or self._generator.model is not self.model:
            self._generator = TextGenerator(self.model)  # one compiled loop for the whole run
        text = self._generator.generate(self.prompt, self.length, temperature=self.temperature,
                                                  seed=self.seed)[0]
        # Real line breaks (a play's speaker lines read as a play), each line marked as the model's text.
        lines = (self.prompt + text)[:200].split("\n")
        print(f"    sample after epoch {epoch + 1}:\n" + "\n".join("    | " + line for line in lines), flush=True)


class MaskedLossLog(keras.callbacks.Callback):
    """After each epoch, the mean cross-entropy (nats) at the ``mask``-ed target positions of fixed windows.

    The average loss over all characters can hide the one that matters: a story's hero name is a few
    characters in hundreds. The value is appended to ``self.losses`` and written into the epoch's logs
    as ``name`` (so it lands in ``History`` beside ``val_loss``).

    Args:
        inputs, targets: (windows, time) int ids, e.g. validation windows and their next characters.
        mask: (windows, time) bool, True at the target positions to average over (at least one).
    """

    def __init__(self, inputs, targets, mask, name: str = "val_masked_loss", batch_size: int = 64):
        super().__init__()
        self.inputs, self.targets, self.mask = np.asarray(inputs), np.asarray(targets), np.asarray(mask, bool)
        if not (self.inputs.shape == self.targets.shape == self.mask.shape) or self.inputs.ndim != 2:
            raise ValueError(f"inputs, targets and mask must have one (windows, time) shape, got {self.inputs.shape}, "
                             f"{self.targets.shape} and {self.mask.shape}")
        if not self.mask.any():
            raise ValueError("mask must select at least one position")
        check_int(batch_size, "batch_size")
        self.name, self.batch_size, self.losses = name, batch_size, []

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.predict(self.inputs, batch_size=self.batch_size, verbose=0)
        losses = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(
            self.targets, logits, from_logits=True))
        self.losses.append(float(losses[self.mask].mean()))
        if logs is not None:
            logs[self.name] = self.losses[-1]


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` of wall time have passed (checked after every batch).

    For comparisons "at the same wall-clock budget": every model gets the same minutes.
    """

    def __init__(self, minutes: float):
        super().__init__()
        check_number(minutes, "minutes", above=0, at_most=7 * 24 * 60)
        self.seconds = minutes * 60.0
        self.started: float | None = None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.started >= self.seconds:
            self.model.stop_training = True


def compile_char_model(model: keras.Model, learning_rate: float, total_steps: int, *, warmup_steps: int = 0,
                       clipnorm: float = 1.0, jit_compile: bool = False) -> keras.Model:
    """Adam with warm-up + cosine decay and gradient clipping; cross-entropy on logits.

    Args:
        learning_rate: peak learning rate, > 0.
        total_steps: optimiser steps of the whole run (the cosine reaches 10% of the peak there).
        warmup_steps: linear warm-up steps from 0.
        clipnorm: clip each gradient's norm (stops a rare exploding step from wrecking training).
        jit_compile: compile the train step with XLA; measure before choosing
            (benchmarks/training_throughput.py): it depends on the model, batch and machine.
    """
    check_number(learning_rate, "learning_rate", above=0, at_most=10)
    check_int(total_steps, "total_steps")
    check_int(warmup_steps, "warmup_steps", minimum=0)
    check_number(clipnorm, "clipnorm", above=0)
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps={total_steps} must exceed warmup_steps={warmup_steps}")
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate, decay_steps=total_steps - warmup_steps,
        alpha=0.1, warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=clipnorm),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    return model


def build_compiled(build: Callable[[], keras.Model], learning_rate: float, total_steps: int, *,
                   warmup_steps: int = 0, clipnorm: float = 1.0, jit_compile: bool = False,
                   strategy=None) -> keras.Model:
    """``build()`` and ``compile_char_model`` inside ``strategy.scope()``: one helper for one device or many.

    Under a ``tf.distribute`` strategy the model's and the optimiser's variables must be created in
    its scope (mirrored on every device or worker); ``model.fit`` then splits each global batch
    across the replicas and all-reduces the gradients. ``strategy=None``: the default (one device).
    """
    import tensorflow as tf

    with (strategy or tf.distribute.get_strategy()).scope():
        model = build()
        compile_char_model(model, learning_rate, total_steps, warmup_steps=warmup_steps, clipnorm=clipnorm,
                           jit_compile=jit_compile)
    return model


def standard_callbacks(work_dir: str | os.PathLike, *, total_epochs: int, patience: int = 3,
                       sample_prompt: str | None = None, sample_every: int = 1) -> list[keras.callbacks.Callback]:
    """The course's callbacks: resume after interruption, keep the best model, stop early, log, sample.

    Writes ``work_dir/backup`` (the resumable backup, deleted when training finishes) and
    ``work_dir/best.keras`` (the best model by validation loss). One run at a time may train in
    ``work_dir``; a backup of another model there is refused with a message.
    """
    check_int(total_epochs, "total_epochs")
    check_int(patience, "patience", minimum=0)
    check_int(sample_every, "sample_every")
    work_dir = Path(work_dir)
    best = AtomicBestCheckpoint(work_dir / "best.keras")
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    callbacks = [keras.callbacks.TerminateOnNaN(), best, early, EpochLog(total_epochs)]
    if sample_prompt:
        callbacks.append(SampleEachEpoch(sample_prompt, every=sample_every))
    # Last: at the end of an epoch it saves what the callbacks before it have just updated.
    callbacks.append(ResumableBackup(work_dir / "backup", track=[best, early], lock_folder=work_dir))
    return callbacks
