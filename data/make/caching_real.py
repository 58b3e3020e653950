"""Record the caching sample: perflab's runtime cache serving a shop, over a real Redis.

Run by hand (needs the Redis server at 127.0.0.1:6379; it takes about 90 seconds):

    .venv/bin/python data/make/caching_real.py [--seconds 90] [--rate 350]

Writes ``data/sample/caching/recorded.csv.gz`` (every access the cache's recorder
wrote, gzip -9) and ``data/sample/caching/stats.csv`` (``cache.stats()`` at the end).
The traffic is seeded, the timing is the machine's own (so the bytes differ between
runs): a web shop's application cache, in real time, with Redis as its second level —

* ``product`` — product pages (LRU, 400 entries in L1, TTL 30 s): ``get_or_set`` of
  ``product:<id>``, ids Zipf(0.9) over 3 000 products, values a JSON dict of 0.2 to
  3 KB; 1 % of the requests are an edit that invalidates the page (``delete``);
* ``search`` — search results (LFU, 150 entries, TTL 10 s): ``search:<query>``,
  queries Zipf(1.1) over 2 000;
* ``session`` — sessions (S3-FIFO, 300 entries, TTL 60 s): a user's requests come
  in visits; a login ``set``s the session, later page views ``get`` it;
* at half time a sitemap crawler reads every product page once, in order: the scan
  that flushes a recency-ordered L1.

Redis keys live under ``perflab-sample:`` and are removed at the start and the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
from pathlib import Path

import numpy as np

from perflab.caching.cache import Cache
from perflab.caching.redis_level import RedisLevel

OUT = Path(__file__).parents[1] / "sample" / "caching"
PREFIX = "perflab-sample:"


def zipf_choice(rng: np.random.Generator, n: int, alpha: float, size: int) -> np.ndarray:
    """``size`` draws from Zipf(``alpha``) over ``n`` items (rank 0 most popular)."""
    w = np.arange(1, n + 1, dtype=float) ** -alpha
    return rng.choice(n, size=size, p=w / w.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--rate", type=float, default=350.0)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / "recorded.csv"
    raw.unlink(missing_ok=True)

    l2 = RedisLevel(prefix=PREFIX, timeout_s=0.5)
    cache = Cache(l2=l2, record=raw)
    cache.clear()  # also every Redis key under the prefix
    cache.define_strategy("product", ttl_s=30, max_size=400, policy="lru")
    cache.define_strategy("search", ttl_s=10, max_size=150, policy="lfu")
    cache.define_strategy("session", ttl_s=60, max_size=300, policy="s3fifo")

    n = int(args.seconds * args.rate)
    kind = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    products = zipf_choice(rng, 3_000, 0.9, n)
    queries = zipf_choice(rng, 2_000, 1.1, n)
    users = rng.integers(0, 1_500, n)
    lengths = rng.integers(200, 3_000, 3_000)
    crawl_at = n // 2
    logged_in: set[int] = set()

    def page(pid: int) -> dict[str, object]:
        return {"id": pid, "name": f"product {pid}", "text": "x" * int(lengths[pid])}

    start = time.monotonic()
    for i in range(n):
        due = start + i / args.rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if i == crawl_at:
            for pid in range(3_000):
                cache.get_or_set(f"product:{pid}", lambda p=pid: page(p), "product")
        if kind[i] == 0:
            pid = int(products[i])
            if rng.random() < 0.01:
                cache.delete(f"product:{pid}")
            else:
                cache.get_or_set(f"product:{pid}", lambda p=pid: page(p), "product")
        elif kind[i] == 1:
            q = int(queries[i])
            cache.get_or_set(
                f"search:{q}", lambda q=q: {"q": q, "hits": list(range(q % 40))}, "search"
            )
        else:
            u = int(users[i])
            key = f"session:{u}"
            if u not in logged_in or rng.random() < 0.05:
                cache.set(key, {"user": u, "cart": []}, "session")
                logged_in.add(u)
            else:
                cache.get(key, strategy="session")
    stats = cache.stats()
    cache.clear()
    cache.close()
    stats.write_csv(OUT / "stats.csv")
    with raw.open("rb") as src, gzip.open(OUT / "recorded.csv.gz", "wb", compresslevel=9) as dst:
        shutil.copyfileobj(src, dst)
    raw.unlink()
    print(json.dumps({"requests": n, "seconds": round(time.monotonic() - start, 1)}))
    print(stats)


if __name__ == "__main__":
    main()
