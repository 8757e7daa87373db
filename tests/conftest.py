"""Shared fixtures: keep tests off the network and off the user's Keras cache."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty Keras cache and no RNN_DATA_DIR, so load_corpus sees nothing local."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("RNN_DATA_DIR", raising=False)
    return tmp_path / "keras_home" / "datasets"
