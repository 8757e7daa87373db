"""Showing code in a notebook: the house rule is to show a function before using it."""

from __future__ import annotations

import inspect


def show_source(obj):
    """A Markdown block with the syntax-highlighted source of a function or class.

    Markdown rather than IPython's ``Code`` display: it renders the same in Jupyter and
    on GitHub and does not embed a stylesheet in every output (smaller notebooks).
    """
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
