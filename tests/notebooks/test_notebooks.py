"""Every notebook runs on the bundled samples through `perflab run`, and its report is sound.

These are the slowest tests (a kernel per notebook run), so each run is shared by the
tests that read it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SAMPLE = ROOT / "data" / "sample" / "monitoring"
EXTERNAL = re.compile(
    r"""<script[^>]+src=|<link[^>]+href=["']?https?://|@import\s+url\(["']?https?://"""
)


def perflab(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perflab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    proc = perflab("run", "--out", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "latest"


def test_notebooks_are_committed_clean():
    assert NOTEBOOKS, "no notebook in notebooks/"
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        assert "| None" not in "".join(code[0]["source"]), path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
        assert nb["metadata"]["kernelspec"]["name"] == "perflab"


def test_every_notebook_ran_and_recorded_figures(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    names = {p.stem.split("-", 1)[1] for p in NOTEBOOKS}
    assert {n["name"] for n in manifest["notebooks"]} == names
    for entry in manifest["notebooks"]:
        assert entry["status"] == "ok", entry
        assert entry["figures"], f"{entry['name']} recorded no headline figure"
        assert (sample_run / entry["html"]).is_file()


def test_monitoring_report_tells_the_planted_story(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "monitoring"]
    figures = {f["name"]: f for f in entry["figures"]}
    # the figures agree with the package computing them on the same sample
    import perflab.monitoring as mon

    df = mon.read_metrics(SAMPLE / "latency.parquet")
    p95 = mon.summarize(df.filter(pl.col("name") == "http.server.duration"))["p95"][0]
    assert figures["latency_p95"]["value"] == pytest.approx(p95)
    assert figures["latency_p95"]["better"] == "lower"
    html = (sample_run / entry["html"]).read_text()
    # what the sample plants, the report finds: the deploy step, the cart tail, the leak
    assert "jumped by" in html and "2026-11-02 16:00 UTC" in html
    assert "route=/api/cart" in html and "the median" in html
    assert "leak" in html
    assert "vegaEmbed(" in html


def test_reports_are_offline_and_self_contained(sample_run: Path):
    pages = list(sample_run.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1  # one per notebook and the index
    for page in pages:
        text = page.read_text()
        assert not EXTERNAL.search(text), page.name
        for script in re.findall(r"<script[^>]*>(.*?)</script>", text, flags=re.S):
            assert not re.search(r"""["'(]https?://[^"')]*\.(js|css)\b""", script), page.name
        assert "require.js" not in text and "MathJax.js" not in text


def test_evidence_from_the_input_is_escaped(tmp_path: Path):
    evil = "<script>alert('pwned')</script>"
    df = pl.read_parquet(SAMPLE / "latency.parquet").with_columns(
        pl.when(pl.col("route") == "/api/cart")
        .then(pl.lit(evil))
        .otherwise(pl.col("route"))
        .alias("route")
    )
    src = tmp_path / "evil.csv"
    df.write_csv(src)
    # a relative path, typed from another folder than notebooks/: resolved where typed
    proc = perflab(
        "run",
        *("--only", "monitoring", "--out", "out", "--notebooks", str(ROOT / "notebooks")),
        *("-p", "monitoring.metrics_path=evil.csv"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "out" / "latest" / "monitoring.html").read_text()
    assert evil not in html
    assert "&lt;script&gt;alert(" in html  # shown, escaped, in the tables


def test_real_prometheus_export_runs_through_the_notebook(tmp_path: Path):
    # The real query_range capture: a p95 in seconds per route, with NaN gaps.
    proc = perflab(
        "run",
        "--only",
        "monitoring",
        "--out",
        str(tmp_path),
        "-p",
        f"monitoring.metrics_path={SAMPLE / 'prometheus_query_range.json'}",
        "-p",
        "monitoring.latency_metric=prometheus_query_range",
        "-p",
        "monitoring.window=10s",
        "-p",
        "monitoring.trend_window=10s",
        "-p",
        "monitoring.compare_hours=0.01",
        "-p",
        "monitoring.slo_p95_ms=0.25",
        "-p",
        "monitoring.slo_p99_ms=null",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "latest" / "monitoring.html").read_text()
    assert "/checkout" in html and "vegaEmbed(" in html


QUERIES = ROOT / "data" / "sample" / "queries"


def test_queries_report_tells_the_planted_story(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "queries"]
    figures = {f["name"]: f["value"] for f in entry["figures"]}
    # the figures agree with the package computing them on the same sample
    import perflab.queries as qry

    log = qry.read_postgres(
        QUERIES / "postgresql.log",
        prefix=["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "],
    ).without(applications=["pg_dump", "perflab-capture"])
    assert figures["statements"] == log.statements.height
    assert figures["statement_time_s"] == pytest.approx(log.statements["duration_ms"].sum() / 1000)
    assert figures["n_plus_one_bursts"] == qry.detect_n_plus_one(log.statements).height >= 1
    html = (sample_run / entry["html"]).read_text()
    # what the workload plants, the report shows: the N+1 with its parent query, the
    # deadlock, statements without WHERE, the NOT IN that takes most of the time
    for planted in (
        "queries.n-plus-one",
        "SELECT id FROM orders WHERE user_id = ? ORDER BY created_at DESC LIMIT ?",
        "queries.deadlock",
        "queries.update-without-where",
        "queries.delete-without-where",
        "NOT EXISTS",
        "queries.plan-seq-scan-filter",
        "gin_trgm_ops",
    ):
        assert planted in html, planted
    assert html.count("vegaEmbed(") >= 3


def test_a_mysql_slow_log_runs_through_the_queries_notebook(tmp_path: Path):
    proc = perflab(
        "run",
        *("--only", "queries", "--out", str(tmp_path)),
        *("-p", f"queries.log_path={QUERIES / 'mariadb-slow.log'}"),
        *("-p", "queries.log_line_prefix=null", "-p", "queries.schema_path=null"),
        *("-p", "queries.explain_dir=null"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "latest" / "queries.html").read_text()
    assert "queries.implicit-conversion" in html  # phone (varchar) = 600000123
    assert "queries.n-plus-one" in html  # the EXECUTE … USING @o loop


CACHING = ROOT / "data" / "sample" / "caching"


def test_caching_report_tells_the_planted_story(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "caching"]
    figures = {f["name"]: f for f in entry["figures"]}
    import perflab.caching as cch

    # the headline equals the package replaying the same recording at the same size,
    # filled as the recording cache was (cache-aside: its sets fill it)
    trace = cch.read_trace(CACHING / "recorded.csv.gz")
    assert cch.fill_of(CACHING / "recorded.csv.gz") == "set"
    lru = cch.simulate(trace, ["lru"], [850], fill="set")["hit_ratio"][0]
    assert figures["hit_ratio_pct"]["value"] == pytest.approx(100 * lru)
    assert figures["hit_ratio_pct"]["better"] == "higher"
    assert figures["belady_gap_pts"]["value"] > 0
    html = (sample_run / entry["html"]).read_text()
    # what the samples plant, the report finds: a better policy than today's LRU, a
    # cache too small for its target, Redis answering L1's misses, the scan
    runtime = ["lru", "lfu", "fifo", "sieve", "s3fifo"]
    best = cch.simulate(trace, runtime, [850], fill="set").sort("hit_ratio", descending=True)
    assert "caching.better-policy" in html and f"lru → {best['policy'][0]}" in html
    assert "caching.undersized" in html
    assert "L2 (Redis)" in html and "zipf-scan.oracleGeneral.zst" in html
    assert "vegaEmbed(" in html


API = ROOT / "data" / "sample" / "api"


def test_api_report_tells_the_planted_story(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "api"]
    figures = {f["name"]: f for f in entry["figures"]}
    import perflab.api as api

    log = api.read_nginx_log(API / "day.log.gz", (API / "log_format.txt").read_text())
    p95 = log["duration_ms"].drop_nulls().quantile(0.95)
    assert figures["p95_ms"]["value"] == pytest.approx(p95)
    assert figures["slow_routes"]["value"] == 1  # /api/search
    html = (sample_run / entry["html"]).read_text()
    # the five planted problems of the day log, and the HAR's chatty page
    for rule in (
        "api.slow-server-response",
        "api.server-errors",
        "api.uncompressed-text",
        "api.oversized-json",
        "api.payload-growth",
        "api.chatty-page",
    ):
        assert rule in html, rule
    # routes come from the Next.js manifest: a slug route, not a slug per product
    assert "/products/{slug}" in html and "/api/users/{id}/orders" in html
    assert "vegaEmbed(" in html


def test_cdn_report_tells_the_planted_story(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "cdn"]
    figures = {f["name"]: f for f in entry["figures"]}
    assert 0 < figures["hit_ratio_pct"]["value"] < 100
    assert figures["hit_ratio_pct"]["better"] == "higher"
    html = (sample_run / entry["html"]).read_text()
    # the purge at 14:00 on CloudFront, the 60 s images, the page's header problems
    assert "cdn.hit-ratio-drop" in html and "cloudfront from 2026-11-30 14:" in html
    assert "cdn.low-hit-ratio" in html and "/images/" in html
    assert "cdn.cookie-on-cacheable" in html and "cdn.hashed-not-immutable" in html
    # the configuration is there to copy, escaped
    assert "add_header Cache-Control" in html and "CachePolicyConfig" in html
    assert "immutable" in html


def test_a_script_in_a_logged_url_is_escaped_in_the_api_report(tmp_path: Path):
    log = tmp_path / "access.log"
    fmt = tmp_path / "format.txt"
    fmt.write_text(
        'log_format t \'$remote_addr [$time_local] "$request" $status '
        "$body_bytes_sent $request_time';"
    )
    lines = [
        f'10.0.0.1 [30/Nov/2026:10:{i % 60:02d}:00 +0000] "GET /search/<script>alert(1)</script>'
        f'?q=<img src=x onerror=alert(2)> HTTP/1.1" 200 {100 + i} 0.0{i % 10}{i % 7}'
        for i in range(40)
    ]
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "reports"
    proc = perflab(
        "run",
        "--only",
        "api",
        "--out",
        str(out),
        "-p",
        f"api.log_path={log}",
        "-p",
        f"api.log_format_path={fmt}",
        "-p",
        "api.har_path=null",
        "-p",
        "api.manifest_path=null",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (out / "latest" / "api.html").read_text()
    assert "<script>alert(1)" not in html and "onerror=alert(2)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_memory_report_tells_the_leak_apart(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "memory"]
    figures = {f["name"]: f for f in entry["figures"]}
    # the leaking Node.js process: rss, heap_total, heap_used and V8's after-GC heap;
    # nothing of the steady one
    assert figures["leaking_series"]["value"] == 4
    assert figures["max_floor_growth_mb_per_hour"]["value"] > 1000
    html = (sample_run / entry["html"]).read_text()
    assert "memory.leak" in html and "source=leak" in html and "source=steady" not in html
    # the live section sampled the kernel and found the workload's allocation site
    assert "This kernel while the workload ran" in html and "ipykernel" in html
    assert "vegaEmbed(" in html


def test_bundles_report_tells_where_the_bytes_go(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "bundles"]
    figures = {f["name"]: f for f in entry["figures"]}
    # main loads ~126 kB gzip at start (measured from the emitted files)
    assert 100 < figures["max_initial_gzip_kb"]["value"] < 170
    assert figures["budgets_failed"]["value"] == 1  # main over its 100 kB check
    assert figures["initial_delta_gzip_kb"]["value"] > 0  # build b grew the reports chunk
    assert figures["findings"]["value"] >= 6
    html = (sample_run / entry["html"]).read_text()
    for rule in (
        "bundles.locale-bloat",
        "bundles.whole-package-with-submodules",
        "bundles.cjs-bailout",
        "bundles.dynamic-import-candidate",
        "bundles.duplicate-package",
    ):
        assert rule in html
    assert "countries.js" in html and "IgnorePlugin" in html
    assert "### Bundle size: initial JS +" in html and "| dayjs | added |" in html
    assert "vegaEmbed(" in html


def test_balancing_report_recommends_a_load_aware_strategy(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "balancing"]
    figures = {f["name"]: f for f in entry["figures"]}
    # round robin keeps sending a third of the traffic to the slowed-down backend;
    # a load-aware strategy replayed on the same trace cuts the p99 many times over
    assert figures["current_p99_ms"]["value"] > 5 * figures["best_p99_ms"]["value"]
    assert figures["observed_p99_ms"]["value"] > 200  # medium's queue, as nginx logged it
    assert 30 < figures["max_backend_share_pct"]["value"] < 40  # round robin: even split
    html = (sample_run / entry["html"]).read_text()
    assert "balancing.strategy-change" in html and "balancing.slow-backend" in html
    assert "Recommended: peak_ewma" in html or "Recommended: p2c" in html
    assert "medium" in html and "vegaEmbed(" in html
    # replaying nginx's own setup gives back the p99 it logged
    ratio = figures["current_p99_ms"]["value"] / figures["observed_p99_ms"]["value"]
    assert 0.8 < ratio < 1.25
    assert "as logged and as replayed" in html


def test_images_report_finds_the_planted_problems(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "images"]
    figures = {f["name"]: f for f in entry["figures"]}
    # the bomb and the cut-off download are refused, the batch went on
    assert figures["unreadable_images"]["value"] == 2
    # WebP at the SSIM target saves most of the four heaviest images' bytes
    assert figures["optimized_saved_pct"]["value"] > 50
    # the pages waste well over a megabyte on a phone (logo, retina, offscreen strip)
    assert figures["audit_wasted_kib"]["value"] > 1000
    html = (sample_run / entry["html"]).read_text()
    for rule in (
        "images.oversized",
        "images.modern-format",
        "images.offscreen-not-lazy",
        "images.unsized",
        "images.heavy-metadata",
        "images.lcp-lazy-loaded",
    ):
        assert rule in html
    # the responsive plan shows the markup, escaped, with every width of the retina photo
    assert "&lt;picture&gt;" in html and "retina-640w.webp 640w" in html
    assert "decompression bomb" in html and "truncated file" in html
    assert "vegaEmbed(" in html


def test_pooling_report_sizes_the_pool_for_the_burst(sample_run: Path):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "pooling"]
    figures = {f["name"]: f for f in entry["figures"]}
    # the captured pool of 4 turned 2 % of requests away and made the rest wait 43 ms at p99;
    # Erlang C says 7 connections for the burst, the replay of the burst 8: the larger wins
    assert figures["failed_acquires_pct"]["value"] > 1
    assert figures["acquire_wait_p99_ms"]["value"] > 10
    assert figures["recommended_max_size"]["value"] == 8
    assert figures["predicted_p99_wait_ms"]["value"] <= 10
    html = (sample_run / entry["html"]).read_text()
    assert "pooling.pool-too-small" in html and "pooling.acquire-failures" in html
    assert "Raise max_size to 8" in html
    assert "SHOW POOLS, per snapshot" in html and "transaction" in html
    assert "vegaEmbed(" in html


def published(run: Path, notebook: str, name: str) -> pl.DataFrame:
    return pl.read_parquet(run / "frames" / notebook / f"{name}.parquet")


def test_caching_pooling_balancing_publish_their_incidents(sample_run: Path):
    import perflab.caching as cch
    from perflab.events import as_events

    # the sitemap crawl at half time is the product cache's hit-ratio drop on the timeline
    ev = as_events(published(sample_run, "caching", "events"))
    product = ev.filter(pl.col("subject") == "product").sort("time").row(0, named=True)
    t0 = cch.read_accesses(CACHING / "recorded.csv.gz")["timestamp"].min()
    assert 40 <= product["time"].timestamp() - t0 <= 50
    assert product["kind"] == "hit-ratio-drop" and product["size"] < -0.2
    assert published(sample_run, "caching", "recommendations").height > 0
    over_time = published(sample_run, "caching", "hit_ratio_over_time")
    assert {"strategy", "window_start", "gets", "hits", "hit_ratio"} <= set(over_time.columns)
    # the pool's burst: one saturation and the requests it turned away
    ev = as_events(published(sample_run, "pooling", "events"))
    assert ev["kind"].to_list() == ["saturation", "error-burst"]
    sat = ev.row(0, named=True)
    assert sat["subject"] == "pool app" and 3.5 <= sat["size"] <= 4.5  # the 4 s burst
    assert "82 rejected" in sat["evidence"]
    assert published(sample_run, "pooling", "sizing")["recommended"][0] == 8
    # medium slows down at 7 s into the log, flaky is killed at 13 s
    ev = as_events(published(sample_run, "balancing", "events"))
    assert ev.select("subject", "kind").rows() == [
        ("backend medium", "step"),
        ("backend flaky", "outage"),
    ]
    step, outage = ev.row(0, named=True), ev.row(1, named=True)
    assert step["size"] > 1.5 and step["direction"] == "worse"
    assert 5 <= (outage["time"] - step["time"]).total_seconds() <= 7
    assert 0.25 < outage["size"] < 0.4  # a third of the traffic lost
    strategies = published(sample_run, "balancing", "strategies")
    assert strategies["strategy"][0] in ("peak_ewma", "p2c")


def test_notebooks_publish_findings_events_and_takeaways(sample_run: Path):
    """What `perflab export` hands out for monitoring, queries, memory and loadtest:
    the ranked findings, the timeline events of the planted problems, the summaries,
    and the raw data `perflab compare` tests between runs."""
    from datetime import UTC, datetime

    from perflab.events import EVENTS
    from perflab.recommend import RECOMMENDATIONS
    from perflab.report.compare import compare_query_patterns

    frames = sample_run / "frames"
    expected = {
        "monitoring": {"recommendations", "events", "summary", "comparison"},
        "queries": {"recommendations", "events", "patterns", "statement_durations"},
        "memory": {"recommendations", "events", "leaks", "gc_pauses"},
        "loadtest": {"recommendations", "events", "summary", "comparison", "requests"},
    }
    for notebook, names in expected.items():
        kept = {p.stem for p in (frames / notebook).glob("*.parquet")}
        assert names <= kept, (notebook, kept)
        recs = RECOMMENDATIONS.validate(
            pl.read_parquet(frames / notebook / "recommendations.parquet")
        )
        assert recs.height and set(recs["domain"]) == {notebook}
        EVENTS.validate(pl.read_parquet(frames / notebook / "events.parquet"))
    # monitoring: the planted /api/search step at 16:00 is the one event
    steps = pl.read_parquet(frames / "monitoring" / "events.parquet")
    assert steps.select("subject", "kind", "direction").rows() == [
        ("http.server.duration route=/api/search", "step", "worse")
    ]
    assert steps["time"][0] == datetime(2026, 11, 2, 16, tzinfo=UTC)
    assert steps["terms"][0].to_list() == ["http.server.duration", "/api/search"]
    # memory: where each process's floor turns, both processes
    turns = pl.read_parquet(frames / "memory" / "events.parquet")
    assert set(turns["kind"]) == {"trend-turn"}
    assert {"rss source=leak", "rss source=steady"} <= set(turns["subject"])
    # loadtest: the slower candidate's verdicts are regressions linked to the routes it drives
    regressions = pl.read_parquet(frames / "loadtest" / "events.parquet")
    assert set(regressions["kind"]) == {"regression"}
    assert any(e.startswith("p95 ") for e in regressions["evidence"])
    assert "GET /api/items/{id}" in regressions["terms"][0].to_list()
    candidate = pl.read_parquet(ROOT / "data" / "sample" / "loadtest" / "candidate.parquet")
    assert pl.read_parquet(frames / "loadtest" / "requests.parquet").height == candidate.height
    # queries: the statements of the costliest patterns, durations as logged, no literals
    durations = pl.read_parquet(frames / "queries" / "statement_durations.parquet")
    patterns = pl.read_parquet(frames / "queries" / "patterns.parquet")
    assert durations.columns == ["fingerprint", "pattern", "timestamp", "duration_ms"]
    assert "sample" not in patterns.columns and "sample_parameters" not in patterns.columns
    assert durations["duration_ms"].sum() == pytest.approx(patterns.head(50)["total_ms"].sum())
    # a run compared with itself: no pattern is called slower or faster
    same = compare_query_patterns(durations, durations)
    assert set(same["verdict"]) == {"no significant change", "too few to test"}


def test_api_cdn_bundles_images_publish_their_events(sample_run: Path):
    from datetime import UTC, datetime

    from perflab.events import as_events

    frames = sample_run / "frames"
    read = lambda name: as_events(pl.read_parquet(frames / name / "events.parquet"))  # noqa: E731
    # the planted recommendations outage, 20 % 502/504 from 14:00 to 14:40
    api_ev = read("api")
    assert api_ev.select("subject", "kind").rows() == [("GET /api/recommendations", "error-burst")]
    assert api_ev["time"][0] == datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert "14:00–14:40" in api_ev["evidence"][0]
    # the CloudFront purge at 14:00
    cdn_ev = read("cdn")
    assert cdn_ev.select("subject", "kind").rows() == [("cloudfront", "hit-ratio-drop")]
    assert cdn_ev["time"][0] == datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert cdn_ev["size"][0] < -0.3
    # build b: dayjs added, the country table grew; stamped at its builtAt
    bundles_ev = read("bundles")
    assert {"entry main", "chunk settings", "package dayjs"} <= set(bundles_ev["subject"])
    assert bundles_ev["time"].unique().to_list() == [
        datetime(2026, 12, 3, 23, 23, 0, 806000, tzinfo=UTC)
    ]
    assert read("images").height == 0  # one scan: nothing to compare
    published = {
        "api": ["recommendations", "routes"],
        "cdn": ["recommendations", "hit_ratio", "hit_ratio_windows"],
        "bundles": ["recommendations", "chunks", "packages"],
        "images": ["recommendations", "images", "pages"],
    }
    for name, files in published.items():
        for f in files:
            assert (frames / name / f"{f}.parquet").is_file(), (name, f)
    assert (
        "api.server-errors"
        in pl.read_parquet(frames / "api" / "recommendations.parquet")["rule"].to_list()
    )
    assert (
        "GET /api/recommendations"
        in pl.read_parquet(frames / "api" / "routes.parquet")
        .select(pl.concat_str("method", pl.lit(" "), "route"))
        .to_series()
        .to_list()
    )


def test_overview_ranks_every_domain_and_lines_up_their_events(sample_run: Path):
    from datetime import UTC, datetime

    manifest = json.loads((sample_run / "manifest.json").read_text())
    (entry,) = [n for n in manifest["notebooks"] if n["name"] == "reporting"]
    assert entry["status"] == "ok"
    figures = {f["name"]: f["value"] for f in entry["figures"]}
    # it ran after the others: it counted every finding they published
    published_recs = [
        pl.read_parquet(p)
        for p in (sample_run / "frames").glob("*/recommendations.parquet")
        if p.parent.name != "reporting"
    ]
    assert len(published_recs) == 11
    assert figures["findings"] == sum(f.height for f in published_recs)
    assert figures["failed_notebooks"] == 0
    top = published(sample_run, "reporting", "top_recommendations")
    assert top["severity"][0] == "critical"
    assert top["notebook"].head(3).n_unique() == 3  # the domains take turns
    assert all((sample_run / report).is_file() for report in top["report"])
    html = (sample_run / entry["html"]).read_text()
    assert '<a href="memory.html">memory</a>' in html
    assert "One timeline across domains" in html and "vegaEmbed(" in html
    # the planted incidents, each told by its own domain, on one axis
    causes = published(sample_run, "reporting", "causes")
    api = causes.filter((pl.col("effect_domain") == "api") & (pl.col("rank") == 1)).row(
        0, named=True
    )
    assert api["effect_time"] == datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert (api["cause_domain"], api["cause_kind"]) == ("cdn", "hit-ratio-drop")
    pool = causes.filter(pl.col("effect_domain") == "pooling").row(0, named=True)
    assert pool["cause_kind"] == "saturation" and pool["link"] == 1.0  # the same pool
