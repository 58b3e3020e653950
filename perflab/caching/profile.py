"""What a trace is made of: its size, its popularity skew, what no cache can hit.

:func:`describe_trace` gives the figures a reader wants before any simulation — how many
requests and objects, the working set, the share of one-hit wonders, and the
*compulsory* miss ratio (first requests, which miss in a cache of any size) that bounds
every hit ratio. :func:`popularity` is the rank-frequency table, with the Zipf exponent
fitted to it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from perflab.caching.simulation import Prepared, prepare
from perflab.frames import FrameLike, as_frame

__all__ = ["describe_trace", "level_split", "popularity"]


def describe_trace(trace: FrameLike | Prepared) -> dict[str, float | int]:
    """Headline figures of a trace.

    Returns
    -------
    dict
        ``requests`` (all operations), ``gets``, ``sets``, ``deletes``, ``objects``
        (distinct keys), ``working_set_bytes`` (sum of their largest sizes),
        ``mean_size_bytes`` (per get), ``duration_s``, ``rate_per_s``,
        ``one_hit_share`` (objects read at most once, of all objects),
        ``compulsory_miss_ratio`` (gets of an object never read or written before:
        no cache size hits them), ``ttl_share`` (requests that carry a TTL).

    Examples
    --------
    >>> d = describe_trace({"timestamp": [0.0, 1, 2, 3], "key": [0, 1, 0, 2],
    ...                     "size": [10, 10, 10, 10]})
    >>> d["objects"], d["compulsory_miss_ratio"], d["one_hit_share"]
    (3, 0.75, 0.6666666666666666)
    """
    p = prepare(trace)
    gets = p.ops == 0
    n_get = int(gets.sum())
    reads = np.bincount(p.keys[gets], minlength=p.n_obj) if p.n_obj else np.zeros(0, np.int64)
    # a get is compulsory when no earlier request (of any kind) touched its key
    first = np.zeros(p.requests, bool)
    if p.requests:
        _, idx = np.unique(p.keys, return_index=True)
        first[idx] = True
    duration = float(p.times[-1] - p.times[0]) if p.requests else 0.0
    return {
        "requests": p.requests,
        "gets": n_get,
        "sets": int((p.ops == 1).sum()),
        "deletes": int((p.ops == 2).sum()),
        "objects": p.n_obj,
        "working_set_bytes": p.working_set_bytes,
        "mean_size_bytes": float(p.sizes[gets].mean()) if n_get else float("nan"),
        "duration_s": duration,
        "rate_per_s": p.requests / duration if duration > 0 else float("nan"),
        "one_hit_share": float((reads <= 1).mean()) if p.n_obj else float("nan"),
        "compulsory_miss_ratio": float((first & gets).sum() / n_get) if n_get else float("nan"),
        "ttl_share": float(np.isfinite(p.ttls).mean()) if p.requests else float("nan"),
    }


def popularity(trace: FrameLike | Prepared) -> tuple[pl.DataFrame, float]:
    """Rank-frequency table of the gets, and the Zipf exponent fitted to it.

    The exponent is the slope of log frequency on log rank, fitted over the ranks that
    hold 99 % of the requests but only those with at least two reads (the tail of
    single reads is flat and would bend the fit).

    Returns
    -------
    (polars.DataFrame, float)
        ``rank`` (1 = most read), ``requests``, ``share`` (of all gets) and
        ``cumulative_share``; and the fitted exponent (NaN with fewer than 3 ranks).

    Examples
    --------
    >>> table, alpha = popularity({"timestamp": [0.0] * 6, "key": [0, 0, 0, 1, 1, 2],
    ...                            "size": [1] * 6})
    >>> table["requests"].to_list()
    [3, 2, 1]
    """
    p = prepare(trace)
    gets = p.ops == 0
    counts = np.bincount(p.keys[gets], minlength=p.n_obj) if p.n_obj else np.zeros(0, np.int64)
    counts = np.sort(counts[counts > 0])[::-1]
    total = counts.sum()
    share = counts / total if total else counts.astype(float)
    cum = np.cumsum(share)
    table = pl.DataFrame(
        {
            "rank": np.arange(1, counts.size + 1, dtype=np.int64),
            "requests": counts.astype(np.int64),
            "share": share,
            "cumulative_share": cum,
        }
    )
    fit = (counts >= 2) & (cum <= 0.99)
    if fit.sum() < 3:
        return table, float("nan")
    r = np.log(np.arange(1, counts.size + 1)[fit])
    f = np.log(counts[fit])
    slope = np.polyfit(r, f, 1)[0]
    return table, float(-slope)


def level_split(accesses: FrameLike) -> pl.DataFrame:
    """Which level answered each get of a recording: L1, L2 (Redis) or neither.

    Parameters
    ----------
    accesses : frame-like
        :func:`perflab.caching.read.read_accesses` output (the recorder's rows).

    Returns
    -------
    polars.DataFrame
        One row per strategy, then ``(all)``: ``gets`` (the application's gets, its
        ``l1`` rows), ``l1_hits``, ``l2_hits``, ``misses`` (answered by neither: the
        origin was asked), ``expired`` (L1 misses that found the entry expired), and
        ``l1_share``, ``l2_share``, ``miss_share`` of the gets.

    Examples
    --------
    >>> a = {"op": ["get"] * 4, "result": ["hit", "miss", "hit", "miss"],
    ...      "level": ["l1", "l1", "l2", "l1"], "strategy": ["p"] * 4}
    >>> level_split(a).select("strategy", "gets", "l1_hits", "l2_hits", "misses").rows()
    [('p', 3, 1, 1, 1), ('(all)', 3, 1, 1, 1)]
    """
    df = as_frame(accesses).filter(pl.col("op") == "get")
    l1 = pl.col("level") == "l1"
    per = df.group_by("strategy").agg(
        l1.sum().alias("gets"),
        (l1 & (pl.col("result") == "hit")).sum().alias("l1_hits"),
        ((pl.col("level") == "l2") & (pl.col("result") == "hit")).sum().alias("l2_hits"),
        (l1 & (pl.col("result") == "expired")).sum().alias("expired"),
    )
    total = per.select(pl.lit("(all)").alias("strategy"), pl.exclude("strategy").sum())
    out = pl.concat([per.sort("strategy"), total]).with_columns(
        (pl.col("gets") - pl.col("l1_hits") - pl.col("l2_hits")).alias("misses")
    )
    share = [
        (pl.col(c) / pl.col("gets")).alias(n)
        for c, n in (("l1_hits", "l1_share"), ("l2_hits", "l2_share"), ("misses", "miss_share"))
    ]
    return (
        out.with_columns(share)
        .select(
            "strategy",
            "gets",
            "l1_hits",
            "l2_hits",
            "misses",
            "expired",
            "l1_share",
            "l2_share",
            "miss_share",
        )
        .cast({c: pl.Int64 for c in ("gets", "l1_hits", "l2_hits", "misses", "expired")})
    )
