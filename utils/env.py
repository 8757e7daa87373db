"""The run environment: version checks, seeding and a statement of the machine."""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field

from utils.config import mode_name

# Oldest releases the notebooks are known to work with (see requirements.txt).
MINIMUM_VERSIONS: dict[str, str] = {
    "tensorflow": "2.21",
    "keras": "3.15",
    "numpy": "2.0",
    "matplotlib": "3.8",
    "pandas": "2.2",
}


def _version_tuple(version: str) -> tuple[int, int, int]:
    """Turn '2.21.0rc1' into (2, 21, 0), and '3.15' into (3, 15, 0), for comparison."""
    parts = [int(m.group()) if (m := re.match(r"\d+", piece)) else 0 for piece in version.split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def check_versions(minimums: dict[str, str] | None = None) -> dict[str, str]:
    """Check that installed packages are at least the versions the course needs.

    Args:
        minimums: package name -> oldest acceptable version; defaults to
            ``MINIMUM_VERSIONS``.

    Returns:
        package name -> installed version, for printing.

    Raises:
        RuntimeError: a package is missing or too old; the message lists each
            one with the installed and required versions and how to fix it.
    """
    from importlib.metadata import PackageNotFoundError, version

    minimums = MINIMUM_VERSIONS if minimums is None else minimums
    found: dict[str, str] = {}
    problems: list[str] = []
    for package, needed in minimums.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            problems.append(f"{package} is not installed (need >= {needed})")
            continue
        found[package] = installed
        if _version_tuple(installed) < _version_tuple(needed):
            problems.append(f"{package} {installed} is too old (need >= {needed})")
    if problems:
        raise RuntimeError(
            "This course needs newer packages: "
            + "; ".join(problems)
            + ". Run `make run` (or `pip install -r requirements.txt`) to install them."
        )
    return found


# Start-up lines TensorFlow's C++ core writes straight to the process's stderr whatever
# TF_CPP_MIN_LOG_LEVEL says; harmless, and noise in a notebook's stored outputs.
_TF_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|cudart_stub|"
    r"Could not find cuda drivers|failed call to cuInit|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation_placer|This TensorFlow binary is optimized|rebuild TensorFlow with the appropriate|"
    r"TF-TRT Warning|cpu_feature_guard|^\s*$"
)


# Printed by TensorFlow's C++ code at the first int32/half operation on CPUs without AVX-512, after the
# import (so the capture below cannot catch it), as an "E" (error) line although it only says that a
# slower kernel is used. In a notebook it shows as a red error box; the kernel's stderr drops it.
_ONEDNN_NOTICE = re.compile(r"^E0000 [^\n]*oneDNN supports DT_\w+ only on platforms with AVX-512[^\n]*(\n|$)", re.M)


def drop_onednn_notice(stream=None) -> bool:
    """In a Jupyter kernel, filter the oneDNN "E0000 ... AVX-512" notice out of stderr; True if installed.

    The kernel forwards the process's file descriptor 2 into its stderr stream object, which sends what
    it buffered to the notebook in ``_flush_buffers``; this wraps that method (once) to remove the notice
    and pass everything else through. (Not ``write``: IPython re-wraps ``write`` at every cell.) Outside
    a kernel (a terminal, a script) it does nothing: the notice goes to the terminal as TensorFlow wrote it.
    """
    stream = sys.stderr if stream is None else stream
    if (not type(stream).__module__.startswith("ipykernel") or not hasattr(stream, "_flush_buffers")
            or getattr(stream, "_drops_onednn_notice", False)):
        return False
    flush_buffers = stream._flush_buffers

    def filtered_flush_buffers():
        for parent, data in flush_buffers():
            yield parent, _ONEDNN_NOTICE.sub("", data)

    stream._flush_buffers = filtered_flush_buffers
    stream._drops_onednn_notice = True
    return True


def import_tensorflow_quietly():
    """Import TensorFlow with its unconditional C++ start-up messages filtered out.

    TensorFlow prints a few lines (oneDNN notice, "no CUDA drivers", ...) to the process's
    stderr at import and at the first device query, ignoring ``TF_CPP_MIN_LOG_LEVEL``.
    This captures stderr at the file-descriptor level during the import and a GPU query,
    drops the known harmless lines and re-prints anything else, so real problems still show.

    Returns:
        The ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    drop_onednn_notice()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # triggers the CUDA probe now, while captured
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        captured.seek(0)
        lines = captured.read().decode("utf-8", errors="replace").splitlines()
    kept = [line for line in lines if not _TF_STARTUP_NOISE.search(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)
    return tf


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and the Keras/TensorFlow backend.

    What stays non-deterministic: multi-threaded CPU reductions (oneDNN) and
    cuDNN kernels on a GPU can sum floats in a different order from run to run,
    so losses can differ in the last digits. Call
    ``tf.config.experimental.enable_op_determinism()`` as well when you need
    bit-identical runs and can afford slower kernels.

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: ``seed`` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    import keras

    keras.utils.set_random_seed(seed)


def machine_summary() -> str:
    """One line naming the machine: OS, CPU count, accelerators and library versions."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    accel = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {accel}; "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


@dataclass
class Stopwatch:
    """Measures a notebook's wall time from its Setup cell to its last cell."""

    started: float = field(default_factory=time.perf_counter)  # perf_counter at creation

    def elapsed_minutes(self) -> float:
        """Minutes since the stopwatch was created."""
        return (time.perf_counter() - self.started) / 60.0

    def report(self) -> str:
        """A sentence stating the run's mode, wall time and machine."""
        return (
            f"This notebook ran in {mode_name()} mode in {self.elapsed_minutes():.1f} min "
            f"of wall time on: {machine_summary()}."
        )
