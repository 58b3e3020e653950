"""The pattern table of a log of any size, in memory that does not grow with the log.

:func:`digest` reads a log block by block (the readers of :mod:`perflab.queries.read`
already stream), fingerprints each block and folds it into one running row per
pattern; the statements themselves are dropped as soon as they are counted. What is
kept per pattern is fixed in size: counts, sums, min/max, first/last seen, the
distinct users/databases/applications, the slowest sample — and a **log-bucket
histogram** of durations for the percentiles (the DDSketch scheme: bucket
``⌈log_γ(d)⌉`` with ``γ = (1 + α)/(1 − α)``, so every percentile it returns is within a
relative error ``α`` of a duration that occurred; ``α = 0.01`` by default, a few hundred
buckets per pattern at most). Memory is therefore one block (8 MiB of log) plus the
table, whatever the size of the log.

The result is the same frame as :func:`~perflab.queries.query_patterns` (``PATTERNS``);
calls, totals, means, maxima and samples are exact; p50/p95/p99 interpolate linearly
between the bucket values of the two order statistics around them (type 7, as
``query_patterns``), each of which is within ``α`` of a duration that occurred.
Events (errors, lock waits, temp files …) are kept whole: they are few next to the
statements.

Many logs at once — a list, a glob (``/var/log/postgresql/*.log.gz``), URLs through
fsspec — are digested file by file (a PostgreSQL stderr or csvlog entry, a MySQL
slow-log entry spans lines, so a file is never cut) and the per-file tables merged:
counts, sums, min/max, first/last seen, names and histogram buckets add up, so the
percentiles are bit for bit those of one digest over the same statements. Given a
``client`` (:class:`distributed.Client`) the files are digested on its workers
(:func:`perflab.partitions.map_parts`). Sums of durations are added per file first:
they equal the one-pass sums exactly when the durations are exact binary fractions,
and otherwise may differ in the last bits (float addition in another order).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from perflab.errors import ErrorMode, ParameterError
from perflab.frames import compact
from perflab.partitions import Inputs, expand, is_many, map_parts, partitions
from perflab.queries import _mysql
from perflab.queries.fingerprint import with_fingerprints
from perflab.queries.read import iter_postgres, sniff_format
from perflab.queries.schema import EVENTS, PATTERNS
from perflab.sources import Part, PathLike, Source

__all__ = ["Digest", "digest"]

logger = logging.getLogger(__name__)

_ZERO = -(2**31)  # the bucket of zero durations


@dataclass(frozen=True)
class Digest:
    """What :func:`digest` keeps of a log.

    Attributes
    ----------
    patterns : polars.DataFrame
        :data:`~perflab.queries.schema.PATTERNS` (percentiles within ``accuracy``).
    events : polars.DataFrame
        :data:`~perflab.queries.schema.EVENTS` (empty for a MySQL slow log).
    statements : int
        Statements counted.
    accuracy : float
        Relative error bound of the percentiles.
    """

    patterns: pl.DataFrame
    events: pl.DataFrame
    statements: int
    accuracy: float


def digest(
    path: Inputs,
    *,
    format: str | None = None,
    prefix: str | Sequence[str] | None = None,
    tz: str | None = None,
    dialect: str | None = None,
    errors: ErrorMode = "raise",
    accuracy: float = 0.01,
    client: Any = None,
) -> Digest:
    """The pattern table of a PostgreSQL log or MySQL slow log, streamed.

    Parameters
    ----------
    path : str, PathLike or sequence of them
        The log (plain or gzip), a URL (``s3://…``, through fsspec), a glob, or a list
        of them: digested file by file and merged (formats sniffed per file).
    format : {"stderr", "csvlog", "jsonlog", "mysql"}, optional
        Default: ``mysql`` for a file whose first line is a MySQL/MariaDB slow-log
        header or event, else as :func:`~perflab.queries.read_postgres` decides.
    prefix, tz, errors
        As in :func:`~perflab.queries.read_postgres`.
    dialect : {"postgres", "mysql"}, optional
        For fingerprints; default from the format.
    accuracy : float
        Relative error bound of the percentiles, in (0, 0.5).
    client : distributed.Client, optional
        Digest the files on the workers of this Dask client (one task per file) and
        merge their tables here.

    Returns
    -------
    Digest

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pg.log"
    >>> _ = p.write_text("".join(
    ...     f"2026-12-03 08:33:25.{i:03d} UTC [7] LOG:  duration: {i + 1}.000 ms  "
    ...     f"statement: SELECT name FROM users WHERE id = {i}\\n" for i in range(100)))
    >>> d = digest(p, prefix="%m [%p] ")
    >>> d.patterns.select("calls", "total_ms", "max_ms").row(0), d.statements
    ((100, 5050.0, 100.0), 100)
    >>> abs(d.patterns["p95_ms"][0] - 95.05) / 95.05 <= 0.01
    True
    """
    if not 0.0 < accuracy < 0.5:
        raise ParameterError(f"accuracy must lie in (0, 0.5), not {accuracy}")
    gamma = (1 + accuracy) / (1 - accuracy)
    options: dict[str, Any] = {
        "format": format,
        "prefix": prefix,
        "tz": tz,
        "dialect": dialect,
        "errors": errors,
        "log_gamma": math.log(gamma),
    }
    if client is not None or is_many(path) or not isinstance(path, str | os.PathLike):
        parts = partitions(expand(path), by="file")
        acc = _combine(map_parts(_digest_part, parts, client=client, **options), math.log(gamma))
    else:
        acc = _digest_part(path, **options)
    return Digest(
        patterns=acc.patterns(gamma),
        events=acc.events(),
        statements=acc.count,
        accuracy=accuracy,
    )


def _digest_part(
    path: PathLike | Part,
    *,
    format: str | None,
    prefix: str | Sequence[str] | None,
    tz: str | None,
    dialect: str | None,
    errors: ErrorMode,
    log_gamma: float,
) -> _Accumulator:
    """The running tables of one file (a worker's task for a cluster)."""
    fmt = format or sniff_format(path)
    dialect = dialect or ("mysql" if fmt == "mysql" else "postgres")
    acc = _Accumulator(log_gamma)
    for statements, evs in _blocks(path, fmt, prefix, tz, errors):
        if statements.height:
            acc.add(with_fingerprints(statements, dialect=dialect))
        acc.add_events(evs)
    return acc


def _combine(accs: Sequence[_Accumulator], log_gamma: float) -> _Accumulator:
    """The tables of several files as one: what one pass over them all would keep."""
    out = _Accumulator(log_gamma)
    stats = [a.stats for a in accs if a.stats is not None]
    hists = [a.hist for a in accs if a.hist is not None]
    if stats:
        out.stats = (
            stats[0] if len(stats) == 1 else _merge(pl.concat(stats, how="vertical_relaxed"))
        )
    if hists:
        out.hist = (
            hists[0]
            if len(hists) == 1
            else pl.concat(hists).group_by("fingerprint", "bucket").agg(pl.col("n").sum())
        )
    out.count = sum(a.count for a in accs)
    out.kept_events = [e for a in accs for e in a.kept_events]
    return out


def _blocks(
    path: PathLike | Part,
    fmt: str,
    prefix: str | Sequence[str] | None,
    tz: str | None,
    errors: ErrorMode,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    if fmt == "mysql":
        src = Source(path, errors)
        for frame in _mysql.iter_slow_log(src):
            yield frame, EVENTS.empty()
        src.bad.finish()
        return
    yield from iter_postgres(path, format=fmt, prefix=prefix, tz=tz, errors=errors)


class _Accumulator:
    """Running per-pattern aggregates, duration histograms, and the events.

    What it keeps of a block is copied out of it (:func:`~perflab.frames.compact`): a
    few rows cut from a block would otherwise keep the whole block in memory.
    """

    def __init__(self, log_gamma: float) -> None:
        self.log_gamma = log_gamma
        self.count = 0
        self.stats: pl.DataFrame | None = None
        self.hist: pl.DataFrame | None = None
        self.kept_events: list[pl.DataFrame] = []

    def add_events(self, events: pl.DataFrame) -> None:
        if events.height:
            self.kept_events.append(compact(events))

    def events(self) -> pl.DataFrame:
        return pl.concat(self.kept_events) if self.kept_events else EVENTS.empty()

    def add(self, s: pl.DataFrame) -> None:
        self.count += s.height
        dur = pl.col("duration_ms")
        slowest = pl.col("duration_ms").fill_null(-1.0)
        part = s.group_by("fingerprint").agg(
            pl.col("pattern").first(),
            pl.col("parsed").first(),
            pl.col("calls").fill_null(1).sum(),
            dur.sum().alias("total_ms"),
            dur.is_not_null().any().alias("_timed"),
            dur.max().alias("max_ms"),
            pl.col("prepare_ms").sum(),
            pl.col("rows").sum().alias("rows"),
            pl.col("rows").is_not_null().any().alias("_rows"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            *(
                pl.col(c).drop_nulls().unique().alias(f"{c}s")
                for c in ("database", "user", "application")
            ),
            pl.col("query").sort_by(slowest).last().alias("sample"),
            pl.col("parameters").sort_by(slowest).last().alias("sample_parameters"),
        )
        bucket = (
            pl.when(dur > 0)
            .then((dur.log() / self.log_gamma).ceil())
            .otherwise(pl.lit(float(_ZERO)))
            .cast(pl.Int32)
        )
        hist = (
            s.filter(dur.is_not_null() & dur.is_finite() & (dur >= 0))
            .group_by("fingerprint", bucket.alias("bucket"))
            .agg(pl.len().cast(pl.Int64).alias("n"))
        )
        # one row per pattern; its samples would keep their blocks alive (compact)
        self.stats = compact(part if self.stats is None else _merge(pl.concat([self.stats, part])))
        self.hist = (
            hist
            if self.hist is None
            else pl.concat([self.hist, hist])
            .group_by("fingerprint", "bucket")
            .agg(pl.col("n").sum())
        )

    def patterns(self, gamma: float) -> pl.DataFrame:
        if self.stats is None:
            return PATTERNS.empty()
        stats = self.stats
        assert self.hist is not None
        q = self._quantiles(gamma)
        grand = stats.get_column("total_ms").sum()
        out = (
            stats.join(q, on="fingerprint", how="left")
            .with_columns(
                pl.when(pl.col("_timed")).then(pl.col("total_ms")).alias("total_ms"),
                pl.when(pl.col("_rows")).then(pl.col("rows")).alias("rows"),
                pl.col("max_ms").alias("sample_ms"),
                *(pl.col(c).list.sort() for c in ("databases", "users", "applications")),
            )
            .with_columns(
                (pl.col("total_ms") / pl.col("calls")).alias("mean_ms"),
                (pl.col("total_ms") / grand * 100.0 if grand else pl.lit(None, pl.Float64)).alias(
                    "share_pct"
                ),
                pl.col("pattern").alias("query"),
            )
            .sort(
                ["total_ms", "calls", "fingerprint"],
                descending=[True, True, False],
                nulls_last=True,
            )
        )
        return out.select(PATTERNS.names).cast(pl.Schema(PATTERNS.dtypes()))

    def _quantiles(self, gamma: float) -> pl.DataFrame:
        """p50/p95/p99 per pattern from the histograms (type-7 rank, bucket midpoint)."""
        assert self.hist is not None
        h = self.hist.sort("fingerprint", "bucket").with_columns(
            pl.col("n").cum_sum().over("fingerprint").alias("cum"),
            pl.col("n").sum().over("fingerprint").alias("total"),
        )
        value = (
            pl.when(pl.col("bucket") == _ZERO)
            .then(0.0)
            .otherwise(2.0 * pl.lit(gamma).pow(pl.col("bucket").cast(pl.Float64)) / (gamma + 1.0))
        )
        cols = []
        for q, name in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            # type 7: h = (n − 1)·q; interpolate between ranks ⌊h⌋ + 1 and ⌊h⌋ + 2 (1-based)
            pos = (pl.col("total") - 1) * q
            lo = value.filter(pl.col("cum") >= pos.floor() + 1).first()
            hi = value.filter(
                pl.col("cum") >= (pos.floor() + 2).clip(upper_bound=pl.col("total"))
            ).first()
            frac = (pos - pos.floor()).first()
            cols.append((lo + (hi - lo) * frac).alias(name))
        return h.group_by("fingerprint").agg(*cols)


def _merge(both: pl.DataFrame) -> pl.DataFrame:
    slowest = pl.col("max_ms").fill_null(-1.0)
    return both.group_by("fingerprint").agg(
        pl.col("pattern").first(),
        pl.col("parsed").first(),
        pl.col("calls").sum(),
        pl.col("total_ms").sum(),
        pl.col("_timed").any(),
        pl.col("max_ms").max(),
        pl.col("prepare_ms").sum(),
        pl.col("rows").sum(),
        pl.col("_rows").any(),
        pl.col("first_seen").min(),
        pl.col("last_seen").max(),
        *(
            pl.col(c).explode().drop_nulls().unique()
            for c in ("databases", "users", "applications")
        ),
        pl.col("sample").sort_by(slowest).last(),
        pl.col("sample_parameters").sort_by(slowest).last(),
    )
