"""Query timeline events: new and slower patterns between two windows of a real log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.queries import query_patterns
from perflab.queries.events import events

T0 = datetime(2026, 3, 2, 14, tzinfo=UTC)


def log(start: datetime, slow_ms: float, *, join: bool) -> pl.DataFrame:
    rows = []
    for k in range(60):
        at = start + timedelta(minutes=k)
        rows.append((f"SELECT * FROM products WHERE id = {k}", slow_ms, at, "search"))
        rows.append((f"SELECT id FROM users WHERE email = 'u{k}'", 2.0, at, "login"))
        if join:
            q = f"SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id={k}"
            rows.append((q, 50.0, at + timedelta(seconds=5), "checkout"))
    return pl.DataFrame(rows, schema=["query", "duration_ms", "timestamp", "application"],
                        orient="row")  # fmt: skip


@pytest.fixture(scope="module")
def windows() -> tuple[pl.DataFrame, pl.DataFrame]:
    before = query_patterns(log(T0, 1.0, join=False))
    after = query_patterns(log(T0 + timedelta(hours=2), 3.0, join=True))
    return before, after


def test_new_and_slower_patterns_between_two_windows(windows) -> None:
    before, after = windows
    ev = events(after, before=before)
    assert ev["kind"].to_list() == ["slower-pattern", "new-pattern"]  # in time order
    slower, new = ev.row(0, named=True), ev.row(1, named=True)
    assert slower["time"] == T0 + timedelta(hours=2)
    assert new["time"] == T0 + timedelta(hours=2, seconds=5)
    assert new["terms"] == ["order_items", "orders", "checkout"]
    assert new["unit"] == "share" and new["size"] == pytest.approx(3000 / (3000 + 180 + 120))
    assert "JOIN order_items" in new["subject"] and "run by checkout" in new["evidence"]
    assert slower["subject"] == "SELECT * FROM products WHERE id = ?"
    assert slower["size"] == pytest.approx(2.0) and slower["direction"] == "worse"
    assert slower["terms"] == ["products", "search"]


def test_since_alone_finds_patterns_first_seen_after_a_time(windows) -> None:
    _, after = windows
    ev = events(after, since=T0 + timedelta(hours=2, seconds=1))
    assert ev["kind"].to_list() == ["new-pattern"]
    assert events(after, since=T0 + timedelta(hours=5)).height == 0


def test_the_same_workload_gives_no_event(windows) -> None:
    before, _ = windows
    again = query_patterns(log(T0 + timedelta(hours=2), 1.0, join=False))
    assert events(again, before=before).height == 0


def test_parameters_and_schema_are_checked(windows) -> None:
    before, after = windows
    with pytest.raises(ParameterError, match="before"):
        events(after)
    with pytest.raises(ParameterError, match="stat"):
        events(after, before=before, stat="median")
    with pytest.raises(SchemaError, match="first_seen"):
        events(after.drop("first_seen"), before=before)
