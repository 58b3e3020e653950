"""The overview across domains and the run gate, over a history of planted runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.events import events_frame
from perflab.recommend import RECOMMENDATIONS
from perflab.report.checks import check_run, parse_limit
from perflab.report.overview import current_run, headlines, load, top_recommendations, what_changed
from perflab.report.store import append_run

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def rec(domain: str, severity: str, subject: str, score: float) -> dict[str, Any]:
    return {
        "domain": domain,
        "rule": f"{domain}.demo",
        "severity": severity,
        "subject": subject,
        "finding": f"{subject} is slow",
        "action": "fix it",
        "evidence": "figures",
        "impact": 1.0,
        "impact_unit": "ms",
        "score": score,
    }


def make_run(
    out: Path,
    i: int,
    figures: dict[str, list[dict[str, Any]]],
    *,
    recs: dict[str, list[dict[str, Any]]] | None = None,
    status: dict[str, str] | None = None,
) -> str:
    run_id = f"2026110{1 + i // 10}T{i % 10:02d}0000Z"
    started = START + timedelta(hours=i)
    run = out / run_id
    (run / "frames").mkdir(parents=True)
    notebooks = [
        {
            "name": name,
            "status": (status or {}).get(name, "ok"),
            "html": f"{name}.html",
            "figures": figs,
            "duration_s": 1.0,
        }
        for name, figs in figures.items()
    ]
    manifest = {"run_id": run_id, "started_at": started.isoformat(), "notebooks": notebooks}
    (run / "manifest.json").write_text(json.dumps(manifest))
    for name, rows in (recs or {}).items():
        (run / "frames" / name).mkdir(parents=True, exist_ok=True)
        RECOMMENDATIONS.validate(pl.DataFrame(rows)).write_parquet(
            run / "frames" / name / "recommendations.parquet"
        )
    append_run(out, run_id, started, figures)
    return run_id


def fig(name: str, value: float, unit: str = "ms", better: str | None = "lower") -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "better": better, "label": name}


@pytest.fixture()
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """12 runs: api p95 steps from ~200 to ~260 ms at run 7; cache hit ratio holds."""
    p95 = [200, 203, 198, 201, 199, 202, 200, 262, 258, 261, 259, 260]
    ids = []
    for i, value in enumerate(p95):
        last = i == len(p95) - 1
        recs = {
            "api": [rec("api", "high", "/checkout", 5.0)]
            + ([rec("api", "medium", "/search", 9.0)] if last else []),
            "caching": [rec("caching", "critical", "sessions", 1.0)]
            + ([] if last else [rec("caching", "low", "old-key", 2.0)]),
        }
        figures = {
            "api": [fig("p95_ms", value)],
            "caching": [fig("hit_ratio", 0.9 + 0.001 * (i % 2), "", "higher")],
        }
        ids.append(make_run(tmp_path, i, figures, recs=recs))
    return tmp_path, ids


def test_recommendations_are_ranked_across_domains_with_their_report(history) -> None:
    out, ids = history
    top = top_recommendations(load(ids[-1], out), n=3)
    assert top.select("rank", "notebook", "severity", "subject").rows() == [
        (1, "caching", "critical", "sessions"),
        (2, "api", "high", "/checkout"),
        (3, "api", "medium", "/search"),
    ]
    pages = [(Path.cwd() / r).resolve() for r in top.get_column("report")]
    run_dir = (out / ids[-1]).resolve()
    assert pages == [run_dir / "caching.html", run_dir / "api.html", run_dir / "api.html"]


def test_report_links_work_from_the_page_the_overview_is_written_to(
    history, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, ids = history
    partial = out / ".20261102T230000Z.partial"  # a later run, overviewing an earlier one
    partial.mkdir()
    monkeypatch.setenv("PERFLAB_FIGURES", str(partial / ".reporting.figures.jsonl"))
    links = load(ids[3], out).notebooks().get_column("report").to_list()
    assert links == [f"../{ids[3]}/api.html", f"../{ids[3]}/caching.html"]
    monkeypatch.setenv("PERFLAB_FIGURES", str(out / ids[3] / ".reporting.figures.jsonl"))
    assert load(ids[3], out).notebooks().get_column("report").to_list() == [
        "api.html",
        "caching.html",
    ]


def test_headlines_find_the_planted_step_at_its_run_and_keep_the_previous_value(history) -> None:
    out, ids = history
    heads = headlines(load(ids[-1], out), runs=12)
    api = heads.filter(pl.col("notebook") == "api").row(0, named=True)
    assert api["shift_run"] == ids[7]
    assert api["shift_verdict"] == "worse"
    assert api["previous"] == 259.0 and api["value"] == 260.0
    assert api["values"] == [200, 203, 198, 201, 199, 202, 200, 262, 258, 261, 259, 260]
    cache = heads.filter(pl.col("notebook") == "caching").row(0, named=True)
    assert cache["shift_run"] is None  # a flat series stays quiet


def test_what_changed_lists_moved_figures_and_new_and_gone_findings(history) -> None:
    out, ids = history
    at_step = what_changed(load(ids[7], out))
    moved = at_step["figures"]
    assert moved.select("notebook", "figure", "verdict").rows() == [("api", "p95_ms", "worse")]
    assert moved.get_column("change_pct")[0] == pytest.approx(31.0)
    last = what_changed(load(ids[-1], out))
    assert last["figures"].height == 0  # 259 → 260 ms is inside the 5 % margin
    assert last["new"].select("notebook", "subject").rows() == [("api", "/search")]
    assert last["gone"].select("notebook", "subject").rows() == [("caching", "old-key")]


def test_a_notebook_that_started_failing_is_reported(tmp_path: Path) -> None:
    make_run(tmp_path, 0, {"api": [fig("p95_ms", 200)], "memory": [fig("rss", 1.0)]})
    second = make_run(
        tmp_path, 1, {"api": [fig("p95_ms", 200)], "memory": []}, status={"memory": "failed"}
    )
    status = what_changed(load(second, tmp_path))["status"]
    assert status.rows() == [("memory", "ok", "failed")]


def test_the_first_run_has_nothing_to_compare(tmp_path: Path) -> None:
    first = make_run(
        tmp_path, 0, {"api": [fig("p95_ms", 200)]}, recs={"api": [rec("api", "high", "/a", 1)]}
    )
    changed = what_changed(load(first, tmp_path))
    assert all(changed[k].height == 0 for k in ("figures", "new", "gone", "status"))
    assert changed["not_compared"].rows() == [("api", None, "first run")]


def test_findings_of_a_cleaned_away_run_are_not_called_new(tmp_path: Path) -> None:
    import shutil

    first = make_run(
        tmp_path, 0, {"api": [fig("p95_ms", 200)]}, recs={"api": [rec("api", "high", "/a", 1)]}
    )
    second = make_run(
        tmp_path, 1, {"api": [fig("p95_ms", 200)]}, recs={"api": [rec("api", "high", "/b", 1)]}
    )
    shutil.rmtree(tmp_path / first)  # a CI cache that keeps only reports/history
    changed = what_changed(load(second, tmp_path))
    assert changed["new"].height == 0 and changed["gone"].height == 0
    assert changed["not_compared"].select("notebook", "previous_run").rows() == [("api", first)]


def test_a_notebook_that_recovered_is_reported_and_compared_with_its_failed_run(
    tmp_path: Path,
) -> None:
    make_run(tmp_path, 0, {"api": [fig("p95_ms", 200)]})
    failed = make_run(tmp_path, 1, {"api": []}, status={"api": "failed"})  # no figures
    third = make_run(tmp_path, 2, {"api": [fig("p95_ms", 210)]})
    view = load(third, tmp_path)
    assert view.previous_runs == {"api": failed}
    assert what_changed(view)["status"].rows() == [("api", "failed", "ok")]


def test_inside_a_run_the_overview_reads_the_run_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run(tmp_path, 0, {"api": [fig("p95_ms", 200)]})
    partial = tmp_path / ".20261101T050000Z.partial"
    (partial / "frames" / "api").mkdir(parents=True)
    started = (START + timedelta(hours=5)).isoformat()
    manifest = {
        "started_at": started,
        "partial": True,
        "notebooks": [{"name": "api", "status": "ok", "figures": [fig("p95_ms", 300)]}],
    }
    (partial / "manifest.json").write_text(json.dumps(manifest))
    events = events_frame(
        [
            {
                "time": START,
                "domain": "api",
                "subject": "/a",
                "kind": "error-burst",
                "size": 0.2,
                "evidence": "5xx",
                "direction": "worse",
            }
        ]
    )
    events.write_parquet(partial / "frames" / "api" / "events.parquet")
    monkeypatch.setenv("PERFLAB_FIGURES", str(partial / ".reporting.figures.jsonl"))
    assert current_run() == partial.resolve()
    overview = load()
    assert overview.run_id == "20261101T050000Z"
    assert overview.previous_run is not None
    assert overview.events.select("domain", "kind").rows() == [("api", "error-burst")]
    moved = what_changed(overview)["figures"]
    assert moved.select("previous", "value").rows() == [(200.0, 300.0)]


def test_an_unreadable_published_frame_is_skipped_not_fatal(tmp_path: Path, caplog) -> None:
    run = make_run(
        tmp_path, 0, {"api": [fig("p95_ms", 200)]}, recs={"api": [rec("api", "high", "/a", 1)]}
    )
    (tmp_path / run / "frames" / "caching").mkdir()
    (tmp_path / run / "frames" / "caching" / "recommendations.parquet").write_bytes(b"PAR1 cut")
    overview = load(run, tmp_path)
    assert overview.recommendations.height == 1
    assert "recommendations.parquet" in caplog.text


def test_the_gate_fails_on_the_planted_regression_and_passes_on_noise(history) -> None:
    out, ids = history
    at_step = check_run(ids[7], out)
    bad = at_step.filter(~pl.col("passed"))
    assert bad.select("check", "subject").rows() == [("regression", "api/p95_ms")]
    assert "regressed" in bad.get_column("detail")[0]
    assert check_run(ids[6], out).get_column("passed").all()  # 200 ms is inside 198–203
    assert check_run(ids[-1], out).get_column("passed").all()  # the new level, not a record


def test_the_gate_checks_limits_failed_notebooks_and_severities(tmp_path: Path) -> None:
    make_run(tmp_path, 0, {"api": [fig("p95_ms", 200)]})
    run = make_run(
        tmp_path,
        1,
        {"api": [fig("p95_ms", 210)], "memory": []},
        recs={"api": [rec("api", "critical", "/a", 1)]},
        status={"memory": "timeout"},
    )
    checks = check_run(run, tmp_path, limits=["api/p95_ms<=250", "api/p99_ms<=400"], fail_on="high")
    failed = {(c, s) for c, s in checks.filter(~pl.col("passed")).select("check", "subject").rows()}
    assert failed == {
        ("limit", "api/p99_ms"),  # a figure that went missing does not pass
        ("notebook", "memory"),
        ("findings", "severity high or worse"),
    }
    assert checks.filter(pl.col("subject") == "api/p95_ms").get_column("passed").to_list() == [True]
    tight = check_run(run, tmp_path, limits=["api/p95_ms<200"], regressions=False)
    assert not tight.filter(pl.col("check") == "limit").get_column("passed")[0]


def test_bad_limits_and_parameters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="NOTEBOOK/FIGURE"):
        parse_limit("p95_ms <= 300")
    run = make_run(tmp_path, 0, {"api": [fig("p95_ms", 200)]})
    with pytest.raises(ParameterError, match="fail_on"):
        check_run(run, tmp_path, fail_on="urgent")
    with pytest.raises(ParameterError, match="no run"):
        check_run("nope", tmp_path)


def test_each_notebook_is_compared_with_the_last_run_that_ran_it(tmp_path: Path) -> None:
    both = {"api": [fig("p95_ms", 200)], "caching": [fig("hit_ratio", 0.9, "", "higher")]}
    first = make_run(tmp_path, 0, both, recs={"caching": [rec("caching", "high", "sessions", 1.0)]})
    api_only = make_run(
        tmp_path, 1, {"api": [fig("p95_ms", 210)]}, recs={"api": [rec("api", "high", "/a", 1.0)]}
    )
    both = {"api": [fig("p95_ms", 300)], "caching": [fig("hit_ratio", 0.5, "", "higher")]}
    last = make_run(tmp_path, 2, both, recs={"api": [rec("api", "high", "/a", 1.0)]})
    view = load(last, tmp_path)
    assert view.previous_runs == {"api": api_only, "caching": first}
    changed = what_changed(view)
    assert changed["figures"].select("notebook", "previous").rows() == [
        ("caching", 0.9),  # -44 %, the larger change first
        ("api", 210.0),
    ]
    assert changed["gone"].select("notebook", "subject").rows() == [("caching", "sessions")]
    assert changed["new"].height == 0  # /a was already there in the api-only run


def test_perflab_check_exits_1_on_a_breach_and_0_on_a_pass(history, capsys) -> None:
    from perflab.cli import main

    out, ids = history
    assert main(["check", ids[7], "--reports", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "FAIL regression: api/p95_ms" in printed and "perflab check: fail" in printed
    (out / "latest").symlink_to(ids[-1])  # as perflab run leaves it
    assert main(["check", "--reports", str(out), "--limit", "api/p95_ms<=300"]) == 0
    assert "perflab check: pass" in capsys.readouterr().out
    assert main(["check", "--reports", str(out), "--limit", "api/p95_ms<=250"]) == 1
    assert main(["check", "--reports", str(out), "--fail-on", "critical"]) == 1
    assert main(["check", "--reports", str(out), "--limit", "p95<=3"]) == 2


def test_domains_take_turns_within_a_severity_since_their_scores_do_not_compare(
    tmp_path: Path,
) -> None:
    memory = [rec("memory", "critical", f"leak {i}", 9000.0 - i) for i in range(4)]
    queries = [rec("queries", "critical", "UPDATE without WHERE", 1.5)]
    queries.append(rec("queries", "critical", "DELETE without WHERE", 0.6))
    api = [rec("api", "high", "/checkout", 7.0)]
    run = make_run(
        tmp_path,
        0,
        {"memory": [], "queries": [], "api": []},
        recs={"memory": memory, "queries": queries, "api": api},
    )
    top = top_recommendations(load(run, tmp_path), n=10)
    assert top.select("notebook", "subject").rows() == [
        ("queries", "UPDATE without WHERE"),  # 71 % of its domain's critical score
        ("memory", "leak 0"),  # 25 % of its domain's
        ("queries", "DELETE without WHERE"),
        ("memory", "leak 1"),
        ("memory", "leak 2"),
        ("memory", "leak 3"),
        ("api", "/checkout"),  # a lower severity comes after, whatever its score
    ]


def test_an_empty_run_fails_the_gate_and_zoned_start_times_are_read(tmp_path: Path) -> None:
    empty_run = tmp_path / "r0"
    empty_run.mkdir()
    (empty_run / "manifest.json").write_text('{"run_id": "r0", "notebooks": []}')
    checks = check_run(empty_run, tmp_path)
    assert checks.rows(named=True)[0]["passed"] is False
    zoned = tmp_path / "r1"
    zoned.mkdir()
    manifest = {
        "run_id": "r1",
        "started_at": "2026-03-03T11:00:00+02:00",
        "notebooks": [{"name": "api", "status": "ok", "figures": [fig("p95_ms", 200)]}],
    }
    (zoned / "manifest.json").write_text(json.dumps(manifest))
    assert load(zoned, tmp_path).started_at == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_the_timeline_draws_episodes_with_regressions_or_deploys_first() -> None:
    from perflab.events import deploys
    from perflab.report.overview_charts import timeline_chart

    busy = [
        {"time": START + timedelta(days=d, minutes=m), "domain": "api", "subject": "/a",
         "kind": "hit-ratio-drop", "size": -0.1, "evidence": "x", "direction": "better"}
        for d in range(1, 8)
        for m in range(3)
    ]  # fmt: skip
    marks = deploys([(START, "v2")])  # a lone deploy, on the first day
    chart = timeline_chart(pl.concat([events_frame(busy), marks], how="diagonal_relaxed"))
    drawn = set(chart.data.get_column("episode_label"))
    assert len(drawn) == 6 and any(label.startswith("2026-11-01 06:00") for label in drawn)
    assert "6 of 8 episodes drawn" in chart.to_dict()["title"]
