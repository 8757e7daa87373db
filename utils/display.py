"""Showing code in a notebook: the house rule is to show a function before using it."""

from __future__ import annotations

import inspect


def resolve(dotted_name: str):
    """The utils object a notebook shows, from its name as written there: ``"generation.TextGenerator.generate"``."""
    import importlib

    module_name, *attributes = dotted_name.split(".")
    obj = importlib.import_module(f"utils.{module_name}")
    for attribute in attributes:
        obj = getattr(obj, attribute)
    return obj


def show_source(obj):
    """A Markdown block with the syntax-highlighted source of a function or class.

    Markdown rather than IPython's ``Code`` display: it renders the same in Jupyter and
    on GitHub and does not embed a stylesheet in every output (smaller notebooks).
    """
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
