"""Errors say where and why; skip mode warns once, never silently."""

from __future__ import annotations

import warnings

import pytest

from perflab.errors import BadLines, InputError, InputWarning, ParameterError, PerflabError


def test_input_error_carries_source_line_and_reason():
    e = InputError("a.log", 12, "expected 'duration:'")
    assert (e.source, e.line, e.reason) == ("a.log", 12, "expected 'duration:'")
    assert str(e) == "a.log:12: expected 'duration:'"
    assert isinstance(e, PerflabError) and isinstance(e, ValueError)


def test_raise_mode_raises_on_first_bad_line():
    bad = BadLines("a.log")
    with pytest.raises(InputError, match=r"a\.log:3: nope"):
        bad.add(3, "nope")


def test_skip_mode_warns_once_with_count_and_first_examples():
    bad = BadLines("a.log", "skip")
    for i in range(10):
        bad.add(i + 1, f"bad {i}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad.finish()
    assert len(caught) == 1 and caught[0].category is InputWarning
    msg = str(caught[0].message)
    assert "skipped 10" in msg and "line 1: bad 0" in msg and "bad 5" not in msg


def test_skip_mode_with_nothing_bad_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BadLines("a.log", "skip").finish()


def test_unknown_mode_is_refused():
    with pytest.raises(ParameterError):
        BadLines("a.log", "ignore")  # type: ignore[arg-type]
