"""Calling a reader and checking the InputWarnings it gives (every domain's tests)."""

from __future__ import annotations

import warnings

from perflab.errors import InputWarning

__all__ = ["no_warning", "one_warning", "read_quietly"]


def read_quietly(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call fn with its InputWarnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return fn(*args, **kwargs)


def one_warning(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call fn, return (result, message of the single InputWarning it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    msgs = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    assert len(msgs) == 1, msgs
    return out, msgs[0]


def no_warning(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call fn; an InputWarning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        return fn(*args, **kwargs)
