"""Errors raised by perflab.

The hierarchy::

    PerflabError                 base of everything perflab raises on purpose
    ├── InputError               evidence that cannot be read (source, line, reason)
    ├── SchemaError              a frame lacks columns or has mistyped ones
    └── ParameterError           a run parameter or option that does not exist or parse
        └── MetricError          a sample the live Monitor cannot record
                                 (perflab.monitoring.MetricError)

Catch ``PerflabError`` to catch them all.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "BadLines",
    "ErrorMode",
    "InputError",
    "InputWarning",
    "ParameterError",
    "PerflabError",
    "SchemaError",
    "positive_int",
    "warn_input",
]

ErrorMode = Literal["raise", "skip"]

logger = logging.getLogger(__name__)

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


class PerflabError(Exception):
    """Base class of every error perflab raises on purpose."""


class InputError(PerflabError, ValueError):
    """Evidence that cannot be read.

    Parameters
    ----------
    source : str
        The file (or other source) being read.
    line : int or None
        1-based line number of the offending line, when there is one.
    reason : str
        What was wrong and, where useful, what was expected.

    Examples
    --------
    >>> raise InputError("metrics.csv", 3, "expected a number in column 'value'")
    Traceback (most recent call last):
    ...
    perflab.errors.InputError: metrics.csv:3: expected a number in column 'value'
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = str(source)
        self.line = line
        self.reason = reason
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {reason}")


class SchemaError(PerflabError, ValueError):
    """A frame lacks required columns or has columns of the wrong type.

    Parameters
    ----------
    what : str
        Which frame (schema name) was being checked.
    missing : iterable of str
        Required columns that are absent.
    mistyped : iterable of (column, expected, found)
        Columns present with a dtype that cannot be cast to the expected one.

    Examples
    --------
    >>> raise SchemaError("metrics", missing=["value"])
    Traceback (most recent call last):
    ...
    perflab.errors.SchemaError: metrics: missing column(s) 'value'
    """

    def __init__(
        self,
        what: str,
        *,
        missing: Iterable[str] = (),
        mistyped: Iterable[tuple[str, str, str]] = (),
        detail: str = "",
    ) -> None:
        self.what = what
        self.missing = list(missing)
        self.mistyped = list(mistyped)
        self.detail = detail
        parts = []
        if self.missing:
            parts.append("missing column(s) " + ", ".join(repr(c) for c in self.missing))
        if self.mistyped:
            parts.append(
                "mistyped column(s) "
                + ", ".join(f"{c!r} (expected {e}, found {f})" for c, e, f in self.mistyped)
            )
        if detail:
            parts.append(detail)
        super().__init__(f"{what}: " + "; ".join(parts))


class ParameterError(PerflabError, ValueError):
    """A run parameter or option that does not exist or cannot be parsed."""


class InputWarning(UserWarning):
    """Lines were skipped while reading with ``errors="skip"``."""


def warn_input(source: str, message: str) -> None:
    """Log and warn (:class:`InputWarning`) about an input: the one way readers warn.

    The message reads ``"<source>: <message>"``; the warning points at the first
    caller outside perflab (the user's ``read_…`` call), whatever the depth of the
    reader that warns.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_input("x.log", "no statement in the file")
    >>> print(w[0].message)
    x.log: no statement in the file
    """
    text = f"{source}: {message}"
    logger.warning(text)
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(text, InputWarning, stacklevel=level)


@dataclass
class BadLines:
    """Collects unreadable lines for a reader and applies its ``errors`` mode.

    With ``errors="raise"`` the first bad line raises :class:`InputError`. With
    ``errors="skip"`` lines are counted and :meth:`finish` warns once with the count
    and the first examples — never silently.

    Examples
    --------
    >>> bad = BadLines("x.log", "skip")
    >>> bad.add(7, "not a number")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     bad.finish()
    >>> print(w[0].message)
    x.log: skipped 1 unreadable line(s); first: line 7: not a number
    """

    source: str
    mode: ErrorMode = "raise"
    examples: list[tuple[int | None, str]] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("raise", "skip"):
            raise ParameterError(f"errors must be 'raise' or 'skip', not {self.mode!r}")

    def add(self, line: int | None, reason: str) -> None:
        """Record one bad line: raise now, or remember it for the warning."""
        if self.mode == "raise":
            raise InputError(self.source, line, reason)
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append((line, reason))

    def more(self, n: int) -> None:
        """Count ``n`` further bad lines without examples (after :meth:`add` showed some).

        Only meaningful with ``errors="skip"``: in raise mode the first :meth:`add`
        has raised already.
        """
        self.count += max(0, int(n))

    def finish(self) -> None:
        """Warn once if any line was skipped."""
        if not self.count:
            return
        first = "; ".join(
            (f"line {ln}: {why}" if ln is not None else why) for ln, why in self.examples
        )
        warn_input(self.source, f"skipped {self.count} unreadable line(s); first: {first}")


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` when it is a positive integer, else a ``ParameterError``.

    Examples
    --------
    >>> positive_int("top", 3)
    3
    >>> positive_int("top", 0)
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: top must be a positive integer, not 0
    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ParameterError(f"{name} must be a positive integer, not {value!r}")
    return int(value)
