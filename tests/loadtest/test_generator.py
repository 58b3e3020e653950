"""The load generator against perflab's sample server on 127.0.0.1, seconds at most."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.loadtest import REQUESTS, Request, Scenario, TargetUnreachableError, run
from perflab.loadtest._engine import schedule_times
from perflab.loadtest.sample_server import SampleServer


@pytest.fixture(scope="module")
def server():
    with SampleServer(delay_ms=1.0, flaky_share=0.5, slow_ms=2000.0) as s:
        yield s


def test_open_model_sends_the_schedule_and_answers_are_recorded(server):
    mix = Scenario(["/", {"path": "/api/items/1", "weight": 2}, "/static/app.js"])
    df = run(server.url, rate=400, duration=1.0, scenario=mix, workers=0)
    assert df.columns == REQUESTS.names
    assert df.height == 400  # uniform arrivals: exactly rate × duration
    assert df["start"].is_sorted()
    assert df["start"].min() >= 0.0 and df["start"].max() < 1.0
    assert df["status"].to_list() == [200] * 400
    assert df["error"].null_count() == 400
    # latency counts from the intended start, so it is never below the service time
    assert (df["latency_ms"] >= df["service_ms"] - 1e-9).all()
    assert (df["sent"] >= df["start"] - 1e-9).all()
    counts = dict(df.group_by("name").len().iter_rows())
    assert set(counts) == {"GET /", "GET /api/items/1", "GET /static/app.js"}
    assert 140 < counts["GET /api/items/1"] < 260  # half of the requests, by weight
    sizes = dict(df.group_by("name").agg(pl.col("bytes").min()).iter_rows())
    assert sizes["GET /static/app.js"] > 20 * 1024  # the whole body was read
    # the route with a server-side delay of ~1 ms is slower than the static root
    p50 = dict(df.group_by("name").agg(pl.col("service_ms").median()).iter_rows())
    assert p50["GET /api/items/1"] > p50["GET /"]


def test_chunked_bodies_and_http_errors(server):
    df = run(
        server.url, rate=200, duration=0.5, scenario=["/chunked", "/flaky", "/nope"], workers=0
    )
    by = {n: g for (n,), g in df.group_by("name")}
    assert (by["GET /chunked"]["bytes"] > 20 * 1024).all()
    assert by["GET /chunked"]["error"].null_count() == by["GET /chunked"].height
    assert set(by["GET /nope"]["error"].to_list()) == {"http 404"}
    flaky = by["GET /flaky"]
    assert set(flaky["status"].to_list()) == {200, 503}
    assert (flaky.filter(pl.col("status") == 503)["error"] == "http 503").all()


def test_a_stalled_server_shows_in_corrected_latency_not_in_a_closed_model():
    """Coordinated omission: the open model counts every request the stall delayed."""
    with SampleServer(delay_ms=0.5, stall_every=0.4, stall_ms=200.0) as stalled:
        opened = run(stalled.url, rate=300, duration=2.0, connections=2, workers=0)
        closed = run(stalled.url, users=2, think_time=1 / 150, duration=2.0, workers=0)
    slow_open = opened.filter(pl.col("latency_ms") > 50).height
    slow_closed = closed.filter(pl.col("latency_ms") > 50).height
    # ~4 stalls × 200 ms × 300/s ≈ 240 delayed requests in the open model; the two
    # closed-model users are each stuck in one request per stall
    assert slow_open > 100
    assert slow_closed <= 2 * 6
    assert opened["latency_ms"].quantile(0.9) > 50
    assert closed["latency_ms"].quantile(0.9) < 50
    # with two connections busy, the wait for one is latency but not service time
    assert opened["latency_ms"].quantile(0.9) > 3 * opened["service_ms"].quantile(0.9)
    # in a closed model the two are the same
    assert (closed["latency_ms"] - closed["service_ms"]).abs().max() < 1e-6


def test_timeouts_fail_requests_without_hanging(server):
    t = time.monotonic()
    df = run(server.url, rate=20, duration=0.5, scenario=["/slow"], timeout=0.3, workers=0)
    assert time.monotonic() - t < 5
    assert df.height == 10
    assert set(df["error"].to_list()) == {"timeout"}
    assert df["latency_ms"].null_count() == 10 and df["status"].null_count() == 10


def test_a_server_that_closes_mid_response(server):
    df = run(server.url, rate=100, duration=0.5, scenario=["/close", "/"], workers=0)
    bad = df.filter(pl.col("name") == "GET /close")
    good = df.filter(pl.col("name") == "GET /")
    assert set(bad["error"].to_list()) == {"closed mid-response"}
    assert bad["status"].null_count() == bad.height
    # the generator reconnects: the other requests still succeed
    assert good.height > 10 and good["error"].null_count() == good.height


def test_an_unreachable_target_is_a_clear_error_and_no_hang():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    t = time.monotonic()
    with pytest.raises(
        TargetUnreachableError, match=rf"cannot connect to http://127.0.0.1:{port}/: "
    ):
        run(f"http://user:secret@127.0.0.1:{port}/", rate=10, duration=1, workers=0)
    assert time.monotonic() - t < 5


def test_warm_up_is_excluded_and_out_is_written(server, tmp_path: Path):
    out = tmp_path / "r.parquet"
    df = run(server.url, rate=100, duration=0.5, warmup=0.3, workers=0, out=out)
    assert df.height == 50
    assert df["start"].min() >= 0.0
    assert pl.read_parquet(out).equals(df)


def test_ramping_arrival_rate_follows_the_stages(server):
    df = run(server.url, rate=[(1.0, 200.0), (1.0, 200.0)], workers=0)
    # 0 → 200/s over the first second (100 requests), then 200/s (200 requests)
    assert df.height == 300
    # arrival j of the ramp is due at sqrt(j / 100) s (thresholds between two arrivals)
    assert df.filter(pl.col("start") < 0.9028).height == 82
    assert df.filter(pl.col("start") < 0.5025).height == 26
    assert df.filter(pl.col("start") >= 1.0025).height == 199


def test_poisson_arrivals_keep_the_mean_rate(server):
    df = run(server.url, rate=500, duration=1.0, arrivals="poisson", workers=0, seed=3)
    assert abs(df.height - 500) < 4 * np.sqrt(500)
    gaps = np.diff(df["start"].to_numpy())
    assert gaps.std() > 0.5 * gaps.mean()  # not evenly spaced


def test_worker_processes_share_one_schedule(server):
    df = run(server.url, rate=400, duration=1.0, workers=2)
    assert df.height == 400
    assert df["start"].n_unique() == 400
    # the two workers' arrivals interleave into the one schedule k / 400 (a request may
    # go out up to 0.5 ms early, and then starts when it was sent)
    deviation = np.sort(df["start"].to_numpy()) - np.arange(400) / 400
    assert deviation.min() >= -0.0005 - 1e-9 and deviation.max() <= 1e-9


def test_closed_model_with_think_time(server):
    df = run(server.url, users=2, think_time=0.05, duration=1.0, workers=0)
    assert 25 <= df.height <= 42  # each user: one request per ~50 ms
    assert df["error"].null_count() == df.height


def test_har_replay(server, tmp_path: Path):
    har = {
        "log": {
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "https://shop.test/static/a.js",
                        "headers": [],
                    }
                },
                {
                    "request": {
                        "method": "POST",
                        "url": "https://shop.test/api/items/7?x=1",
                        "headers": [{"name": ":path", "value": "/"}, {"name": "X-A", "value": "1"}],
                        "postData": {"mimeType": "application/json", "text": '{"q": 1}'},
                    }
                },
                {"request": {"method": "GET", "url": "https://tracker.test/p", "headers": []}},
            ]
        }
    }
    path = tmp_path / "shop.har"
    path.write_text(json.dumps(har))
    df = run(server.url, rate=100, duration=0.4, scenario=str(path), workers=0)
    assert set(df["name"].unique().to_list()) == {"GET /static/a.js", "POST /api/items/7"}
    assert df.height == 40 and df["error"].null_count() == 40


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "either rate= .* or users="),
        ({"rate": 10, "users": 2, "duration": 1}, "either rate="),
        ({"rate": 0, "duration": 1}, "positive number"),
        ({"rate": 10}, "duration"),
        ({"users": 0, "duration": 1}, "positive integer"),
        ({"rate": [(1, 10)], "duration": 5}, "differs from the stages"),
        ({"rate": 10, "duration": 1, "arrivals": "bursty"}, "arrivals"),
        ({"rate": 10, "duration": 1, "scenario": [{"path": "/", "method": "G T"}]}, "method"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        run("http://127.0.0.1:9/", **kwargs)


def test_bad_target():
    with pytest.raises(ParameterError, match="http:// or https://"):
        run("ftp://127.0.0.1/", rate=1, duration=1)


def test_schedule_times_invert_the_cumulative_rate():
    counts = np.arange(0, 300, dtype=float)
    t = schedule_times(counts, ((1.0, 0.0, 200.0), (1.0, 200.0, 200.0)))
    # N(t) = 100 t² in the first second, 100 + 200 (t − 1) after
    expected = np.where(counts <= 100, np.sqrt(counts / 100), 1 + (counts - 100) / 200)
    assert np.allclose(t, expected)


def test_request_encoding():
    raw = Request("/x", "POST", {"X-Y": "z"}, body="héllo").encode("h:1", "/base/")
    head, body = raw.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /base/x HTTP/1.1"
    assert b"Content-Length: 6" in head and b"X-Y: z" in head and b"Host: h:1" in head
    assert body == "héllo".encode()


class RawServer:
    """A plain-socket HTTP server in a thread: ``respond(request_head) -> (bytes, close)``.

    ``idle_close`` drops a connection that sends no request within that many seconds
    (nginx's ``client_header_timeout``): the connections a load generator opens before
    its start. Once a request came, the connection stays. ``answers`` makes the server
    answer that many requests on a connection and drop it at the next one, unanswered:
    a keep-alive timeout that races with a new request, on every connection.
    """

    def __init__(self, respond, idle_close: float | None = None, answers: int = 0):
        self.respond = respond
        self.idle_close = idle_close
        self.answers = answers
        self.heads: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(self.idle_close or 10)
        buf = b""
        answered = 0
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except (TimeoutError, OSError):
                    return  # idle too long: the server drops the connection
                if not data:
                    return
                buf += data
                conn.settimeout(10)  # only a connection that never sent a request is dropped
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    self.heads.append(head)
                    if self.answers and answered == self.answers:
                        return
                    answered += 1
                    reply, close = self.respond(head)
                    try:
                        if len(reply) < 4096:  # small answers in tiny segments
                            for i in range(0, len(reply), 7):
                                conn.sendall(reply[i : i + 7])
                        else:
                            conn.sendall(reply)
                    except OSError:
                        return
                    if close:
                        return

    def close(self):
        self.sock.close()


@pytest.mark.parametrize(
    "head, close",
    [
        (b"HTTP/1.1 200 OK\r\nConnection:close\r\nContent-Length: 2\r\n\r\nok", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\nok", True),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2;ext=1\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n",
            False,
        ),
    ],
)
def test_responses_that_close_or_split_oddly(head, close):
    server = RawServer(lambda _: (head, close))
    try:
        df = run(server.url, rate=200, duration=0.5, connections=2, workers=0)
    finally:
        server.close()
    assert df.height == 100
    assert df["error"].null_count() == 100, df["error"].value_counts()
    assert set(df["status"].to_list()) == {200}


def test_a_large_body_is_counted_not_kept():
    body = b"x" * (16 << 20)
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    server = RawServer(lambda _: (reply, False))
    try:
        df = run(server.url, rate=4, duration=0.5, workers=0)
    finally:
        server.close()
    assert df["error"].null_count() == 2
    assert (df["bytes"] == len(reply)).all()


def test_connections_the_server_drops_before_the_start_are_reopened():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer(lambda _: (ok, False), idle_close=0.02)
    try:
        opened = run(server.url, rate=100, duration=0.5, connections=4, workers=0)
        closed = run(server.url, users=2, duration=0.3, workers=0)
    finally:
        server.close()
    assert opened.height == 50 and opened["error"].null_count() == 50
    assert closed.height > 10 and closed["error"].null_count() == closed.height


@pytest.mark.parametrize("model", ["open", "closed"])
def test_a_request_lost_on_a_waiting_connection_is_sent_again_once(model):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer(lambda _: (ok, False), answers=1)
    load = {"rate": 100, "connections": 2} if model == "open" else {"users": 2}
    try:
        gets = run(server.url, duration=0.3, workers=0, **load)
        posts = run(
            server.url, duration=0.3, workers=0, scenario=[Request("/", method="POST")], **load
        )
    finally:
        server.close()
    # each reused connection drops its second request: a GET goes again on a new one
    assert gets.height > 10 and gets["error"].null_count() == gets.height
    # a POST is not idempotent (RFC 9110 §9.2.2): it fails instead of being repeated
    lost = posts.filter(pl.col("error") == "closed before response").height
    assert lost > 0 and posts["error"].null_count() + lost == posts.height


def test_target_query_and_headers_reach_the_server():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer(lambda _: (ok, False))
    try:
        run(
            server.url + "/api?key=1",
            rate=20,
            duration=0.1,
            scenario=[Request("/items", headers={"user-agent": "mine"})],
            headers={"Accept": "*/*", "accept": "text/plain"},
            workers=0,
        )
    finally:
        server.close()
    head = server.heads[0].decode().split("\r\n")
    assert head[0] == "GET /api/items?key=1 HTTP/1.1"
    names = [line.split(":")[0].lower() for line in head[1:]]
    assert names.count("user-agent") == 1 and "user-agent: mine" in server.heads[0].decode()
    assert names.count("accept") == 1
