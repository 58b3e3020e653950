"""Text access logs: a log format compiled once into one regex, lines to REQUESTS columns.

A format is a list of tokens — literal text and fields (nginx ``$variables``, or
Apache ``%`` directives translated to the same names by :mod:`perflab.api._apache`).
:func:`compile_format` turns it into ONE anchored regex with a named group per field:
a field matches up to the first character of the literal that follows it (a field
followed by ``"`` also takes backslash escapes, so ``\\"`` and ``\\x22`` inside a quoted
field do not end it); a field at the end of the line takes the rest. Every line of a
block is then split by polars' ``str.extract_groups`` — one vectorised call, no Python
per line — and the text columns become typed REQUESTS columns over whole columns
(:func:`to_requests`). Only lines holding an escape (``\\x22``, ``\\"``…) are decoded in
Python, and only the first few bad lines are explained.

Big blocks (:data:`perflab.api._scan.FAST_MIN_BYTES`) go first through a compiled
scanner (:mod:`perflab.api._scan`: numba) that applies the same rules to the
block's bytes and converts as it goes, about four times faster on one core; the
regex stays the reference and reads every line the scanner cannot vouch for.

Hand-written rather than a library: no maintained Python package parses an arbitrary
nginx ``log_format`` at this speed (the per-line regex packages run a Python loop).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import UTC_DATETIME
from perflab.urls import split_uri

__all__ = [
    "Field",
    "LogFormat",
    "compile_format",
    "explain_mismatch",
    "parse_nginx_format",
    "to_requests",
]

ESCAPES = ("default", "json", "none")

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Field:
    """One field of a format: the variable it logs (nginx name, without ``$``)."""

    name: str


Token = str | Field


@dataclass(frozen=True)
class LogFormat:
    """A compiled log format: its tokens, regex, field names and escaping."""

    text: str  # as the user gave it, for messages
    tokens: tuple[Token, ...]
    pattern: str
    fast: str  # the same without list alternatives: one-pass, tried first
    groups: tuple[str, ...]  # field name of regex group g0, g1, …
    escape: str

    @property
    def fields(self) -> list[str]:
        """The field names in order (duplicates once)."""
        return list(dict.fromkeys(self.groups))


# ---------------------------------------------------------------------------------------
# nginx log_format text → tokens


def _config_pieces(line: str) -> tuple[str, str]:
    """``log_format name [escape=…] 'a' "b" c;`` → (concatenated format, escape)."""
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            j, buf = i + 1, []
            while j < n and line[j] != c:
                if line[j] == "\\" and j + 1 < n and line[j + 1] in (c, "\\"):
                    buf.append(line[j + 1])
                    j += 2
                    continue
                buf.append(line[j])
                j += 1
            if j >= n:
                raise ParameterError(
                    f"log_format: unbalanced quote {c} opened at character {i + 1}: {line!r}"
                )
            words.append("\0" + "".join(buf))  # \0 marks a quoted word
            i = j + 1
            continue
        if c == ";":
            i += 1
            continue
        j = i
        while j < n and not line[j].isspace() and line[j] not in "'\";":
            j += 1
        words.append(line[i:j])
        i = j
    if len(words) < 2:
        raise ParameterError(f"log_format: expected 'log_format name format …;', got {line!r}")
    rest = words[2:]  # words[0] is log_format, words[1] the name
    escape = "default"
    if rest and rest[0].startswith("escape="):
        escape = rest.pop(0).split("=", 1)[1]
        if escape not in ESCAPES:
            raise ParameterError(
                f"log_format: unknown escape={escape!r}; nginx knows escape=default|json|none"
            )
    return "".join(w.removeprefix("\0") for w in rest), escape


def parse_nginx_format(log_format: str) -> tuple[str, str, list[Token]]:
    """A ``log_format`` (the format string, or the whole config line) → (text, escape, tokens).

    Examples
    --------
    >>> parse_nginx_format("log_format m escape=json '$status ' '${msec}';")[1:]
    ('json', ['', Field(name='status'), ' ', Field(name='msec'), ''])
    """
    if not isinstance(log_format, str):
        raise ParameterError(f"log_format must be a string, not {type(log_format).__name__}")
    text = log_format.strip()
    escape = "default"
    if re.match(r"log_format\s", text):
        fmt, escape = _config_pieces(text)
    else:
        fmt = text
    tokens: list[Token] = []
    pos = 0
    for m in _VAR.finditer(fmt):
        tokens.append(fmt[pos : m.start()])
        tokens.append(Field(m.group(1) or m.group(2)))
        pos = m.end()
    tokens.append(fmt[pos:])
    fields = [t for t in tokens if isinstance(t, Field)]
    if not fields:
        raise ParameterError(f"log_format {text!r} has no $variable: nothing to read")
    stray = "".join(t for t in tokens if isinstance(t, str))
    if "${" in stray:
        raise ParameterError(f"log_format {text!r}: unclosed '${{' in a variable name")
    return text, escape, tokens


# ---------------------------------------------------------------------------------------
# tokens → one regex


def _field_pattern(next_literal: str, quoted: bool) -> str:
    if not next_literal:
        return ".*?" if quoted else ".*"
    c = next_literal[0]
    if c == '"':
        return r'(?:[^"\\]|\\.)*'  # \" and \x22 inside a quoted field
    return "[^" + re.escape(c) + "]*" if c not in "]\\^-" else "[^\\" + c + "]*"


LISTS = {
    "upstream_addr",
    "upstream_status",
    "upstream_response_time",
    "upstream_connect_time",
    "upstream_header_time",
    "upstream_response_length",
    "upstream_bytes_received",
    "upstream_bytes_sent",
    "upstream_cache_status",
}
"""Variables nginx writes as lists (``"a, b : c"``) — unquoted, they hold spaces."""


def _body(field: Field, nxt: Token, lists: bool = True) -> str:
    if isinstance(nxt, Field):  # two fields side by side: no literal to stop at
        return "[^ ]*?"
    body = _field_pattern(nxt, quoted=False)
    if field.name in LISTS and nxt and nxt[0] in " ,:":
        elem = body[:-2] + ",]*" if body.startswith("[^") else body
        return f"{elem}(?:(?:, | : ){elem})*" if lists else elem
    return body


def compile_format(text: str, escape: str, tokens: list[Token]) -> LogFormat:
    """Tokens → a :class:`LogFormat` with one anchored regex (groups ``g0``, ``g1`` …).

    Examples
    --------
    >>> f = compile_format(*parse_nginx_format('$remote_addr [$time_local] "$request"'))
    >>> import re
    >>> line = '::1 [03/Dec/2026:13:47:26 +0000] "GET /a HTTP/1.1"'
    >>> re.match(f.pattern, line).groups()
    ('::1', '03/Dec/2026:13:47:26 +0000', 'GET /a HTTP/1.1')
    """
    # merge adjacent literals
    merged: list[Token] = []
    for t in tokens:
        if isinstance(t, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + t
        elif t != "":
            merged.append(t)
    patterns = []
    for lists in (True, False):
        parts = ["^"]
        groups: list[str] = []
        for i, t in enumerate(merged):
            if isinstance(t, str):
                parts.append(re.escape(t))
                continue
            nxt = merged[i + 1] if i + 1 < len(merged) else ""
            parts.append(f"(?P<g{len(groups)}>{_body(t, nxt, lists)})")
            groups.append(t.name)
        parts.append("$")
        patterns.append("".join(parts))
    return LogFormat(text, tuple(merged), patterns[0], patterns[1], tuple(groups), escape)


def explain_mismatch(fmt: LogFormat, line: str) -> str:
    """Why ``line`` does not match: the first token it fails at, and the format."""
    head = line if len(line) <= 160 else line[:157] + "..."
    if not line.strip():
        return f"empty line where the log_format expects {fmt.text!r}"
    parts = ["^"]
    gi = 0
    last_ok = "the start of the line"
    for i, t in enumerate(fmt.tokens):
        if isinstance(t, str):
            piece = re.escape(t)
            what = f"the text {t!r}"
        else:
            nxt = fmt.tokens[i + 1] if i + 1 < len(fmt.tokens) else ""
            body = _body(t, nxt)
            piece = f"(?P<g{gi}>{body})"
            gi += 1
            what = f"${t.name}"
        if not re.match("".join([*parts, piece]), line):
            return f"expected {what} after {last_ok} (log_format {fmt.text!r}); line: {head!r}"
        parts.append(piece)
        last_ok = what
    return f"unexpected text after {last_ok} at the end (log_format {fmt.text!r}); line: {head!r}"


# ---------------------------------------------------------------------------------------
# text columns → REQUESTS columns

_ESC = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|.)", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


def _decode_one(value: str) -> str:
    """Undo nginx/Apache escaping: ``\\xXX`` (bytes, UTF-8 joined), ``\\uXXXX``, ``\\"``…"""
    out = bytearray()
    pos = 0
    for m in _ESC.finditer(value):
        out += value[pos : m.start()].encode()
        e = m.group(1)
        if e[0] == "x" and len(e) == 3:
            out.append(int(e[1:], 16))
        elif e[0] == "u" and len(e) == 5:
            out += chr(int(e[1:], 16)).encode("utf-8", "surrogatepass")
        else:
            out += _SIMPLE.get(e, e).encode()
        pos = m.end()
    out += value[pos:].encode()
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:  # a header sent as Latin-1 (HTTP's historical charset)
        return out.decode("latin-1")


def decode_escapes(s: pl.Series, escape: str) -> pl.Series:
    """Decode escapes in the rows that hold a backslash (the rest untouched)."""
    if escape == "none":
        return s
    has = s.str.contains("\\", literal=True).fill_null(False)
    if not has.any():
        return s
    idx = has.arg_true()
    escaped = s.gather(idx)
    distinct = escaped.unique().to_list()  # user agents repeat: decode each once
    fixed = escaped.replace_strict(distinct, [_decode_one(v) for v in distinct])
    return s.scatter(idx, fixed)


def _nulled(e: pl.Expr) -> pl.Expr:
    return pl.when(e == "-").then(None).otherwise(e)


def seconds_list_ms(s: pl.Series) -> pl.Series:
    """``"0.004, 0.006 : 0.002"`` → 12.0 (ms); ``-`` parts ignored, all ``-`` → null.

    Plain numbers are cast over the whole column; only the rows holding a list are
    split.
    """
    out = s.cast(pl.Float64, strict=False) * 1000.0
    listed = s.str.contains("[,:]").fill_null(False)
    if listed.any():
        idx = listed.arg_true()
        parts = (
            s.gather(idx)
            .str.replace_all(":", ",", literal=True)
            .str.split(",")
            .list.eval(pl.element().str.strip_chars().cast(pl.Float64, strict=False) * 1000.0)
            .list.drop_nulls()
        )
        sums = pl.select(
            pl.when(parts.list.len() > 0).then(parts.list.sum()).otherwise(None)
        ).to_series()
        out = out.scatter(idx, sums)
    return out.round(6)


NUMERIC_INT = {
    "status",
    "body_bytes_sent",
    "bytes_sent",
    "request_length",
    "connection",
    "connection_requests",
    "content_length",
    "upstream_bytes_received",
    "upstream_bytes_sent",
    "pid",
    "request_time_us",
    "request_time_s",
    "request_time_ms",
}
NUMERIC_FLOAT = {"request_time", "gzip_ratio", "msec", "upstream_response_length"}
SECONDS_LISTS = {
    "upstream_response_time": "upstream_ms",
    "upstream_connect_time": "upstream_connect_ms",
    "upstream_header_time": "upstream_header_ms",
}
_STRING_MAP = {
    "upstream_cache_status": "cache_status",
    "sent_http_content_encoding": "content_encoding",
    "remote_addr": "client",
    "http_user_agent": "user_agent",
    "http_referer": "referer",
}
_REQUEST = r"^(?P<method>[A-Za-z][A-Za-z0-9_-]*) (?P<uri>.+?)(?: (?P<protocol>[A-Za-z]+/[0-9.]+))?$"


def numeric_problem(raw: pl.DataFrame) -> tuple[pl.Series, Callable[[int], str]] | None:
    """A mask of rows whose numeric fields are not numbers (``-`` allowed), and why."""
    checks = [c for c in raw.columns if c in NUMERIC_INT | NUMERIC_FLOAT]
    if not checks:
        return None
    bad_cols = {
        c: (raw[c] != "-") & raw[c].cast(pl.Float64, strict=False).is_null() & raw[c].is_not_null()
        for c in checks
    }
    mask = pl.select(pl.any_horizontal(list(bad_cols.values()))).to_series()
    if not mask.any():
        return None

    def why(i: int) -> str:
        c = next(c for c, m in bad_cols.items() if m[i])
        return f"expected a number for ${c}, found {raw[c][i]!r}"

    return mask, why


def split_request(request: pl.Series) -> pl.DataFrame:
    """``"GET /a?b HTTP/1.1"`` → method, uri, protocol; a malformed line → nulls.

    The common shape is split with ``splitn``; only the other rows (a space in the
    URI, no protocol: HTTP/0.9) go through a regex.
    """
    parts = request.str.splitn(" ", 3).struct.unnest()
    parts.columns = ["method", "uri", "protocol"][: parts.width]
    proto = parts["protocol"]
    ok = proto.str.starts_with("HTTP/") & ~proto.str.contains(" ", literal=True)
    odd = (~ok.fill_null(False)) & request.is_not_null()
    if odd.any():
        idx = odd.arg_true()
        slow = request.gather(idx).str.extract_groups(_REQUEST).struct.unnest()
        parts = parts.with_columns(
            parts[c].scatter(idx, slow[c]) for c in ("method", "uri", "protocol")
        )
    return parts


def to_requests(
    raw: pl.DataFrame, escape: str, ready: frozenset[str] = frozenset()
) -> pl.DataFrame:
    """Text columns named by variable (one per field) → REQUESTS columns plus extras.

    ``-`` is null everywhere; escapes are decoded in string fields; numbers, times and
    durations are converted over whole columns. The result is not yet validated.
    Columns in ``ready`` were already nulled, decoded and typed by the scanner: numbers,
    ``$time_local`` as UTC times, ``$upstream_*_time`` lists summed in ms, and
    ``request`` as a struct of method, path, query and protocol.
    """
    names = raw.columns
    raw = raw.with_columns(_nulled(pl.col(c)).alias(c) for c in names if c not in ready)
    strings = [
        c
        for c in names
        if c not in NUMERIC_INT | NUMERIC_FLOAT | set(SECONDS_LISTS) | _TIMES | ready
    ]
    if escape != "none" and strings:
        raw = raw.with_columns(decode_escapes(raw[c], escape) for c in strings)
    out: dict[str, pl.Expr] = {}
    extras: dict[str, pl.Expr] = {}
    col = pl.col
    # time
    if "time_local" in names and raw.schema["time_local"] != pl.String:
        out["time"] = col("time_local")
    elif "time_local" in names:
        out["time"] = col("time_local").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False)
    elif "time_iso8601" in names:
        out["time"] = col("time_iso8601").str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False)
    elif "msec" in names:
        us = (col("msec").cast(pl.Float64, strict=False) * 1000.0).round() * 1000.0
        out["time"] = us.cast(pl.Int64).cast(UTC_DATETIME)
    for t in ("time_local", "time_iso8601", "msec"):
        if t in names and "time" in out and t != _time_source(names):
            extras[t] = col(t) if t != "msec" else col(t).cast(pl.Float64, strict=False)
    # request line, method, uri
    if "request" in names and isinstance(raw.schema["request"], pl.Struct):
        raw = raw.with_columns(
            col("request").struct.field(f).alias(f"_{f}")
            for f in ("method", "path", "query", "protocol")
        )
        out["method"] = col("_method")
        out["path"], out["query"] = col("_path"), col("_query")
        extras["protocol"] = col("_protocol")
    elif "request" in names:
        req = split_request(raw["request"])
        raw = raw.with_columns(
            req["method"].alias("_method"),
            req["uri"].alias("_uri"),
            req["protocol"].alias("_proto"),
        )
        out["method"] = col("_method")
        out["path"], out["query"] = split_uri(col("_uri"))
        extras["protocol"] = col("_proto")
    if "request_method" in names:
        out["method"] = col("request_method")
    if "request_uri" in names:
        out["path"], out["query"] = split_uri(col("request_uri"))
    elif "uri" in names and "path" not in out:
        out["path"] = col("uri")
    if "args" in names and "query" not in out:
        out["query"] = col("args")
    elif "query_string" in names and "query" not in out:
        out["query"] = col("query_string")
    if "server_protocol" in names and "protocol" not in extras:
        extras["protocol"] = col("server_protocol")
    # numbers
    if "status" in names:
        out["status"] = col("status").cast(pl.Int64, strict=False)
    if "body_bytes_sent" in names:
        out["bytes"] = col("body_bytes_sent").cast(pl.Int64, strict=False)
    if "request_time" in names:
        out["duration_ms"] = (col("request_time").cast(pl.Float64, strict=False) * 1000).round(6)
    elif "request_time_us" in names:
        out["duration_ms"] = col("request_time_us").cast(pl.Float64, strict=False) / 1000.0
    elif "request_time_ms" in names:
        out["duration_ms"] = col("request_time_ms").cast(pl.Float64, strict=False)
    elif "request_time_s" in names:
        out["duration_ms"] = col("request_time_s").cast(pl.Float64, strict=False) * 1000.0
    for var, name in SECONDS_LISTS.items():
        if var in names:
            ms = raw[var].round(6) if var in ready else seconds_list_ms(raw[var])
            raw = raw.with_columns(ms.alias(f"_{var}"))
            (out if name == "upstream_ms" else extras)[name] = col(f"_{var}")
    # strings
    for var, name in _STRING_MAP.items():
        if var in names:
            out[name] = col(var)
    if "sent_http_content_type" in names:
        out["content_type"] = (
            col("sent_http_content_type").str.split(";").list.first().str.strip_chars_end()
        )
    host_src = next((h for h in ("host", "http_host", "server_name") if h in names), None)
    if host_src is not None:
        out["host"] = col(host_src)
    used = (
        {"request", "request_method", "request_uri", "status", "body_bytes_sent"}
        | {"request_time", "request_time_us", "request_time_ms", "request_time_s"}
        | set(SECONDS_LISTS)
        | set(_STRING_MAP)
        | {"sent_http_content_type", "time_local", "time_iso8601", "msec"}
    )
    if host_src is not None:
        used.add(host_src)
    if "path" in out and "uri" in names and "request_uri" not in names and "request" not in names:
        used.add("uri")
    if "query" in out and "request" not in names and "request_uri" not in names:
        used |= {"args", "query_string"}
    if "server_protocol" in names and "request" not in names:
        used.add("server_protocol")
    for c in names:
        if c in used or c in extras or c in out or c.startswith("_"):
            continue
        if c in NUMERIC_INT:
            extras[c] = col(c).cast(pl.Int64, strict=False)
        elif c in NUMERIC_FLOAT:
            extras[c] = col(c).cast(pl.Float64, strict=False)
        else:
            extras[c] = col(c)
    frame = raw.select(
        *(e.alias(k) for k, e in out.items()),
        *(e.alias(k) for k, e in extras.items() if k not in out),
    )
    if "time" in frame.columns and frame.schema["time"] != UTC_DATETIME:
        frame = frame.with_columns(pl.col("time").dt.convert_time_zone("UTC"))
    return frame


_TIMES = {"time_local", "time_iso8601", "msec"}


def _time_source(names: list[str]) -> str:
    return next(t for t in ("time_local", "time_iso8601", "msec") if t in names)
