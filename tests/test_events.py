"""The shared event shape: validation, naive times, deploy markers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import polars as pl
import pytest

from perflab.errors import SchemaError
from perflab.events import EVENTS, as_events, deploys, empty, events_frame

ROW = {"time": datetime(2026, 3, 2, 16, tzinfo=UTC), "domain": "monitoring",
       "subject": "/checkout", "kind": "step", "size": 0.35, "evidence": "p95 +35 %"}  # fmt: skip


def test_a_minimal_frame_gets_the_optional_columns() -> None:
    ev = as_events([ROW])
    assert ev.columns == [*EVENTS.columns, "unit", "direction", "terms"]
    assert ev.row(0)[6:] == (None, None, None)


@pytest.mark.parametrize("missing", ["time", "domain", "kind", "evidence"])
def test_a_missing_column_is_named(missing: str) -> None:
    row = {k: v for k, v in ROW.items() if k != missing}
    with pytest.raises(SchemaError, match=missing):
        as_events([row])


def test_naive_times_are_utc_and_zoned_ones_converted() -> None:
    naive = as_events([{**ROW, "time": datetime(2026, 3, 2, 16)}])
    paris = as_events(
        [{**ROW, "time": datetime(2026, 3, 2, 17, tzinfo=timezone(timedelta(hours=1)))}]
    )
    text = as_events(pd.DataFrame([{**ROW, "time": "2026-03-02T16:00:00"}]))
    assert naive["time"][0] == paris["time"][0] == text["time"][0] == ROW["time"]


def test_null_times_and_unknown_directions_are_refused() -> None:
    with pytest.raises(SchemaError, match="'time' holds 1 null"):
        as_events([ROW, {**ROW, "time": None}])
    with pytest.raises(SchemaError, match="direction"):
        as_events([{**ROW, "direction": "up"}])
    with pytest.raises(SchemaError, match="size"):
        as_events([{**ROW, "size": "a lot"}])


def test_terms_as_comma_separated_text_become_a_list() -> None:
    ev = as_events([{**ROW, "terms": "checkout,orders"}])
    assert ev["terms"][0].to_list() == ["checkout", "orders"]


def test_empty_input_is_an_empty_events_frame() -> None:
    assert as_events([]).columns == empty().columns
    assert events_frame([]).height == 0
    assert as_events(empty()).height == 0


def test_deploys_make_sorted_markers_from_any_time() -> None:
    ev = deploys([("2026-03-02T16:30:00Z", "v2"), (datetime(2026, 3, 2, 15, 58), "v1")],
                 terms=["checkout"])  # fmt: skip
    assert ev.select("subject", "kind", "domain").rows() == [
        ("v1", "deploy", "deploy"),
        ("v2", "deploy", "deploy"),
    ]
    assert ev["time"][0] == datetime(2026, 3, 2, 15, 58, tzinfo=UTC)
    assert ev["terms"][0].to_list() == ["checkout"] and ev["size"].null_count() == 2
    runs = deploys([(datetime(2026, 3, 2), "nightly")], kind="run", domain="loadtest")
    assert runs.select("kind", "domain").row(0) == ("run", "loadtest")
    assert deploys([]).height == 0 and isinstance(deploys([]), pl.DataFrame)
