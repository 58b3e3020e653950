"""Plumbing shared by the CDN readers (private): checks, decoding, times, countries.

Everything here works on whole columns. Percent-decoding is the one step polars has no
expression for: it runs :func:`urllib.parse.unquote` once per *distinct* value that
holds a ``%`` (user agents, paths and referers repeat a lot), then maps the column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import unquote

import polars as pl

from perflab.cdn._geo import AIRPORTS, ALPHA3, COUNTRIES, NAMES
from perflab.cdn.schema import CDN_REQUESTS
from perflab.frames import UTC_DATETIME
from perflab.sources import Source, Where, drop_bad

__all__ = [
    "Checks",
    "airport_country",
    "by_distinct",
    "coalesce",
    "country_code",
    "finish",
    "hit_from",
    "nulls",
    "parse_time",
    "percent_decode",
    "strip_params",
    "to_int",
]

Reason = Callable[[int], str]


class Checks:
    """Row checks of one block: masks of bad rows, each with its reason."""

    def __init__(self) -> None:
        self.items: list[tuple[pl.Series, Reason]] = []

    def add(self, mask: pl.Series, why: Reason) -> None:
        """Rows where ``mask`` is true are bad for the reason ``why(row)``."""
        mask = mask.fill_null(False)
        if mask.any():
            self.items.append((mask, why))

    def drop(self, frame: pl.DataFrame, src: Source, where: Where) -> pl.DataFrame:
        """``frame`` without its bad rows, reported through ``src.bad`` (the first raises)."""
        if not self.items:
            return frame
        mask = pl.select(pl.any_horizontal([m for m, _ in self.items])).to_series()

        def why(i: int) -> str:
            return next(reason(i) for m, reason in self.items if m[i])

        return drop_bad(frame, mask, src.bad, where, why)


def coalesce(*series: pl.Series) -> pl.Series:
    """The first non-null value of each row across ``series`` (named like the first)."""
    frame = pl.DataFrame({f"c{i}": s for i, s in enumerate(series)})
    return frame.select(pl.coalesce(frame.columns)).to_series().alias(series[0].name)


def nulls(series: pl.Series, *missing: str) -> pl.Series:
    """``series`` with the "no value" markers (``""`` and ``missing``) set to null."""
    return series.set(series.is_in(["", *missing]).fill_null(False), None)


def to_int(series: pl.Series) -> pl.Series:
    """Text of numbers → Int64 (``"12"``, ``"12.0"``); null where not a whole number.

    Examples
    --------
    >>> to_int(pl.Series(["12", "12.0", "1.5", "x", None])).to_list()
    [12, 12, None, None, None]
    """
    as_int = series.cast(pl.Int64, strict=False)
    retry = as_int.is_null() & series.is_not_null()
    if retry.any():
        f = series.cast(pl.Float64, strict=False)
        whole = (f.round(0) == f).fill_null(False) & retry
        as_int = as_int.scatter(whole.arg_true(), f.filter(whole).cast(pl.Int64))
    return as_int


def percent_decode(series: pl.Series) -> pl.Series:
    """Decode one level of ``%XX`` escapes (UTF-8; invalid bytes become U+FFFD).

    ``+`` is left alone: these are paths and header values, not form data.

    Examples
    --------
    >>> percent_decode(pl.Series(["Mozilla/5.0%20(X11)", None, "plain"])).to_list()
    ['Mozilla/5.0 (X11)', None, 'plain']
    """
    has = series.str.contains("%", literal=True).fill_null(False)
    if not has.any():
        return series
    distinct = series.filter(has).unique()
    decoded = [unquote(v) for v in distinct.to_list()]
    return series.replace(distinct, pl.Series(decoded, dtype=pl.String))


def by_distinct(series: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``fn(series)``, computed once per distinct value when values repeat a lot.

    Examples
    --------
    >>> by_distinct(pl.Series(["a", "b", "a", None]), lambda s: s.str.to_uppercase()).to_list()
    ['A', 'B', 'A', None]
    """
    distinct = series.unique()
    if distinct.len() * 4 > series.len():
        return fn(series).alias(series.name)
    table = pl.DataFrame({"k": distinct, "v": fn(distinct)})
    keys = pl.DataFrame({"k": series})
    out = keys.join(table, on="k", how="left", maintain_order="left")
    return out["v"].alias(series.name)


def strip_params(series: pl.Series) -> pl.Series:
    """``"text/html; charset=utf-8"`` → ``"text/html"`` (lower case)."""
    return by_distinct(
        series, lambda s: s.str.split(";").list.first().str.strip_chars().str.to_lowercase()
    )


def parse_time(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Timestamps as logged → (UTC datetimes, whether each is finer than a second).

    Numbers are epoch times, their unit told by their size (s, ms, µs, ns); text is
    RFC 3339 / ISO 8601 — ``T`` or a space, seconds and fractions optional — with
    ``Z``, ``±HH:MM``, ``±HHMM``, ``±HH``, ``UTC``/``GMT`` or no zone (UTC), or a bare
    date. Null where neither.

    Examples
    --------
    >>> t, fine = parse_time(pl.Series(["2026-11-30T14:00:00Z", "1796047200123456789",
    ...                                 "2026-11-30T14:00:00+0100"]))
    >>> [str(v) for v in t.to_list()], fine.to_list()
    (['2026-11-30 14:00:00+00:00', '2026-11-30 14:00:00.123456+00:00', \
'2026-11-30 13:00:00+00:00'], [False, True, False])
    """
    s = series.str.strip_chars()
    whole = s.str.contains(r"^-?[0-9]+$").fill_null(False)
    ints = s.cast(pl.Int64, strict=False)
    floats = s.cast(pl.Float64, strict=False)
    frame = pl.DataFrame({"s": s, "whole": whole, "i": ints, "f": floats})
    mag = pl.col("f").abs()
    us_from_int = (
        pl.when(mag >= 1e17)
        .then(pl.col("i") // 1000)
        .when(mag >= 1e14)
        .then(pl.col("i"))
        .when(mag >= 1e11)
        .then(pl.col("i") * 1000)
        .otherwise(pl.col("i") * 1_000_000)
    )
    us_from_float = (
        pl.when(mag >= 1e17)
        .then(pl.col("f") / 1000)
        .when(mag >= 1e14)
        .then(pl.col("f"))
        .when(mag >= 1e11)
        .then(pl.col("f") * 1000)
        .otherwise(pl.col("f") * 1e6)
    )
    timed = pl.col("s").str.contains(r"[T ][0-9]{2}:[0-9]{2}")
    iso = (
        pl.col("s")
        .str.replace(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) ", "${1}T")
        .str.replace(r"\s*(?:Z|UTC|GMT)$", "+00:00")
    )
    iso = (
        pl.when(timed)
        .then(
            iso.str.replace(r"([+-][0-9]{2})([0-9]{2})$", "${1}:${2}").str.replace(
                r"(T[0-9:.]+[+-][0-9]{2})$", "${1}:00"
            )
        )
        .otherwise(iso)
    )
    out = frame.select(
        time=pl.when(pl.col("whole"))
        .then(us_from_int.cast(UTC_DATETIME))
        .when(pl.col("f").is_not_null())
        .then(us_from_float.round(0).cast(pl.Int64).cast(UTC_DATETIME))
        .otherwise(
            pl.coalesce(
                *(
                    iso.str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
                    for f in ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z")
                ),
                *(
                    iso.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
                    for f in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
                ),
            )
        ),
        fine=pl.when(pl.col("whole"))
        .then(mag >= 1e11)
        .when(pl.col("f").is_not_null())
        .then(pl.col("f") != pl.col("f").floor())
        .otherwise(pl.col("s").str.contains(r"T?[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]")),
    )
    return out["time"], out["fine"].fill_null(False)


def airport_country(codes: pl.Series) -> pl.Series:
    """Edge location → the country of its airport code (first 3 letters), or null.

    Examples
    --------
    >>> airport_country(pl.Series(["IAD89-C1", "fra", "XYZ1", None])).to_list()
    ['US', 'DE', None, None]
    """
    code = codes.str.slice(0, 3).str.to_uppercase()
    return code.replace_strict(AIRPORTS, default=None, return_dtype=pl.String)


def country_code(values: pl.Series) -> pl.Series:
    """Country codes or names → ISO alpha-2 upper case; null for unknown and ``XX``.

    Alpha-2 codes are upper-cased (Cloudflare writes ``us``), alpha-3 codes and English
    names (Fastly's ``client.geo.country_code3`` and ``country_name``) are looked up.

    Examples
    --------
    >>> country_code(pl.Series(["us", "GBR", "United Kingdom", "xx", "T1", None])).to_list()
    ['US', 'GB', 'GB', None, 'T1', None]
    """
    v = values.str.strip_chars()
    frame = pl.DataFrame({"v": v})
    up = pl.col("v").str.to_uppercase()
    n = pl.col("v").str.len_chars()
    known3 = up.replace_strict(ALPHA3, default=None, return_dtype=pl.String)
    by_name = (
        pl.col("v").str.to_lowercase().replace_strict(NAMES, default=None, return_dtype=pl.String)
    )
    out = frame.select(
        pl.when(n == 2).then(up).when(n == 3).then(pl.coalesce(known3, by_name)).otherwise(by_name)
    ).to_series()
    return out.set(out.is_in(["XX", "--", "ZZ"]).fill_null(False), None).alias(values.name)


_ = COUNTRIES  # the table behind ALPHA3 and NAMES


def hit_from(status: pl.Series, true: set[str], false: set[str]) -> pl.Series:
    """Cache verdicts → True / False / null, compared in lower case."""
    low = status.str.to_lowercase()
    table = {**dict.fromkeys(true, True), **dict.fromkeys(false, False)}
    return low.replace_strict(table, default=None, return_dtype=pl.Boolean)


def finish(frames: list[pl.DataFrame], src: Source, empty: str) -> pl.DataFrame:
    """Blocks → one CDN_REQUESTS frame: canonical columns first, extras after."""
    frames = [f for f in frames if f.height]
    if not frames:
        if src.bad.count:
            src.bad.finish()
            return CDN_REQUESTS.empty()
        return src.finish(CDN_REQUESTS.empty(), empty, what="requests")
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    frame = CDN_REQUESTS.conform(frame)
    frame = frame.select(
        *CDN_REQUESTS.names, *(c for c in frame.columns if c not in CDN_REQUESTS.columns)
    )
    return src.finish(frame, empty, what="requests")


def pick(raw: pl.DataFrame, keys: Mapping[str, str]) -> dict[str, pl.Series]:
    """The first present of each column's keys (``keys``: column → key)."""
    return {col: raw[key] for col, key in keys.items() if key in raw.columns}
