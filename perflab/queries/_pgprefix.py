"""``log_line_prefix`` → a regular expression for the lines PostgreSQL writes with it.

The prefix is given as the server has it (``'%m [%p] %q%u@%d '``); every escape of
PostgreSQL 15 is understood, with optional padding (``%-10u``). ``%q`` ends the prefix
for processes that are not sessions (checkpointer, autovacuum): what follows it is an
optional group. A prefix line is followed by the severity (``LOG``, ``ERROR`` …), a
colon and two spaces, then the message.

The regex is used by polars (Rust ``regex``: named groups, lazy quantifiers, no
look-around), so it is written in the subset both engines share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perflab.errors import ParameterError

__all__ = ["COMMON_PREFIXES", "PRIMARY", "SECONDARY", "Prefix", "compile_prefix"]

PRIMARY = ("LOG", "ERROR", "WARNING", "FATAL", "PANIC", "NOTICE", "INFO", "DEBUG")
"""Severities that start a message."""
SECONDARY = ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")
"""Severities that add to the message before them."""

_LEVEL = r"(?P<level>LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION)"  # noqa: E501

_STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
_ZONE = r"[A-Za-z][A-Za-z0-9_/+-]*|[+-]\d{2}(?::?\d{2})?"

# escape → (group name or None, regex). Empty values are allowed where PostgreSQL
# prints nothing for a background process.
_ESCAPES: dict[str, tuple[str | None, str]] = {
    "a": ("application", r".*?"),
    "u": ("user", r".*?"),
    "d": ("database", r".*?"),
    "r": ("client", r"(?:\[local\]|[^\s(]*)(?:\(\d+\))?"),
    "h": ("client", r"\[local\]|[^\s]*?"),
    "b": ("backend_type", r".*?"),
    "p": ("pid", r"\d+"),
    "P": ("leader_pid", r"\d*"),
    "t": ("stamp", _STAMP + r" (?:" + _ZONE + r")"),
    "m": ("stamp", _STAMP + r"\.\d{3} (?:" + _ZONE + r")"),
    "n": ("epoch", r"\d+\.\d{3}"),
    "i": ("command_tag", r".*?"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "c": ("session", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("session_line", r"\d+"),
    "s": ("session_start", _STAMP + r" (?:" + _ZONE + r")"),
    "v": ("vxid", r"(?:\d+/\d+)?"),
    "x": ("xid", r"\d*"),
    "Q": ("query_id", r"-?\d+"),
}

_TOKEN = re.compile(r"%(-?\d+)?([a-zA-Z%])")

COMMON_PREFIXES: tuple[str, ...] = (
    "%m [%p] %q%u@%d ",  # Debian/Ubuntu packages
    "%m [%p] ",  # PostgreSQL's default since 10
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",  # pgBadger's recommendation
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] ",
    "%m [%p] %q%u@%d app=%a ",
    "%t [%p-%l] %q%u@%d ",
    "%m:%r:%u@%d:[%p]:",  # RDS / Aurora
    "%t:%r:%u@%d:[%p]:",
    "%m [%p] %u@%d/%a ",
    "%m %u %d [%p] ",
    "%t ",
    "%m ",
)
"""Prefixes tried, in order, when none is given."""


@dataclass(frozen=True)
class Prefix:
    """A compiled ``log_line_prefix``.

    Attributes
    ----------
    text : str
        The prefix as given.
    pattern : str
        The regex of a whole first line: prefix, severity, two spaces, message.
    groups : tuple of str
        The named groups it captures (``stamp``, ``pid``, ``user`` …).
    """

    text: str
    pattern: str
    groups: tuple[str, ...]

    @property
    def has_pid(self) -> bool:
        """Whether lines carry the process id (``%p``)."""
        return "pid" in self.groups

    @property
    def has_time(self) -> bool:
        """Whether lines carry a time (``%m``, ``%t`` or ``%n``)."""
        return "stamp" in self.groups or "epoch" in self.groups


def compile_prefix(prefix: str) -> Prefix:
    """Compile a ``log_line_prefix`` to the regex of the lines it starts.

    Parameters
    ----------
    prefix : str
        The server's ``log_line_prefix``, escapes as PostgreSQL writes them.

    Raises
    ------
    ParameterError
        An unknown escape.

    Examples
    --------
    >>> p = compile_prefix("%m [%p] %q%u@%d ")
    >>> m = re.match(p.pattern, "2026-12-03 08:33:23.080 UTC [16089] LOG:  ready")
    >>> m["stamp"], m["pid"], m["user"], m["level"], m["message"]
    ('2026-12-03 08:33:23.080 UTC', '16089', None, 'LOG', 'ready')
    """
    if not isinstance(prefix, str):
        raise ParameterError(f"prefix must be the log_line_prefix string, not {prefix!r}")
    parts: list[str] = []
    groups: list[str] = []
    optional_from: int | None = None
    pos = 0
    for m in _TOKEN.finditer(prefix):
        parts.append(_literal(prefix[pos : m.start()]))
        pos = m.end()
        pad, esc = m.group(1), m.group(2)
        if esc == "%":
            parts.append("%")
            continue
        if esc == "q":
            if optional_from is None:
                optional_from = len(parts)
            continue
        if esc not in _ESCAPES:
            raise ParameterError(f"log_line_prefix {prefix!r}: unknown escape %{esc}")
        name, rx = _ESCAPES[esc]
        if name is not None and name not in groups:
            groups.append(name)
            rx = f"(?P<{name}>{rx})"
        else:
            rx = f"(?:{rx})"
        if pad:
            rx = rf"\s*{rx}\s*"
        parts.append(rx)
    parts.append(_literal(prefix[pos:]))
    if optional_from is not None:
        head, tail = parts[:optional_from], parts[optional_from:]
        body = "".join(head) + "(?:" + "".join(tail) + ")?"
    else:
        body = "".join(parts)
    pattern = "^" + body + _LEVEL + r":  (?P<message>.*)$"
    re.compile(pattern, re.S)  # a prefix that cannot compile is a bug here, say so early
    return Prefix(text=prefix, pattern=pattern, groups=tuple(groups))


def _literal(text: str) -> str:
    """Literal prefix text as regex; a trailing space may be missing on odd lines."""
    out = []
    for ch in text:
        out.append(r"\s" if ch == " " else re.escape(ch))
    return "".join(out)
