"""Time, written once: instants given as arguments, timestamp columns, durations.

Every reader and analysis reads time through this module, so "naive means UTC", the
epoch-by-magnitude rule and the accepted ISO-8601 forms are the same everywhere.

* :func:`instant` — one value a user passes (``at=``, a window bound, a split):
  a datetime (naive is UTC), a date (midnight UTC), an ISO-8601 string, a numpy
  datetime64 or epoch **seconds** → an aware UTC :class:`~datetime.datetime`.
  :func:`epoch_us` and :func:`epoch_ns` give the same instant as an integer.
* :func:`parse_times` — a whole timestamp column (strings, numbers, datetimes) →
  ``datetime[μs, UTC]`` with nulls where unreadable, in vectorised passes;
  :func:`check_zone_mix` refuses a column that mixes zoned and naive strings.
* :func:`duration` — a window length (``"30s"``, ``"5m"``, ``timedelta``) → the
  polars duration string, checked.

Epoch numbers in a *column* are read by magnitude (:func:`epoch_column_us`):
``|x| < 1e11`` seconds, ``< 1e14`` milliseconds, ``< 1e17`` microseconds, otherwise
nanoseconds — every instant from 1973 to 5138 is unambiguous under this rule. A
single *argument* number is epoch seconds unless the caller says nanoseconds
(``numbers="ns"``, as :meth:`perflab.monitoring.Monitor.record_metric` does for
``time.time_ns()`` values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl

from perflab.errors import InputError, ParameterError, SchemaError
from perflab.frames import UTC_DATETIME

__all__ = [
    "At",
    "check_zone_mix",
    "duration",
    "epoch_column_us",
    "epoch_ns",
    "epoch_us",
    "instant",
    "parse_time_strings",
    "parse_times",
    "span",
    "window_for",
]

At = datetime | date | str | float | int | np.integer | np.floating | np.datetime64
"""What :func:`instant` accepts."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = (-(2**63), 2**63 - 1)

# (format, zoned) tried in order on the strings that earlier formats left unread.
_TIME_FORMATS: tuple[tuple[str, bool], ...] = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f%#z", True),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M%#z", True),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M%#z", True),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%d", False),
)
_DURATION = re.compile(r"(?:(\d+)(ns|us|ms|s|m|h|d|w|mo|q|y))+")
_DURATION_PART = re.compile(r"(\d+)(ns|us|ms|s|m|h|d|w|mo|q|y)")


# ---------------------------------------------------------------------------------------
# one instant


def instant(value: At, *, what: str = "time", numbers: Literal["s", "ns"] = "s") -> datetime:
    """One instant given as an argument, as an aware UTC datetime.

    Parameters
    ----------
    value : datetime, date, str, int, float or numpy.datetime64
        A datetime (naive values are UTC; aware ones are converted), a date
        (midnight UTC), an ISO-8601 string (``T`` or a space between date and time,
        an optional offset), a numpy datetime64 (UTC), or an epoch number.
    what : str
        The argument's name, for the error message.
    numbers : {"s", "ns"}
        Unit of an epoch number: seconds (default) or nanoseconds.

    Raises
    ------
    ParameterError
        When ``value`` is none of these, or a string that is not ISO-8601.

    Examples
    --------
    >>> instant("2026-11-02T16:00:00+01:00")
    datetime.datetime(2026, 11, 2, 15, 0, tzinfo=datetime.timezone.utc)
    >>> instant(1_700_000_000).isoformat()
    '2023-11-14T22:13:20+00:00'
    """
    if isinstance(value, bool):
        raise ParameterError(f"{what}: expected a time, not {value!r}")
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ParameterError(f"{what}: expected a time, not NaT")
        return EPOCH + timedelta(microseconds=int(value.astype("datetime64[us]").astype(np.int64)))
    if isinstance(value, int | float | np.integer | np.floating):
        us = _number_us(value, numbers, what)
        try:
            return EPOCH + timedelta(microseconds=us)
        except OverflowError:
            unit = "nanoseconds" if numbers == "ns" else "seconds"
            raise ParameterError(
                f"{what}: {value!r} is out of range as epoch {unit}"
                + (" (milliseconds? divide by 1000)" if numbers == "s" else "")
            ) from None
    if isinstance(value, str):
        parsed, _ = parse_time_strings(pl.Series([value.strip()]))
        if parsed.null_count():
            raise ParameterError(f"{what}: {value!r} is not an ISO-8601 date/time")
        return EPOCH + timedelta(microseconds=int(parsed.dt.epoch("us").item()))
    raise ParameterError(
        f"{what}: expected a datetime, date, ISO-8601 string or epoch number, not {value!r}"
    )


def _number_us(value: float | int | np.number, numbers: str, what: str) -> int:
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        raise ParameterError(f"{what}: expected a time, not {value!r}")
    if numbers == "ns":
        if isinstance(value, float | np.floating):
            raise ParameterError(f"{what}: nanoseconds since the epoch must be an integer")
        return int(value) // 1000
    return round(float(value) * 1_000_000)


def epoch_us(value: At, *, what: str = "time", numbers: Literal["s", "ns"] = "s") -> int:
    """:func:`instant` as integer microseconds since the Unix epoch.

    Examples
    --------
    >>> epoch_us("1970-01-01T00:00:01Z")
    1000000
    """
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and numbers == "ns":
        return int(value) // 1000
    return (instant(value, what=what, numbers=numbers) - EPOCH) // timedelta(microseconds=1)


def epoch_ns(value: At, *, what: str = "time", numbers: Literal["s", "ns"] = "s") -> int:
    """:func:`instant` as integer nanoseconds since the Unix epoch (int64 range).

    An integer with ``numbers="ns"`` is taken as it is (checked against the int64
    range), so no precision is lost below the microsecond.

    Examples
    --------
    >>> from datetime import datetime
    >>> epoch_ns(datetime(1970, 1, 1, 0, 0, 1))
    1000000000
    >>> epoch_ns(5, numbers="ns")
    5
    """
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and numbers == "ns":
        ns = int(value)
    else:
        moment = instant(value, what=what, numbers=numbers)
        delta = moment - EPOCH
        ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if not _INT64[0] <= ns <= _INT64[1]:
        raise ParameterError(
            f"{what}: {value!r} is outside the years 1677-2262 that int64 nanoseconds hold"
        )
    return ns


# ---------------------------------------------------------------------------------------
# durations


def duration(every: str | timedelta, *, what: str = "every") -> str:
    """A window length as a polars duration string; ParameterError when it is not one.

    Examples
    --------
    >>> duration("5m"), duration(timedelta(seconds=90))
    ('5m', '90000000us')
    >>> duration("soon")
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: every must be a duration such as '30s', ... not 'soon'
    """
    if isinstance(every, timedelta):
        us = every // timedelta(microseconds=1)
        if us <= 0:
            raise ParameterError(f"{what} must be a positive duration, not {every}")
        return f"{us}us"
    if not isinstance(every, str) or not _DURATION.fullmatch(every.strip()):
        raise ParameterError(
            f"{what} must be a duration such as '30s', '1m', '1h' or '1d', not {every!r}"
        )
    text = every.strip()
    if sum(int(n) for n, _ in _DURATION_PART.findall(text)) == 0:
        raise ParameterError(f"{what} must be a positive duration, not {every!r}")
    return text


_FIXED_US = {
    "ns": 1e-3,
    "us": 1.0,
    "ms": 1e3,
    "s": 1e6,
    "m": 6e7,
    "h": 3.6e9,
    "d": 8.64e10,
    "w": 6.048e11,
}
_FIXED_PART = re.compile(r"(\d+)(ns|us|ms|s|m|h|d|w)")


def span(value: str | timedelta, *, what: str = "every", zero: bool = False) -> timedelta:
    """A fixed-length duration (``"90s"``, ``"1h30m"``, a timedelta) as a timedelta.

    Unlike :func:`duration`, calendar units (``mo``, ``q``, ``y``) are refused: their
    length depends on the date.

    Parameters
    ----------
    value : str or timedelta
        The duration.
    what : str
        Its name, for the error message.
    zero : bool
        Whether a zero duration is allowed (a tolerance may be zero; a window not).

    Raises
    ------
    ParameterError
        Not a fixed duration, negative, or zero when ``zero`` is false.

    Examples
    --------
    >>> span("1h30m"), span("250ms").total_seconds()
    (datetime.timedelta(seconds=5400), 0.25)
    >>> span("1mo", what="gap")
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: gap must be a fixed duration such as '30s', ... not '1mo'
    """
    if isinstance(value, timedelta):
        us = value / timedelta(microseconds=1)
    elif isinstance(value, str) and re.fullmatch(rf"(?:{_FIXED_PART.pattern})+", value.strip()):
        us = sum(int(n) * _FIXED_US[u] for n, u in _FIXED_PART.findall(value.strip()))
    else:
        raise ParameterError(
            f"{what} must be a fixed duration such as '30s', '5m' or '1h', not {value!r}"
        )
    if us < 0 or (us == 0 and not zero):
        raise ParameterError(f"{what} must be a positive duration, not {value!r}")
    return timedelta(microseconds=us)


_FAMILIAR_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def window_for(seconds: float, windows: int) -> int:
    """A familiar window length (s) that cuts ``seconds`` into about ``windows`` windows.

    The length is rounded up to 1, 2, 5, 10, 15 or 30 s, 1, 2, 5, 10, 15 or 30 min,
    1, 2, 6, 12 or 24 h, so a series has at most ``windows`` windows (more only past
    ``windows`` days: a day is the longest).

    Parameters
    ----------
    seconds : float
        The length of the recording.
    windows : int
        How many windows are wanted.

    Returns
    -------
    int
        Seconds; at least 1.

    Examples
    --------
    >>> window_for(3600, 20), window_for(0.5, 20), window_for(86400 * 7, 20)
    (300, 1, 43200)
    """
    want = seconds / windows
    return next((n for n in _FAMILIAR_S if n >= want), _FAMILIAR_S[-1])


# ---------------------------------------------------------------------------------------
# timestamp columns


def epoch_column_us(x: pl.Series) -> pl.Series:
    """Epoch numbers → Int64 microseconds, each by its magnitude (s/ms/µs/ns).

    Examples
    --------
    >>> epoch_column_us(pl.Series([1_700_000_000, 1_700_000_000_000])).to_list()  # s, ms
    [1700000000000000, 1700000000000000]
    """
    if x.dtype.is_integer():
        # Int64 (out-of-range UInt64 become null); the int64 minimum is pandas' NaT
        x = x.cast(pl.Int64, strict=False)
        x = pl.select(pl.when(x != -(2**63)).then(x)).to_series()
        a = x.abs()
        out = (
            pl.select(
                pl.when(a < 10**11)
                .then(x * 1_000_000)
                .when(a < 10**14)
                .then(x * 1_000)
                .when(a < 10**17)
                .then(x)
                .otherwise(x // 1_000)
            )
            .to_series()
            .cast(pl.Int64)
        )
    else:
        x = x.cast(pl.Float64)
        a = x.abs()
        scaled = pl.select(
            pl.when(x.is_nan() | x.is_infinite())
            .then(None)
            .when(a < 1e11)
            .then(x * 1e6)
            .when(a < 1e14)
            .then(x * 1e3)
            .when(a < 1e17)
            .then(x)
            .otherwise(x / 1e3)
        ).to_series()
        out = scaled.round(0).cast(pl.Int64, strict=False)
    return out.alias("timestamp")


def parse_time_strings(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """ISO-8601 (or epoch-number) strings → (datetime[μs, UTC], kind).

    ``kind`` is 1 for a zoned string, 0 for a naive one, 2 for an epoch number and null
    where nothing could be read. Arrow's ISO cast is tried first (one fast pass for a
    clean column); otherwise epoch numbers, then each format, each only on the strings
    still unread. Fractions finer than a microsecond are truncated.

    Examples
    --------
    >>> ts, kind = parse_time_strings(pl.Series(["2024-01-01T00:00:00Z", "x"]))
    >>> ts.to_list()[1], kind.to_list()
    (None, [1, None])
    """
    fast = _arrow_iso(s)
    if fast is not None:
        return fast
    n = len(s)
    out = pl.Series("timestamp", [None] * n, dtype=UTC_DATETIME)
    kind = pl.Series("kind", [None] * n, dtype=pl.Int8)
    # Epoch numbers first: one cheap cast, and a column of them then skips the formats.
    stripped = s.str.strip_chars()
    us = epoch_column_us(stripped.cast(pl.Int64, strict=False)).fill_null(
        epoch_column_us(stripped.cast(pl.Float64, strict=False))
    )
    ok = us.is_not_null()
    if ok.all():
        return us.cast(UTC_DATETIME), pl.Series("kind", [2] * n, dtype=pl.Int8)
    if ok.any():
        hit = ok.arg_true()
        out = out.scatter(hit, us.filter(ok).cast(UTC_DATETIME))
        kind = kind.scatter(hit, pl.Series([2] * len(hit), dtype=pl.Int8))
    idx = (s.is_not_null() & ~ok).arg_true()
    sub = s.gather(idx)
    for fmt, zoned in _TIME_FORMATS:
        if not len(sub):
            break
        parsed = sub.str.to_datetime(fmt, time_unit="us", strict=False)
        tz = parsed.dt.convert_time_zone if zoned else parsed.dt.replace_time_zone
        parsed = tz("UTC")
        ok = parsed.is_not_null()
        if ok.any():
            hit = idx.filter(ok)
            out = out.scatter(hit, parsed.filter(ok))
            kind = kind.scatter(hit, pl.Series([int(zoned)] * len(hit), dtype=pl.Int8))
            idx, sub = idx.filter(~ok), sub.filter(~ok)
    return out, kind


def _arrow_iso(s: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """Fast path: Arrow's ISO-8601 cast, when every string is zoned or every one naive.

    Arrow refuses a naive string when casting to a zoned type and a zoned one when
    casting to a naive type, so success also proves the column is not mixed. It is an
    order of magnitude faster than a strptime format; any failure (a bad string,
    nanosecond fractions, mixed zones) falls back to the format-by-format path.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    first = s.drop_nulls().head(1)
    if not len(first) or not first.str.contains(r"^\d{4}-\d{2}-\d{2}").item():
        return None  # not ISO-looking: a failing Arrow cast can be slow, skip it
    zoned = bool(first.str.contains(r"(?:[Zz]|[+-]\d{2}:?\d{2})$").item())
    try:
        parsed = pc.cast(s.to_arrow(), pa.timestamp("us", "UTC" if zoned else None))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out = pl.Series("timestamp", parsed)
    out = out if zoned else out.dt.replace_time_zone("UTC")
    kind = pl.select(pl.when(out.is_not_null()).then(pl.lit(int(zoned), pl.Int8))).to_series()
    return out.cast(UTC_DATETIME), kind.alias("kind")


def parse_times(raw: pl.Series, *, what: str = "timestamp") -> tuple[pl.Series, pl.Series | None]:
    """Any timestamp column → (datetime[μs, UTC] with nulls where unreadable, kind).

    Strings go through :func:`parse_time_strings` (``kind`` as there); numbers are
    epochs by magnitude; naive datetimes are UTC, zoned ones converted; dates are
    midnight UTC. ``kind`` is None for non-string columns.

    Raises
    ------
    SchemaError
        A column of another type (a list, a boolean …).

    Examples
    --------
    >>> ts, _ = parse_times(pl.Series([1_700_000_000_000]))
    >>> ts.to_list()
    [datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=zoneinfo.ZoneInfo(key='UTC'))]
    """
    dt = raw.dtype
    if dt == pl.String:
        return parse_time_strings(raw)
    if isinstance(dt, pl.Datetime):
        s = raw.dt.replace_time_zone("UTC") if dt.time_zone is None else raw
        return s.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("timestamp"), None
    if dt == pl.Date:
        return raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("timestamp"), None
    if dt.is_numeric():
        return epoch_column_us(raw).cast(UTC_DATETIME), None
    if dt == pl.Null:
        return pl.Series("timestamp", [None] * len(raw), dtype=UTC_DATETIME), None
    raise SchemaError(what, mistyped=[(raw.name, "datetime or ISO string", str(dt))])


def check_zone_mix(
    kind: pl.Series | None, raw: pl.Series, source: str, where: Callable[[int], int | None]
) -> None:
    """Raise :class:`~perflab.errors.InputError` when a column mixes zoned and naive strings.

    No single row is wrong on its own, so this raises whatever the ``errors`` mode,
    naming the line (``where(row)``) of the later of the first zoned and first naive.

    Examples
    --------
    >>> raw = pl.Series(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00"])
    >>> check_zone_mix(parse_times(raw)[1], raw, "m.csv", lambda i: i + 2)
    Traceback (most recent call last):
    ...
    perflab.errors.InputError: m.csv:3: timestamp column mixes zoned and naive times ...
    """
    if kind is None:
        return
    zoned, naive = (kind == 1).fill_null(False), (kind == 0).fill_null(False)
    if not (zoned.any() and naive.any()):
        return
    first_z, first_n = int(zoned.arg_true()[0]), int(naive.arg_true()[0])
    i = max(first_z, first_n)
    line = where(i)
    where_txt = "" if line is not None else f"row {i + 1}: "
    raise InputError(
        source,
        line,
        f"{where_txt}timestamp column mixes zoned and naive times "
        f"({raw[first_z]!r} has an offset, {raw[first_n]!r} has none): "
        "give every time an offset, or none (naive times are read as UTC)",
    )
