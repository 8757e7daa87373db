"""The course package's build backend: setuptools, for editable installs only.

The helpers' import package is named ``utils`` (the course's folder layout). A regular wheel
would copy it into site-packages, where an unrelated ``utils`` distribution from PyPI may
already live: pip would merge the two into one folder, and uninstalling either would delete
files of the other. An editable install (``pip install -e .``) copies nothing; it points at the
course's folder. So this backend builds editable wheels and source distributions, and refuses
a regular wheel with a message that says what to do instead.
"""

from __future__ import annotations

from setuptools import build_meta as _setuptools

NOT_INSTALLABLE = (
    "rnn-course-utils installs only in editable mode: its package is named `utils`, and a regular wheel "
    "would put it into site-packages beside (and merged with) any other `utils`. Install it with "
    "`pip install -e <the course folder>` (make venv does), or, in Colab or Kaggle, run the notebook's first cell."
)

get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable
build_editable = _setuptools.build_editable
build_sdist = _setuptools.build_sdist


def get_requires_for_build_wheel(config_settings=None):
    """Refused before anything is fetched: a regular wheel is never built."""
    raise RuntimeError(NOT_INSTALLABLE)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise RuntimeError(NOT_INSTALLABLE)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError(NOT_INSTALLABLE)
