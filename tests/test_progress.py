"""utils.progress: time left, one line updated in place."""

import numpy as np
import pytest

from utils import progress


@pytest.mark.parametrize(("done", "total", "elapsed", "expected"), [
    (0, 10, 0.0, "fit: 0/10 steps (0%) · 0 s elapsed"),
    (5, 10, 30.0, "fit: 5/10 steps (50%) · 30 s elapsed · about 30 s left"),
    (1, 4, 120.0, "fit: 1/4 steps (25%) · 2.0 min elapsed · about 6.0 min left"),
    (10, 10, 61.0, "fit: 10/10 steps (100%) · 61 s elapsed · done"),
    (3, 0, 5.0, "fit: 3 steps · 5 s elapsed"),
])
def test_describe(done, total, elapsed, expected):
    assert progress.describe(done, total, elapsed, label="fit") == expected


def test_track_yields_everything_and_reports_outside_a_notebook(capsys):
    assert list(progress.track(range(5), label="seeds", min_interval_s=0.0)) == [0, 1, 2, 3, 4]
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("seeds: 5/5 items (100%)") and lines[-1].endswith("done")


def test_track_throttles_terminal_lines(capsys):
    list(progress.track(range(1000), label="x", min_interval_s=3600))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2  # the first update and the final state


@pytest.mark.parametrize(("kwargs", "needle"), [({"total": -1}, "total"), ({"total": 2.5}, "total"),
                                                ({"total": 3, "min_interval_s": -1}, "min_interval_s")])
def test_bad_arguments_are_named(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        progress.Progress(**kwargs)


def test_callback_counts_every_batch_of_every_epoch(capsys):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    model.fit(x, y, batch_size=10, epochs=3, verbose=0,
              callbacks=[progress.ProgressCallback(label="training", min_interval_s=3600)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("training: 12/12 batches (100%)"), lines
    assert len(lines) == 2


def test_the_onednn_notice_is_dropped_from_a_kernels_stderr_only():
    """TensorFlow's harmless "E0000 ... AVX-512" line is filtered out of a notebook's stderr, nothing else."""
    from utils import env

    class KernelStream:  # stands in for ipykernel's OutStream (the filter keys on the module)
        def __init__(self):
            self.buffered = []

        def _flush_buffers(self):
            chunks, self.buffered = self.buffered, []
            for chunk in chunks:
                yield {}, chunk

    KernelStream.__module__ = "ipykernel.iostream"
    stream = KernelStream()
    assert env.drop_onednn_notice(stream) and not env.drop_onednn_notice(stream)  # installed once
    notice = ("E0000 00:00:1795445374.095337   12698 util.cc:131] oneDNN supports DT_INT32 only on platforms "
              "with AVX-512. Falling back to the default Eigen-based implementation if present.\n")
    stream.buffered = ["before\n" + notice + "after\n", notice, "E0000 00:00:1.0 other.cc:1] a real error\n"]
    sent = "".join(data for _, data in stream._flush_buffers())
    assert sent == "before\nafter\nE0000 00:00:1.0 other.cc:1] a real error\n"

    class Terminal:
        def write(self, text):
            return len(text)

    assert not env.drop_onednn_notice(Terminal())


def test_the_onednn_notice_never_reaches_a_real_notebook(tmp_path, monkeypatch):
    """In a real kernel: the notice written to file descriptor 2 (as TensorFlow's C++ code does) is dropped."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)  # under pytest, ipykernel does not forward fd 2

    notice = "E0000 00:00:1.0  1 util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512. Falling back."
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, sys, time, utils\ntf = utils.import_tensorflow_quietly()"),
        nbformat.v4.new_code_cell(f"os.write(2, b'{notice}\\nkept\\n')\ntime.sleep(1)\nsys.stderr.flush()"),
    ])
    NotebookClient(notebook, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    stderr = "".join(o.get("text", "") for c in notebook.cells for o in c.outputs if o.get("name") == "stderr")
    assert stderr == "kept\n"
