"""``log_line_prefix`` → a regular expression for the lines PostgreSQL writes with it.

The prefix is given as the server has it (``'%m [%p] %q%u@%d '``); every escape of
PostgreSQL 15 is understood, with optional padding (``%-10u``, ``%8p``). ``%q`` ends the
prefix for processes that are not sessions (checkpointer, autovacuum): what follows it
is an optional group. A prefix line is followed by the severity (``LOG``, ``ERROR`` …), a
colon and two spaces, then the message.

The regex is used by polars (Rust ``regex``: named groups, lazy quantifiers, no
look-around), so it is written in the subset both engines share. A role (``%u``) or
database (``%d``) name is taken to end at the literal character that follows it in
the prefix (``@`` in ``%u@%d``), as pgBadger does; names that contain that character
are not supported.

A padded escape fills at least its width: the value and the spaces that pad it, on the
right (``%-8p``) or the left (``%8p``). The regex takes exactly that width (one
alternative per value length), so an empty field after it (an unset
``application_name``) cannot shift the fields that follow; the group holds the value
with its padding, and the groups of :attr:`Prefix.padded` are to be stripped.
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

_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
_ZONE = r"[A-Za-z][A-Za-z0-9_/+-]*|[+-][0-9]{2}(?::?[0-9]{2})?"

# escape → (group name or None, regex). Empty values are allowed where PostgreSQL
# prints nothing for a background process.
_ESCAPES: dict[str, tuple[str | None, str]] = {
    "a": ("application", r".*?"),
    "u": ("user", r".*?"),
    "d": ("database", r".*?"),
    "r": ("client", r"(?:\[local\]|[^ \t(]*)(?:\([0-9]+\))?"),
    "h": ("client", r"\[local\]|[^ \t]*?"),
    "b": ("backend_type", r".*?"),
    "p": ("pid", r"[0-9]+"),
    "P": ("leader_pid", r"[0-9]*"),
    "t": ("stamp", _STAMP + r" (?:" + _ZONE + r")"),
    "m": ("stamp", _STAMP + r"\.[0-9]{3} (?:" + _ZONE + r")"),
    "n": ("epoch", r"[0-9]+\.[0-9]{3}"),
    "i": ("command_tag", r".*?"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "c": ("session", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("session_line", r"[0-9]+"),
    "s": ("session_start", _STAMP + r" (?:" + _ZONE + r")"),
    "v": ("vxid", r"(?:[0-9]+/[0-9]+)?"),
    "x": ("xid", r"[0-9]*"),
    "Q": ("query_id", r"-?[0-9]+"),
}

# escape → the class of one character of its value, for padded escapes (times have a
# fixed form, are never shorter than a sensible width, and keep `` *`` round them)
_CHARS: dict[str, str] = {
    "a": ".",
    "u": ".",
    "d": ".",
    "b": ".",
    "i": ".",
    "r": r"[^ \t]",
    "h": r"[^ \t]",
    "p": r"[0-9]",
    "P": r"[0-9]",
    "l": r"[0-9]",
    "x": r"[0-9]",
    "Q": r"[-0-9]",
    "e": "[0-9A-Z]",
    "c": "[0-9a-f.]",
    "n": r"[0-9.]",
    "v": r"[0-9/]",
}

_TOKEN = re.compile(r"%(-?\d+)?([a-zA-Z%])")
_NAMES = ("u", "d")

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
    head : str
        The same up to and including the severity's colon and two spaces, without the
        message, the whole head captured as ``_head`` (capturing the message costs as
        much as the rest: the message is the line without its head instead).
    groups : tuple of str
        The named groups it captures (``stamp``, ``pid``, ``user`` …).
    padded : tuple of str
        The groups of padded escapes: their values keep the padding spaces.
    """

    text: str
    pattern: str
    groups: tuple[str, ...]
    head: str = ""
    padded: tuple[str, ...] = ()

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
    padded: list[str] = []
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
        following = prefix[pos : pos + 1]
        char = _CHARS.get(esc)
        if esc in _NAMES and following and following != "%":
            # a role or database name ends at the literal that follows it: a greedy
            # negated class instead of a lazy .*? (several times faster to match)
            char = f"[^{re.escape(following)}\\n]"
            rx = char + "*"
        width = abs(int(pad)) if pad else 0
        if width and char is not None:
            rx = _padded(char, width, left=pad.startswith("-"))
        elif pad:
            rx = rf" *(?:{rx}) *" if width else rx
        if name is not None and name not in groups:
            groups.append(name)
            if width and char is not None:
                padded.append(name)
            rx = f"(?P<{name}>{rx})"
        else:
            rx = f"(?:{rx})"
        parts.append(rx)
    parts.append(_literal(prefix[pos:]))
    if optional_from is not None:
        always, optional = parts[:optional_from], parts[optional_from:]
        body = "".join(always) + "(?:" + "".join(optional) + ")?"
    else:
        body = "".join(parts)
    pattern = "^" + body + _LEVEL + r":  (?P<message>.*)$"
    re.compile(pattern, re.S)  # a prefix that cannot compile is a bug here, say so early
    head = "(?P<_head>^" + body + _LEVEL + r":  )"
    return Prefix(
        text=prefix, pattern=pattern, groups=tuple(groups), head=head, padded=tuple(padded)
    )


def _padded(char: str, width: int, *, left: bool) -> str:
    """A value of ``char`` characters padded with spaces to ``width``, exactly.

    One alternative per length of the value (none of them lazy-ambiguous): a value as
    long as the width or longer, then shorter values with as many spaces as they lack.
    """
    alts = [f"{char}{{{width},}}?"]
    for n in range(width - 1, -1, -1):
        value = f"{char}{{{n}}}" if n else ""
        spaces = f" {{{width - n}}}"
        alts.append(value + spaces if left else spaces + value)
    return "|".join(alts)


def _literal(text: str) -> str:
    """Literal prefix text as regex (a space stays a space: Rust's regex and Python's
    read it alike, unlike re.escape's ``\\ ``)."""
    return "".join(" " if ch == " " else re.escape(ch) for ch in text)
