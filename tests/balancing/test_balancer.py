"""The live balancer: each strategy, health, ejection, stickiness, slow start, threads."""

from __future__ import annotations

import collections
import http.server
import threading

import pytest

from perflab.balancing import Backend, Balancer, http_probe
from perflab.balancing.balancer import STRATEGIES, ip_hash_index, ip_octets
from perflab.errors import ParameterError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def picks(lb: Balancer, n: int, **kw: str) -> list[str]:
    out = []
    for _ in range(n):
        p = lb.pick(**kw)
        lb.release(p)
        out.append(p.backend)
    return out


def test_round_robin_cycles_in_order():
    assert picks(Balancer(["a", "b", "c"]), 6) == ["a", "b", "c", "a", "b", "c"]


def test_weighted_is_nginx_smooth_sequence():
    # nginx's commit message for smooth WRR: weights 5, 1, 1 give a a b a c a a
    lb = Balancer([Backend("a", 5), Backend("b", 1), Backend("c", 1)], "weighted")
    assert "".join(picks(lb, 7)) == "aabacaa"


def test_least_connections_avoids_the_busy_backend():
    lb = Balancer(["a", "b"], "least_connections")
    held = [lb.pick() for _ in range(2)]  # one each
    lb.release(held[0])  # a is free again
    assert {lb.pick().backend for _ in range(1)} == {"a"}


def test_p2c_prefers_the_less_loaded_of_two():
    lb = Balancer(["a", "b"], "p2c", seed=1)
    busy = [lb.pick() for _ in range(10)]
    for p in busy:
        if p.backend == "a":
            lb.release(p)
    # b holds requests, a none: with two backends both are always compared
    assert set(picks(lb, 5)) == {"a"}


def test_ip_hash_uses_first_three_octets_like_nginx():
    lb = Balancer(["a", "b", "c"], "ip_hash")
    same = {lb.pick(client=f"192.168.7.{i}").backend for i in range(1, 255)}
    assert len(same) == 1
    # nginx: hash = 89; for each octet hash = (hash*113 + octet) % 6271; % total weight
    h = 89
    for o in (192, 168, 7):
        h = (h * 113 + o) % 6271
    assert lb.pick(client="192.168.7.1").backend == "abc"[h % 3]


def test_ip_hash_rehashes_past_a_down_backend():
    first = ip_hash_index((10, 0, 0), [1, 1, 1], [True, True, True])
    up = [True, True, True]
    up[first] = False
    again = ip_hash_index((10, 0, 0), [1, 1, 1], up)
    assert again is not None and again != first


def test_ipv6_clients_stick_and_spread():
    # not nginx's 16-byte IPv6 hash (see ip_octets): stable per address, and spread
    assert ip_octets("2001:db8::1") == ip_octets("2001:db8::1") != ip_octets("2001:db8::2")
    lb = Balancer(["a", "b", "c"], "ip_hash")
    clients = [f"2001:db8::{i:x}" for i in range(300)]
    first = [lb.pick(client=c).backend for c in clients]
    assert [lb.pick(client=c).backend for c in clients] == first
    counts = collections.Counter(first)
    assert set(counts) == {"a", "b", "c"} and min(counts.values()) > 50


def test_consistent_hash_moves_only_the_leaving_backends_keys():
    names = [f"s{i}" for i in range(5)]
    lb = Balancer(names, "consistent_hash")
    keys = [f"/item/{i}" for i in range(5000)]
    before = {k: lb.pick(key=k).backend for k in keys}
    lb.remove("s2")
    after = {k: lb.pick(key=k).backend for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(before[k] == "s2" for k in moved)  # nobody else's key moved
    assert len(moved) == sum(1 for k in keys if before[k] == "s2")
    assert 0.1 < len(moved) / len(keys) < 0.3  # about 1/5
    # and marking it down rather than removing it gives the same keys the same homes
    lb2 = Balancer(names, "consistent_hash")
    lb2.mark("s2", False)
    assert {k: lb2.pick(key=k).backend for k in keys} == after


def test_consistent_hash_spreads_keys_evenly():
    lb = Balancer([f"s{i}" for i in range(4)], "consistent_hash")
    counts = collections.Counter(lb.pick(key=str(i)).backend for i in range(20000))
    assert max(counts.values()) / min(counts.values()) < 1.4


def test_peak_ewma_sends_less_to_the_slow_backend():
    clock = Clock()
    lb = Balancer(["fast", "slow"], "peak_ewma", seed=3, clock=clock)
    got = collections.Counter()
    for _ in range(400):
        p = lb.pick()
        clock.t += 0.01
        lb.release(p, latency_ms=5.0 if p.backend == "fast" else 100.0)
        got[p.backend] += 1
    assert got["fast"] > 3 * got["slow"]


def test_health_check_takes_a_backend_out_and_back():
    healthy = {"a": True, "b": True}
    lb = Balancer(["a", "b"], check=lambda b: healthy[b.name])
    healthy["a"] = False
    assert lb.check() == {"a": False, "b": True}
    assert set(picks(lb, 4)) == {"b"}
    healthy["a"] = True
    lb.check()
    assert set(picks(lb, 4)) == {"a", "b"}


def test_http_probe_against_a_real_server():
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        addr = f"127.0.0.1:{srv.server_address[1]}"
        assert http_probe("/health", timeout=10)(Backend("x", address=addr))
        assert not http_probe("/broken", timeout=10)(Backend("x", address=addr))
    finally:
        srv.shutdown()
        srv.server_close()


def test_outlier_ejection_backs_off_exponentially():
    clock = Clock()
    lb = Balancer(["a", "b"], eject_after=3, eject_base_s=1.0, clock=clock)

    def fail_a(n: int) -> None:
        for _ in range(n):
            p = lb.pick()
            lb.release(p, ok=p.backend != "a")

    fail_a(6)  # three failures on a: ejected for 1 s
    assert lb.stats()["ejected"] == [True, False]
    clock.t += 1.01  # back on probation: one failure ejects it for 2 s
    p = lb.pick()
    while p.backend != "a":
        lb.release(p)
        p = lb.pick()
    lb.release(p, ok=False)
    clock.t += 1.5
    assert lb.stats()["ejected"] == [True, False]
    clock.t += 0.6
    assert lb.stats()["ejected"] == [False, False]


def test_sticky_sessions_expire_after_ttl():
    clock = Clock()
    lb = Balancer(["a", "b", "c"], sticky_ttl_s=10, clock=clock)
    first = lb.pick(session="u1").backend
    assert {lb.pick(session="u1").backend for _ in range(5)} == {first}
    clock.t += 11
    lb.pick(session="other")  # moves the rotation
    seen = {lb.pick(session="u1").backend}
    clock.t += 20
    seen |= {lb.pick(session="u1").backend for _ in range(1)}
    assert len(seen | {first}) > 1


def test_sticky_session_leaves_a_down_backend():
    lb = Balancer(["a", "b"], sticky_ttl_s=60)
    first = lb.pick(session="u").backend
    lb.mark(first, False)
    assert lb.pick(session="u").backend != first


def test_slow_start_ramps_a_new_backend():
    clock = Clock()
    lb = Balancer(["a", "b"], "weighted", slow_start_s=10, clock=clock)
    lb.add("c")
    early = collections.Counter(picks(lb, 300))
    clock.t += 20
    late = collections.Counter(picks(lb, 300))
    assert early["c"] < 0.2 * early["a"]
    assert abs(late["c"] - late["a"]) <= 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_thread_safety_keeps_counts_exact(strategy: str):
    lb = Balancer(["a", "b", "c"], strategy, seed=0)

    def work() -> None:
        for i in range(500):
            p = lb.pick(client=f"10.0.{i % 7}.1", key=str(i))
            lb.release(p)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    st = lb.stats()
    assert sum(st["picks"]) == 2000 and st["inflight"] == [0, 0, 0]


def test_bad_input_is_refused_clearly():
    with pytest.raises(ParameterError, match="at least one backend"):
        Balancer([])
    with pytest.raises(ParameterError, match="weight must be > 0"):
        Balancer([Backend("a", weight=0)])
    with pytest.raises(ParameterError, match="weight must be > 0"):
        Balancer([{"name": "a", "weight": -1}])
    with pytest.raises(ParameterError, match="unknown strategy"):
        Balancer(["a"], "fastest")
    with pytest.raises(ParameterError, match="unique"):
        Balancer(["a", "a"])
    lb = Balancer(["a"])
    with pytest.raises(ParameterError, match="unknown backend 'zz'"):
        lb.mark("zz", False)
    from perflab.balancing import Pick

    with pytest.raises(ParameterError, match="unknown backend 'zz'"):
        lb.release(Pick("zz", 0, 0.0))
    with pytest.raises(ParameterError, match="ip_hash needs"):
        Balancer(["a", "b"], "ip_hash").pick()
