"""Apache ``LogFormat`` strings → the tokens of :mod:`perflab.api._nginx`.

Each ``%`` directive becomes the nginx variable with the same meaning, so one
compiler and one converter serve both servers. ``%t`` writes its own brackets.
"""

from __future__ import annotations

import re

from perflab.api._nginx import Field, Token
from perflab.errors import ParameterError

__all__ = ["APACHE_FORMATS", "parse_apache_format"]

APACHE_FORMATS = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
}

_SIMPLE = {
    "h": "remote_addr",
    "a": "remote_addr",
    "l": "remote_ident",
    "u": "remote_user",
    "r": "request",
    "s": "status",
    "b": "body_bytes_sent",
    "B": "body_bytes_sent",
    "D": "request_time_us",
    "T": "request_time_s",
    "v": "host",
    "V": "host",
    "m": "request_method",
    "U": "uri",
    "q": "query_string",
    "H": "server_protocol",
    "I": "request_length",
    "O": "bytes_sent",
    "p": "server_port",
    "P": "pid",
    "k": "connection_requests",
    "X": "connection_status",
}
_DIRECTIVE = re.compile(r"%(?:[<>!0-9,]*)(?:\{([^}]*)\})?([A-Za-z%])")


def parse_apache_format(fmt: str) -> tuple[str, list[Token]]:
    """A LogFormat name (``common``, ``combined``, ``vhost_combined``), string or config
    line → (text, tokens).

    Examples
    --------
    >>> [t.name for t in parse_apache_format("%>s %{Referer}i %D")[1] if isinstance(t, Field)]
    ['status', 'http_referer', 'request_time_us']
    """
    text = APACHE_FORMATS.get(fmt, fmt).strip()
    m = re.match(r'LogFormat\s+"((?:[^"\\]|\\.)*)"', text)
    if m:
        text = m.group(1).replace('\\"', '"')
    elif text.startswith("LogFormat"):
        raise ParameterError(f"LogFormat line without a quoted format: {fmt!r}")
    if "%" not in text:
        raise ParameterError(
            f"Apache format {fmt!r} has no % directive; use one of "
            f"{sorted(APACHE_FORMATS)} or a LogFormat string"
        )
    tokens: list[Token] = []
    pos = 0
    for d in _DIRECTIVE.finditer(text):
        tokens.append(text[pos : d.start()].replace("\\t", "\t"))
        arg, letter = d.group(1), d.group(2)
        pos = d.end()
        if letter == "%":
            tokens.append("%")
            continue
        if letter == "t" and arg is None:
            tokens += ["[", Field("time_local"), "]"]
            continue
        if letter == "T" and arg in ("ms", "us", "s"):
            tokens.append(Field(f"request_time_{arg}"))
            continue
        if letter in ("i", "o") and arg:
            head = arg.lower().replace("-", "_")
            tokens.append(Field(("http_" if letter == "i" else "sent_http_") + head))
            continue
        if letter == "n" and arg:
            tokens.append(Field(arg.lower().replace("-", "_")))
            continue
        if letter not in _SIMPLE:
            raise ParameterError(f"Apache format {fmt!r}: directive %{letter} is not supported")
        tokens.append(Field(_SIMPLE[letter]))
    tokens.append(text[pos:])
    return text, tokens
