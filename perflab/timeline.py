"""One time axis for every domain's events, and the likely causes of each regression.

:func:`timeline` lines up :data:`~perflab.events.EVENTS` frames from any domains
(``perflab.<domain>.events.events(...)``, :func:`perflab.events.deploys`) in one
sorted frame. :func:`likely_causes` ranks, for each regression-like event, the events
that may have caused it, by a rule stated here and tested on a planted scenario
(``tests/test_timeline.py``: a deploy at 15:58 adds a slow query pattern at 16:00;
the 16:00 latency step of the route points at that pattern, then the deploy; a
control day stays quiet).

The ranking rule
----------------
**Effects.** An event is an effect when its ``kind`` is one of ``effects`` (by
default ``step``, ``regression``, ``error-burst``) and it is for the worse:
``direction == "worse"``, or ``direction`` null and ``size > 0`` (a step up).

**Candidates.** For an effect E, a candidate cause C is any other event with

* ``-tolerance <= lag < window``, where ``lag = E.time - C.time``: a cause comes
  first; events up to ``tolerance`` *after* E count as simultaneous, since each
  domain stamps events at its own resolution (a 5-minute window starts at 16:00, the
  first slow query is logged at 16:00:03);
* not the same ``domain`` *and* ``kind`` as E (two latency steps are co-symptoms,
  not cause and effect);
* ``direction`` not ``"better"`` (an improvement does not cause a regression).

**Score** = timing × link × magnitude, each in (0, 1]:

* timing = ``1 - max(lag, 0) / window``: 1 for an event at the same time (within the
  tolerance), falling linearly to 0 at ``window`` before E;
* link = 1.0 when C has E's subject; 0.8 when they share a term (the subject or one
  of the ``terms`` of either: a route, a table, an application); 0.6 when C is a
  ``deploy`` or ``run`` marker with no shared term (a deploy may touch anything);
  0.4 otherwise (only timing links them). Subjects and terms are compared lower-cased,
  with surrounding spaces and ``/`` removed (``/checkout`` = ``checkout``);
* magnitude = ``0.5 + 0.5 * min(|size|, 1)`` when ``size`` is a relative change or a
  share (``unit`` null, ``"ratio"`` or ``"share"``), else 0.5 (no size, or one in a
  unit that does not compare across domains).

Ranks are 1, 2, … by score, highest first; ties go to the earlier cause ("which
moved first"), then by domain, subject and kind, so the order is deterministic. The
``reason`` column spells out the three factors of each score.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from perflab.events import EVENTS, as_events, empty
from perflab.frames import UTC_DATETIME, FrameLike, Schema, as_frame
from perflab.times import span

__all__ = ["CAUSES", "EFFECT_KINDS", "episodes", "explain", "likely_causes", "timeline"]

EFFECT_KINDS: tuple[str, ...] = ("step", "regression", "error-burst")
"""The kinds :func:`likely_causes` explains by default."""

MARKERS: tuple[str, ...] = ("deploy", "run")
"""Kinds that bracket other events rather than describe a change."""

LINK_SAME_SUBJECT = 1.0
LINK_SHARED_TERM = 0.8
LINK_MARKER = 0.6
LINK_NONE = 0.4

CAUSES = Schema(
    "likely causes",
    {
        "effect_time": UTC_DATETIME,
        "effect_domain": pl.String,
        "effect_subject": pl.String,
        "effect_kind": pl.String,
        "effect_size": pl.Float64,
        "effect_evidence": pl.String,
        "cause_time": UTC_DATETIME,
        "cause_domain": pl.String,
        "cause_subject": pl.String,
        "cause_kind": pl.String,
        "cause_size": pl.Float64,
        "lag_s": pl.Float64,
        "rank": pl.UInt32,
        "score": pl.Float64,
        "timing": pl.Float64,
        "link": pl.Float64,
        "magnitude": pl.Float64,
        "reason": pl.String,
    },
)
"""Output of :func:`likely_causes`: one row per (effect, candidate cause).

``lag_s`` is ``effect_time - cause_time`` in seconds (negative: the cause was stamped
up to ``tolerance`` after the effect). An effect with no candidate keeps one row with
null cause columns, rank and score, and a reason saying so."""


def _us(value: str | timedelta, what: str, *, zero: bool = False) -> float:
    """A fixed-length duration (``"90s"``, ``"1h30m"``, timedelta) in microseconds."""
    return span(value, what=what, zero=zero) / timedelta(microseconds=1)


def timeline(*event_frames: FrameLike) -> pl.DataFrame:
    """Every domain's events on one time axis.

    Parameters
    ----------
    *event_frames : frame-like
        :data:`~perflab.events.EVENTS` frames (from the domains' ``events`` adapters,
        :func:`~perflab.events.deploys`, or your own).

    Returns
    -------
    polars.DataFrame
        One :data:`~perflab.events.EVENTS` frame (with ``unit``, ``direction``,
        ``terms``; extra columns of any input kept, null elsewhere), sorted by
        ``time``, then ``domain``, ``subject``, ``kind``.

    Raises
    ------
    SchemaError
        An input lacks a required column (named in the message).

    Examples
    --------
    >>> from datetime import datetime
    >>> from perflab.events import deploys
    >>> t = timeline(deploys([(datetime(2026, 3, 2, 16), "v2")]),
    ...              deploys([(datetime(2026, 3, 2, 9), "nightly")], kind="run"))
    >>> t.select("kind", "subject").rows()
    [('run', 'nightly'), ('deploy', 'v2')]
    """
    frames = [as_events(f) for f in event_frames]
    if not frames:
        return empty()
    return pl.concat(frames, how="diagonal_relaxed").sort(
        ["time", "domain", "subject", "kind"], nulls_last=True, maintain_order=True
    )


def episodes(events: FrameLike, *, gap: str | timedelta = "1h") -> pl.DataFrame:
    """Number the stretches of the timeline where events come close together.

    Evidence from different systems often covers different days (this week's access
    log, last night's load test); drawn on one axis, each cluster would be a dot.
    An episode is a run of events, in time order, each within ``gap`` of the one
    before it; each is numbered from 1 and can be drawn on its own axis.

    Parameters
    ----------
    events : frame-like
        An :data:`~perflab.events.EVENTS` frame.
    gap : str or timedelta
        The longest quiet time inside an episode (``"1h"``).

    Returns
    -------
    polars.DataFrame
        The events sorted by time, with ``episode`` (u32, from 1) and
        ``episode_start``/``episode_end`` (the first and last event time of it).

    Examples
    --------
    >>> from datetime import datetime
    >>> from perflab.events import deploys
    >>> marks = deploys([(datetime(2026, 3, 2, 16), "a"), (datetime(2026, 3, 2, 16, 30), "b"),
    ...                  (datetime(2026, 3, 5, 9), "c")])
    >>> episodes(marks).select("subject", "episode").rows()
    [('a', 1), ('b', 1), ('c', 2)]
    """
    span = _us(gap, "gap")
    frame = timeline(events)
    if frame.is_empty():
        return frame.with_columns(
            pl.lit(None, pl.UInt32).alias("episode"),
            pl.lit(None, UTC_DATETIME).alias("episode_start"),
            pl.lit(None, UTC_DATETIME).alias("episode_end"),
        )
    step = pl.col("time").diff().dt.total_microseconds().fill_null(0)
    return frame.with_columns(
        ((step > span).cum_sum() + 1).cast(pl.UInt32).alias("episode")
    ).with_columns(
        pl.col("time").min().over("episode").alias("episode_start"),
        pl.col("time").max().over("episode").alias("episode_end"),
    )


def _norm(e: pl.Expr) -> pl.Expr:
    return e.str.to_lowercase().str.strip_chars(" /")


def _words(prefix: str) -> pl.Expr:
    """The subject and terms of one side, normalised, as a list."""
    terms = pl.col(f"{prefix}terms").fill_null(pl.lit([], pl.List(pl.String)))
    subject = pl.concat_list(pl.col(f"{prefix}subject").fill_null(""))
    both = pl.concat_list(subject, terms)
    return (
        both.list.eval(_norm(pl.element()))
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique()
    )


def _magnitude(prefix: str) -> pl.Expr:
    size = pl.col(f"{prefix}size").fill_nan(None)
    comparable = pl.col(f"{prefix}unit").is_null() | pl.col(f"{prefix}unit").is_in(
        ["ratio", "share"]
    )
    return (
        pl.when(comparable & size.is_not_null())
        .then(0.5 + 0.5 * pl.min_horizontal(size.abs(), pl.lit(1.0)))
        .otherwise(0.5)
    )


def likely_causes(
    events: FrameLike,
    *,
    window: str | timedelta = "1h",
    tolerance: str | timedelta = "2m",
    effects: Sequence[str] = EFFECT_KINDS,
) -> pl.DataFrame:
    """For each regression-like event, the candidate causes ranked by the stated rule.

    The rule (effects, candidates, score = timing × link × magnitude, ties) is in the
    module docstring of :mod:`perflab.timeline`.

    Parameters
    ----------
    events : frame-like
        An :data:`~perflab.events.EVENTS` frame (:func:`timeline` of several).
    window : str or timedelta
        How long before an effect a cause may come (``"1h"``); timing falls linearly
        from 1 at the effect to 0 at ``window`` before it.
    tolerance : str or timedelta
        How long after an effect an event still counts as simultaneous (``"2m"``;
        ``timedelta(0)`` for none).
    effects : sequence of str
        The kinds explained (each only when for the worse).

    Returns
    -------
    polars.DataFrame
        :data:`CAUSES`, effects in time order, each effect's causes by rank. No
        effect gives an empty frame: a quiet timeline stays quiet.

    Raises
    ------
    SchemaError
        ``events`` is not an EVENTS frame.
    ParameterError
        ``window`` or ``tolerance`` is not a fixed-length duration.

    Examples
    --------
    >>> from datetime import datetime
    >>> ev = [
    ...   {"time": datetime(2026, 3, 2, 16), "domain": "monitoring", "subject": "/checkout",
    ...    "kind": "step", "size": 0.35, "evidence": "p95 200 → 270 ms"},
    ...   {"time": datetime(2026, 3, 2, 16), "domain": "queries", "subject": "SELECT …",
    ...    "kind": "new-pattern", "size": 0.4, "evidence": "new", "terms": ["checkout"]},
    ...   {"time": datetime(2026, 3, 2, 15, 58), "domain": "deploy", "subject": "v2.14",
    ...    "kind": "deploy", "size": None, "evidence": "deploy v2.14"}]
    >>> likely_causes(ev).select("cause_kind", "rank", pl.col("score").round(3)).rows()
    [('new-pattern', 1, 0.56), ('deploy', 2, 0.29)]
    """
    span = _us(window, "window")
    slack = _us(tolerance, "tolerance", zero=True)
    frame = as_events(events).with_row_index("_id")
    worse = (pl.col("direction") == "worse") | (
        pl.col("direction").is_null() & (pl.col("size").fill_nan(None) > 0)
    )
    found = frame.filter(pl.col("kind").is_in(list(effects)) & worse)
    if found.height == 0:
        return CAUSES.empty()
    base = [*EVENTS.columns, "unit", "direction", "terms", "_id"]
    eff = found.select(pl.col(c).alias(f"e_{c}") for c in base)
    cand = frame.filter(pl.col("direction").fill_null("") != "better").select(
        pl.col(c).alias(f"c_{c}") for c in base
    )
    lag = (pl.col("e_time") - pl.col("c_time")).dt.total_microseconds().cast(pl.Float64)
    pairs = (
        eff.with_columns(
            (pl.col("e_time") - pl.duration(microseconds=int(span))).alias("_lo"),
            (pl.col("e_time") + pl.duration(microseconds=int(slack))).alias("_hi"),
        )
        .join_where(cand, pl.col("c_time") > pl.col("_lo"), pl.col("c_time") <= pl.col("_hi"))
        .with_columns(lag.alias("_lag"))
        .filter(
            (pl.col("e__id") != pl.col("c__id"))
            & ~((pl.col("e_domain") == pl.col("c_domain")) & (pl.col("e_kind") == pl.col("c_kind")))
            & (pl.col("_lag") >= -slack)
            & (pl.col("_lag") < span)
        )
        .with_columns(_words("e_").alias("_ew"), _words("c_").alias("_cw"))
        .with_columns(pl.col("_ew").list.set_intersection("_cw").list.sort().alias("_shared"))
        .with_columns(
            (1.0 - pl.col("_lag").clip(lower_bound=0.0) / span).alias("timing"),
            pl.when(_norm(pl.col("e_subject")) == _norm(pl.col("c_subject")))
            .then(LINK_SAME_SUBJECT)
            .when(pl.col("_shared").list.len() > 0)
            .then(LINK_SHARED_TERM)
            .when(pl.col("c_kind").is_in(MARKERS))
            .then(LINK_MARKER)
            .otherwise(LINK_NONE)
            .alias("link"),
            _magnitude("c_").alias("magnitude"),
        )
        .with_columns((pl.col("timing") * pl.col("link") * pl.col("magnitude")).alias("score"))
        .sort(
            ["e_time", "e__id", "score", "c_time", "c_domain", "c_subject", "c_kind"],
            descending=[False, False, True, False, False, False, False],
            nulls_last=True,
        )
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("e__id").alias("rank"))
    )
    rows = pairs.with_columns(_reason(span, slack).alias("reason"))
    out = rows.select(
        *(
            pl.col(f"e_{c}").alias(f"effect_{c}")
            for c in ("time", "domain", "subject", "kind", "size", "evidence")
        ),
        *(
            pl.col(f"c_{c}").alias(f"cause_{c}")
            for c in ("time", "domain", "subject", "kind", "size")
        ),
        (pl.col("_lag") / 1e6).alias("lag_s"),
        "rank",
        "score",
        "timing",
        "link",
        "magnitude",
        "reason",
        pl.col("e__id").alias("_e"),
    )
    lonely = eff.filter(~pl.col("e__id").is_in(pairs.get_column("e__id").implode())).select(
        *(
            pl.col(f"e_{c}").alias(f"effect_{c}")
            for c in ("time", "domain", "subject", "kind", "size", "evidence")
        ),
        pl.lit(
            f"no event of another kind in the {window} before it "
            f"(or {tolerance} after): nothing on the timeline explains it"
        ).alias("reason"),
        pl.col("e__id").alias("_e"),
    )
    both = pl.concat([out, lonely], how="diagonal_relaxed").sort(
        ["effect_time", "_e", "rank"], nulls_last=True, maintain_order=True
    )
    return both.select(CAUSES.names).cast(pl.Schema(CAUSES.dtypes()))


def explain(causes: FrameLike) -> pl.DataFrame:
    """One line per regression: what happened, its likeliest cause, and how strong the link.

    Parameters
    ----------
    causes : frame-like
        :func:`likely_causes`'s :data:`CAUSES` frame.

    Returns
    -------
    polars.DataFrame
        ``time`` (the effect's), ``effect`` (``domain kind: subject``), ``size``,
        ``evidence`` (the effect's),
        ``likely_cause`` (the rank-1 cause, ``domain kind: subject``; null when none),
        ``lag_s``, ``score``, ``link`` (``"same subject"``, ``"shared term"``,
        ``"deploy or run"``, ``"timing only"`` or ``"none"``), ``candidates`` (how many
        events were weighed) and ``reason``, effects in time order. A cause linked by
        timing alone is a coincidence until shown otherwise; the ``link`` column
        says which it is.

    Examples
    --------
    >>> from datetime import datetime
    >>> ev = [
    ...   {"time": datetime(2026, 3, 2, 16), "domain": "monitoring", "subject": "/checkout",
    ...    "kind": "step", "size": 0.35, "evidence": "p95 200 → 270 ms"},
    ...   {"time": datetime(2026, 3, 2, 15, 58), "domain": "deploy", "subject": "v2.14",
    ...    "kind": "deploy", "size": None, "evidence": "deploy v2.14"}]
    >>> explain(likely_causes(ev)).select("effect", "likely_cause", "link").row(0)
    ('monitoring step: /checkout', 'deploy deploy: v2.14', 'deploy or run')
    """
    frame = CAUSES.validate(as_frame(causes))
    named = pl.format("{} {}: {}", "effect_domain", "effect_kind", "effect_subject")
    link = (
        pl.when(pl.col("link").is_null())
        .then(pl.lit("none"))
        .when(pl.col("link") >= LINK_SAME_SUBJECT)
        .then(pl.lit("same subject"))
        .when(pl.col("link") >= LINK_SHARED_TERM)
        .then(pl.lit("shared term"))
        .when(pl.col("link") >= LINK_MARKER)
        .then(pl.lit("deploy or run"))
        .otherwise(pl.lit("timing only"))
    )
    effect = ["effect_time", "effect_domain", "effect_subject", "effect_kind", "effect_evidence"]
    counted = frame.group_by(effect).agg(pl.col("rank").count().alias("candidates"))
    first = frame.filter(pl.col("rank").is_null() | (pl.col("rank") == 1))
    return (
        first.join(
            counted,
            on=effect,
            how="left",
            nulls_equal=True,
        )
        .sort("effect_time", "effect_domain", "effect_subject", maintain_order=True)
        .select(
            pl.col("effect_time").alias("time"),
            named.alias("effect"),
            pl.col("effect_size").alias("size"),
            pl.col("effect_evidence").alias("evidence"),
            pl.when(pl.col("cause_kind").is_not_null())
            .then(pl.format("{} {}: {}", "cause_domain", "cause_kind", "cause_subject"))
            .alias("likely_cause"),
            "lag_s",
            "score",
            link.alias("link"),
            pl.col("candidates").fill_null(0).cast(pl.UInt32),
            "reason",
        )
    )


def _reason(span: float, slack: float) -> pl.Expr:
    """One line per pair: when, how linked, how big, and the product."""
    lag_s = pl.col("_lag") / 1e6
    when = (
        pl.when(pl.col("_lag") < 0)
        .then(
            pl.format(
                "{} s after the effect (within the tolerance, counted as simultaneous)",
                (-lag_s).round(0).cast(pl.Int64),
            )
        )
        .when(pl.col("_lag") == 0)
        .then(pl.lit("at the same time"))
        .otherwise(pl.format("{} min before", (lag_s / 60).round(1)))
    )
    link = (
        pl.when(pl.col("link") == LINK_SAME_SUBJECT)
        .then(pl.lit("same subject"))
        .when(pl.col("link") == LINK_SHARED_TERM)
        .then(pl.format("shares {}", pl.col("_shared").list.join(", ")))
        .when(pl.col("link") == LINK_MARKER)
        .then(pl.format("a {} (may touch anything)", pl.col("c_kind")))
        .otherwise(pl.lit("unrelated subject (timing only)"))
    )
    size = (
        pl.when(pl.col("c_size").is_null() | pl.col("c_size").is_nan())
        .then(pl.lit("no size"))
        .when(pl.col("c_unit").is_null() | (pl.col("c_unit") == "ratio"))
        .then(pl.format("{} %", _pct(pl.col("c_size"))))
        .when(pl.col("c_unit") == "share")
        .then(pl.format("{} % of the total", _pct(pl.col("c_size"))))
        .otherwise(pl.format("{} {} (not comparable)", pl.col("c_size").round(2), pl.col("c_unit")))
    )
    subject = pl.col("c_subject").fill_null("")
    short = (
        pl.when(subject.str.len_chars() > 60)
        .then(subject.str.slice(0, 59) + pl.lit("…"))
        .otherwise(subject)
    )
    return pl.format(
        "{} {} '{}' {}; {}; {}; score = timing {} × link {} × size {} = {}",
        pl.col("c_domain"),
        pl.col("c_kind"),
        short,
        when,
        link,
        size,
        pl.col("timing").round(2),
        pl.col("link").round(2),
        pl.col("magnitude").round(2),
        pl.col("score").round(3),
    )


def _pct(size: pl.Expr) -> pl.Expr:
    """A relative size as whole percent text; infinite (from nothing) as ``∞``."""
    return (size * 100).round(0).cast(pl.Int64, strict=False).cast(pl.String).fill_null("∞")
