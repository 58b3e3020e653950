"""Readers on the real nginx and HAProxy captures, and on broken input."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from perflab.balancing import TRACE, observed_load, read_backends, read_haproxy, read_nginx
from perflab.errors import InputError, ParameterError

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "balancing"
FMT = (SAMPLE / "nginx_log_format.txt").read_text()
HAPROXY_LINE = (
    "127.0.0.1:57210 [03/Dec/2026:23:08:43.500] fe_http be_app/fast 0/0/0/7/7 200 155 - - "
    '---- 16/16/0/0/0 0/0 "GET /api/items/23 HTTP/1.1"'
)


def test_nginx_sample_reads_with_names_and_service_header():
    bs = read_backends(SAMPLE / "backends.json")
    names = {b.address: b.name for b in bs}
    tr = read_nginx(
        SAMPLE / "nginx-upstream.log.gz",
        FMT,
        names=names,
        service_field="upstream_http_x_service_ms",
    )
    assert tr.height > 3000 and tr.columns[:8] == TRACE.names
    assert set(tr["backend"].drop_nulls()) == {"fast", "medium", "flaky"}
    assert tr["time_s"].is_sorted() and tr["time_s"][0] == 0.0
    # the retries while "flaky" was down: two upstreams listed, the last one served
    retried = tr.filter(pl.col("attempts") > 1)
    assert retried.height >= 1 and (retried["backend"] != "flaky").all()
    # queueing inside the slowed-down backend: response time well above service time
    med = tr.filter(pl.col("backend") == "medium")
    assert med["upstream_ms"].quantile(0.99) > 3 * med["service_ms"].quantile(0.99)


def test_nginx_retry_lists_and_redirect_groups(tmp_path: Path):
    fmt = '$remote_addr [$msec] $request_time "$upstream_addr" "$upstream_response_time"'
    p = tmp_path / "a.log"
    p.write_text(
        '10.0.0.1 [1700000000.500] 0.010 "a:80, b:80 : c:80" "0.001, 0.002 : 0.005"\n'
        '10.0.0.2 [1700000000.100] 0.004 "a:80" "0.004"\n'
    )
    tr = read_nginx(p, fmt)
    assert tr["backend"].to_list() == ["a:80", "c:80"]  # sorted by arrival
    assert tr["attempts"].to_list() == [1, 3]
    assert tr["service_ms"].to_list() == [4.0, 8.0]
    assert tr["time_s"].to_list() == pytest.approx([0.0, 0.394])


def test_nginx_needs_a_time_to_replay(tmp_path: Path):
    with pytest.raises(ParameterError, match="upstream_response_time"):
        read_nginx(tmp_path / "x.log", '$remote_addr "$upstream_addr"')


def test_nginx_bad_and_empty_input(tmp_path: Path):
    empty = tmp_path / "e.log"
    empty.write_text("")
    assert read_nginx(empty, FMT).height == 0
    bad = tmp_path / "b.log"
    good = gzip.decompress((SAMPLE / "nginx-upstream.log.gz").read_bytes()).decode()
    lines = good.splitlines()[:3]
    bad.write_text("\n".join([lines[0], "garbage here", lines[1]]) + "\n")
    with pytest.raises(InputError, match=r"b\.log:2"):
        read_nginx(bad, FMT)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert read_nginx(bad, FMT, errors="skip").height == 2
    cut = tmp_path / "c.log"
    cut.write_text(lines[0] + "\n" + lines[1][:30])
    with pytest.raises(InputError, match=r"c\.log:2"):
        read_nginx(cut, FMT)


def test_haproxy_sample_is_the_real_httplog():
    tr = read_haproxy(SAMPLE / "haproxy-httplog.log.gz")
    served = tr.filter(pl.col("backend").is_not_null())
    assert set(served["backend"]) == {"fast", "medium", "flaky"}
    assert served["haproxy_backend"].unique().to_list() == ["be_app"]
    # the port probes before the load: <NOSRV>, BADREQ, no timers
    probes = tr.filter(pl.col("backend").is_null())
    assert (probes["status"] == 400).all() and probes["service_ms"].is_null().all()
    # medium was slowed ×4 by then
    obs = observed_load(tr).sort("backend")
    p50 = dict(zip(obs["backend"], obs["p50_ms"], strict=False))
    assert p50["medium"] > 2 * p50["fast"]


def test_haproxy_with_syslog_header_and_retries(tmp_path: Path):
    p = tmp_path / "h.log"
    redispatched = HAPROXY_LINE.replace("16/16/0/0/0", "16/16/0/0/+1").replace(
        "be_app/fast", "be_app/b"
    )
    p.write_text(f"Dec  3 23:08:43 lb haproxy[4242]: {HAPROXY_LINE}\n{redispatched}\n")
    tr = read_haproxy(p, names={"fast": "app-1"})
    assert tr["backend"].to_list() == ["app-1", "b"]
    assert tr["attempts"].to_list() == [1, 2]
    assert tr["service_ms"].to_list() == [7.0, 7.0]


def test_haproxy_bad_empty_and_truncated(tmp_path: Path):
    e = tmp_path / "e.log"
    e.write_text("")
    assert read_haproxy(e).height == 0 and read_haproxy(e).columns == TRACE.names
    b = tmp_path / "b.log"
    b.write_text(HAPROXY_LINE + "\nnot haproxy at all\n")
    with pytest.raises(InputError, match=r"b\.log:2: not an HAProxy httplog line"):
        read_haproxy(b)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert read_haproxy(b, errors="skip").height == 1
    c = tmp_path / "c.log"
    c.write_text(HAPROXY_LINE + "\n" + HAPROXY_LINE[:60])
    with pytest.raises(InputError, match=r"c\.log:2"):
        read_haproxy(c)


def test_read_backends_bad_input(tmp_path: Path):
    p = tmp_path / "b.json"
    p.write_text('{"name": "a"}')
    with pytest.raises(InputError, match="JSON list"):
        read_backends(p)
    p.write_text('[{"name": "a", "weight": 0}]')
    with pytest.raises(ParameterError, match="weight must be > 0"):
        read_backends(p)
    p.write_text("[]")
    with pytest.raises(ParameterError, match="at least one backend"):
        read_backends(p)


def test_haproxy_pre_19_format_with_iso_syslog_header(tmp_path: Path):
    # as posted in DataDog/dd-agent#75 (HAProxy 1.4: Tq/Tw/Tc/Tr/Tt, server with a port)
    p = tmp_path / "old.log"
    p.write_text(
        "2012-06-12T17:56:11+00:00 localhost haproxy[21732]: 127.0.0.1:40074 "
        "[12/Jun/2012:17:56:10.548] dogarchive-frontend dogarchive-backend/i-8bcc18ed:9105 "
        '14/0/0/283/575 200 107 - - ---- 232/162/162/5/0 0/0 "POST /intake HTTP/1.1"\n'
    )
    row = read_haproxy(p).row(0, named=True)
    assert row["backend"] == "i-8bcc18ed:9105" and row["service_ms"] == 283.0
    assert row["latency_ms"] == 575.0 and row["key"] == "/intake"
