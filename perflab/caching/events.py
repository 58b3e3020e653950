"""Caching events for the shared timeline: when a cache's hit ratio drops.

:func:`events` reads the runtime cache's recording (:data:`~perflab.caching.schema.
ACCESSES`, what :func:`perflab.caching.read_accesses` returns: every get says whether
it hit), counts hits per time window and per strategy (:func:`hit_ratio_windows`), and
reports each stretch of windows whose hit ratio fell clearly below the windows before
it as a ``hit-ratio-drop`` event — a crawl that flushes the product cache, a deploy
that changed the keys, a TTL cut. A trace without outcomes (a Twitter or
oracleGeneral trace) says nothing about hits: replay it with
:func:`perflab.caching.simulate` instead. It reads no file. Import it from this
module: exported from the package, the name would be shadowed by this module's.

The rule
--------
Windows with fewer than ``min_gets`` gets are left out (a cold start or a quiet
minute says little). A window *drops* when it has at least three normal windows
before it and its hit ratio is at least ``min_drop`` below the pooled hit ratio of
the last ``baseline`` normal windows (hits over gets, so busy windows weigh more),
and the drop is significant: the two-proportion z statistic (pooled standard error)
is at least ``z``. Consecutive dropping windows make one event, compared with the
baseline as it stood before the first; they do not enter the baseline, so a long
drop is not explained away by itself. A drop that lasts to the end of the recording
is one event too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl

from perflab.caching.schema import ACCESSES
from perflab.errors import ParameterError
from perflab.events import events_frame
from perflab.frames import FrameLike, as_frame
from perflab.times import At, duration, instant, span, window_for

__all__ = ["WINDOWS", "events", "hit_ratio_windows"]

WINDOWS = ("window_start", "gets", "hits", "hit_ratio")
"""Columns of :func:`hit_ratio_windows` after the ``by`` column."""

_MIN_HISTORY = 3
_EPOCH_FLOOR_S = 1e8  # 1973: smaller timestamps are relative to a start, not epoch seconds


def _auto_every(gets: pl.DataFrame, windows: int = 20) -> str:
    """About ``windows`` windows over the recording, rounded up to a familiar length."""
    times = gets["timestamp"].to_numpy()
    return f"{window_for(float(times.max() - times.min()), windows)}s"


def _seconds(every: str) -> float:
    return span(every).total_seconds()


def hit_ratio_windows(
    accesses: FrameLike,
    *,
    every: str | timedelta | None = None,
    by: str | None = "strategy",
    level: Literal["any", "l1"] = "any",
    origin: At | None = None,
) -> pl.DataFrame:
    """Gets and hits of a recorded cache per time window.

    Parameters
    ----------
    accesses : frame-like
        :data:`~perflab.caching.schema.ACCESSES` (the recorder's rows).
    every : str or timedelta, optional
        Window length (``"5s"``, ``"1m"``); windows start on multiples of it.
        None: about twenty windows over the recording, rounded up to 1, 2, 5, 10,
        15 or 30 s, 1, 2, 5, 10, 15 or 30 min, 1, 2, 6, 12 or 24 h.
    by : str or None
        Column that names a cache (``"strategy"``); None: the whole cache as one.
    level : {"any", "l1"}
        What counts as a hit: ``"any"`` — the L1 or the L2 (Redis) level answered,
        the origin was spared; ``"l1"`` — the in-process level answered.
    origin : time, optional
        The wall-clock time of ``timestamp`` 0, for a recording in seconds since its
        start; None: timestamps are epoch seconds.

    Returns
    -------
    polars.DataFrame
        ``by`` (when given), ``window_start`` (datetime[μs, UTC]), ``gets`` (the
        application's gets: its ``l1`` rows), ``hits``, ``hit_ratio``; sorted.

    Raises
    ------
    SchemaError
        ``accesses`` lacks an ACCESSES column.
    ParameterError
        A bad ``every`` or ``level``; an unknown ``by`` column; timestamps that are
        not epoch seconds and no ``origin``.

    Examples
    --------
    >>> a = {"timestamp": [1.8e9, 1.8e9 + 1, 1.8e9 + 1.5], "key": ["a", "a", "a"],
    ...      "size": [1, 1, 1], "ttl": [None] * 3, "op": ["get"] * 3,
    ...      "result": ["miss", "hit", "hit"], "level": ["l1"] * 3, "strategy": ["p"] * 3}
    >>> hit_ratio_windows(a, every="1m").select("strategy", "gets", "hits", "hit_ratio").row(0)
    ('p', 3, 2, 0.6666666666666666)
    """
    if level not in ("any", "l1"):
        raise ParameterError(f"level must be 'any' or 'l1', not {level!r}")
    df = ACCESSES.validate(as_frame(accesses))
    if by is not None and by not in df.columns:
        raise ParameterError(f"by={by!r} is not a column of the accesses ({', '.join(df.columns)})")
    gets = df.filter(pl.col("op") == "get", pl.col("timestamp").is_not_null())
    key = [by] if by is not None else []
    schema: dict[str, Any] = {
        **({by: pl.String} if by is not None else {}),
        "window_start": pl.Datetime("us", "UTC"),
        "gets": pl.Int64,
        "hits": pl.Int64,
        "hit_ratio": pl.Float64,
    }
    if gets.is_empty():
        return pl.DataFrame(schema=schema)
    every = _auto_every(gets) if every is None else duration(every)
    first = float(gets["timestamp"].to_numpy().min())
    if origin is None:
        if first < _EPOCH_FLOOR_S:
            raise ParameterError(
                f"timestamps start at {first:g} s: they are relative to the recording's start, "
                "not epoch seconds; give origin= (the wall-clock time of timestamp 0)"
            )
        zero_us = 0
    else:
        zero_us = int(instant(origin, what="origin").timestamp() * 1_000_000)
    at = ((pl.col("timestamp") * 1e6).round(0).cast(pl.Int64) + zero_us).cast(
        pl.Datetime("us", "UTC")
    )
    hit = pl.col("result") == "hit"
    l1 = pl.col("level") == "l1"
    counted = l1 & hit if level == "l1" else hit & pl.col("level").is_in(["l1", "l2"])
    out = (
        gets.with_columns(at.dt.truncate(every).alias("window_start"))
        .group_by([*key, "window_start"])
        .agg(l1.sum().alias("gets"), counted.sum().alias("hits"))
        .filter(pl.col("gets") > 0)
        .with_columns((pl.col("hits") / pl.col("gets")).alias("hit_ratio"))
        .sort([*key, "window_start"])
    )
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def events(
    accesses: FrameLike,
    *,
    every: str | timedelta | None = None,
    by: str | None = "strategy",
    level: Literal["any", "l1"] = "any",
    min_drop: float = 0.1,
    min_gets: int = 50,
    baseline: int = 6,
    z: float = 3.0,
    origin: At | None = None,
    terms: Sequence[str] | Mapping[str, Sequence[str]] = (),
) -> pl.DataFrame:
    """Each stretch of clearly lower hit ratio in a recording as a ``hit-ratio-drop``.

    The rule is in the module docstring.

    Parameters
    ----------
    accesses : frame-like
        :data:`~perflab.caching.schema.ACCESSES`, what
        :func:`~perflab.caching.read_accesses` returns.
    every : str or timedelta, optional
        Window length (``"5s"`` for a recording of a minute or two, ``"1m"`` for
        hours); None: about twenty windows over the recording (as in
        :func:`hit_ratio_windows`).
    by, level, origin
        As in :func:`hit_ratio_windows`.
    min_drop : float
        Smallest fall of the hit ratio reported, in absolute terms (0.1 = ten
        points, 60 % → 50 %).
    min_gets : int
        Windows with fewer gets are left out.
    baseline : int
        How many normal windows before a drop make its reference.
    z : float
        Smallest two-proportion z statistic of a drop (3: one-sided p ≈ 0.001).
    terms : sequence of str, or mapping of str to sequence of str
        Linking words (the routes or service a cache serves): a sequence is added to
        every event, a mapping gives each cache (``by`` value) its own —
        ``{"product": ["/products/{id}"]}``. The cache's own name is always one.

    Returns
    -------
    polars.DataFrame
        :data:`~perflab.events.EVENTS`, domain ``"caching"``, kind
        ``"hit-ratio-drop"``, one row per drop at the start of its first window:
        ``subject`` the cache (the ``by`` value, or ``"cache"``), ``size`` the
        relative change of the hit ratio (−0.5 = halved), ``direction``
        ``"worse"``, ``evidence`` the hit ratios before and during it, the gets and
        misses, and how long it lasted.

    Raises
    ------
    SchemaError
        ``accesses`` lacks an ACCESSES column.
    ParameterError
        A bad window, level or threshold; timestamps that are not epoch seconds and
        no ``origin``.

    Examples
    --------
    >>> t0 = 1.8e9
    >>> rows = [(t0 + 60 * m + i / 100, "hit" if i % 10 < (2 if m == 4 else 6) else "miss")
    ...         for m in range(6) for i in range(100)]
    >>> a = pl.DataFrame(rows, schema=["timestamp", "result"], orient="row").with_columns(
    ...     key=pl.lit("k"), size=pl.lit(1), ttl=pl.lit(None, pl.Float64), op=pl.lit("get"),
    ...     level=pl.lit("l1"), strategy=pl.lit("product"))
    >>> events(a, every="1m").select("subject", "kind", pl.col("size").round(3), "direction").row(0)
    ('product', 'hit-ratio-drop', -0.667, 'worse')
    """
    if not 0 < min_drop <= 1:
        raise ParameterError(
            f"min_drop must be in (0, 1] (a fall of the hit ratio), not {min_drop}"
        )
    if not isinstance(min_gets, int) or min_gets < 1:
        raise ParameterError(f"min_gets must be a positive integer, not {min_gets!r}")
    if not isinstance(baseline, int) or baseline < _MIN_HISTORY:
        raise ParameterError(
            f"baseline must be an integer of at least {_MIN_HISTORY}, not {baseline!r}"
        )
    if not z >= 0:
        raise ParameterError(f"z must be zero or positive, not {z}")
    df = ACCESSES.validate(as_frame(accesses))
    gets = df.filter(pl.col("op") == "get", pl.col("timestamp").is_not_null())
    every = duration(every) if every is not None else _auto_every(gets) if gets.height else "1m"
    width = timedelta(seconds=_seconds(every))
    windows = hit_ratio_windows(df, every=every, by=by, level=level, origin=origin)
    groups = (
        windows.partition_by(by, maintain_order=True, as_dict=True)
        if by is not None
        else {("cache",): windows}
    )
    rows: list[dict[str, Any]] = []
    for name, part in groups.items():
        subject = str(name[0]) if name[0] is not None else "cache"
        for drop in _drops(part.filter(pl.col("gets") >= min_gets), baseline, min_drop, z):
            words = terms.get(subject, ()) if isinstance(terms, Mapping) else terms
            rows.append(_event(subject, drop, width, every, level, tuple(words)))
    return events_frame(rows).sort("time", maintain_order=True)


def _drops(
    part: pl.DataFrame, baseline: int, min_drop: float, z_min: float
) -> list[dict[str, Any]]:
    """The drop episodes of one cache's windows (see the module docstring)."""
    history: list[tuple[int, int]] = []
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for start, gets, hits in part.select("window_start", "gets", "hits").iter_rows():
        dropped = False
        if len(history) >= _MIN_HISTORY:
            ref = history[-baseline:] if current is None else current["ref"]
            base_gets = sum(g for g, _ in ref)
            base_hits = sum(h for _, h in ref)
            base = base_hits / base_gets
            ratio = hits / gets
            pooled = (base_hits + hits) / (base_gets + gets)
            se = math.sqrt(pooled * (1 - pooled) * (1 / base_gets + 1 / gets))
            score = (base - ratio) / se if se > 0 else (math.inf if base > ratio else 0.0)
            dropped = base - ratio >= min_drop and score >= z_min
        if dropped:
            if current is None:
                current = {"start": start, "ref": list(ref), "gets": 0, "hits": 0,
                           "windows": 0, "low": 1.0}  # fmt: skip
                found.append(current)
            current["gets"] += gets
            current["hits"] += hits
            current["windows"] += 1
            current["low"] = min(current["low"], hits / gets)
            current["last"] = start
            current["recovered"] = False
        else:
            if current is not None:
                current["recovered"] = True
            current = None
            history.append((gets, hits))
    return found


def _event(
    subject: str,
    drop: dict[str, Any],
    width: timedelta,
    every: str,
    level: str,
    terms: tuple[str, ...],
) -> dict[str, Any]:
    base_gets = sum(g for g, _ in drop["ref"])
    base = sum(h for _, h in drop["ref"]) / base_gets
    ratio = drop["hits"] / drop["gets"]
    start: datetime = drop["start"]
    end: datetime = drop["last"] + width
    n = drop["windows"]
    lasted = (f"one {every} window" if n == 1 else f"{n} windows of {every}") + (
        f", {start:%H:%M:%S}–{end:%H:%M:%S}"
    )
    if not drop["recovered"]:
        lasted += ", not recovered by the end of the recording"
    what = "L1 hit ratio" if level == "l1" else "hit ratio"
    lowest = f", lowest window {drop['low'] * 100:.0f} %" if n > 1 else ""
    return {
        "time": start,
        "domain": "caching",
        "subject": subject,
        "kind": "hit-ratio-drop",
        "size": ratio / base - 1.0 if base > 0 else None,
        "unit": "ratio",
        "direction": "worse",
        "evidence": (
            f"{subject} {what} {base * 100:.0f} % → {ratio * 100:.0f} % "
            f"({(ratio - base) * 100:+.0f} pts) over {lasted}: {drop['gets']:,} gets, "
            f"{drop['gets'] - drop['hits']:,} missed{lowest}; before: {base_gets:,} gets in "
            f"the {len(drop['ref'])} windows before"
        ),
        "terms": list(dict.fromkeys([subject, *terms])),
    }
