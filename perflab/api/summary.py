"""The route table of many or big access logs, read on the workers of a cluster.

:func:`summarize_access_logs` is :func:`~perflab.api.endpoints` over logs given as
files, globs or URLs (``s3://…``, through fsspec): the logs are cut into parts — by
file, and big plain nginx and Apache logs by byte ranges at line starts (an access log
holds one request per line; JSON lines stay whole, as their reader picks its keys per
file) — each part is parsed by the reader of its format, on the workers of
a :class:`distributed.Client` when one is given, and reduced there to the few columns
the route table needs. The parts come back in file and byte order and the table is
computed once over them: routes are templated over all paths together (a template's
children are counted across the whole traffic, as on one machine), so every figure —
requests, errors, sums, maxima, exact percentiles — is the one :func:`endpoints` gives
on the logs read one after the other. Parsing, the costly step, is what runs in
parallel; the table itself takes a fraction of it.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from perflab.api.read import COMBINED, read_apache_log, read_json_log, read_nginx_log
from perflab.api.route_table import ENDPOINTS, endpoints
from perflab.api.schema import REQUESTS
from perflab.errors import ErrorMode, ParameterError
from perflab.partitions import PART_BYTES, Inputs, expand, map_parts, partitions
from perflab.sources import Part

__all__ = ["summarize_access_logs"]

Kind = Literal["nginx", "apache", "json"]

# what endpoints() reads of a REQUESTS frame (route templating needs method and path)
_USED = (
    "method",
    "path",
    "status",
    "duration_ms",
    "upstream_ms",
    "bytes",
    "cache_status",
    "content_encoding",
    "transfer_bytes",
    "gzip_ratio",
    "cache_control",
    "sent_http_cache_control",
)


def summarize_access_logs(
    source: Inputs,
    *,
    kind: Kind = "nginx",
    log_format: str | None = None,
    errors: ErrorMode = "raise",
    manifest: object | None = None,
    client: Any = None,
    part_bytes: int = PART_BYTES,
) -> pl.DataFrame:
    """Per method and route: requests, errors, latency percentiles … of many access logs.

    Parameters
    ----------
    source : str, PathLike or sequence of them
        Access logs: files (plain or gzip), URLs (through fsspec), globs, or a list.
    kind : {"nginx", "apache", "json"}
        The reader: :func:`~perflab.api.read_nginx_log`,
        :func:`~perflab.api.read_apache_log`, :func:`~perflab.api.read_json_log`.
    log_format : str, optional
        nginx's ``log_format`` (default :data:`~perflab.api.COMBINED`) or Apache's
        format (default ``"combined"``); not used for JSON lines.
    errors : {"raise", "skip"}
        As in the reader. A bad line raises naming its file and its line in the file.
    manifest : optional
        A Next.js routes manifest for :func:`~perflab.api.template_routes`.
    client : distributed.Client, optional
        Parse the parts on its workers; without one they are parsed here.
    part_bytes : int
        Size of a byte-range part of a big plain nginx or Apache log (gzip files and
        JSON logs are read whole).

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.api.ENDPOINTS`, equal to
        ``endpoints(pl.concat([reader(f) for f in files]))``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> line = '1.2.3.4 - - [03/Dec/2026:13:47:26 +0000] "GET /u/{} HTTP/1.1" 200 5 "-" "-"\\n'
    >>> for day in (1, 2):
    ...     _ = (d / f"access-{day}.log").write_text("".join(line.format(i) for i in range(3)))
    >>> summarize_access_logs(str(d / "access-*.log")).select("method", "route", "requests")
    shape: (1, 3)
    ┌────────┬─────────┬──────────┐
    │ method ┆ route   ┆ requests │
    │ ---    ┆ ---     ┆ ---      │
    │ str    ┆ str     ┆ u32      │
    ╞════════╪═════════╪══════════╡
    │ GET    ┆ /u/{id} ┆ 6        │
    └────────┴─────────┴──────────┘
    """
    if kind not in ("nginx", "apache", "json"):
        raise ParameterError(f"kind must be 'nginx', 'apache' or 'json', not {kind!r}")
    # JSON logs are split by file only: read_json_log picks its duration key (and
    # unit) from what a file holds, so a byte range could pick another than the file.
    by: Literal["file", "lines"] = "file" if kind == "json" else "lines"
    parts = partitions(expand(source), by=by, part_bytes=part_bytes)
    frames = map_parts(
        _requests_part, parts, client=client, kind=kind, log_format=log_format, errors=errors
    )
    frames = [f for f in frames if f.height] or frames[:1]
    if not frames or not frames[0].height:
        return ENDPOINTS.empty()
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return endpoints(frame, manifest=manifest)


def _requests_part(
    part: Part, *, kind: Kind, log_format: str | None, errors: ErrorMode
) -> pl.DataFrame:
    """One part read by its reader, cut to the columns the route table uses."""
    if kind == "nginx":
        frame = read_nginx_log(part, log_format or COMBINED, errors=errors)
    elif kind == "apache":
        frame = read_apache_log(part, format=log_format or "combined", errors=errors)
    else:
        frame = read_json_log(part, errors=errors)
    if frame.height == 0:
        return REQUESTS.empty().select(c for c in _USED if c in REQUESTS.columns)
    return frame.select(c for c in _USED if c in frame.columns)
