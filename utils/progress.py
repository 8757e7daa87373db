"""Progress with time left, updated in place: a long cell says how far it is, and its stored output stays short.

In a notebook the report is one display updated in place (``display_id``), so the saved output
holds its last state, not thousands of lines; in a terminal a line is printed at most every
``min_interval_s`` seconds. ::

    for item in progress.track(range(400), label="seeds"):
        ...
    model.fit(..., callbacks=[progress.ProgressCallback(label="training")])
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import keras

from utils.checks import check_int, check_number

T = TypeVar("T")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def describe(done: int, total: int, elapsed_s: float, label: str = "", unit: str = "steps") -> str:
    """``"training: 40/78 steps (51%) · 1.2 min elapsed · about 1.1 min left"``."""
    head = f"{label}: " if label else ""
    if total <= 0:
        return f"{head}{done} {unit} · {_minutes(elapsed_s)} elapsed"
    share = min(done / total, 1.0)
    text = f"{head}{done}/{total} {unit} ({share:.0%}) · {_minutes(elapsed_s)} elapsed"
    if done >= total:
        return text + " · done"
    if done > 0:
        text += f" · about {_minutes(elapsed_s / done * (total - done))} left"
    return text


class Progress:
    """One progress line: in a notebook a display updated in place, elsewhere a printed line now and then."""

    def __init__(self, total: int, label: str = "", unit: str = "steps", min_interval_s: float = 1.0):
        check_int(total, "total", minimum=0)
        check_number(min_interval_s, "min_interval_s", at_least=0.0)
        self.total, self.label, self.unit, self.min_interval_s = total, label, unit, min_interval_s
        self.started = time.perf_counter()
        self._last_shown = -float("inf")
        self._handle = self._open_display()

    @staticmethod
    def _open_display():
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return None
        shell = get_ipython()
        if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
            return None
        return display({"text/plain": ""}, raw=True, display_id=True)

    def text(self, done: int) -> str:
        return describe(done, self.total, time.perf_counter() - self.started, self.label, self.unit)

    def update(self, done: int, *, force: bool = False) -> None:
        """Show ``done`` of ``total``; shown at most every ``min_interval_s`` unless ``force``."""
        now = time.perf_counter()
        if not force and now - self._last_shown < self.min_interval_s:
            return
        self._last_shown = now
        if self._handle is not None:
            self._handle.update({"text/plain": self.text(done)}, raw=True)
        else:
            print(self.text(done), flush=True)

    def close(self, done: int | None = None) -> None:
        """The final state (what a saved notebook keeps)."""
        self.update(self.total if done is None else done, force=True)


def track(items: Iterable[T], total: int | None = None, label: str = "", unit: str = "items",
          min_interval_s: float = 1.0) -> Iterator[T]:
    """Yield ``items`` while showing how many are done and the time left."""
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    progress = Progress(total, label, unit, min_interval_s)
    done = 0
    for item in items:
        yield item
        done += 1
        progress.update(done)
    progress.close(done)


class ProgressCallback(keras.callbacks.Callback):
    """Training progress over all epochs (batches done, time left), updated in place; no line per batch."""

    def __init__(self, label: str = "training", min_interval_s: float = 2.0):
        super().__init__()
        check_number(min_interval_s, "min_interval_s", at_least=0.0)
        self.label, self.min_interval_s = label, min_interval_s
        self._progress: Progress | None = None
        self._done = 0

    def on_train_begin(self, logs=None):
        self._progress, self._done = None, 0

    def on_epoch_begin(self, epoch, logs=None):
        if self._progress is None:  # the first epoch of this fit: after a resume, only what is left counts
            steps = self.params.get("steps") or 0
            epochs = self.params.get("epochs") or 0
            self._progress = Progress(max(steps * (epochs - epoch), 0), self.label, "batches", self.min_interval_s)

    def on_train_batch_end(self, batch, logs=None):
        self._done += 1
        if self._progress is not None:
            self._progress.update(self._done)

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.close(self._done)
