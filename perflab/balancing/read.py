"""Read load-balancer logs into the :data:`~perflab.balancing.schema.TRACE` frame.

=========================  ================================================================
reader                     reads
=========================  ================================================================
:func:`read_nginx`         nginx access logs in your ``log_format`` carrying
                           ``$upstream_addr`` and ``$upstream_response_time`` (parsed by
                           :func:`perflab.api.read_nginx_log`, the API domain's reader)
:func:`read_haproxy`       HAProxy HTTP logs in the default ``option httplog`` format,
                           with or without the syslog header
=========================  ================================================================

nginx: ``$upstream_addr`` lists every upstream tried — ``"a:80, b:80"`` when it retried
on the next server, ``" : "`` between the groups of an internal redirect — so
``backend`` is the last address and ``attempts`` the count; ``service_ms`` is
``$upstream_response_time`` summed over the attempts (what the upstreams spent). The
arrival is the log time minus ``$request_time``: nginx logs when a request ends. Use
``$msec`` in the format for millisecond arrivals (``$time_local`` has whole seconds).

HAProxy (1.9 and later; checked against HAProxy 2.6's own output)::

    %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
    %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r

(one line; split here).

``[%tr]`` (the request's arrival, local time, ms) gives ``time_s``; ``%Tr`` (the
server's response time; ``-1`` when it never answered) gives ``service_ms``; ``%Ta``
``latency_ms``; ``%s`` the ``backend`` (``<NOSRV>`` is null); ``%rc`` the retries
(``+`` when redispatched). Older logs (``Tq/Tw/Tc/Tr/Tt``) have the timers at the same
places and read the same. Extra columns: ``frontend``, ``haproxy_backend``,
``wait_ms`` (``Tw``, queued in HAProxy), ``connect_ms`` (``Tc``), ``termination``
(``%tsc``), ``retries``.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping

import polars as pl

from perflab.balancing.balancer import Backend, as_backends
from perflab.balancing.schema import TRACE
from perflab.errors import BadLines, ErrorMode, InputError, ParameterError
from perflab.frames import FrameLike, Schema, as_frame
from perflab.sources import PathLike, Source, read_lines

__all__ = ["OBSERVED", "observed_load", "read_backends", "read_haproxy", "read_nginx"]

_SPLIT = r", | : "


def _finish(df: pl.DataFrame, names: Mapping[str, str] | None) -> pl.DataFrame:
    """Relative, sorted arrival times; addresses renamed; TRACE's columns first."""
    if names:
        df = df.with_columns(pl.col("backend").replace(dict(names)))
    if df.height:
        df = df.with_columns(pl.col("time_s") - pl.col("time_s").min()).sort(
            "time_s", maintain_order=True
        )
    extra = [c for c in df.columns if c not in TRACE.columns]
    return TRACE.validate(df.select(*TRACE.names, *extra))


def read_nginx(
    path: PathLike,
    log_format: str,
    *,
    names: Mapping[str, str] | None = None,
    service_field: str | None = None,
    errors: ErrorMode = "raise",
) -> pl.DataFrame:
    """Read an nginx access log with upstream fields into a request trace.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip).
    log_format : str
        The ``log_format`` string or the whole config line; it must carry
        ``$upstream_response_time`` or ``$request_time``.
    names : mapping of str to str, optional
        Upstream address → backend name (``{"10.0.0.5:8080": "app-1"}``).
    service_field : str, optional
        A variable of the format holding the backend's own service time in ms (say
        ``upstream_http_x_service_ms``, from a response header): ``service_ms`` then
        comes from it, and ``$upstream_response_time`` (which also counts the time
        queued inside the backend) stays in ``upstream_ms``.
    errors : {"raise", "skip"}
        What to do with a line that does not match the format.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.balancing.schema.TRACE`, sorted by arrival, plus every other
        field of the format as in :func:`perflab.api.read_nginx_log`.

    Raises
    ------
    InputError
        A line that does not match (file and line named).
    ParameterError
        A format with neither ``$upstream_response_time`` nor ``$request_time``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.log").write_text(
    ...     '10.0.0.1 [1700000000.250] 0.012 "10.1.1.1:80, 10.1.1.2:80" "0.001, 0.010"\\n')
    >>> fmt = '$remote_addr [$msec] $request_time "$upstream_addr" "$upstream_response_time"'
    >>> read_nginx(d / "a.log", fmt).select("backend", "attempts", "service_ms").row(0)
    ('10.1.1.2:80', 2, 11.0)
    """
    from perflab.api._nginx import parse_nginx_format
    from perflab.api.read import read_nginx_log

    _, _, tokens = parse_nginx_format(log_format)
    fields = {getattr(t, "name", None) for t in tokens}
    if service_field is not None and service_field.lstrip("$") not in fields:
        raise ParameterError(f"the log format has no ${service_field.lstrip('$')}")
    if not fields & {"upstream_response_time", "request_time"} and service_field is None:
        raise ParameterError(
            "the log format has neither $upstream_response_time nor $request_time: "
            "no service time to replay"
        )
    raw = read_nginx_log(path, log_format, errors=errors)
    col = pl.col
    ms = col("upstream_ms") if "upstream_response_time" in fields else col("duration_ms")
    if service_field is not None:
        ms = col(service_field.lstrip("$")).cast(pl.Float64, strict=False)
    if "upstream_addr" in raw.columns:
        parts = (
            col("upstream_addr").str.split_regex(_SPLIT)
            if hasattr(pl.Expr.str, "split_regex")
            else col("upstream_addr").str.replace_all(_SPLIT, "\x00").str.split("\x00")
        )
        backend, attempts = parts.list.last(), parts.list.len().cast(pl.Int64)
    else:
        backend, attempts = pl.lit(None, pl.String), pl.lit(None, pl.Int64)
    start = (
        col("time").dt.epoch("us").cast(pl.Float64) / 1e6
        - col("duration_ms").fill_null(0.0) / 1000.0
    )
    df = raw.select(
        start.alias("time_s"),
        ms.alias("service_ms"),
        col("client"),
        col("path").alias("key"),
        backend.alias("backend"),
        attempts.alias("attempts"),
        col("status"),
        col("duration_ms").alias("latency_ms"),
        *[c for c in raw.columns if c.startswith("upstream_")],
    )
    return _finish(df.filter(col("time_s").is_not_null()), names)


_HAPROXY = re.compile(
    r"^(?:.*?\S+\[\d+\]:\s+)?"  # syslog header: "… haproxy[123]: "
    r"(?P<client>\S+):(?P<cport>\d+) \[(?P<date>[^\]]+)\] (?P<frontend>\S+) "
    r"(?P<hbackend>[^/\s]+)/(?P<server>\S+) "
    r"(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/\+?(?P<Ta>-?\d+) "
    r"(?P<status>-?\d+) \+?(?P<bytes>\d+) (?P<cc>\S+) (?P<cs>\S+) (?P<term>\S{4}) "
    r"(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/\+?(?P<rc>\d+) "
    r"(?P<sq>\d+)/(?P<bq>\d+)(?: \{[^}]*\})*"
    r' "(?P<request>.*)"$'
)


def read_haproxy(
    path: PathLike, *, names: Mapping[str, str] | None = None, errors: ErrorMode = "raise"
) -> pl.DataFrame:
    """Read an HAProxy HTTP log (``option httplog``) into a request trace.

    Parameters
    ----------
    path : str or PathLike
        The log (plain or gzip), raw (``log stdout format raw``) or with a syslog
        header (``Feb  9 10:00:00 lb haproxy[123]: …``).
    names : mapping of str to str, optional
        Server name → backend name.
    errors : {"raise", "skip"}
        What to do with a line that is not an ``httplog`` line.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.balancing.schema.TRACE` sorted by arrival, plus ``frontend``,
        ``haproxy_backend``, ``wait_ms``, ``connect_ms``, ``termination``, ``retries``.

    Raises
    ------
    InputError
        A line that is not an ``httplog`` line (file and line named).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.log"
    >>> _ = p.write_text('127.0.0.1:5000 [03/Dec/2026:23:08:43.500] fe be/s1 0/0/0/7/7 '
    ...     '200 155 - - ---- 1/1/0/0/0 0/0 "GET /a HTTP/1.1"\\n')
    >>> read_haproxy(p).select("backend", "service_ms", "latency_ms").row(0)
    ('s1', 7.0, 7.0)
    """
    src = Source(path, errors)
    bad = BadLines(src.name if hasattr(src, "name") else str(path), errors)
    parts: list[pl.DataFrame] = []
    pattern = _HAPROXY.pattern
    for first, lines, _last in read_lines(src):
        frame = pl.DataFrame({"line": lines}).with_row_index("n", offset=first)
        frame = frame.filter(pl.col("line").str.strip_chars() != "")
        got = frame.select("n", pl.col("line").str.extract_groups(pattern).alias("g")).unnest("g")
        miss = got.filter(pl.col("client").is_null())
        if miss.height:
            for n in miss["n"].head(3).to_list():
                bad.add(
                    int(n),
                    "not an HAProxy httplog line (expected "
                    "'ip:port [date] frontend backend/server TR/Tw/Tc/Tr/Ta status …')",
                )
            bad.more(miss.height - min(3, miss.height))
        parts.append(got.filter(pl.col("client").is_not_null()))
    bad.finish()
    if not parts or not sum(p.height for p in parts):
        return TRACE.empty()
    g = pl.concat(parts)

    def timer(name: str) -> pl.Expr:
        v = pl.col(name).cast(pl.Float64)
        return pl.when(v >= 0).then(v)

    when = pl.col("date").str.to_datetime("%d/%b/%Y:%H:%M:%S%.3f", strict=False)
    df = g.select(
        (when.dt.epoch("us").cast(pl.Float64) / 1e6).alias("time_s"),
        timer("Tr").alias("service_ms"),
        pl.col("client"),
        pl.col("request").str.extract(r"^\S+ ([^ ?]+)").alias("key"),
        pl.when(pl.col("server").str.starts_with("<")).then(None).otherwise(pl.col("server"))
        .alias("backend"),
        (pl.col("rc").cast(pl.Int64) + 1).alias("attempts"),
        pl.col("status").cast(pl.Int64),
        timer("Ta").alias("latency_ms"),
        pl.col("frontend"),
        pl.col("hbackend").alias("haproxy_backend"),
        timer("Tw").alias("wait_ms"),
        timer("Tc").alias("connect_ms"),
        pl.col("term").alias("termination"),
        pl.col("rc").cast(pl.Int64).alias("retries"),
    )  # fmt: skip
    return _finish(df.filter(pl.col("time_s").is_not_null()), names)


OBSERVED = Schema(
    "observed load",
    {
        "backend": pl.String,
        "requests": pl.Int64,
        "share_pct": pl.Float64,
        "errors": pl.Int64,
        "retried": pl.Int64,
        "p50_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "mean_ms": pl.Float64,
    },
)
"""What :func:`observed_load` returns: one row per backend, by requests."""


def observed_load(trace: FrameLike) -> pl.DataFrame:
    """How the real balancer spread the traffic: requests and service time per backend.

    Parameters
    ----------
    trace : frame-like
        :data:`~perflab.balancing.schema.TRACE` (rows without a backend are left out).

    Returns
    -------
    polars.DataFrame
        :data:`OBSERVED`: ``backend``, ``requests``, ``share_pct``, ``errors`` (status
        ≥ 500), ``retried`` (more than one attempt), and ``p50_ms``, ``p99_ms``,
        ``mean_ms`` of ``service_ms``.

    Examples
    --------
    >>> tr = pl.DataFrame({"time_s": [0.0, 0.1, 0.2], "service_ms": [5.0, 7.0, 30.0],
    ...                    "backend": ["a", "a", "b"], "status": [200, 200, 502]})
    >>> observed_load(tr).select("backend", "requests", "errors").rows()
    [('a', 2, 0), ('b', 1, 1)]
    """
    df = TRACE.conform(as_frame(trace), required=["time_s", "service_ms", "backend"])
    df = df.filter(pl.col("backend").is_not_null())
    if not df.height:
        return OBSERVED.empty()
    out = (
        df.group_by("backend")
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            (pl.col("status") >= 500).sum().cast(pl.Int64).alias("errors"),
            (pl.col("attempts") > 1).sum().cast(pl.Int64).alias("retried"),
            pl.col("service_ms").quantile(0.5, "linear").alias("p50_ms"),
            pl.col("service_ms").quantile(0.99, "linear").alias("p99_ms"),
            pl.col("service_ms").mean().alias("mean_ms"),
        )
        .with_columns((100.0 * pl.col("requests") / pl.col("requests").sum()).alias("share_pct"))
        .sort(["requests", "backend"], descending=[True, False])
    )
    return OBSERVED.validate(out.select(OBSERVED.names))


def read_backends(path: PathLike) -> list[Backend]:
    """Backends described in a JSON list (what ``data/make/balancing_real.py`` writes).

    Each object holds :class:`~perflab.balancing.Backend` fields (``name``, ``address``,
    ``weight``, ``servers``, ``slow_at_s``…); a ``mean_ms`` (the backend's mean service
    time) becomes ``speed`` = median of the ``mean_ms`` / its own.

    Raises
    ------
    InputError
        Not a JSON list of objects.
    ParameterError
        No backend, a weight ≤ 0, a repeated name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "b.json"
    >>> _ = p.write_text('[{"name": "a", "mean_ms": 4}, {"name": "b", "mean_ms": 8}]')
    >>> [(b.name, b.speed) for b in read_backends(p)]
    [('a', 1.5), ('b', 0.75)]
    """
    src = Source(path)
    try:
        doc = json.loads(src.text() if callable(src.text) else src.text)
    except json.JSONDecodeError as e:
        raise InputError(str(path), e.lineno, f"not JSON: {e.msg}") from None
    if not isinstance(doc, list) or not all(isinstance(d, dict) for d in doc):
        raise InputError(str(path), None, "expected a JSON list of backend objects")
    means = [float(d["mean_ms"]) for d in doc if "mean_ms" in d]
    ref = statistics.median(means) if means else 1.0
    out = []
    for d in doc:
        d = dict(d)
        mean = d.pop("mean_ms", None)
        if mean is not None:
            if float(mean) <= 0:
                raise ParameterError(f"backend {d.get('name')!r}: mean_ms must be > 0")
            d.setdefault("speed", ref / float(mean))
        out.append(d)
    return as_backends(out)
