"""Errors say where and why; skip mode warns once, never silently."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

from perflab.errors import (
    BadLines,
    InputError,
    InputWarning,
    ParameterError,
    PerflabError,
    warn_input,
)
from perflab.sources import Source

THIS_FILE = Path(__file__).resolve()


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


# ---------------------------------------------------------------------------------------
# warn_input: the one way readers warn, pointing at the user's call


@contextmanager
def input_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record the InputWarnings given inside the block (the list fills as it ends)."""
    found: list[warnings.WarningMessage] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
    found.extend(w for w in caught if issubclass(w.category, InputWarning))


def next_line() -> int:
    """The number of the caller's next line."""
    return sys._getframe(1).f_lineno + 1


def test_warn_input_logs_and_warns_source_colon_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="perflab"), input_warnings() as caught:
        line = next_line()
        warn_input("m.csv", "no samples: the table has a header but no rows")
    (w,) = caught
    assert str(w.message) == "m.csv: no samples: the table has a header but no rows"
    assert w.category is InputWarning
    assert (Path(w.filename).resolve(), w.lineno) == (THIS_FILE, line)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("perflab.errors", logging.WARNING, str(w.message))
    ]


def test_a_warning_from_deep_in_perflab_points_at_the_callers_line(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("a,b\n")
    src = Source(p, "skip")
    empty = pl.DataFrame()
    with input_warnings() as caught:
        line = next_line()
        src.finish(empty, "a header but no rows")  # Source.finish → warn_input
    (w,) = caught
    assert str(w.message) == f"{p}: no samples: a header but no rows"
    assert (Path(w.filename).resolve(), w.lineno) == (THIS_FILE, line)
    src.bad.add(2, "bad row")
    with input_warnings() as caught:
        line = next_line()
        src.finish(empty, "a header but no rows")  # … → BadLines.finish → warn_input
    (w,) = caught
    assert str(w.message) == f"{p}: skipped 1 unreadable line(s); first: line 2: bad row"
    assert (Path(w.filename).resolve(), w.lineno) == (THIS_FILE, line)


def test_bad_lines_finish_called_directly_points_here() -> None:
    bad = BadLines("a.log", "skip")
    bad.add(None, "no line for this one")
    with input_warnings() as caught:
        line = next_line()
        bad.finish()
    (w,) = caught
    assert str(w.message) == "a.log: skipped 1 unreadable line(s); first: no line for this one"
    assert (Path(w.filename).resolve(), w.lineno) == (THIS_FILE, line)


def test_a_reader_called_in_a_loop_warns_for_each_file() -> None:
    # The default filter shows a warning once per location *and text*: two files, two.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for name in ("a.csv", "b.csv", "a.csv"):
            warn_input(name, "nothing")
    assert [str(w.message) for w in caught] == ["a.csv: nothing", "b.csv: nothing"]


# ---------------------------------------------------------------------------------------
# BadLines.more


def test_more_counts_bad_lines_beyond_the_examples() -> None:
    bad = BadLines("a.log", "skip")
    for i in range(3):
        bad.add(i + 1, f"bad {i}")
    bad.more(997)
    bad.more(0)
    bad.more(-5)  # nothing to take back
    assert bad.count == 1000
    assert len(bad.examples) == 3
    with input_warnings() as caught:
        bad.finish()
    (w,) = caught
    assert str(w.message) == (
        "a.log: skipped 1000 unreadable line(s); first: line 1: bad 0; line 2: bad 1; line 3: bad 2"
    )


def test_more_alone_still_warns() -> None:
    bad = BadLines("a.log", "skip")
    bad.more(4)
    with input_warnings() as caught:
        bad.finish()
    (w,) = caught
    assert "skipped 4 unreadable line(s)" in str(w.message)
