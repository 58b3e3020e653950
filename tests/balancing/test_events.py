"""Balancing timeline events: the real nginx run's slowdown and outage, at the right times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from perflab.api.read import read_nginx_log
from perflab.balancing import (
    observed_load,
    outages_from_log,
    read_backends,
    read_haproxy,
    read_nginx,
)
from perflab.balancing.events import events
from perflab.errors import ParameterError, SchemaError
from perflab.events import EVENTS, as_events, events_frame
from perflab.timeline import likely_causes

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "balancing"
START = datetime(2026, 3, 2, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def run() -> tuple[pl.DataFrame, list, datetime]:
    """The trace, the backends timed from the log, and the log's first request."""
    backends = read_backends(SAMPLE / "backends.json")
    fmt = (SAMPLE / "nginx_log_format.txt").read_text()
    path = SAMPLE / "nginx-upstream.log.gz"
    trace = read_nginx(path, fmt, names={b.address: b.name for b in backends},
                       service_field="upstream_http_x_service_ms")  # fmt: skip
    raw = read_nginx_log(path, fmt)
    first = raw.select(
        (pl.col("time").dt.epoch("us") / 1e6 - pl.col("duration_ms").fill_null(0) / 1e3).min()
    ).item()
    return trace, outages_from_log(trace, backends), datetime.fromtimestamp(first, UTC)


def test_the_slowdown_and_the_outage_show_up_where_they_happened(run) -> None:
    trace, timed, first = run
    ev = events(trace, timed, start=first)
    EVENTS.validate(ev)
    assert as_events(ev).equals(ev)
    assert ev.select("subject", "kind").rows() == [("backend medium", "step"),
                                                   ("backend flaky", "outage")]  # fmt: skip
    step, outage = ev.row(0, named=True), ev.row(1, named=True)
    # medium slows ×4 "after 8 s" of the backend's clock (backends.json), which started
    # a little before nginx logged its first request
    plan = {b["name"]: b for b in json.loads((SAMPLE / "backends.json").read_text())}
    assert first + timedelta(seconds=plan["medium"]["slow_at_s"] - 2) <= step["time"]
    assert step["time"] <= first + timedelta(seconds=plan["medium"]["slow_at_s"])
    assert step["direction"] == "worse" and step["terms"] == ["medium", "127.0.0.1:49127"]
    assert 2.0 <= step["size"] <= 4.0  # ×4 on the service, less on its median per second
    # cross-check the size on the rows: median service time a second either side
    t = (step["time"] - first).total_seconds()
    med = trace.filter(pl.col("backend") == "medium")
    before = med.filter(pl.col("time_s") < t)["service_ms"].median()
    after = med.filter(pl.col("time_s") >= t)["service_ms"].median()
    assert step["size"] == pytest.approx(after / before - 1, rel=0.15)
    # flaky's outage is timed by its first failed attempt, at the log's own clock
    flaky = next(b for b in timed if b.name == "flaky")
    assert outage["time"] == first + timedelta(seconds=flaky.fail_at_s)
    assert outage["terms"] == ["flaky", "127.0.0.1:59965"]
    share = observed_load(trace.filter(pl.col("time_s") < flaky.fail_at_s))
    assert outage["size"] == pytest.approx(
        share.filter(pl.col("backend") == "flaky")["share_pct"][0] / 100
    )
    assert f"to {flaky.recover_at_s:.2f} s" in outage["evidence"]
    assert "2 retried on another backend, 0 answered with an error" in outage["evidence"]


def test_steady_traffic_gives_no_event(run) -> None:
    trace, _, first = run
    assert events(trace.filter(pl.col("time_s") < 6), start=first).height == 0
    hap = read_haproxy(SAMPLE / "haproxy-httplog.log.gz")  # 13 × 400 only: client errors
    assert events(hap, start=first).height == 0
    assert events(trace.clear(), start=first).height == 0


def test_errors_the_clients_saw_are_bursts() -> None:
    n = 300
    status = [502 if 100 <= i < 110 or i == 250 else 200 for i in range(n)]
    tr = pl.DataFrame({"time_s": [i / 100 for i in range(n)], "service_ms": 5.0,
                       "backend": ["a" if i % 2 else "b" for i in range(n)], "attempts": 1,
                       "status": status})  # fmt: skip
    ev = events(tr, start=START, gap_s=0.5, min_errors=3)
    assert ev["kind"].to_list() == ["error-burst", "error-burst"]
    assert ev["subject"].to_list() == ["backend b", "backend a"]
    a = ev.filter(pl.col("subject") == "backend a").row(0, named=True)
    assert a["time"] == START + timedelta(seconds=1.01)
    assert a["size"] == 1.0 and "5 of 5 requests to a failed" in a["evidence"]
    nobody = tr.with_columns(pl.lit(None, pl.String).alias("backend"))
    assert events(nobody, start=START)["subject"].to_list() == ["balancer"]


def test_wrong_input_is_refused_clearly(run) -> None:
    trace, _, first = run
    with pytest.raises(SchemaError, match="backend"):
        events(trace.drop("backend"), start=first)
    with pytest.raises(ParameterError, match="window_s"):
        events(trace, start=first, window_s=0)
    with pytest.raises(ParameterError, match="min_errors"):
        events(trace, start=first, min_errors=0)
    with pytest.raises(ParameterError, match="start"):
        events(trace, start="yesterday-ish")


def test_an_api_error_burst_points_at_the_backend_that_went_down(run) -> None:
    trace, timed, first = run
    ev = events(trace, timed, start=first, terms=("items",))
    outage = ev.filter(pl.col("kind") == "outage")["time"][0]
    burst = events_frame([{"time": outage + timedelta(seconds=1), "domain": "api",
                           "subject": "GET /api/items/{id}", "kind": "error-burst",
                           "size": 0.05, "unit": "share", "direction": "worse",
                           "evidence": "5 % 502", "terms": ["127.0.0.1:59965"]}])  # fmt: skip
    causes = likely_causes(pl.concat([ev, burst]))
    api = causes.filter(pl.col("effect_domain") == "api").sort("rank")
    assert api.select("cause_subject", "cause_kind", "link").rows() == [
        ("backend flaky", "outage", 0.8), ("backend medium", "step", 0.4)]  # fmt: skip
