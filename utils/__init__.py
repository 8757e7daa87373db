"""Helpers shared by the course notebooks.

One module per concern; import what you need from it, e.g.::

    from utils import data, numpy_rnn
    from utils.config import by_mode

Importing this package has no side effects: nothing is seeded, downloaded or
restyled until a function is called.
"""

from utils.config import by_mode, is_fast_mode
from utils.env import Stopwatch, check_versions, import_tensorflow_quietly, machine_summary, set_seed

__all__ = [
    "Stopwatch",
    "by_mode",
    "check_versions",
    "import_tensorflow_quietly",
    "is_fast_mode",
    "machine_summary",
    "set_seed",
]
