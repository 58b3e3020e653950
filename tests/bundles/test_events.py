"""Bundle timeline events: what grew from build a to build b, at build b's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from perflab.bundles import diff
from perflab.bundles.events import build_time, events, read_build_time
from perflab.bundles.model import Bundle
from perflab.errors import ParameterError
from perflab.events import EVENTS, as_events, events_frame
from perflab.timeline import likely_causes, timeline

from .conftest import SAMPLE, load_stats

# build b's stats say builtAt 1796340180806 (ms since the epoch)
BUILT_B = datetime(2026, 12, 3, 23, 23, 0, 806000, tzinfo=UTC)


def test_what_grew_in_the_sample_builds_at_build_bs_time(
    webpack_a: Bundle, webpack_b: Bundle
) -> None:
    change = diff(webpack_a, webpack_b)
    at = read_build_time(SAMPLE / "b" / "stats.json.gz")
    assert at == BUILT_B == build_time(load_stats("b"))
    ev = events(change, time=at)
    assert EVENTS.validate(ev).height == ev.height
    assert ev["subject"].to_list() == [
        "entry main", "chunk id:79", "chunk settings", "package (app)",
        "package dayjs"]  # fmt: skip
    assert set(ev["kind"]) == {"grew"} and set(ev["direction"]) == {"worse"}
    assert ev["time"].to_list() == [BUILT_B] * ev.height
    # sizes: the relative change of gzip bytes, as in the diff; a new package, its share
    main = change.entries.filter(pl.col("entry") == "main").row(0, named=True)
    assert ev["size"][0] == pytest.approx(main["delta_gzip"] / main["before_gzip"])
    dayjs = ev.filter(pl.col("subject") == "package dayjs").row(0, named=True)
    total = change.packages["after_gzip"].fill_null(0).sum()
    assert dayjs["unit"] == "share" and dayjs["size"] == pytest.approx(2145 / total)
    assert dayjs["terms"] == ["dayjs"] and dayjs["evidence"].startswith("package new: 2.15 kB gzip")
    assert "136.52 kB → 144.05 kB gzip" in ev["evidence"][0]


def test_the_parsed_stats_give_the_time_too(webpack_a: Bundle, webpack_b: Bundle) -> None:
    ev = events(diff(webpack_a, webpack_b), build=load_stats("b"))
    assert ev["time"].to_list() == [BUILT_B] * ev.height
    later = BUILT_B + timedelta(hours=2)  # the deploy that shipped it: time= wins
    assert events(diff(webpack_a, webpack_b), time=later, build=load_stats("b"))["time"][0] == later


def test_the_same_build_twice_gives_nothing(webpack_a: Bundle) -> None:
    ev = events(diff(webpack_a, webpack_a), time=BUILT_B)
    assert ev.height == 0 and as_events(ev).columns == [*EVENTS.names, "unit", "direction", "terms"]


def test_small_growth_is_left_out(webpack_a: Bundle, webpack_b: Bundle) -> None:
    change = diff(webpack_a, webpack_b)
    big = events(change, time=BUILT_B, min_bytes=5_000)
    assert big["subject"].to_list() == ["entry main", "chunk id:79", "package (app)"]
    assert events(change, time=BUILT_B, min_change=1.0)["subject"].to_list() == [
        "chunk settings", "package dayjs"]  # fmt: skip


def test_without_a_time_it_refuses(webpack_a: Bundle, webpack_b: Bundle) -> None:
    change = diff(webpack_a, webpack_b)
    with pytest.raises(ParameterError, match="builtAt"):
        events(change)
    with pytest.raises(ParameterError, match="builtAt"):
        events(change, build=webpack_b)  # the Bundle model keeps no build time
    with pytest.raises(ParameterError, match="builtAt"):
        events(change, build={"version": "4.47.0"})
    assert read_build_time(SAMPLE / "a" / "meta.json.gz") is None  # esbuild has none


def test_wrong_input_is_refused(webpack_a: Bundle) -> None:
    with pytest.raises(ParameterError, match="BundleDiff"):
        events(webpack_a, time=BUILT_B)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="builtAt must be"):
        build_time({"builtAt": "yesterday"})
    with pytest.raises(ParameterError, match="min_bytes"):
        events(diff(webpack_a, webpack_a), time=BUILT_B, min_bytes=-1)


def test_a_grown_entry_is_the_likely_cause_of_a_slower_page(
    webpack_a: Bundle, webpack_b: Bundle
) -> None:
    grew = events(diff(webpack_a, webpack_b), time=BUILT_B)
    slower = events_frame([{"time": BUILT_B + timedelta(minutes=20), "domain": "monitoring",
        "subject": "lcp route=/", "kind": "step", "size": 0.12, "direction": "worse",
        "evidence": "p75 LCP 2.1 → 2.35 s", "terms": ["/", "main"]}])  # fmt: skip
    causes = likely_causes(timeline(grew, slower))
    top = causes.filter(pl.col("rank") == 1).row(0, named=True)
    assert (top["cause_subject"], top["link"]) == ("entry main", 0.8)
