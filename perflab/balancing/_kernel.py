"""The simulator's event loop: one numba kernel replays a trace through one strategy.

Why numba: the loop is sequential (each choice depends on the in-flight counts and
latencies the previous choices left) and no vectorised expression expresses it; in
numba it replays several million requests per second (``benchmarks/bench_balancing.py``).

The model, per request ``i`` in arrival order:

1. completions up to ``t[i]`` leave the global heap of (finish time, request): the
   backend's in-flight count drops and, for a served request, its peak-EWMA observes
   the latency;
2. the balancer's view of availability: a backend is out when the last ``fall``
   active health checks (every ``check_s``, at multiples of it) saw it down, until the
   last ``rise`` saw it up again (HAProxy's ``fall 3 rise 2`` by default), or while it is ejected
   (``eject_after`` consecutive failures eject it for ``eject_base_s × backoff^(n-1)``,
   capped at 300 s; backoff 2 as Envoy's outlier detection, 1 as nginx's fixed
   ``fail_timeout``; one failure on probation after an ejection ejects it again); when every
   backend is out, all are candidates;
3. a sticky session (``sticky_ttl_s`` > 0) keeps its previous backend if available and
   seen within the TTL; otherwise the strategy picks;
4. a backend that is down (``fail_at ≤ t < recover_at``) fails the request after
   ``fail_s``; otherwise the backend serves its requests first come first served on
   ``servers`` parallel servers: start = max(arrival, earliest free server), service =
   demand / speed (× ``slow_factor`` from ``slow_at``).

Strategy codes: 0 round_robin, 1 least_connections, 2 weighted, 3 ip_hash, 4 p2c,
5 consistent_hash, 6 peak_ewma, 7 random.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

CODES = {
    "round_robin": 0,
    "least_connections": 1,
    "weighted": 2,
    "ip_hash": 3,
    "p2c": 4,
    "consistent_hash": 5,
    "peak_ewma": 6,
    "random": 7,
}


@nb.njit(cache=True, nogil=True)
def _push(hf, hi, n, f, idx):  # type: ignore[no-untyped-def]  # pragma: no cover - numba
    j = n
    hf[j] = f
    hi[j] = idx
    while j > 0:
        p = (j - 1) >> 1
        if hf[p] <= hf[j]:
            break
        hf[p], hf[j] = hf[j], hf[p]
        hi[p], hi[j] = hi[j], hi[p]
        j = p
    return n + 1


@nb.njit(cache=True, nogil=True)
def _pop(hf, hi, n):  # type: ignore[no-untyped-def]  # pragma: no cover - numba
    n -= 1
    hf[0] = hf[n]
    hi[0] = hi[n]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= n:
            break
        if c + 1 < n and hf[c + 1] < hf[c]:
            c += 1
        if hf[j] <= hf[c]:
            break
        hf[j], hf[c] = hf[c], hf[j]
        hi[j], hi[c] = hi[c], hi[j]
        j = c
    return n


@nb.njit(cache=True, nogil=True)
def _sift_servers(row, c):  # type: ignore[no-untyped-def]  # pragma: no cover - numba
    # restore the min-heap of one backend's server free times after row[0] grew
    j = 0
    while True:
        k = 2 * j + 1
        if k >= c:
            break
        if k + 1 < c and row[k + 1] < row[k]:
            k += 1
        if row[j] <= row[k]:
            break
        row[j], row[k] = row[k], row[j]
        j = k


@nb.njit(cache=True, nogil=True)
def run(  # type: ignore[no-untyped-def]
    code,
    t,
    svc,
    sess,
    octs,
    khash,
    weight,
    iweight,
    speed,
    servers,
    slow_at,
    slow_factor,
    fail_at,
    recover_at,
    ring_h,
    ring_o,
    n_sessions,
    seed,
    check_s,
    fall,
    rise,
    eject_after,
    eject_base,
    eject_backoff,
    fail_s,
    sticky_ttl,
    tau,
    lat,
    wait,
    chosen,
    failed,
):  # pragma: no cover - numba
    """Replay; fills lat, wait, chosen, failed; returns (sticky kept, sticky eligible)."""
    np.random.seed(seed)
    n = t.shape[0]
    nb_ = weight.shape[0]
    maxc = 1
    for b in range(nb_):
        if servers[b] > maxc:
            maxc = servers[b]
    free = np.full((nb_, maxc), np.inf)
    for b in range(nb_):
        for k in range(servers[b]):
            free[b, k] = 0.0
    hf = np.empty(n, np.float64)
    hi = np.empty(n, np.int64)
    hn = 0
    inflight = np.zeros(nb_, np.int64)
    ewma = np.zeros(nb_, np.float64)
    stamp = np.zeros(nb_, np.float64)
    current = np.zeros(nb_, np.float64)
    consec = np.zeros(nb_, np.int64)
    ejections = np.zeros(nb_, np.int64)
    ejected_until = np.zeros(nb_, np.float64)
    probation = np.zeros(nb_, np.bool_)
    avail = np.zeros(nb_, np.bool_)
    cand = np.empty(nb_, np.int64)
    last_b = np.full(n_sessions, -1, np.int64)
    last_t = np.zeros(n_sessions, np.float64)
    total_iw = 0
    for b in range(nb_):
        total_iw += iweight[b]
    rr = 0
    kept = 0
    eligible = 0
    nring = ring_h.shape[0]
    for i in range(n):
        now = t[i]
        # 1. completions
        while hn > 0 and hf[0] <= now:
            j = hi[0]
            fin = hf[0]
            hn = _pop(hf, hi, hn)
            b = chosen[j]
            inflight[b] -= 1
            if code == 6 and not failed[j]:
                rtt = fin - t[j]
                if rtt > ewma[b]:
                    ewma[b] = rtt
                else:
                    w = math.exp(-(fin - stamp[b]) / tau) if fin > stamp[b] else 1.0
                    ewma[b] = ewma[b] * w + rtt * (1.0 - w)
                stamp[b] = fin
        # 2. availability
        m = 0
        for b in range(nb_):
            ok = True
            if check_s > 0.0:
                tc = math.floor(now / check_s) * check_s
                if (
                    fail_at[b] <= tc - (fall - 1) * check_s
                    and recover_at[b] > tc - (rise - 1) * check_s
                ):
                    ok = False
            if ejected_until[b] > now:
                ok = False
            elif ejected_until[b] > 0.0 and not probation[b] and consec[b] == 0:
                probation[b] = True
            avail[b] = ok
            if ok:
                cand[m] = b
                m += 1
        if m == 0:
            for b in range(nb_):
                avail[b] = True
                cand[b] = b
            m = nb_
        # 3. choose
        s = sess[i]
        pick = -1
        if sticky_ttl > 0.0 and s >= 0:
            pb = last_b[s]
            if pb >= 0 and now - last_t[s] <= sticky_ttl and avail[pb]:
                pick = pb
        if pick < 0:
            if code == 0 or m == 1:
                pick = cand[rr % m]
                rr += 1
            elif code == 1:
                start = rr % m
                rr += 1
                best = -1
                bl = np.inf
                for q in range(m):
                    b = cand[(start + q) % m]
                    load = inflight[b] / weight[b]
                    if load < bl:
                        bl = load
                        best = b
                pick = best
            elif code == 2:
                tot = 0.0
                best = cand[0]
                for q in range(m):
                    b = cand[q]
                    current[b] += weight[b]
                    tot += weight[b]
                    if current[b] > current[best]:
                        best = b
                current[best] -= tot
                pick = best
            elif code == 3:
                h = 89
                pick = -1
                for _ in range(21):
                    for k in range(3):
                        h = (h * 113 + octs[i, k]) % 6271
                    w = h % total_iw
                    p = 0
                    while w >= iweight[p]:
                        w -= iweight[p]
                        p += 1
                    if avail[p]:
                        pick = p
                        break
                if pick < 0:
                    pick = cand[rr % m]
                    rr += 1
            elif code == 4 or code == 6:
                a = cand[np.random.randint(m)]
                b2 = cand[np.random.randint(m - 1)]
                if b2 == a:
                    b2 = cand[m - 1]
                if code == 4:
                    la = inflight[a] / weight[a]
                    lb = inflight[b2] / weight[b2]
                else:
                    for bb in (a, b2):
                        if now > stamp[bb]:
                            ewma[bb] *= math.exp(-(now - stamp[bb]) / tau)
                            stamp[bb] = now
                    la = ewma[a] * (inflight[a] + 1)
                    lb = ewma[b2] * (inflight[b2] + 1)
                    if ewma[a] == 0.0 and inflight[a] > 0:
                        la = 1e9 + inflight[a]
                    if ewma[b2] == 0.0 and inflight[b2] > 0:
                        lb = 1e9 + inflight[b2]
                if la < lb:
                    pick = a
                elif lb < la:
                    pick = b2
                else:
                    pick = a if np.random.random() < 0.5 else b2
            elif code == 5:
                lo = np.searchsorted(ring_h, khash[i])
                pick = cand[0]
                for q in range(nring):
                    o = ring_o[(lo + q) % nring]
                    if avail[o]:
                        pick = o
                        break
            else:
                pick = cand[np.random.randint(m)]
        # stickiness kept
        if s >= 0:
            if last_b[s] >= 0:
                eligible += 1
                if last_b[s] == pick:
                    kept += 1
            last_b[s] = pick
            last_t[s] = now
        chosen[i] = pick
        inflight[pick] += 1
        # 4. serve or fail
        if fail_at[pick] <= now and now < recover_at[pick]:
            failed[i] = True
            lat[i] = np.nan
            wait[i] = np.nan
            hn = _push(hf, hi, hn, now + fail_s, i)
            if eject_after > 0:
                consec[pick] += 1
                if probation[pick] or consec[pick] >= eject_after:
                    ejections[pick] += 1
                    span = eject_base * eject_backoff ** (ejections[pick] - 1)
                    if span > 300.0:
                        span = 300.0
                    ejected_until[pick] = now + span
                    consec[pick] = 0
                    probation[pick] = False
            continue
        if probation[pick]:
            probation[pick] = False
            ejections[pick] = 0
            ejected_until[pick] = 0.0
        consec[pick] = 0
        row = free[pick]
        start = row[0] if row[0] > now else now
        d = svc[i] / speed[pick]
        if now >= slow_at[pick]:
            d *= slow_factor[pick]
        fin = start + d
        row[0] = fin
        _sift_servers(row, servers[pick])
        wait[i] = start - now
        lat[i] = fin - now
        hn = _push(hf, hi, hn, fin, i)
    return kept, eligible
