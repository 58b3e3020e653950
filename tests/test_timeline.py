"""The planted scenario: a deploy adds a slow query pattern; the latency step points at it.

Built from the domains' real analyses: a seeded day of request latencies for two
routes goes through :func:`perflab.monitoring.trend`, a statement log through
:func:`perflab.queries.query_patterns`, a deploy list through
:func:`perflab.events.deploys`; their adapters give the events and
:func:`perflab.timeline.likely_causes` ranks them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.events import as_events, deploys
from perflab.monitoring import trend
from perflab.monitoring.events import events as monitoring_events
from perflab.queries import query_patterns
from perflab.queries.events import events as query_events
from perflab.timeline import CAUSES, likely_causes, timeline

DAY = datetime(2026, 3, 2, tzinfo=UTC)
STEP = DAY + timedelta(hours=16)
DEPLOY = DAY + timedelta(hours=15, minutes=58)

SLOW_JOIN = (
    "SELECT o.id, i.sku FROM orders o JOIN order_items i ON i.order_id = o.id "
    "WHERE o.customer_id = {} ORDER BY o.created_at"
)


def latency_day(seed: int, *, step: bool) -> pl.DataFrame:
    """24 h of request latencies (ms) of two routes, one every 30 s; /checkout gets
    35 % slower from 16:00 when ``step``."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 24 * 3600, 30)
    parts = []
    for route, median in (("/checkout", 120.0), ("/search", 60.0)):
        ms = rng.lognormal(np.log(median), 0.3, t.size)
        if step and route == "/checkout":
            ms = np.where(t >= 16 * 3600, ms * 1.35, ms)
        parts.append(
            pl.DataFrame(
                {
                    "name": "http.server.duration",
                    "route": route,
                    "unit": "ms",
                    "value": ms,
                    "timestamp": [DAY + timedelta(seconds=int(s)) for s in t],
                }
            )
        )
    return pl.concat(parts)


def statements(seed: int, start: datetime, hours: int, *, slow_pattern: bool) -> pl.DataFrame:
    """A statement log: the usual two patterns, plus the deploy's slow join."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(hours * 60):  # one of each a minute
        at = start + timedelta(minutes=k, seconds=3)
        rows.append((f"SELECT id, total FROM orders WHERE customer_id = {k}", 3.0, at, "checkout"))
        rows.append((f"SELECT * FROM products WHERE id = {k}", 1.5, at, "search"))
        if slow_pattern:
            rows.append((SLOW_JOIN.format(k), 80.0, at, "checkout"))
    return pl.DataFrame(
        {
            "query": [r[0] for r in rows],
            "duration_ms": [r[1] * rng.lognormal(0, 0.2) for r in rows],
            "timestamp": [r[2] for r in rows],
            "application": [r[3] for r in rows],
        }
    )


def distractors() -> pl.DataFrame:
    """A cache hit ratio drop at 15:20 on another subject, one at 09:00, a bundle at 18:30."""
    rows = [
        (DAY + timedelta(hours=15, minutes=20), "caching", "sessions", "hit-ratio-drop", -0.1),
        (DAY + timedelta(hours=9), "caching", "sessions", "hit-ratio-drop", -0.4),
        (DAY + timedelta(hours=18, minutes=30), "bundles", "main.js", "grew", 0.5),
    ]
    return as_events(
        [
            {"time": t, "domain": d, "subject": s, "kind": k, "size": z, "evidence": "planted",
             "direction": "worse"}
            for t, d, s, k, z in rows
        ]
    )  # fmt: skip


def day_events(seed: int, *, planted: bool) -> pl.DataFrame:
    tr = trend(latency_day(seed, step=planted), every="10m", by=("name", "route"), stat="p95")
    before = query_patterns(statements(seed, DAY + timedelta(hours=14), 2, slow_pattern=False))
    after = query_patterns(statements(seed + 1, STEP, 2, slow_pattern=planted))
    return timeline(
        monitoring_events(tr),
        query_events(after, before=before),
        deploys([(DEPLOY, "checkout v2.14")]),
        distractors(),
    )


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return day_events(11, planted=True)


@pytest.fixture(scope="module")
def control() -> pl.DataFrame:
    return day_events(11, planted=False)


def test_the_step_points_at_the_new_pattern_then_the_deploy(planted: pl.DataFrame) -> None:
    causes = likely_causes(planted)
    effects = causes.select("effect_time", "effect_subject").unique()
    assert effects.rows() == [(STEP, "http.server.duration route=/checkout")]
    top = causes.sort("rank").head(2)
    assert top.get_column("cause_kind").to_list() == ["new-pattern", "deploy"]
    assert "JOIN order_items" in top.get_column("cause_subject")[0]
    assert top.get_column("cause_subject")[1] == "checkout v2.14"
    reason = top.get_column("reason")[0]
    assert "shares checkout" in reason and "score = timing" in reason


def test_a_distractor_ranks_below_and_far_events_are_not_candidates(
    planted: pl.DataFrame,
) -> None:
    causes = likely_causes(planted, window="1h")
    by_kind = dict(zip(causes["cause_kind"], causes["rank"], strict=True))
    assert by_kind["hit-ratio-drop"] > by_kind["deploy"] > by_kind["new-pattern"]
    times = causes.get_column("cause_time").to_list()
    assert DAY + timedelta(hours=9) not in times  # long before: outside the window
    assert "grew" not in by_kind  # after the effect: never a cause
    # with a whole day of window, the 09:00 drop is a candidate, but last
    wide = likely_causes(planted, window="1d")
    assert wide.get_column("cause_time").to_list()[-1] == DAY + timedelta(hours=9)


def test_the_control_day_stays_quiet(control: pl.DataFrame) -> None:
    assert control.filter(pl.col("domain") == "monitoring").height == 0
    assert control.filter(pl.col("domain") == "queries").height == 0
    out = likely_causes(control)
    assert out.height == 0 and out.columns == CAUSES.names


def test_ranking_follows_the_stated_rule() -> None:
    e = {"domain": "monitoring", "subject": "/checkout", "kind": "step", "size": 0.3,
         "evidence": "", "time": STEP}  # fmt: skip
    near = {**e, "domain": "queries", "subject": "q1", "kind": "new-pattern", "size": 1.0,
            "time": STEP - timedelta(minutes=6), "terms": ["checkout"]}  # fmt: skip
    same = {**near, "subject": "/checkout", "kind": "saturation", "size": None,
            "direction": "worse", "time": STEP - timedelta(minutes=30)}  # fmt: skip
    better = {**near, "subject": "q2", "direction": "better", "time": STEP}
    out = likely_causes([e, near, same, better], window="1h")
    assert out.get_column("cause_subject").to_list() == ["q1", "/checkout"]
    first, second = out.row(0, named=True), out.row(1, named=True)
    assert first["timing"] == pytest.approx(0.9) and first["link"] == 0.8
    assert first["magnitude"] == 1.0 and first["score"] == pytest.approx(0.72)
    assert second["link"] == 1.0 and second["magnitude"] == 0.5
    assert second["score"] == pytest.approx(0.25)
    assert first["lag_s"] == 360.0
    # a tie goes to the earlier cause
    tie = {**near, "subject": "q3", "time": STEP - timedelta(minutes=6)}
    early = likely_causes([e, tie, {**near, "time": STEP - timedelta(minutes=6)}])
    assert early.get_column("rank").to_list() == [1, 2]
    assert early.get_column("cause_subject").to_list() == ["q1", "q3"]


def test_an_effect_without_candidates_says_so() -> None:
    e = {"domain": "loadtest", "subject": "checkout", "kind": "regression", "size": 0.2,
         "evidence": "p95 +20 %", "time": STEP, "direction": "worse"}  # fmt: skip
    out = likely_causes([e])
    assert out.height == 1 and out["rank"][0] is None
    assert "nothing on the timeline explains it" in out["reason"][0]


def test_timeline_sorts_and_keeps_extra_columns() -> None:
    a = deploys([(STEP, "b"), (DEPLOY, "a")])
    b = as_events(
        [{"time": DAY, "domain": "x", "subject": "s", "kind": "run", "size": None,
          "evidence": "", "run_id": "r1"}]
    )  # fmt: skip
    t = timeline(a, b)
    assert t.get_column("subject").to_list() == ["s", "a", "b"]
    assert t.get_column("run_id").to_list() == ["r1", None, None]
    assert timeline().height == 0


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(SchemaError, match="time"):
        likely_causes(
            [{"domain": "x", "subject": "s", "kind": "step", "size": 1.0, "evidence": ""}]
        )
    with pytest.raises(ParameterError, match="window"):
        likely_causes([], window="soon")
    with pytest.raises(ParameterError, match="tolerance"):
        likely_causes([], tolerance="-1m")


def test_naive_times_are_utc() -> None:
    naive = {"domain": "monitoring", "subject": "/a", "kind": "step", "size": 0.5,
             "evidence": "", "time": datetime(2026, 3, 2, 16)}  # fmt: skip
    cause = {**naive, "domain": "deploy", "kind": "deploy", "size": None,
             "time": datetime(2026, 3, 2, 15, 59)}  # fmt: skip
    out = likely_causes([naive, cause])
    assert out["effect_time"][0] == STEP and out["lag_s"][0] == 60.0


def test_a_load_test_regression_and_a_heap_turn_join_the_same_axis(planted: pl.DataFrame) -> None:
    from perflab.loadtest import compare
    from perflab.loadtest.events import events as loadtest_events
    from perflab.memory import heap_trend
    from perflab.memory.events import events as memory_events

    rng = np.random.default_rng(4)
    runs = [
        pl.DataFrame({"start": np.arange(3000) / 100,
                      "latency_ms": rng.lognormal(4, 0.4, 3000) * scale})
        for scale in (1.0, 1.3)
    ]  # fmt: skip
    at = DAY + timedelta(hours=16, minutes=30)
    regression = loadtest_events(
        compare(*runs, metrics=("p95",)), at=at, subject="checkout scenario", terms=("/checkout",)
    )
    v = [1e8] * 30 + [1e8 + 2e6 * i for i in range(1, 31)]
    stamps = [DAY + timedelta(hours=15, minutes=40 + i) for i in range(60)]
    heap = pl.DataFrame({"timestamp": stamps, "series": "rss", "value": v})
    turn = memory_events(heap_trend(heap, window=1))
    causes = likely_causes(timeline(planted, regression, turn))
    of_test = causes.filter(pl.col("effect_domain") == "loadtest")
    # the pattern moved first and more than the step it caused: it leads
    assert of_test["cause_kind"].to_list()[:2] == ["new-pattern", "step"]
    assert of_test.filter(pl.col("cause_domain") == "memory")["link"].to_list() == [0.4]
    # the route's step still points at the pattern first
    of_step = causes.filter(pl.col("effect_domain") == "monitoring").sort("rank")
    assert of_step["cause_kind"][0] == "new-pattern"


def test_explain_gives_one_line_per_regression_with_its_likeliest_cause(
    planted: pl.DataFrame, control: pl.DataFrame
) -> None:
    from perflab.timeline import explain

    causes = likely_causes(planted)
    lines = explain(causes)
    assert lines.height == 1
    line = lines.row(0, named=True)
    assert line["effect"] == "monitoring step: http.server.duration route=/checkout"
    assert line["likely_cause"].startswith("queries new-pattern: ")
    assert line["link"] == "shared term" and line["time"] == STEP
    assert line["candidates"] == causes.height  # every event weighed for it
    assert explain(likely_causes(control)).height == 0
    lone = {"domain": "loadtest", "subject": "checkout", "kind": "regression", "size": 0.2,
            "evidence": "p95 +20 %", "time": STEP, "direction": "worse"}  # fmt: skip
    alone = explain(likely_causes([lone])).row(0, named=True)
    assert alone["likely_cause"] is None and alone["link"] == "none" and alone["candidates"] == 0


def test_two_effects_on_one_subject_at_one_time_are_explained_apart() -> None:
    from perflab.timeline import explain

    step = {"domain": "monitoring", "subject": "/checkout", "kind": "step", "time": STEP,
            "direction": "worse"}  # fmt: skip
    ev = [
        {**step, "size": 0.3, "evidence": "p95 200 → 260 ms"},
        {**step, "size": 0.5, "evidence": "p99 400 → 600 ms"},
        {"domain": "deploy", "subject": "v2", "kind": "deploy", "time": STEP, "evidence": "v2"},
    ]
    lines = explain(likely_causes(ev))
    assert sorted(lines.get_column("evidence")) == ["p95 200 → 260 ms", "p99 400 → 600 ms"]
    assert lines.get_column("candidates").to_list() == [1, 1]  # the deploy, once each
