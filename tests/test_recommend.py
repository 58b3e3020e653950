"""The shared recommendation schema: ranking and validation."""

from __future__ import annotations

import polars as pl
import pytest

from perflab.errors import ParameterError, SchemaError
from perflab.recommend import (
    RECOMMENDATIONS,
    REGISTRY,
    Recommendation,
    Registry,
    Rule,
    rank,
    rules,
    to_frame,
    top,
)

R = Rule("testdomain.thing", "medium", "a test rule")


def rec(severity, score, subject="s"):
    return Recommendation.of(
        R, subject=subject, finding="f", action="a", evidence="e", severity=severity, score=score
    )


def test_ranking_puts_severity_before_score():
    df = to_frame([rec("low", 1000), rec("critical", 1), rec("medium", 5), rec("medium", 50)])
    assert df.get_column("severity").to_list() == ["critical", "medium", "medium", "low"]
    assert df.get_column("score").to_list() == [1.0, 50.0, 5.0, 1000.0]


def test_top_keeps_the_most_urgent():
    df = to_frame([rec("info", 1, "x"), rec("high", 1, "y"), rec("low", 1, "z")])
    assert top(df, 2).get_column("subject").to_list() == ["y", "z"]


def test_frame_has_exactly_the_shared_columns():
    assert to_frame([rec("low", 1)]).columns == list(RECOMMENDATIONS.columns)
    assert to_frame([]).columns == list(RECOMMENDATIONS.columns)


def test_rank_accepts_pandas_and_checks_columns():
    pdf = to_frame([rec("low", 1), rec("high", 2)]).to_pandas()
    assert rank(pdf).item(0, "severity") == "high"
    with pytest.raises(SchemaError, match="missing"):
        rank(pl.DataFrame({"rule": ["x"]}))


def test_rule_ids_name_their_domain_and_severities_are_known():
    assert R.domain == "testdomain"
    with pytest.raises(ParameterError):
        Rule("nodomain", "low", "x")
    with pytest.raises(ParameterError):
        Rule("a.b", "urgent", "x")  # type: ignore[arg-type]


def test_a_rule_id_is_never_registered_twice_with_another_meaning():
    reg = Registry()
    first = reg.rule("demo.slow", "high", "something is slow")
    assert reg.rule("demo.slow", "high", "something is slow") == first  # a reload: no-op
    with pytest.raises(ParameterError, match="already registered"):
        reg.rule("demo.slow", "low", "something else")
    with pytest.raises(ParameterError, match="already registered"):
        reg.add(Rule("demo.slow", "high", "a new title"))
    assert reg.rules() == [first] and len(reg) == 1


def test_making_a_rule_does_not_register_it_in_the_shared_registry():
    Rule("scratch.thing", "low", "made in a test")
    assert "scratch.thing" not in REGISTRY
    assert "testdomain.thing" not in REGISTRY


def test_rules_lists_every_domain_whatever_was_imported_before(tmp_path):
    import subprocess
    import sys

    # a fresh interpreter that has imported no domain still sees the monitoring rules
    code = "from perflab.recommend import rules; print(sorted(r.id for r in rules()))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "monitoring.heavy-tail" in out and "monitoring.slo-breach" in out
    assert [r.id for r in rules("monitoring")] == sorted(r.id for r in rules("monitoring"))


def test_score_defaults_to_impact():
    r = Recommendation.of(R, subject="s", finding="f", action="a", evidence="e", impact=12)
    assert r.score == 12.0 and r.impact == 12.0


def test_a_finding_without_a_score_ranks_last_in_its_severity() -> None:
    rule = Rule("demo.thing", "low", "a demo rule")
    recs = [
        Recommendation.of(rule, subject=s, finding="f", action="a", evidence="e", score=score)
        for s, score in [("null", None), ("nan", float("nan")), ("a", 1.0), ("b", 9.0)]
    ]
    ranked = rank(pl.DataFrame(recs)).get_column("subject").to_list()
    assert ranked[:2] == ["b", "a"] and set(ranked[2:]) == {"null", "nan"}
