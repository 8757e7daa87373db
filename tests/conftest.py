"""Shared test settings: quiet TensorFlow start-up."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
