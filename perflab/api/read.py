"""Read access logs into the canonical :data:`~perflab.api.schema.REQUESTS` frame.

===========================  ============================================================
reader                       reads
===========================  ============================================================
:func:`read_nginx_log`       nginx access logs, from your own ``log_format`` (the format
                             string or the whole config line, ``escape=`` included)
:func:`read_apache_log`      Apache ``common`` / ``combined`` / ``vhost_combined`` or any
                             ``LogFormat`` string (``%D`` µs, ``%T`` s, ``%{ms}T`` …)
:func:`read_json_log`        JSON-lines access logs: nginx ``escape=json`` formats, Caddy,
                             Envoy, pino-http and the like
===========================  ============================================================

Every reader takes plain or gzip files (recognised by their bytes), reads them in
blocks (memory bounded by the block and the frame returned), and reports a line it
cannot read with an :class:`~perflab.errors.InputError` naming the file, the line and
what was expected (``errors="skip"`` keeps going and warns once with the count). An
empty file gives ``REQUESTS.empty()``. A last line without its newline is read when
whole; when cut short it is a bad line like any other.

Text logs are parsed by one regex per format, applied to a whole block at once with
polars (:mod:`perflab.api._nginx`); fields are converted over whole columns. Big
blocks are first read by a compiled scanner that follows the same format (in worker
threads when polars may use several); the lines it cannot vouch for go through the
regex, a few blocks' worth at a time, and take their place again by line number.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from perflab.api import _scan
from perflab.api._apache import APACHE_FORMATS, parse_apache_format
from perflab.api._nginx import (
    LogFormat,
    compile_format,
    explain_mismatch,
    numeric_problem,
    parse_nginx_format,
    seconds_list_ms,
    to_requests,
)
from perflab.api._scan import Scanned, Scanner, scan_block, scanner
from perflab.api.schema import REQUESTS
from perflab.errors import ErrorMode, ParameterError
from perflab.frames import UTC_DATETIME
from perflab.sources import (
    PathLike,
    Source,
    Where,
    as_lines,
    drop_bad,
    leading_boms,
    read_blocks,
    read_lines,
)
from perflab.urls import split_uri

__all__ = ["COMBINED", "MAIN", "read_apache_log", "read_json_log", "read_nginx_log"]

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
"""nginx's predefined ``combined`` format."""

MAIN = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
)
"""The ``main`` format of nginx's default ``nginx.conf``."""


def read_nginx_log(
    path: PathLike, log_format: str = COMBINED, *, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Read an nginx access log written with ``log_format``.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip).
    log_format : str
        The format string (``'$remote_addr … $request_time'``) or the whole config
        line as pasted (``log_format main escape=json '…' '…';``). Default
        :data:`COMBINED`; see also :data:`MAIN`.
    errors : {"raise", "skip"}
        What to do with a line that does not match the format.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.api.schema.REQUESTS`. Variables map to its columns:
        ``$time_local``/``$time_iso8601``/``$msec`` → ``time`` (UTC); ``$request`` →
        ``method``, ``path``, ``query`` and the extra ``protocol``;
        ``$request_method``, ``$request_uri``, ``$uri``, ``$args`` likewise;
        ``$status``; ``$body_bytes_sent`` → ``bytes``; ``$request_time`` (s) →
        ``duration_ms``; ``$upstream_response_time`` → ``upstream_ms``, the sum of its
        list (``"0.004, 0.006 : 0.002"`` → 12.0); ``$upstream_cache_status`` →
        ``cache_status``; ``$sent_http_content_type`` → ``content_type`` (parameters
        dropped); ``$sent_http_content_encoding``; ``$host``/``$http_host`` → ``host``;
        ``$remote_addr`` → ``client``; ``$http_user_agent``; ``$http_referer``. Other
        variables are extra columns of their name: integers for ``$bytes_sent``,
        ``$request_length``, ``$connection``, ``$connection_requests``; floats for
        ``$gzip_ratio``; ``$upstream_connect_time``/``$upstream_header_time`` summed
        like ``$upstream_response_time`` into ``upstream_connect_ms`` /
        ``upstream_header_ms``; text for the rest. ``-`` is null; ``\\xXX`` escapes
        are decoded in text fields (not with ``escape=none``).

    Raises
    ------
    ParameterError
        An invalid ``log_format``: no variable, an unknown ``escape=``, an unbalanced
        quote.
    InputError
        A line that does not match (file, line, what was expected, the format).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "access.log"
    >>> _ = p.write_text('1.2.3.4 [03/Dec/2026:13:47:26 +0000] "GET /a?b=1 HTTP/1.1" 200'
    ...                  ' 0.012 "0.004, 0.006 : 0.002"\\n')
    >>> df = read_nginx_log(p, '$remote_addr [$time_local] "$request" $status '
    ...                        '$request_time "$upstream_response_time"')
    >>> df.select("method", "path", "query", "status", "duration_ms", "upstream_ms").row(0)
    ('GET', '/a', 'b=1', 200, 12.0, 12.0)
    """
    text, escape, tokens = parse_nginx_format(log_format)
    return _read_text(path, compile_format(text, escape, tokens), errors)


def read_apache_log(
    path: PathLike, *, format: str = "combined", errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Read an Apache httpd access log.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip).
    format : str
        ``"common"`` (``%h %l %u %t "%r" %>s %b``), ``"combined"`` (common plus
        ``"%{Referer}i" "%{User-agent}i"``), ``"vhost_combined"``, or any
        ``LogFormat`` string or config line: ``'… %D'`` (µs) or ``'… %T'`` (s),
        ``%{ms}T``/``%{us}T``, ``%B``, ``%I``/``%O`` (``request_length``/
        ``bytes_sent``), ``%v``/``%V`` (``host``), ``%{Header}i`` (``http_header``)
        and ``%{Header}o`` (``sent_http_header``: ``Content-Type`` → ``content_type``).
    errors : {"raise", "skip"}
        What to do with a line that does not match.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.api.schema.REQUESTS` (``%b`` ``-`` → null ``bytes``; ``%l``
        and ``%u`` are the extra columns ``remote_ident`` and ``remote_user``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "access.log"
    >>> _ = p.write_text('::1 - - [03/Dec/2026:13:47:26 +0000] "HEAD / HTTP/1.1" 304 -\\n')
    >>> read_apache_log(p, format="common").select("method", "status", "bytes").row(0)
    ('HEAD', 304, None)
    """
    if not isinstance(format, str):
        raise ParameterError(f"format must be a string: one of {sorted(APACHE_FORMATS)}")
    text, tokens = parse_apache_format(format)
    return _read_text(path, compile_format(text, "default", tokens), errors)


_BLOCK = 16 << 20  # bytes read at a time


def _read_text(path: PathLike, fmt: LogFormat, errors: ErrorMode) -> pl.DataFrame:
    src = Source(path, errors)
    program = scanner(fmt)
    frames: list[pl.DataFrame] = []
    pending = _Pending()
    first = 1
    for body, last, scanned in _scanned(src, program):
        if scanned is None:  # the regex alone
            frames += pending.flush(src, fmt)
            lines = as_lines(src, bytes(body), first)
            numbers = pl.int_range(first, first + lines.len(), eager=True)
            frames.append(_regex_block(src, fmt, lines, numbers, cut=last)[0])
            first += lines.len()
            continue
        pending.add(scanned, first, fmt.escape)
        first += scanned.lines
        if pending.full():
            frames += pending.flush(src, fmt)
    frames += pending.flush(src, fmt)
    frames = [f for f in frames if f.height] or frames[:1]
    if not frames:
        src.bad.finish()
        return REQUESTS.empty()
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    frame = REQUESTS.conform(frame)
    frame = frame.select(*REQUESTS.names, *(c for c in frame.columns if c not in REQUESTS.columns))
    return src.finish(frame, "no line matched the format", what="requests")


def _scanned(
    src: Source, program: Scanner | None
) -> Iterator[tuple[memoryview, bool, Scanned | None]]:
    """The blocks of ``src``, each with the scanner's reading (None: the regex's turn).

    Blocks are scanned in worker threads (the kernels release the GIL) when polars may
    use more than one; results come back in order.
    """

    def scan(body: memoryview, last: bool, start: bool) -> Scanned | None:
        if program is None or last or len(body) < _scan.FAST_MIN_BYTES:
            return None
        return scan_block(program, body[leading_boms(body, start) :])

    blocks = read_blocks(src, _BLOCK)
    workers = pl.thread_pool_size() if program is not None else 1
    if workers < 2:
        for i, (body, last) in enumerate(blocks):
            yield body, last, scan(body, last, i == 0)
        return
    with ThreadPoolExecutor(workers) as pool:
        queue: deque[tuple[memoryview, bool, Future[Scanned | None]]] = deque()
        for i, (body, last) in enumerate(blocks):
            queue.append((body, last, pool.submit(scan, body, last, i == 0)))
            if len(queue) > workers:
                body, last, job = queue.popleft()
                yield body, last, job.result()
        for body, last, job in queue:
            yield body, last, job.result()


class _Pending:
    """Scanned blocks whose slow lines still wait for the regex path.

    The slow lines of a few blocks are read together (the regex path has a fixed cost
    per call), then put back among the scanner's rows in line order.
    """

    BLOCKS = 4
    LINES = 50_000

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []
        self.numbers: list[np.ndarray] = []  # line numbers of the frames' rows
        self.slow: list[pl.Series] = []
        self.slow_numbers: list[np.ndarray] = []
        self.blocks: list[int] = []  # the first line of each block with slow lines
        self.waiting = 0

    def add(self, scanned: Scanned, first: int, escape: str) -> None:
        self.frames.append(to_requests(scanned.raw, escape, scanned.ready))
        self.numbers.append(scanned.fast + first)
        if scanned.slow.size:
            self.slow.append(scanned.slow_lines)
            self.slow_numbers.append(scanned.slow + first)
            self.blocks.append(first)
            self.waiting += scanned.slow.size

    def full(self) -> bool:
        return len(self.frames) >= self.BLOCKS or self.waiting >= self.LINES

    def flush(self, src: Source, fmt: LogFormat) -> list[pl.DataFrame]:
        """The frames of the blocks so far, slow lines read and merged in."""
        frames, self.frames = self.frames, []
        numbers, self.numbers = self.numbers, []
        slow, self.slow = self.slow, []
        slow_numbers, self.slow_numbers = self.slow_numbers, []
        blocks, self.blocks = self.blocks, []
        self.waiting = 0
        if not slow:
            return frames
        lines, where = pl.concat(slow), pl.Series(np.concatenate(slow_numbers))
        late, kept = _regex_block(src, fmt, lines, where, cut=False, blocks=blocks)
        if not late.height:
            return frames
        order = np.argsort(np.concatenate([*numbers, kept.to_numpy()]), kind="stable")
        both = pl.concat([*frames, late], how="diagonal_relaxed", rechunk=True)
        return [both[order]]  # (a gather over one chunk: several times faster)


def _regex_block(
    src: Source,
    fmt: LogFormat,
    lines: pl.Series,
    numbers: pl.Series,
    *,
    cut: bool,
    blocks: list[int] | None = None,
) -> tuple[pl.DataFrame, pl.Series]:
    """Lines (with their line numbers) → REQUESTS rows by the format's regex.

    Returns the frame and the line number of each of its rows. ``cut``: the last line
    had no newline. ``blocks``: the first line of each block the lines come from (the
    slow lines of several scanned blocks, read at once): bad lines are reported block
    by block — in a block, lines that do not match before bad numbers — as when each
    block is read alone.
    """
    blank = lines.str.strip_chars().str.len_bytes() == 0
    numbers = numbers.filter(~blank)  # row → its line in the file
    lines = lines.filter(~blank)
    raw = lines.str.extract_groups(fmt.fast).struct.unnest()
    no_match = raw.get_column("g0").is_null()
    if fmt.fast != fmt.pattern:  # lists ("a, b : c"): the full pattern, where needed
        no_match = no_match | lines.str.contains(" : ", literal=True)
        if no_match.any():
            idx = no_match.arg_true()
            again = lines.gather(idx).str.extract_groups(fmt.pattern).struct.unnest()
            raw = raw.with_columns(raw[c].scatter(idx, again[c]) for c in raw.columns)
            no_match = raw.get_column("g0").is_null()
    # one column per variable (a repeated variable keeps its first field)
    seen: dict[str, str] = {}
    for g, name in zip(raw.columns, fmt.groups, strict=True):
        seen.setdefault(name, g)
    raw = raw.select(pl.col(g).alias(name) for name, g in seen.items())
    problem = numeric_problem(raw)  # (a line that does not match has no numbers)
    bad = no_match if problem is None else no_match | problem[0].fill_null(False)
    if bad.any():
        where = _line_of(numbers)
        edges = [*(blocks or [0]), numbers.max() + 1]  # type: ignore[operator]
        for lo, hi in itertools.pairwise(edges):
            block = (numbers >= lo) & (numbers < hi)
            checks = [(no_match, _mismatch_reason(fmt, lines, cut=cut))]
            if problem is not None:
                checks.append((problem[0].fill_null(False), problem[1]))
            for mask, why in checks:
                if (mask & block).any():  # reports them (the rows are dropped below)
                    drop_bad(raw, mask & block, src.bad, where, why)
        raw = raw.filter(~bad)
        numbers = numbers.filter(~bad)
    return to_requests(raw, fmt.escape), numbers


def _line_of(numbers: pl.Series) -> Where:
    def where(i: int) -> int:
        return int(numbers[i])

    return where


def _mismatch_reason(fmt: LogFormat, lines: pl.Series, *, cut: bool) -> Callable[[int], str]:
    """Why row ``i`` does not match; ``cut``: the block's last line had no newline."""

    def why(i: int) -> str:
        reason = explain_mismatch(fmt, lines[i])
        if cut and i == lines.len() - 1:
            reason = "last line cut short (no newline at its end): " + reason
        return reason

    return why


# ---------------------------------------------------------------------------------------
# JSON lines

_KEYS: dict[str, tuple[str, ...]] = {
    "time": (
        "time",
        "timestamp",
        "ts",
        "@timestamp",
        "time_iso8601",
        "time_local",
        "msec",
        "start_time",
        "datetime",
        "date",
    ),
    "method": (
        "method",
        "request_method",
        "request.method",
        "req.method",
        "http.method",
        "http.request.method",
    ),
    "uri": (
        "path",
        "uri",
        "url",
        "request_uri",
        "request.uri",
        "req.url",
        "http.url",
        "url.original",
        "request",
    ),
    "query": ("query", "args", "query_string"),
    "status": (
        "status",
        "status_code",
        "statuscode",
        "res.statuscode",
        "response_code",
        "http.status_code",
        "http.response.status_code",
    ),
    "bytes": ("body_bytes_sent", "bytes", "size", "response_size", "bytes_sent", "res.size"),
    "duration_s": ("request_time", "duration_s", "latency_s"),
    "duration_ms": (
        "duration_ms",
        "response_time",
        "responsetime",
        "latency_ms",
        "elapsed_ms",
        "time_ms",
        "duration",
        "latency",
        "elapsed",
    ),
    "upstream_s": ("upstream_response_time",),
    "upstream_ms": ("upstream_ms", "upstream_service_time", "upstream_time_ms"),
    "cache_status": ("upstream_cache_status", "cache_status", "cache"),
    "content_type": (
        "sent_http_content_type",
        "content_type",
        "resp_headers.content_type",
        "res.headers.content_type",
        "response.headers.content_type",
    ),
    "content_encoding": (
        "sent_http_content_encoding",
        "content_encoding",
        "resp_headers.content_encoding",
        "res.headers.content_encoding",
    ),
    "host": (
        "host",
        "http_host",
        "request.host",
        "authority",
        "req.headers.host",
        "request.headers.host",
    ),
    "client": (
        "remote_addr",
        "client",
        "client_ip",
        "remote_ip",
        "request.client_ip",
        "request.remote_ip",
        "req.remoteaddress",
        "ip",
        "downstream_remote_address",
        "remoteaddress",
        "remote_address",
    ),
    "user_agent": (
        "http_user_agent",
        "user_agent",
        "useragent",
        "request.headers.user_agent",
        "req.headers.user_agent",
        "agent",
    ),
    "referer": (
        "http_referer",
        "referer",
        "referrer",
        "request.headers.referer",
        "req.headers.referer",
    ),
}


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9.@]", "", key.lower())


_NORM_KEYS = {k: tuple(_norm(c) for c in v) for k, v in _KEYS.items()}
_UNIT = re.compile(r"^\s*([0-9.eE+-]+)\s*(ns|us|µs|ms|s|m|h)?\s*$")
_UNIT_MS = {
    "ns": 1e-6,
    "us": 1e-3,
    "µs": 1e-3,
    "ms": 1.0,
    "s": 1000.0,
    "m": 60000.0,
    "h": 3_600_000.0,
}


def read_json_log(
    path: PathLike,
    *,
    fields: Mapping[str, str] | None = None,
    errors: ErrorMode = "raise",
) -> pl.DataFrame:
    """Read a JSON-lines access log (one JSON object per line).

    Keys are matched whatever their case and separators (``User-Agent``,
    ``user_agent`` and ``userAgent`` are one key); nested objects are reached with
    dots (Caddy's ``request.method``, pino-http's ``req.url``). The first present of:

    ==================  ========================================================================
    column              keys (units)
    ==================  ========================================================================
    time                ``time``, ``timestamp``, ``ts``, ``@timestamp``, ``time_iso8601``,
                        ``time_local``, ``msec``, ``start_time`` — ISO 8601 text, nginx
                        ``time_local`` text, or epoch numbers (s; ms, µs, ns by magnitude)
    method              ``method``, ``request_method``, ``request.method``, ``req.method``
    path, query         ``path``, ``uri``, ``url``, ``request_uri``, ``request.uri``,
                        ``req.url`` (a full URL keeps its path), or an nginx ``request`` line;
                        ``query``/``args`` when the path has none
    status              ``status``, ``status_code``, ``res.statusCode``, ``response_code``
    bytes               ``body_bytes_sent``, ``bytes``, ``size``, ``response_size``,
                        ``bytes_sent``
    duration_ms         ``request_time`` (**seconds**, nginx), Caddy's ``duration``
                        (**seconds**, when the line has a ``request`` object); else
                        ``duration_ms``, ``response_time``/``responseTime`` (pino-http),
                        ``latency_ms``, ``duration``, ``latency`` (**ms**, Envoy's
                        ``%DURATION%``); text with a unit (``"12ms"``, ``"1.2s"``) is converted
    upstream_ms         ``upstream_response_time`` (s, list summed), ``upstream_service_time``
                        (ms)
    cache_status …      ``upstream_cache_status``/``cache_status``; ``content_type`` and
                        ``content_encoding`` also from Caddy's ``resp_headers``; ``host``;
                        ``client`` (``remote_addr``, ``client_ip``, ``remote_ip``);
                        ``user_agent`` and ``referer`` also from request headers
    ==================  ========================================================================

    Other keys are kept as text extra columns named by their (dotted) key. ``"-"`` and
    ``""`` are null.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip).
    fields : mapping of str to str, optional
        REQUESTS column → the key that holds it, overriding the guesses. Its value is
        in the column's unit: ``{"duration_ms": "resp_ms"}`` (ms), ``{"bytes":
        "len"}``. ``"path"`` takes a path or URI (a query string is split off).
    errors : {"raise", "skip"}
        What to do with a line that is not a JSON object.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "caddy.log"
    >>> _ = p.write_text('{"ts":1764769646.5,"request":{"method":"GET","uri":"/x?y=1",'
    ...                  '"host":"h"},"duration":0.0125,"size":10,"status":200}\\n')
    >>> read_json_log(p).select("method", "path", "query", "status", "duration_ms").row(0)
    ('GET', '/x', 'y=1', 200, 12.5)
    """
    fields = dict(fields or {})
    unknown = [k for k in fields if k not in REQUESTS.columns]
    if unknown:
        raise ParameterError(f"fields: {unknown} are not REQUESTS columns ({REQUESTS.names})")
    src = Source(path, errors)
    frames: list[pl.DataFrame] = []
    for first, lines, _last in read_lines(src, 8 << 20):
        raw, where = _json_block(src, lines, first)
        if raw.height:
            frames.append(_json_to_requests(raw, fields, where, src))
    frames = [f for f in frames if f.height] or frames[:1]
    if not frames:
        src.bad.finish()
        return REQUESTS.empty()
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    frame = REQUESTS.conform(frame)
    frame = frame.select(*REQUESTS.names, *(c for c in frame.columns if c not in REQUESTS.columns))
    return src.finish(frame, "no JSON object in the file", what="requests")


def _flatten(df: pl.DataFrame) -> pl.DataFrame:
    """Struct columns → dotted columns; lists → their items joined with ", "; all text."""
    while any(isinstance(t, pl.Struct) for t in df.schema.values()):
        cols = []
        for c, t in df.schema.items():
            if isinstance(t, pl.Struct):
                cols += [pl.col(c).struct.field(f.name).alias(f"{c}.{f.name}") for f in t.fields]
            else:
                cols.append(pl.col(c))
        df = df.select(cols)
    out = []
    for c, t in df.schema.items():
        if isinstance(t, pl.List | pl.Array):
            out.append(pl.col(c).cast(pl.List(pl.String), strict=False).list.join(", ").alias(c))
        elif t == pl.String:
            out.append(pl.col(c))
        else:
            out.append(pl.col(c).cast(pl.String, strict=False))
    df = df.select(out)
    return df.with_columns(
        pl.when(pl.col(c).is_in(["-", ""])).then(None).otherwise(pl.col(c)).alias(c)
        for c in df.columns
    )


def _json_block(src: Source, lines: pl.Series, first: int) -> tuple[pl.DataFrame, Any]:
    """A block of lines → (flattened text frame, row → line)."""
    nonblank = lines.str.strip_chars().str.len_bytes() > 0
    idx = nonblank.arg_true()
    body = lines.gather(idx)
    if body.len() == 0:
        return pl.DataFrame(), None
    try:
        raw = pl.read_ndjson(
            io.BytesIO("\n".join(body.to_list()).encode()), infer_schema_length=None
        )
        return _flatten(raw), (lambda i: first + int(idx[i]))
    except (pl.exceptions.PolarsError, pl.exceptions.ComputeError, ValueError):
        pass
    # slow path: find the lines that are not JSON objects; read the rest value by value
    rows: list[dict[str, Any]] = []
    kept: list[int] = []
    for k, ln in zip(idx.to_list(), body.to_list(), strict=True):
        try:
            obj = json.loads(ln)
            ok = isinstance(obj, dict)
            reason = "not a JSON object"
        except ValueError as err:
            ok, reason = False, f"not valid JSON: {err}"
        if not ok:
            src.bad.add(first + k, reason)
            continue
        rows.append(_flat_dict(obj))
        kept.append(first + k)
    if not rows:
        return pl.DataFrame(), None
    keys = list(dict.fromkeys(k for r in rows for k in r))
    raw = pl.DataFrame(
        {k: [r.get(k) for r in rows] for k in keys}, schema=dict.fromkeys(keys, pl.String)
    )
    return _flatten(raw), (lambda i: kept[i])


def _flat_dict(obj: Mapping[str, Any], prefix: str = "") -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat_dict(v, key + "."))
        elif isinstance(v, list):
            out[key] = ", ".join(str(x) for x in v)
        elif v is None:
            out[key] = None
        elif isinstance(v, bool):
            out[key] = str(v).lower()
        else:
            out[key] = str(v)
    return out


def _to_ms(e: pl.Expr, scale: float) -> pl.Expr:
    """Numbers (scaled to ms) or text with a unit (``"12ms"``, ``"1.5s"``) → ms."""
    num = e.cast(pl.Float64, strict=False) * scale
    parts = e.str.extract_groups(_UNIT.pattern)
    unit = parts.struct.field("2")
    factor = unit.replace_strict(_UNIT_MS, default=None, return_dtype=pl.Float64)
    with_unit = parts.struct.field("1").cast(pl.Float64, strict=False) * factor
    return pl.coalesce(num, with_unit).round(6)


def _json_time(e: pl.Expr) -> pl.Expr:
    num = e.cast(pl.Float64, strict=False)
    us = (
        pl.when(num > 1e17)
        .then(num / 1000.0)
        .when(num > 1e14)
        .then(num)
        .when(num > 1e11)
        .then(num * 1000.0)
        .otherwise(num * 1e6)
    )
    from_num = us.round().cast(pl.Int64).cast(UTC_DATETIME)
    iso = e.str.replace(r"Z$", "+00:00").str.replace(" ", "T", literal=True)
    from_iso = pl.coalesce(
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC"),
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False).dt.replace_time_zone("UTC"),
        e.str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False, time_zone="UTC"),
    )
    return pl.when(num.is_not_null()).then(from_num).otherwise(from_iso)


def _json_to_requests(
    raw: pl.DataFrame, fields: Mapping[str, str], where: Any, src: Source
) -> pl.DataFrame:
    same: dict[str, list[str]] = {}
    for name in raw.columns:
        same.setdefault(_norm(name), []).append(name)
    for names in same.values():  # "User-Agent" on one line, "user_agent" on another
        if len(names) > 1:
            raw = raw.with_columns(pl.coalesce(names).alias(names[0])).drop(names[1:])
    by_norm = {k: v[0] for k, v in same.items()}
    caddy = any(name.startswith("request.") for name in raw.columns)

    def find(kind: str) -> str | None:
        for cand in _NORM_KEYS[kind]:
            if caddy and kind == "duration_ms" and cand == "duration":
                continue
            if cand in by_norm:
                return by_norm[cand]
        return None

    col = pl.col
    out: dict[str, pl.Expr] = {}
    used: set[str] = set()
    c: str | None

    def take(kind: str) -> str | None:
        found = find(kind)
        if found is not None:
            used.add(found)
        return found

    def given(name: str) -> str | None:
        key = fields.get(name)
        if key is None:
            return None
        found = key if key in raw.columns else by_norm.get(_norm(key))
        if found is None:
            raise ParameterError(f"fields: key {key!r} for {name!r} is not in {src.name}")
        used.add(found)
        return found

    if (c := given("time") or take("time")) is not None:
        out["time"] = _json_time(col(c))
    if (c := given("method") or take("method")) is not None:
        out["method"] = col(c)
    uri_key = given("path") or take("uri")
    if uri_key is not None:
        uri = col(uri_key)
        if _norm(uri_key) == "request" and "method" not in out:
            req = uri.str.extract_groups(
                r"^(?P<m>[A-Za-z][A-Za-z0-9_-]*) (?P<u>.+?)(?: [A-Za-z]+/[0-9.]+)?$"
            )
            out["method"] = req.struct.field("m")
            uri = req.struct.field("u")
        uri = uri.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", "")
        out["path"], out["query"] = split_uri(uri)
    if (c := given("query")) is not None:
        out["query"] = col(c)
    elif (c := take("query")) is not None:
        out["query"] = pl.coalesce(out.get("query", pl.lit(None, pl.String)), col(c))
    for name in ("status", "bytes"):
        if (c := given(name) or take(name)) is not None:
            out[name] = col(c).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    if "bytes" in out:
        out["bytes"] = pl.when(out["bytes"] < 0).then(None).otherwise(out["bytes"])
    if (c := given("duration_ms")) is not None:
        out["duration_ms"] = _to_ms(col(c), 1.0)
    elif caddy and "duration" in by_norm:
        used.add(by_norm["duration"])
        out["duration_ms"] = _to_ms(col(by_norm["duration"]), 1000.0)
    elif (c := take("duration_s")) is not None:
        out["duration_ms"] = _to_ms(col(c), 1000.0)
    elif (c := take("duration_ms")) is not None:
        out["duration_ms"] = _to_ms(col(c), 1.0)
    if (c := given("upstream_ms")) is not None:
        out["upstream_ms"] = _to_ms(col(c), 1.0)
    elif (c := take("upstream_s")) is not None:
        raw = raw.with_columns(seconds_list_ms(raw[c]).alias("_upstream"))
        out["upstream_ms"] = col("_upstream")
    elif (c := take("upstream_ms")) is not None:
        out["upstream_ms"] = _to_ms(col(c), 1.0)
    for name in (
        "cache_status",
        "content_type",
        "content_encoding",
        "host",
        "client",
        "user_agent",
        "referer",
    ):
        if (c := given(name) or take(name)) is not None:
            out[name] = col(c)
    if "content_type" in out:
        out["content_type"] = out["content_type"].str.split(";").list.first().str.strip_chars_end()
    extras = [col(c) for c in raw.columns if c not in used and c not in out and c != "_upstream"]
    frame = raw.select(*(e.alias(k) for k, e in out.items()), *extras)
    return frame
