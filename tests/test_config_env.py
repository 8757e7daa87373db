import random

import numpy as np
import pytest

from utils import config, env


@pytest.mark.parametrize("value, fast", [("1", True), ("true", True), ("0", False), ("", False), ("off", False)])
def test_is_fast_mode_reads_rnn_fast(monkeypatch, value, fast):
    monkeypatch.setenv("RNN_FAST", value)
    assert config.is_fast_mode() is fast
    assert config.by_mode(full=10, fast=1) == (1 if fast else 10)
    assert config.mode_name() == ("fast" if fast else "full")


def test_unset_rnn_fast_means_full_mode(monkeypatch):
    monkeypatch.delenv("RNN_FAST", raising=False)
    assert config.by_mode(full="full", fast="fast") == "full"


def test_bad_rnn_fast_value_is_named(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "maybe")
    with pytest.raises(ValueError, match="RNN_FAST"):
        config.is_fast_mode()


def test_check_versions_passes_for_installed_packages():
    found = env.check_versions()
    assert set(found) == set(env.MINIMUM_VERSIONS)


def test_check_versions_names_too_old_and_missing_packages():
    with pytest.raises(RuntimeError, match=r"numpy .* too old \(need >= 99.0\)"):
        env.check_versions({"numpy": "99.0"})
    with pytest.raises(RuntimeError, match="no-such-package-xyz is not installed"):
        env.check_versions({"no-such-package-xyz": "1.0"})


@pytest.mark.parametrize("version, expected", [("2.21.0rc1", (2, 21, 0)), ("3.15", (3, 15, 0)), ("2", (2, 0, 0))])
def test_version_tuple(version, expected):
    assert env._version_tuple(version) == expected


def test_set_seed_makes_python_numpy_and_keras_repeatable():
    import keras

    def draw():
        env.set_seed(123)
        return random.random(), np.random.rand(), float(keras.random.uniform(()))

    assert draw() == draw()


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_set_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        env.set_seed(seed)


def test_stopwatch_report_names_mode_and_machine(monkeypatch):
    monkeypatch.setenv("RNN_FAST", "1")
    text = env.Stopwatch().report()
    assert "fast mode" in text and "CPU cores" in text and "TensorFlow" in text


def test_import_tensorflow_quietly_hides_start_up_noise_only():
    import subprocess
    import sys

    script = ("from utils.env import import_tensorflow_quietly\n"
              "tf = import_tensorflow_quietly()\n"
              "import sys; print('real problem', file=sys.stderr); print(tf.__version__)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert "oneDNN" not in result.stderr and "absl::InitializeLog" not in result.stderr
    assert "real problem" in result.stderr and result.stdout.strip().startswith("2.")
