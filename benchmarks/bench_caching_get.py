"""Cost of one ``Cache.get`` hit against ``cachetools.LRUCache`` and a plain ``dict``.

Every subject holds KEYS string keys (``"key:0"`` …) and is read on a hit, in a
fixed shuffled order of those keys, so every call hits: ``Cache.get`` on an L1-only
cache with an ``lru`` strategy of KEYS entries (no TTL, no recorder),
``cachetools.LRUCache.__getitem__`` (the peer a Python service would otherwise pick;
like ``Cache.get`` it updates recency, but without a lock) and ``dict.get`` (the
floor: one hash lookup). Each variant is timed with :mod:`timeit` over NUMBER
passes of the keys, REPEAT times (the subjects take turns, so a change in load
hits them alike); a repeat's figure is its time per call, and the median of the
repeats is reported, with its ratio to the peer and to the dict. The
loop's own overhead (calling a no-op with a key) is printed separately and included
in every figure alike. No target is asserted.

Run: ``.venv/bin/python benchmarks/bench_caching_get.py [--keys N] [--number N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import timeit
from collections.abc import Callable

from cachetools import LRUCache

from perflab.caching.cache import Cache


def medians_ns(
    subjects: dict[str, Callable[[str], object]], keys: list[str], number: int, repeat: int
) -> dict[str, float]:
    """Median over ``repeat`` runs of ns per call of each subject.

    Runs are interleaved (one run of every subject, ``repeat`` times over), so a
    change in machine load affects every subject alike.
    """
    runs: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(repeat):
        for name, call in subjects.items():

            def one_pass(call: Callable[[str], object] = call) -> None:
                for k in keys:
                    call(k)

            seconds = timeit.timeit(one_pass, number=number)
            runs[name].append(seconds / (number * len(keys)) * 1e9)
    return {name: statistics.median(r) for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--number", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    keys = [f"key:{i}" for i in range(args.keys)]
    order = keys[:]
    random.Random(0).shuffle(order)

    cache = Cache()
    cache.define_strategy("bench", max_size=args.keys, policy="lru")
    for k in keys:
        cache.set(k, k, "bench")
    peer: LRUCache[str, str] = LRUCache(maxsize=args.keys)
    for k in keys:
        peer[k] = k
    plain = {k: k for k in keys}

    def noop(key: str) -> None:
        return None

    ns = medians_ns(
        {
            "loop": noop,
            "Cache.get (l1, lru, hit)": cache.get,
            "cachetools.LRUCache.__getitem__": peer.__getitem__,
            "dict.get": plain.get,
        },
        order,
        args.number,
        args.repeat,
    )
    loop = ns.pop("loop")
    theirs = ns["cachetools.LRUCache.__getitem__"]
    floor = ns["dict.get"]
    hits = cache.stats().filter(strategy="bench").get_column("hits").item()
    assert hits == args.keys * args.number * args.repeat, "every Cache.get must be a hit"

    print(
        f"{args.repeat} repeats x {args.number} passes x {args.keys:,} keys; "
        f"median ns per call (loop overhead {loop:.0f})"
    )
    print(f"{'subject':36} {'ns':>7}  {'vs cachetools':>13}  {'vs dict':>8}")
    for name, value in ns.items():
        print(f"{name:36} {value:7.0f}  {value / theirs:13.2f}  {value / floor:8.2f}")


if __name__ == "__main__":
    main()
