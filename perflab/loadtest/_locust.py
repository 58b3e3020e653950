"""Locust ``--csv`` importers (private): ``*_stats.csv`` and ``*_stats_history.csv``.

See :func:`perflab.loadtest.read.read_locust` for the mapping.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from perflab.errors import InputError
from perflab.loadtest._read_common import Checks, check_last_line, number
from perflab.loadtest.schema import SUMMARY, TIMELINE
from perflab.sources import PathLike, Source, drop_blank_rows, load_csv

__all__ = ["history", "locate", "stats"]

STATS_NEEDS = ("Type", "Name", "Request Count", "Failure Count", "Requests/s")
HISTORY_NEEDS = ("Timestamp", "User Count", "Type", "Name")
NA = ("N/A",)


def locate(path: PathLike, suffix: str) -> PathLike:
    """The ``<prefix><suffix>`` file of a Locust ``--csv`` prefix, or ``path`` itself."""
    p = Path(path)
    name = p.name.lower()
    if p.is_file() and (name.endswith(".csv") or name.endswith(".csv.gz")):
        return path
    for cand in (Path(f"{path}{suffix}"), Path(f"{path}{suffix}.gz")):
        if cand.is_file():
            return cand
    raise InputError(
        str(path), None, f"no such file, nor {path}{suffix}: give the --csv prefix or the file"
    )


def _names(raw: pl.DataFrame) -> pl.Series:
    """``Name``; ``"Type Name"`` for a Name that appears under several Types; the
    ``Aggregated`` row (no Type) is ``"all"``."""
    typ = raw.get_column("Type").fill_null("").str.strip_chars()
    name = raw.get_column("Name").fill_null("")
    agg = (typ == "") & (name == "Aggregated")
    frame = pl.DataFrame({"t": typ, "n": name, "agg": agg})
    multi = (
        frame.filter(~pl.col("agg"))
        .group_by("n")
        .agg(pl.col("t").n_unique().alias("k"))
        .filter(pl.col("k") > 1)
        .get_column("n")
    )
    return (
        frame.select(
            pl.when(pl.col("agg"))
            .then(pl.lit("all"))
            .when(pl.col("n").is_in(multi.implode()))
            .then(pl.col("t") + " " + pl.col("n"))
            .otherwise(pl.col("n"))
        )
        .to_series()
        .alias("name")
    )


def _check_header(src: Source, raw: pl.DataFrame, needs: tuple[str, ...], what: str) -> None:
    missing = [c for c in needs if c not in raw.columns]
    if missing:
        raise InputError(
            src.name,
            1,
            f"not Locust's {what}: the header lacks {', '.join(repr(c) for c in missing)}",
        )


def stats(src: Source) -> pl.DataFrame:
    """``*_stats.csv`` → SUMMARY, one row per Type+Name and ``all``."""
    raw, where = load_csv(src)
    _check_header(src, raw, STATS_NEEDS, "*_stats.csv")
    raw, where = drop_blank_rows(raw, where)
    if raw.height == 0:
        return src.finish(SUMMARY.empty(), "the file has a header but no rows", what="rows")
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    count = number(raw, "Request Count", checks, integer=True)
    fails = number(raw, "Failure Count", checks, integer=True)
    rps = number(raw, "Requests/s", checks)

    def opt(col: str) -> pl.Series | None:
        if col not in raw.columns:
            return None
        return number(raw, col, checks, optional=True, missing=NA)

    size = opt("Average Content Size")
    frame = pl.DataFrame(
        {
            "name": _names(raw),
            "requests": count,
            "errors": fails,
            "duration_s": (count / rps).set(rps <= 0, None),
            "rps": rps,
            "error_rate": (fails / count).set(count == 0, None),
            "mean_ms": opt("Average Response Time"),
            "min_ms": opt("Min Response Time"),
            "p50_ms": opt("50%"),
            "p90_ms": opt("90%"),
            "p95_ms": opt("95%"),
            "p99_ms": opt("99%"),
            "max_ms": opt("Max Response Time"),
            "bytes": None if size is None else (size * count).round(),
        }
    )
    frame = checks.drop(frame, src, where)
    frame = SUMMARY.conform(frame, required=["name"])
    return src.finish(frame, "no row holds a request name", what="rows")


def history(src: Source) -> pl.DataFrame:
    """``*_stats_history.csv`` → TIMELINE (with ``users``)."""
    raw, where = load_csv(src)
    _check_header(src, raw, HISTORY_NEEDS, "*_stats_history.csv")
    total_col = "Total Request Count" if "Total Request Count" in raw.columns else None
    if total_col is None:
        raise InputError(
            src.name,
            1,
            "the header lacks 'Total Request Count' (Locust ≥ 1.0 writes it)",
        )
    raw, where = drop_blank_rows(raw, where)
    empty = TIMELINE.empty().with_columns(users=pl.lit(None, pl.Int64))
    if raw.height == 0:
        return src.finish(empty, "the file has a header but no rows", what="rows")
    checks = Checks()
    check_last_line(src, checks, raw.height, raw.width)
    ts = number(raw, "Timestamp", checks)
    users = number(raw, "User Count", checks, integer=True)
    total = number(raw, total_col, checks, integer=True)
    fails = (
        number(raw, "Total Failure Count", checks, integer=True)
        if "Total Failure Count" in raw.columns
        else pl.repeat(None, raw.height, dtype=pl.Float64, eager=True)
    )

    def pct(col: str) -> pl.Series:
        if col not in raw.columns:
            return pl.repeat(None, raw.height, dtype=pl.Float64, eager=True)
        return number(raw, col, checks, optional=True, missing=NA)

    frame = pl.DataFrame(
        {
            "ts": ts,
            "name": _names(raw),
            "total": total,
            "fails": fails,
            "p50_ms": pct("50%"),
            "p95_ms": pct("95%"),
            "p99_ms": pct("99%"),
            "users": users,
        }
    )
    frame = checks.drop(frame, src, where)
    if frame.height == 0:
        return src.finish(empty, "no row holds a time", what="rows")
    t0 = frame["ts"].min()
    prev = pl.col("total").shift(1).over("name")
    prev_fail = pl.col("fails").shift(1).over("name")
    step = (pl.col("ts") - pl.col("ts").shift(1).over("name")).fill_null(pl.col("ts") - t0)
    requests = (
        pl.when(pl.col("total") >= prev.fill_null(0))
        .then(pl.col("total") - prev.fill_null(0))
        .otherwise(pl.col("total"))  # the totals were reset: count from zero again
    )
    errors = (
        pl.when(pl.col("fails") >= prev_fail.fill_null(0))
        .then(pl.col("fails") - prev_fail.fill_null(0))
        .otherwise(pl.col("fails"))
    )
    out = frame.with_row_index("_row").select(
        (pl.col("ts") - t0).alias("second"),
        "name",
        requests.cast(pl.Int64).alias("requests"),
        pl.when(requests == 0)
        .then(0.0)
        .when(step > 0)
        .then(requests / step)
        .otherwise(None)
        .alias("rps"),
        errors.cast(pl.Int64).alias("errors"),
        "p50_ms",
        "p95_ms",
        "p99_ms",
        pl.lit(None, pl.Float64).alias("service_p95_ms"),
        pl.col("users").cast(pl.Int64),
        "_row",
    )
    out = out.sort("second", "_row").drop("_row")
    return src.finish(TIMELINE.validate(out), "no row holds a time", what="rows")
