"""perflab's CloudFront log reader against pandas.read_csv, on the same log, in the same run.

The log is generated (seeded, into a temporary directory) by perflab's own sample
generator, :mod:`perflab.cdn.samples`, at a larger scale: ``--lines`` requests
(default 1,000,000; the draws give a few hundred fewer) of one day of the sample's web
shop through CloudFront, written as the sample's ``cloudfront.log.gz`` is — a
CloudFront standard log with the 33 legacy fields, 24 hourly files concatenated (a
``#Version``/``#Fields`` header at each hour), tab-separated, ``-`` for no value, user
agents and content types percent-encoded. ``write_samples(scale=…)`` would also write
the Cloudflare and Fastly files and gzip all three at level 9, so the script calls the
steps it is made of for CloudFront only (the private ``_catalogue``, ``_viewers``,
``_simulate`` and ``_cloudfront``, with the sample's own seeds: ``--lines 60000`` gives
the bytes of the shipped sample before gzip). About 500 bytes a line: 1,000,000 lines
are about 500 MB, built in about 25 s. The same file gzipped (level 6) is the ``.gz``
variant.

Timed, ``--rounds`` times each, in this process, the two sides taking turns (so that
load from other processes falls on both alike), after one call of each on the first
20,000 lines (imports, polars' thread pool), medians printed:

* **perflab** — ``perflab.cdn.read_cloudfront(path)``: the whole canonical
  ``CDN_REQUESTS`` frame (every field converted, checked line by line, the extras kept);
* **pandas** — what a user writes by hand to get the columns compared below:
  ``pandas.read_csv`` (C parser, ``sep="\\t"``, ``comment="#"`` to skip the
  ``#Version``/``#Fields`` lines, names from the first ``#Fields`` line, ``na_values``
  ``"-"`` and no other, no quoting), then the parsing perflab does for those columns:
  ``date`` + ``time`` → a UTC timestamp (``pd.to_datetime``, which caches distinct
  values as perflab does), ``time-taken`` and ``time-to-first-byte`` seconds →
  milliseconds rounded to 3 decimals, ``cs-uri-stem``, ``cs-uri-query``,
  ``cs(User-Agent)`` and ``cs(Referer)`` percent-decoded (``urllib.parse.unquote`` once
  per distinct value holding a ``%``, as perflab does), and ``cache_hit`` from
  ``x-edge-response-result-type`` (else ``x-edge-result-type``) by perflab's table. It
  does no more: no row checks, no content-type or country columns, other fields left as
  pandas infers them. ``comment="#"`` would cut a line holding a ``#`` (CloudFront
  percent-encodes it in the fields that could) and it reads every hour under the first
  ``#Fields`` line; perflab reads each hour under its own.

Printed, for the plain log and the ``.gz``: lines, each side's median wall seconds, CPU
seconds (polars runs on every core, pandas' parser on one: run with
``POLARS_MAX_THREADS=1`` for a one-core comparison) and lines per second, the ratio
pandas time / perflab time (above 1: perflab faster); then a check that both did the
same work on the plain log: rows, the sum of ``sc-bytes``, hits / misses / neither,
the sums of ``duration_ms`` and ``ttfb_ms``, status counts, and the time, path and user
agent of every row equal.

Run: ``.venv/bin/python benchmarks/bench_cdn.py [--lines 1000000] [--rounds 3]
[--no-gzip] [--keep DIR]``: about 70 s with the defaults on 2 cores (20 s of it
building the log and its ``.gz``; ``--keep`` reuses them), 5 GB of memory at the peak
(the generator's strings).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import polars as pl
from _timing import interleaved

from perflab.cdn import read_cloudfront
from perflab.cdn import samples as cdn_samples

# perflab's verdicts (perflab.cdn._cloudfront.HIT / MISS), compared in lower case
HIT = {"hit", "refreshhit", "originshieldhit"}
MISS = {"miss", "error", "limitexceeded", "capacityexceeded"}
WARM_LINES = 20_000


def build_log(path: Path, lines: int) -> int:
    """Write a CloudFront standard log of about ``lines`` requests; return the count.

    perflab's sample generator (:mod:`perflab.cdn.samples`) at ``lines`` requests a
    day instead of its 60,000, with the sample's seeds; not gzipped.
    """
    s = cdn_samples
    cat = s._catalogue(np.random.default_rng(7))
    viewers = s._viewers(np.random.default_rng(8))
    seed = s._SEEDS["cloudfront"]
    req = s._simulate("cloudfront", lines, seed, cat, viewers)
    path.write_bytes(s._cloudfront(req, viewers, np.random.default_rng(seed + 1)))
    return len(req.start_us)


def count_requests(path: Path) -> int:
    """Data lines of a plain log (lines not starting with ``#``)."""
    data = path.read_bytes()
    return data.count(b"\n") - data.count(b"\n#") - data.startswith(b"#")


# --------------------------------------------------------------------------- the peer


def fields_of(path: Path) -> list[str]:
    """The field names of the first ``#Fields:`` line."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#Fields:"):
                return line[len("#Fields:") :].split()
    raise ValueError(f"{path}: no #Fields line")


def decode(s: pd.Series) -> pd.Series:
    """One level of ``%XX`` decoding, ``unquote`` run once per distinct value with a ``%``."""
    has = s.str.contains("%", regex=False, na=False)
    if not has.any():
        return s
    table = {v: unquote(v) for v in s[has].unique()}
    out = s.copy()
    out[has] = s[has].map(table)
    return out


def with_pandas(path: Path) -> tuple[pd.DataFrame, float]:
    """pandas.read_csv + the parsing perflab does for the compared columns.

    Returns the frame and the seconds ``read_csv`` alone took.
    """
    t0 = time.perf_counter()
    raw = pd.read_csv(
        path,
        sep="\t",
        comment="#",
        header=None,
        names=fields_of(path),
        na_values=["-"],
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
    )
    read = time.perf_counter() - t0
    verdict = raw["x-edge-response-result-type"].fillna(raw["x-edge-result-type"])
    table = {**dict.fromkeys(HIT, True), **dict.fromkeys(MISS, False)}
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(
                raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M:%S", utc=True
            ),
            "method": raw["cs-method"],
            "path": decode(raw["cs-uri-stem"]),
            "query": decode(raw["cs-uri-query"]),
            "status": raw["sc-status"],
            "bytes": raw["sc-bytes"],
            "duration_ms": (raw["time-taken"] * 1000).round(3),
            "ttfb_ms": (raw["time-to-first-byte"] * 1000).round(3),
            "cache_status": raw["x-edge-result-type"],
            "cache_hit": verdict.str.lower().map(table),
            "user_agent": decode(raw["cs(User-Agent)"]),
            "referer": decode(raw["cs(Referer)"]),
            "edge": raw["x-edge-location"],
        }
    )
    return frame, read


# --------------------------------------------------------------------------- timing


def cross_check(ours: pl.DataFrame, peer: pd.DataFrame) -> list[str]:
    """Lines comparing perflab's frame with pandas' of the same log."""
    theirs = pl.from_pandas(peer)
    hit_ours = ours["cache_hit"].value_counts().rows()
    hit_peer = theirs["cache_hit"].value_counts().rows()

    def hits(rows: list[tuple[bool | None, int]]) -> str:
        d = dict(rows)
        return f"{d.get(True, 0):,} / {d.get(False, 0):,} / {d.get(None, 0):,}"

    def status(df: pl.DataFrame) -> dict[int, int]:
        return dict(df["status"].value_counts().rows())

    same_time = (ours["time"].dt.epoch("us") == theirs["time"].dt.epoch("us")).all()
    same_path = ours["path"].equals(theirs["path"], null_equal=True)
    same_ua = ours["user_agent"].equals(theirs["user_agent"], null_equal=True)
    rows = [
        ("rows", f"{ours.height:,}", f"{theirs.height:,}"),
        ("sum of bytes (sc-bytes)", f"{ours['bytes'].sum():,}", f"{theirs['bytes'].sum():,}"),
        ("hits / misses / neither", hits(hit_ours), hits(hit_peer)),
        (
            "sum of duration_ms",
            f"{ours['duration_ms'].sum():,.3f}",
            f"{theirs['duration_ms'].sum():,.3f}",
        ),
        ("sum of ttfb_ms", f"{ours['ttfb_ms'].sum():,.3f}", f"{theirs['ttfb_ms'].sum():,.3f}"),
        (
            "first / last time (UTC)",
            f"{ours['time'].min():%m-%d %H:%M:%S} / {ours['time'].max():%m-%d %H:%M:%S}",
            f"{theirs['time'].min():%m-%d %H:%M:%S} / {theirs['time'].max():%m-%d %H:%M:%S}",
        ),
    ]
    out = [f"{'':26}{'perflab':>33}{'pandas':>33}"]
    out += [f"{label:26}{a:>33}{b:>33}" for label, a, b in rows]
    out.append(f"status counts equal: {status(ours) == status(theirs)}; every row's time equal: "
               f"{same_time}; path equal: {same_path}; user agent equal: {same_ua}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="requests generated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-gzip", action="store_true", help="skip the .gz variant")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the logs in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cdn-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"cloudfront-{args.lines}.log"
        if log.exists():
            n = count_requests(log)
        else:
            t0 = time.perf_counter()
            n = build_log(log, args.lines)
            print(f"built {log.name} in {time.perf_counter() - t0:.1f} s")
        packed = log.with_name(log.name + ".gz")
        if not args.no_gzip and not packed.exists():
            t0 = time.perf_counter()
            packed.write_bytes(gzip.compress(log.read_bytes(), compresslevel=6, mtime=0))
            print(f"gzipped it (level 6) in {time.perf_counter() - t0:.1f} s")
        warm = Path(tmp) / "warm.log"
        with open(log, "rb") as src:
            warm.write_bytes(b"".join(src.readline() for _ in range(WARM_LINES)))
        read_cloudfront(warm)  # imports, polars' thread pool: once, outside the timings
        with_pandas(warm)
        size = f"{log.stat().st_size / 1e6:,.0f} MB"
        if not args.no_gzip:
            size += f", {packed.stat().st_size / 1e6:,.0f} MB gzipped"
        print(f"input: {n:,} lines ({size}), a CloudFront standard log of one day, 33 fields, "
              f"24 hourly headers (perflab.cdn.samples, seeded)")  # fmt: skip
        print(
            f"\nmedians of {args.rounds} rounds, taking turns; polars threads: "
            f"{pl.thread_pool_size()}, pandas {pd.__version__} (its C parser: one thread)"
        )
        print(f"{'':44}{'wall s':>8}{'CPU s':>8}{'lines/s':>12}")
        med = statistics.median
        variants = [("log", log)] + ([] if args.no_gzip else [("log.gz", packed)])
        kept: dict[str, object] = {}
        for label, file in variants:
            reads: list[float] = []

            def ours(f: Path = file) -> None:
                kept["ours"] = read_cloudfront(f)

            def peer(f: Path = file, reads: list[float] = reads) -> None:
                kept["peer"], seconds = with_pandas(f)
                reads.append(seconds)

            (p_wall, p_cpu), (q_wall, q_cpu) = (
                (t.times, t.cpu_times) for t in interleaved([ours, peer], args.rounds)
            )
            p, q = med(p_wall), med(q_wall)
            ratio = "ratio (pandas time / perflab time)"
            rounds = ", ".join(f"{x:.2f}" for x in p_wall)
            print(f"{f'[{label}] perflab read_cloudfront':44}{p:8.2f}{med(p_cpu):8.2f}"
                  f"{n / p:12,.0f}   (rounds: {rounds} s)")  # fmt: skip
            print(f"{f'[{label}] pandas read_csv + parsing':44}{q:8.2f}{med(q_cpu):8.2f}"
                  f"{n / q:12,.0f}   (read_csv alone {med(reads):.2f} s)")  # fmt: skip
            print(f"{f'[{label}] {ratio}':44}{q / p:8.2f}x")
            if label == "log":
                ours_df, peer_df = kept["ours"], kept["peer"]
        assert isinstance(ours_df, pl.DataFrame) and isinstance(peer_df, pd.DataFrame)
        kept.clear()
        print("\nagreement (the same work done, plain log):")
        for line in cross_check(ours_df, peer_df):
            print("  " + line)
        assert ours_df.height == len(peer_df) == n, "row counts differ"
        assert ours_df["bytes"].sum() == int(peer_df["bytes"].sum()), "sums of bytes differ"


if __name__ == "__main__":
    main()
