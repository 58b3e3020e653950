"""Lazy public names for a domain package: import a submodule on first use.

A domain's ``__init__`` re-exports its public names, but importing every analysis (and
numba, redis, sqlglot behind them) when a script only wants a reader costs seconds.
:func:`exports` gives the package a module ``__getattr__`` that imports the module of a
name the first time the name is asked for, and a ``__dir__`` that lists them all::

    _HOME = {"simulate": "simulation", "Cache": "cache"}
    __getattr__, __dir__ = exports(__name__, _HOME, __all__)

A submodule named like one of its functions (``digest.digest``) shadows the function
once imported; such names are imported eagerly, or the module is named otherwise.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["exports"]


def exports(
    package: str, home: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``home`` maps a name to its module.

    Examples
    --------
    >>> get, listing = exports("perflab", {"InputError": "errors"}, ["InputError"])
    >>> get("InputError").__name__, listing()
    ('InputError', ['InputError'])
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - a module's __getattr__
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        vars(sys.modules[package])[name] = value  # next time, a plain attribute
        return value

    def __dir__() -> list[str]:  # noqa: N807 - a module's __dir__
        return sorted(names)

    return __getattr__, __dir__
